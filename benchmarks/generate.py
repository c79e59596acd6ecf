"""Filled project-target submissions for the benchmark, written by the toolkit itself.

Every submission is a pre-filled template (:func:`xltools.template.template_bytes`), exactly
what a 实施单位 sends back: the locked form with its hidden ``_lists`` and ``_xltools`` sheets.
The projects are built deterministically (one ``random.Random`` per file index) from the real
seed data in ``samples/source`` (项目名称, 年度总体目标, 三级指标 and 指标值), with 5–45
indicators each, spread over ``units`` different 实施单位 (unique 项目名称 per unit), all
valid: no finding of severity error (warnings, as in real data, are allowed).

Standalone use: ``python benchmarks/generate.py --n 100 -o DIR``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_FILES = ("samples/source/000_jiuliting_2026.json", "samples/source/002_hongqiao_2026.json")
KIND = "project-target"
YEAR = 2026
GENERATOR_VERSION = 1
MIN_INDICATORS, MAX_INDICATORS = 5, 45


def unit_name(k: int) -> str:
    return f"上海市某区第{k}街道社区党群服务中心"


def dept_name(k: int) -> str:
    return f"上海市某区人民政府第{k}街道办事处"


# ---------------------------------------------------------------------------------------------
# Seed data


def load_seeds(root: Path = ROOT) -> dict:
    """Project names, goal texts and the indicator pool (one row per distinct 三级指标)."""
    names, goals, pool, seen = [], [], [], set()
    for rel in SEED_FILES:
        for form in json.loads((root / rel).read_text("utf-8")):
            names.append(form["项目名称"])
            if form.get("年度总体目标"):
                goals.append(form["年度总体目标"])
            for row in form.get("绩效指标") or []:
                l1, l2, l3, value = row["一级指标"], row["二级指标"], row["三级指标"], row["指标值"]
                if not (l1 and l2 and l3 and value) or l3 in seen:
                    continue
                seen.add(l3)
                pool.append((l1, l2, l3, value))
    return {"names": names, "goals": goals, "pool": pool}


def _layout_order(spec) -> dict[str, list[tuple[str, str]]]:
    """Per layout, its (一级, 二级) pairs in printed order."""
    out = {}
    for name, tree in spec.hierarchy.layouts.items():
        out[name] = [(l1, l2) for l1, l2s in tree.items() for l2 in l2s]
    return out


# ---------------------------------------------------------------------------------------------
# One submission


def submission(i: int, n_units: int, seeds: dict, spec, seed: int = 0) -> dict:
    """The values of submission ``i`` (the shape `xltools read` prints, minus parsed keys)."""
    rng = random.Random(f"xltools-bench:{seed}:{i}")
    k = i % n_units + 1
    j = i // n_units  # the j-th project of unit k: its name carries j, so names are unique per unit
    layouts = _layout_order(spec)
    layout = rng.choice(sorted(layouts))
    order = {pair: r for r, pair in enumerate(layouts[layout])}
    usable = [row for row in seeds["pool"] if (row[0], row[1]) in order]
    n = rng.randint(MIN_INDICATORS, min(MAX_INDICATORS, len(usable)))
    # At least one indicator under each required 一级, then the rest at random.
    chosen: dict[str, tuple] = {}
    for l1 in spec.hierarchy.required_level1:
        row = rng.choice([r for r in usable if r[0] == l1])
        chosen[row[2]] = row
    rest = [r for r in usable if r[2] not in chosen]
    for row in rng.sample(rest, n - len(chosen)):
        chosen[row[2]] = row
    rows = sorted(chosen.values(), key=lambda r: (order[(r[0], r[1])], r[2]))
    indicators = [{"一级指标": a, "二级指标": b, "三级指标": c, "指标值": v} for a, b, c, v in rows]

    start_month = rng.choice([1, 1, 1, 1, 3, 4, 7])
    end_month = rng.choice([m for m in (6, 9, 10, 11, 12, 12, 12, 12) if m >= start_month])
    end_day = 31 if end_month in (10, 12) else 30
    grant = float(rng.choice([rng.randrange(10_000, 5_000_000, 1000), round(rng.uniform(1e4, 4e7), 2)]))
    carry = float(rng.choice([0, 0, 0, rng.randrange(1000, 200_000, 100)]))
    other = float(rng.choice([0, 0, 0, 0, rng.randrange(1000, 100_000, 100)]))
    project = rng.random() < 0.3
    return {
        "年度": YEAR,
        "项目名称": f"{rng.choice(seeds['names'])}（{j + 1:03d}）",
        "项目性质": rng.choice(spec.lists["项目性质"]),
        "项目类别": rng.choice(spec.lists["项目类别"]),
        "主管部门": dept_name(k),
        "实施单位": unit_name(k),
        "计划开始日期": f"{YEAR}-{start_month:02d}-01",
        "计划完成日期": f"{YEAR}-{end_month:02d}-{end_day}",
        "项目资金": {"财政资金": grant * 2 if project else None, "其他资金": other if project else None},
        "年度资金": {"当年财政拨款": grant, "上年结转资金": carry, "其他资金": other},
        "项目总目标": rng.choice(seeds["goals"]) if project else None,
        "年度总体目标": rng.choice(seeds["goals"]),
        "绩效指标": indicators,
    }


def file_name(i: int, values: dict) -> str:
    from xltools.fsutil import safe_filename

    return safe_filename(f"{i:05d}_{values['实施单位']}_{values['项目名称']}", 100) + ".xlsx"


# ---------------------------------------------------------------------------------------------
# Many submissions, in a process pool

_STATE: dict = {}


def _init(n_units: int, seed: int) -> None:
    from xltools.spec import load_spec

    _STATE.update(spec=load_spec(KIND), seeds=load_seeds(), n_units=n_units, seed=seed)


def _write_range(args: tuple[str, int, int]) -> int:
    from xltools.template import template_bytes

    out, lo, hi = args
    spec = _STATE["spec"]
    for i in range(lo, hi):
        values = submission(i, _STATE["n_units"], _STATE["seeds"], spec, _STATE["seed"])
        data, _, _ = template_bytes(spec, values)
        (Path(out) / file_name(i, values)).write_bytes(data)
    return hi - lo


def write_submissions(out: Path, n: int, n_units: int, *, seed: int = 0, jobs: int = 2) -> None:
    out.mkdir(parents=True, exist_ok=True)
    step = max(1, min(100, n // (jobs * 4) or 1))
    chunks = [(str(out), lo, min(lo + step, n)) for lo in range(0, n, step)]
    if jobs <= 1:
        _init(n_units, seed)
        for c in chunks:
            _write_range(c)
        return
    with ProcessPoolExecutor(jobs, initializer=_init, initargs=(n_units, seed)) as pool:
        for _ in pool.map(_write_range, chunks):
            pass


def check_sample(folder: Path, sample: int = 50) -> tuple[int, int, list[str]]:
    """Read and validate every k-th file; returns (files, warnings, error messages)."""
    from xltools.read import read_workbook
    from xltools.validate import validate_forms

    files = sorted(folder.glob("*.xlsx"))
    step = max(1, len(files) // sample)
    forms = []
    for f in files[::step][:sample]:
        forms.extend(read_workbook(f).forms)
    findings = validate_forms(forms)
    errors = [f"{f.file} {f.cell}: {f.message} ({f.rule})" for f in findings if f.is_error]
    return len(forms), len(findings) - len(errors), errors


def content_hash(n: int, n_units: int, seed: int) -> str:
    """Changes whenever anything that shapes the files changes (so a cached set is never stale)."""
    h = hashlib.sha1(json.dumps([GENERATOR_VERSION, n, n_units, seed]).encode())
    paths = [Path(__file__), *(ROOT / p for p in SEED_FILES), ROOT / "schemas" / f"{KIND}.toml",
             ROOT / "schemas" / "indicators.toml"]
    import xltools

    pkg = Path(xltools.__file__).resolve().parent
    paths += [pkg / "template.py", pkg / "spec.py", pkg / "__init__.py"]
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()[:12]


def ensure_dataset(root: Path, n: int, n_units: int, *, seed: int = 0, jobs: int = 2,
                   log=lambda msg: None) -> Path:
    """``root/data-N-HASH`` with N valid submissions, generated once and reused while valid."""
    digest = content_hash(n, n_units, seed)
    target = root / f"data-{n}-{digest}"
    marker = target / ".complete"
    if marker.exists():
        log(f"reusing {target}")
        return target
    for stale in root.glob(f"data-{n}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f".data-{n}-{digest}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.perf_counter()
    write_submissions(tmp, n, n_units, seed=seed, jobs=jobs)
    log(f"generated {n} submissions in {time.perf_counter() - t0:.1f} s ({jobs} processes)")
    forms, warnings, errors = check_sample(tmp)
    if errors:
        raise SystemExit("generated submissions do not validate:\n  " + "\n  ".join(errors[:20]))
    log(f"checked a sample of {forms} forms: no errors, {warnings} warnings")
    marker_tmp = tmp / ".complete"
    marker_tmp.write_text(json.dumps({"n": n, "units": n_units, "seed": seed, "hash": digest}))
    os.replace(tmp, target)
    return target


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--units", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args(argv)
    write_submissions(a.out, a.n, a.units, seed=a.seed, jobs=a.jobs)
    forms, warnings, errors = check_sample(a.out)
    print(f"{a.n} files in {a.out}; sample of {forms}: {len(errors)} errors, {warnings} warnings",
          file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
