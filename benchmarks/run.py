"""The xltools benchmark (issue 5): the pipeline against the floor, in one run, on the same files.

    python benchmarks/run.py                       # N = 1,000 submissions, 1,000 batch templates
    python benchmarks/run.py --n 1000,10000        # both sizes, with the 10k/1k ratio per command
    python benchmarks/run.py --n 20 --batch-units 20 --out /tmp/smoke.json   # the smoke test

It generates N filled project-target submissions with the toolkit itself (benchmarks/generate.py,
cached in benchmarks/out/data-N-HASH/), then measures each command as a whole process, start-up
included, through benchmarks/measure.py (wall time; peak memory of the command and its workers):

- floor      benchmarks/floor.py DIR: unzip + lxml-parse the visible sheet and shared strings
- read       xltools read DIR --format json > /dev/null
- validate   xltools validate DIR > /dev/null
- merge      xltools merge DIR -o OUTDIR (one 汇总表 per 实施单位)
- help       xltools --help
- template   xltools template project-target -o X.xlsx
- batch      xltools template project-target --batch units.csv -o DIR

It prints a table (seconds, ms per file, ratio to the floor, peak MiB, the issue's targets with
PASS/MISS) and writes it as JSON (--out) with the machine it ran on, so runs can be compared.
Exit status: 0 when every command ran as expected (a MISSed target is reported, not an error;
--strict makes it one), 1 when a command failed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (benchmarks/generate.py)

PY = sys.executable
MIB = 1024.0
GIB_KIB = 1024 * 1024

# The targets of issues 5 and 17, as (row, N or None for any N, metric, limit, label).
#   metric "ratio_to_floor": seconds / floor seconds of the same N (the mean of the floors
#   measured just before and just after the row); "seconds": wall time; "ms_per_item": per
#   template of a batch; "peak_mib": memory (every row also has "peak ≤ 1 GiB").
TARGETS = [
    ("validate", 1000, "ratio_to_floor", 2.5, "validate 1k ≤ 2.5× floor"),
    ("validate", 10000, "ratio_to_floor", 1.8, "validate 10k ≤ 1.8× floor"),
    ("merge", 1000, "ratio_to_floor", 4.5, "merge 1k ≤ 4.5× floor"),
    ("merge", 10000, "ratio_to_floor", 4.5, "merge 10k ≤ 4.5× floor"),
    ("validate", 10000, "peak_mib", 300.0, "validate 10k peak ≤ 300 MiB"),
    ("merge", 10000, "peak_mib", 500.0, "merge 10k peak ≤ 500 MiB"),
    ("help", None, "seconds", 0.3, "--help ≤ 0.3 s"),
    ("template", None, "seconds", 0.5, "template ≤ 0.5 s"),
    ("batch", None, "ms_per_item", 20.0, "batch ≤ 20 ms/template"),
]
SCALING_LIMIT = 11.0
PEAK_LIMIT_MIB = 1024.0
PER_FILE = ("floor", "read", "validate", "merge", "validate-1w", "merge-1w")
COMMANDS = ("read", "validate", "merge")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Machine


def machine() -> dict:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kib = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                       if x.startswith("MemTotal:"))
    except (OSError, StopIteration):
        mem_kib = None
    info = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "cpu_model": model or platform.processor() or platform.machine(),
        "mem_total_mib": round(mem_kib / MIB) if mem_kib else None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    try:
        import xltools

        info["xltools"] = xltools.__version__
        info["xltools_path"] = str(Path(xltools.__file__).resolve().parent)
    except Exception:  # pragma: no cover
        pass
    info.update(_git())
    versions = {}
    for mod in ("python_calamine", "lxml", "pandas", "pandera", "xlsxwriter", "openpyxl", "typer", "rich"):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod.replace("_", "-"))
        except Exception:
            versions[mod] = None
    info["packages"] = versions
    return info


def _git() -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "xltools", "schemas"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return {"git_commit": commit or None, "git_dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {}


# ---------------------------------------------------------------------------------------------
# Measuring one command


def measure(name: str, cmd: list[str], *, n: int | None, items: int | None = None, repeat: int = 1,
            ok_codes=(0,), stdout: str | None = None, prepare=None, check=None, work: Path, env=None) -> dict:
    """Run ``cmd`` ``repeat`` times through measure.py; keep the fastest time and the largest peak.
    The 1-minute load average before the first run is kept with the row (``load``)."""
    samples = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for k in range(repeat):
        if prepare:
            prepare()
        err = work / f"{name}-{n}-{k}.stderr"
        wrapper = [PY, str(HERE / "measure.py"), "--stdout", stdout or os.devnull, "--stderr", str(err), "--", *cmd]
        res = subprocess.run(wrapper, capture_output=True, text=True,
                             env=dict(os.environ, **env) if env else None)
        if res.returncode != 0:
            raise SystemExit(f"measure.py failed for {name}: {res.stderr}")
        s = json.loads(res.stdout.strip().splitlines()[-1])
        s["stderr_tail"] = err.read_text("utf-8", "replace")[-2000:] if err.exists() else ""
        if s["returncode"] in ok_codes and check:
            problem = check(err.read_text("utf-8", "replace") if err.exists() else "")
            if problem:
                s["problem"] = problem
        samples.append(s)
    failed = [s for s in samples if s["returncode"] not in ok_codes or s.get("problem")]
    best = min(samples, key=lambda s: s["seconds"])
    row = {
        "name": name,
        "n": n,
        "command": " ".join(_show(c) for c in cmd),
        "seconds": best["seconds"],
        "seconds_all": [round(s["seconds"], 4) for s in samples],
        "cpu_seconds": best["cpu_seconds"],
        "wrapper_cpu_seconds": best.get("wrapper_cpu_seconds"),
        "peak_mib": max(s["peak_kib"] for s in samples) / MIB,
        "maxrss_mib": max(s["maxrss_kib"] for s in samples) / MIB,
        "tree_pss_mib": max(s["tree_kib"] for s in samples) / MIB,
        "tree_rss_mib": max(s.get("tree_rss_kib", 0) for s in samples) / MIB,
        "returncode": best["returncode"],
        "ok": not failed,
        "load": None if load is None else round(load, 2),
    }
    if env:
        row["env"] = env
    if items:
        row["items"] = items
        row["ms_per_item"] = best["seconds"] * 1000 / items
    if failed:
        row["error"] = failed[0].get("problem") or f"exit code {failed[0]['returncode']}"
        row["stderr_tail"] = failed[0]["stderr_tail"]
    status = "ok" if row["ok"] else f"FAILED ({row['error']})"
    log(f"  {name:<11} N={n if n is not None else '-':<6} {row['seconds']:8.3f} s  "
        f"{row['peak_mib']:7.1f} MiB  load {row['load']}  {status}")
    return row


def _show(arg: str) -> str:
    for prefix, short in ((str(ROOT) + os.sep, ""), (PY, "python")):
        if arg.startswith(prefix):
            arg = short + arg[len(prefix):]
    return arg if arg and " " not in arg else json.dumps(arg, ensure_ascii=False)


def _count_xlsx(folder: Path) -> int:
    return sum(1 for _ in folder.glob("*.xlsx")) if folder.is_dir() else 0


def _reset(folder: Path):
    def go() -> None:
        shutil.rmtree(folder, ignore_errors=True)
    return go


def _expect_files(folder: Path, want: int, read_back: bool = False):
    """``want`` workbooks in ``folder`` (at least, when a group was split into numbered ones);
    ``read_back``: every one read back by xltools (its default limits), with as many forms as
    merge says it merged (its last line: 已生成 40 个汇总表，共 9,997 个表单)."""
    def go(stderr: str = "") -> str | None:
        got = _count_xlsx(folder)
        if got != want and (not read_back or got < want):
            return f"expected {want} workbooks in {folder.name}, found {got}"
        if not read_back:
            return None
        import re

        m = re.findall(r"共 ([\d,]+) 个表单", stderr)
        forms = int(m[-1].replace(",", "")) if m else None
        proc = subprocess.run([PY, "-c", _READ_BACK, str(folder)], capture_output=True, text=True)
        if proc.returncode != 0:
            return f"a 汇总表 does not read back: {proc.stderr.strip()[-500:]}"
        back = int(proc.stdout.strip() or 0)
        return None if back == forms else f"the 汇总表 read back {back} forms, not {forms}"
    return go


_READ_BACK = """
import sys
from pathlib import Path
from xltools.read import read_one
n = 0
for p in sorted(Path(sys.argv[1]).glob("*.xlsx")):
    res = read_one(str(p), p)
    if not hasattr(res, "forms"):
        sys.exit(f"{p.name}: {res.message}")
    n += len(res.forms)
print(n)
"""


# ---------------------------------------------------------------------------------------------
# The run


def warm(folder: Path, work: Path) -> None:
    """Page cache and byte-code caches warm, so the first measured command is not penalised."""
    for f in folder.glob("*.xlsx"):
        f.read_bytes()
    small = work / "warm"
    small.mkdir(exist_ok=True)
    for f in sorted(folder.glob("*.xlsx"))[:3]:
        shutil.copy(f, small / f.name)
    for cmd in (["--help"], ["validate", str(small)], ["merge", str(small), "-o", str(work / "warm-out")]):
        subprocess.run([PY, "-m", "xltools", *cmd], capture_output=True)
    subprocess.run([PY, str(HERE / "floor.py"), str(small)], capture_output=True)


def run_set(n: int, data: Path, work: Path, repeat: int, n_units: int, commands=COMMANDS,
            one_worker: bool = False) -> list[dict]:
    """The rows of one size, each command between two measurements of the floor (its ratio is
    to their mean: a shared machine's load changes over a run)."""
    rows = []
    files = _count_xlsx(data)
    out_dir = work / f"merged-{n}"
    want_outputs = min(n, n_units)

    def floor() -> dict:
        row = measure("floor", [PY, str(HERE / "floor.py"), str(data)], n=n, items=files, repeat=repeat, work=work)
        floors.append(row)
        return row

    def merge(name: str, env=None) -> dict:
        # --skip-invalid: the content rules of issue 14 find an error in 3 of the 10,000 generated
        # forms (funds-incomplete); they are left out, the rest merged (and read back).
        row = measure(name, [PY, "-m", "xltools", "merge", str(data), "-o", str(out_dir), "--skip-invalid"],
                      n=n, items=files,
                      repeat=repeat, prepare=_reset(out_dir), check=_expect_files(out_dir, want_outputs, True),
                      work=work, env=env)
        shutil.rmtree(out_dir, ignore_errors=True)
        return row

    cmds = {
        "read": lambda: measure("read", [PY, "-m", "xltools", "read", str(data), "--format", "json"], n=n,
                                items=files, repeat=repeat, work=work),
        # exit 1 = findings of severity error (3 of the 10,000 generated forms): a result, not a failure
        "validate": lambda: measure("validate", [PY, "-m", "xltools", "validate", str(data)], n=n, items=files,
                                    repeat=repeat, work=work, ok_codes=(0, 1)),
        "merge": lambda: merge("merge"),
        "validate-1w": lambda: measure("validate-1w", [PY, "-m", "xltools", "validate", str(data)], n=n,
                                       items=files, repeat=repeat, work=work, env={"XLTOOLS_JOBS": "1"},
                                       ok_codes=(0, 1)),
        "merge-1w": lambda: merge("merge-1w", env={"XLTOOLS_JOBS": "1"}),
    }
    order = [c for c in COMMANDS if c in commands]
    if one_worker:
        order += [c + "-1w" for c in ("validate", "merge") if c in commands]
    floors: list[dict] = []
    before = floor()
    for name in order:
        row = cmds[name]()
        after = floor()
        row["floor_seconds"] = (before["seconds"] + after["seconds"]) / 2
        row["floor_load"] = [before.get("load"), after.get("load")]
        rows.append(row)
        before = after
    best = min(floors, key=lambda r: r["seconds"])
    best = dict(best, seconds_all=[f["seconds"] for f in floors],
                seconds_mean=sum(f["seconds"] for f in floors) / len(floors))
    return [best] + rows


def run_stages(n: int, data: Path, sample: int) -> dict | None:
    """benchmarks/stages.py on a sample: CPU ms/form per stage and pandera's share."""
    proc = subprocess.run([PY, str(HERE / "stages.py"), str(data), "--sample", str(sample), "--json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        log(f"stages failed: {proc.stderr[-500:]}")
        return None
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    got["load"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    log(f"  stages N={n} (sample {got['forms']}): " + ", ".join(f"{k} {v:.2f}" for k, v in got["ms_per_form"].items())
        + f" ms/form CPU; pandera {got['pandera_share_of_validate']:.0%} of validate")
    return got


def run_templates(work: Path, batch_units: int, n_units: int, repeat: int) -> list[dict]:
    rows = []
    quick = max(repeat, 3)
    rows.append(measure("help", [PY, "-m", "xltools", "--help"], n=None, repeat=quick, work=work))
    one = work / "template.xlsx"

    def one_exists(_stderr: str = "") -> str | None:
        return None if one.is_file() and one.stat().st_size > 0 else "no template written"

    rows.append(measure("template", [PY, "-m", "xltools", "template", "project-target", "-o", str(one)],
                        n=None, repeat=quick, prepare=lambda: one.unlink(missing_ok=True), check=one_exists,
                        work=work))
    units_csv = work / "units.csv"
    with units_csv.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["实施单位", "主管部门", "项目名称"])
        for i in range(batch_units):
            k = i % n_units + 1
            w.writerow([generate.unit_name(k), generate.dept_name(k), f"社区服务项目{i + 1:05d}"])
    batch_dir = work / "batch"
    rows.append(measure("batch", [PY, "-m", "xltools", "template", "project-target", "--batch", str(units_csv),
                                  "-o", str(batch_dir)], n=batch_units, items=batch_units, repeat=repeat,
                        prepare=_reset(batch_dir), check=_expect_files(batch_dir, batch_units), work=work))
    shutil.rmtree(batch_dir, ignore_errors=True)
    return rows


def evaluate(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Ratios to the floor, the targets of issue 5 and the 10k/1k scaling."""
    floors = {r["n"]: r["seconds"] for r in rows if r["name"] == "floor" and r["ok"]}
    for r in rows:
        if r["name"] in PER_FILE and r.get("floor_seconds"):
            r["ratio_to_floor"] = r["seconds"] / r["floor_seconds"]
        elif r["name"] in PER_FILE and r["n"] in floors:
            r["ratio_to_floor"] = r["seconds"] / floors[r["n"]]
    targets = []
    for r in rows:
        if not r["ok"]:
            continue
        for name, n, metric, limit, label in TARGETS:
            if r["name"] == name and (n is None or r["n"] == n) and r.get(metric) is not None:
                targets.append({"row": name, "n": r["n"], "label": label, "metric": metric,
                                "value": r[metric], "limit": limit, "pass": r[metric] <= limit})
        targets.append({"row": r["name"], "n": r["n"], "label": "peak ≤ 1 GiB", "metric": "peak_mib",
                        "value": r["peak_mib"], "limit": PEAK_LIMIT_MIB, "pass": r["peak_mib"] <= PEAK_LIMIT_MIB})
    scaling = []
    sizes = sorted({r["n"] for r in rows if r["name"] in PER_FILE})
    for name in PER_FILE:
        by_n = {r["n"]: r for r in rows if r["name"] == name and r["ok"]}
        for lo, hi in zip(sizes, sizes[1:]):
            if lo in by_n and hi in by_n:
                ratio = by_n[hi]["seconds"] / by_n[lo]["seconds"]
                limit = SCALING_LIMIT * (hi / lo) / 10
                entry = {"row": name, "from": lo, "to": hi, "ratio": ratio, "limit": limit,
                         "label": f"{_k(hi)}/{_k(lo)} ≤ {limit:g}×", "pass": ratio <= limit}
                scaling.append(entry)
                by_n[hi]["scaling_ratio"] = ratio
                by_n[hi]["scaling_limit"] = limit
    return targets, scaling


def _k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def fmt_table(rows: list[dict], targets: list[dict]) -> str:
    head = ["command", "N", "seconds", "ms/file", "× floor", "target", "peak MiB", "load", "result"]
    lines = []
    for r in rows:
        mine = [t for t in targets if t["row"] == r["name"] and t["n"] == r["n"] and t["metric"] != "peak_mib"]
        peak = [t for t in targets if t["row"] == r["name"] and t["n"] == r["n"] and t["metric"] == "peak_mib"]
        target = "; ".join(t["label"] for t in mine)
        if r.get("scaling_limit"):
            target = "; ".join(x for x in (target, f"×{r['scaling_ratio']:.1f} vs smaller N "
                                                  f"(≤ {r['scaling_limit']:g})") if x)
        checks = [t["pass"] for t in mine + peak]
        if r.get("scaling_limit"):
            checks.append(r["scaling_ratio"] <= r["scaling_limit"])
        result = "FAILED" if not r["ok"] else ("PASS" if all(checks) else "MISS") if checks else ""
        per = r.get("ms_per_item")
        lines.append([
            r["name"], "" if r["n"] is None else str(r["n"]), f"{r['seconds']:.3f}",
            "" if per is None else f"{per:.2f}",
            "" if r.get("ratio_to_floor") is None else f"{r['ratio_to_floor']:.2f}",
            target, f"{r['peak_mib']:.0f}", "" if r.get("load") is None else f"{r['load']:.1f}", result,
        ])
    widths = [max(_w(x) for x in col) for col in zip(head, *lines)]
    out = [" | ".join(_pad(h, w) for h, w in zip(head, widths)),
           "-|-".join("-" * w for w in widths)]
    out += [" | ".join(_pad(c, w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def _w(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _w(text))


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        mult = 1000 if part.endswith("k") else 1
        sizes.append(int(float(part.rstrip("k")) * mult))
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}")
    return sorted(set(sizes))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="xltools benchmark (issue 5)",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--n", type=parse_sizes, default=[1000],
                    help="submissions to generate and process; a comma list runs each (default 1000; "
                         "--n 1000,10000 adds the 10k/1k scaling)")
    ap.add_argument("--units", type=int, default=40, help="different 实施单位 (default 40)")
    ap.add_argument("--batch-units", type=int, default=1000, help="rows of the --batch units CSV (default 1000)")
    ap.add_argument("--skip-10k", action="store_true", help="drop sizes above 5,000 from --n")
    ap.add_argument("--skip-templates", action="store_true", help="do not measure help/template/batch")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per measurement, fastest kept (help and template run at least 3 times)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="processes generating the submissions (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", type=Path, default=HERE / "out",
                    help="where generated submission sets are cached (default benchmarks/out)")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "latest.json", help="JSON results")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (merge output, batch, logs)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--commands", default=",".join(COMMANDS),
                    help="which of read,validate,merge to run per size (default all; e.g. validate,merge at 100k)")
    ap.add_argument("--one-worker", action="store_true",
                    help="also validate and merge with XLTOOLS_JOBS=1 (the 1-worker point of the scaling model)")
    ap.add_argument("--stages", type=int, default=0, metavar="SAMPLE",
                    help="also run benchmarks/stages.py on SAMPLE files of each size (CPU ms/form per stage)")
    a = ap.parse_args(argv)
    sizes = [n for n in a.n if not (a.skip_10k and n > 5000)]
    if not sizes:
        ap.error("no size left to run")
    a.data_root.mkdir(parents=True, exist_ok=True)
    env_note = {k: os.environ[k] for k in ("PYTHONPATH", "CI") if k in os.environ}
    info = machine()
    log(f"{info['cpu_model']} × {info['nproc']}, Python {info['python']}, xltools at {info.get('xltools_path')}"
        f" ({info.get('git_commit')}{', modified' if info.get('git_dirty') else ''})")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="xltools-bench-"))
    rows: list[dict] = []
    datasets = {}
    stages: dict = {}
    try:
        for n in sizes:
            t0 = time.perf_counter()
            data = generate.ensure_dataset(a.data_root, n, a.units, seed=a.seed, jobs=a.jobs, log=log)
            datasets[n] = {"path": str(data), "files": _count_xlsx(data),
                           "bytes": sum(f.stat().st_size for f in data.glob("*.xlsx")),
                           "prepare_seconds": round(time.perf_counter() - t0, 2)}
        for n in sizes:
            data = Path(datasets[n]["path"])
            log(f"N={n}: {datasets[n]['files']} files, {datasets[n]['bytes'] / 1048576:.1f} MiB")
            warm(data, work)
            rows += run_set(n, data, work, a.repeat, a.units, commands=a.commands.split(","),
                            one_worker=a.one_worker)
            if a.stages:
                stages[n] = run_stages(n, data, a.stages)
        if not a.skip_templates:
            log(f"templates (batch of {a.batch_units})")
            rows += run_templates(work, a.batch_units, a.units, a.repeat)
    finally:
        if a.keep:
            log(f"scratch kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    targets, scaling = evaluate(rows)
    table = fmt_table(rows, targets)
    print(table)
    missed = [t for t in targets + scaling if not t["pass"]]
    failed = [r for r in rows if not r["ok"]]
    summary = (f"{len(targets) + len(scaling) - len(missed)} of {len(targets) + len(scaling)} targets met"
               + (f"; missed: {', '.join(sorted({_miss_label(t) for t in missed}))}" if missed else ""))
    print(summary)
    for r in failed:
        print(f"FAILED {r['name']} N={r['n']}: {r['error']}\n{r.get('stderr_tail', '')}", file=sys.stderr)
    result = {
        "schema": 1,
        "machine": info,
        "env": env_note,
        "n": sizes,
        "units": a.units,
        "batch_units": a.batch_units,
        "merge_flags": ["--skip-invalid"],
        "repeat": a.repeat,
        "datasets": datasets,
        "rows": rows,
        "targets": targets,
        "scaling": scaling,
        "stages": stages,
        "summary": summary,
        "table": table,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    log(f"results written to {a.out} ({result['total_seconds']} s in all)")
    if failed:
        return 1
    return 1 if (a.strict and missed) else 0


def _miss_label(t: dict) -> str:
    n = "" if t.get("n") is None else f" N={t['n']}"
    if "ratio" in t and "from" in t:
        return f"{t['row']} {t['label']}"
    return f"{t['row']}{n}: {t['label']}"


if __name__ == "__main__":
    sys.exit(main())
