"""Helpers of the hostile-file tests: a runner that executes ``python -m xltools …`` in a fresh
process and reports its exit code, output, wall time and peak resident memory (from wait4, so
parallel runs do not mix), hashes, and copies of the clean samples."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
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


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLTOOLS_")}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONWARNINGS", None)
    return env


def run_cli(*args: str, timeout: float = 120.0, cwd: Path | None = None) -> Run:
    """``python -m xltools ARGS`` in a fresh process; peak RSS from wait4 (this child only)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "xltools", *args], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, cwd=str(cwd or ROOT), env=clean_env())
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(list(args), proc.returncode, out.read().decode("utf-8", "replace"),
                   err.read().decode("utf-8", "replace"), seconds, usage.ru_maxrss / 1024)


def run_many(jobs: dict, workers: int | None = None) -> dict:
    """{key: args} → {key: Run}, several processes at a time."""
    workers = workers or max(2, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(run_cli, *args) for key, args in jobs.items()}
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
