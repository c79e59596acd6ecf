"""Helpers of the hostile-file tests: a runner that executes ``python -m xltools …`` in a fresh
process and reports its exit code, output, wall time and peak resident memory (from wait4, so
parallel runs do not mix), hashes, and copies of the clean samples."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

SAMPLES = ROOT / "samples" / "jiuliting-2026"
JIULITING_TOTAL = 44_814_165.00
TIME_LIMIT = 5.0           # seconds, per process
RSS_LIMIT_MB = 400.0       # peak resident memory, per process
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Run:
    args: list[str]
    code: int
    out: str
    err: str
    seconds: float
    rss_mb: float

    def __str__(self) -> str:
        return (f"xltools {' '.join(self.args)} → exit {self.code} in {self.seconds:.2f}s, {self.rss_mb:.0f} MB\n"
                f"--- stdout\n{self.out[-2000:]}\n--- stderr\n{self.err[-2000:]}")


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLTOOLS_")}
    env.update(extra or {})
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONWARNINGS", None)
    return env


# Peak RSS must be measured from a small parent: on Linux a child's ru_maxrss starts from its
# parent's resident size at fork/exec (pytest is hundreds of MB), so this wrapper — itself tiny —
# runs the command and reports the command's own wall time and ru_maxrss (wait4) to a file.
_WRAPPER = r"""
import json, os, subprocess, sys, time
report, timeout, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
started = time.monotonic()
proc = subprocess.Popen(cmd)
timer_killed = False
while True:
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() - started > timeout:
        proc.kill()
        timer_killed = True
        pid, status, usage = os.wait4(proc.pid, 0)
        break
    time.sleep(0.005)
proc.returncode = code = os.waitstatus_to_exitcode(status)
with open(report, "w") as fh:
    json.dump({"code": code, "seconds": time.monotonic() - started, "maxrss_kb": usage.ru_maxrss,
               "killed": timer_killed}, fh)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_cli(*args: str, timeout: float = 120.0, cwd: Path | None = None, env: dict | None = None) -> Run:
    """``python -m xltools ARGS`` in a fresh process: exit code, output, wall time, peak RSS."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as rep:
        report = Path(rep.name)
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            subprocess.run([sys.executable, "-c", _WRAPPER, str(report), str(timeout),
                            sys.executable, "-m", "xltools", *args],
                           stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=str(cwd or ROOT),
                           env=clean_env(env), timeout=timeout + 60)
            out.seek(0)
            err.seek(0)
            stats = json.loads(report.read_text())
            return Run(list(args), stats["code"], out.read().decode("utf-8", "replace"),
                       err.read().decode("utf-8", "replace"), stats["seconds"], stats["maxrss_kb"] / 1024)
    finally:
        report.unlink(missing_ok=True)


def run_many(jobs: dict, workers: int | None = None, env: dict | None = None) -> dict:
    """{key: args} → {key: Run}, several processes at a time."""
    workers = workers or max(2, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(run_cli, *args, env=env) for key, args in jobs.items()}
        return {key: f.result() for key, f in futures.items()}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_samples(dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for p in sorted(SAMPLES.glob("*.xlsx")):
        shutil.copy2(p, dest / p.name)
        out.append(dest / p.name)
    return out


COMMANDS = ("read", "validate", "merge")
