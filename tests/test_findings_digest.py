"""Findings before and after the issue-17 performance work are identical (issue 17, "done when").

``tests/findings_digest.json`` was computed from main *before* any of that work (commit f5b385b,
a clean tree): for every sample folder and for a generated 1,000-form set, a SHA-256 over every
finding (file, sheet, cell, severity, rule, message, params) in report order, over the text
report and over the JSON report — so a finding that moves, changes its words or its order, or a
report line that changes, shows up here. The expected values were not computed by the code under
test now: they are the old code's output, stored.

Regenerate (only on purpose, when findings are meant to change): ``python tests/test_findings_digest.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STORED = Path(__file__).with_name("findings_digest.json")

# (name, folder relative to ROOT, against, profile)
SAMPLE_RUNS = [
    ("hongqiao", "samples/hongqiao-2026", None, None),
    ("hongqiao-shanghai", "samples/hongqiao-2026", None, "shanghai"),
    ("jiuliting", "samples/jiuliting-2026", None, None),
    ("jiuting-2023", "samples/jiuting-2023", None, None),
    ("jiangchuan", "samples/jiangchuan-2026", None, None),
    ("zhongshan", "samples/zhongshan-2024", None, None),
    ("zhongshan-against", "samples/zhongshan-2024/自评表", "samples/zhongshan-2024/申报表", None),
]
GENERATED_N, GENERATED_UNITS = 1000, 40
BROKEN_N = 300

# Wrong values a person types (each broken form gets 1–4 of them, deterministically per index):
# every cell-type check, the 指标值 rules, the hierarchy, duplicates in a form and across files.
BAD_FIELDS = [
    ("年度", "二〇二六"), ("年度", 1999), ("年度", None), ("年度", 2026.5),
    ("项目名称", None), ("项目性质", "其他性质"), ("项目类别", ""),
    ("计划开始日期", "2026/13/01"), ("计划开始日期", "明年"), ("计划完成日期", "2025-12-31"),
    ("计划开始日期", "2026-12-01"), ("计划完成日期", 45000), ("计划完成日期", None),
    ("年度资金.当年财政拨款", "五万元"), ("年度资金.当年财政拨款", -100.0), ("年度资金.上年结转资金", "1,000"),
    ("年度资金.其他资金", None), ("项目资金.财政资金", -5.5), ("项目资金.其他资金", "约十万"),
    ("主管部门", None), ("实施单位", "  "),
]
BAD_VALUES = ["≥120%", ">=5个", "无", "2025年12月底前完成", None, "≤0个", "≤-3人次", "100", "≥ 95 ％",
              "=100%", "<=0.5万元", "≥1000平方米", "≥3户", "2027年6月", "≥90分", "达到预期", "≥3批次",
              "＞85%", "提高", "≥2个", "10000元", "≥150%"]


def _set(values: dict, path: str, value) -> None:
    *head, last = path.split(".")
    d = values
    for k in head:
        d = d.setdefault(k, {}) if isinstance(d.get(k), dict) else d.setdefault(k, {})
    d[last] = value


def broken_submission(i: int, generate, spec, seeds) -> dict:
    import random

    values = generate.submission(i, GENERATED_UNITS, seeds, spec, 1)
    rng = random.Random(f"xltools-broken:{i}")
    if i % 7 == 3:   # a duplicate of an earlier project (same identity, other file)
        values = generate.submission(i - 3, GENERATED_UNITS, seeds, spec, 1)
    for _ in range(rng.randint(1, 4)):
        path, value = rng.choice(BAD_FIELDS)
        _set(values, path, value)
    rows = values["绩效指标"]
    for _ in range(rng.randint(0, 4)):
        r = rng.randrange(len(rows))
        what = rng.random()
        if what < 0.5:
            rows[r]["指标值"] = rng.choice(BAD_VALUES)
        elif what < 0.6:
            rows[r]["一级指标"] = rng.choice(["产出", "效益指标", None, "成本指标"])
        elif what < 0.7:
            rows[r]["二级指标"] = rng.choice(["数量指标", "社会效益", "时效", None])
        elif what < 0.8:
            rows[r]["三级指标"] = None
        elif what < 0.9:
            rows.append(dict(rows[r]))   # the same 三级 twice
        else:
            rows[r] = {"一级指标": None, "二级指标": None, "三级指标": None, "指标值": None}
    if i % 11 == 5:
        values["绩效指标"] = []
    return values


def write_broken(folder: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    from xltools.spec import load_spec
    from xltools.template import template_bytes

    spec = load_spec(generate.KIND)
    seeds = generate.load_seeds()
    folder.mkdir(parents=True)
    for i in range(BROKEN_N):
        data, _, _ = template_bytes(spec, broken_submission(i, generate, spec, seeds))
        (folder / f"{i:04d}.xlsx").write_bytes(data)


def digest(report) -> dict:
    from xltools.cli import format_report, report_json

    h = hashlib.sha256()
    for f in report.findings:
        h.update(json.dumps([f.file, f.sheet, f.cell, f.severity, f.rule, f.message, [list(p) for p in f.params]],
                            ensure_ascii=False, default=str).encode())
        h.update(b"\n")
    text = format_report(report).encode()
    quiet = format_report(report, quiet=True).encode()
    whole = report_json(report)
    # Issue 15 added the list of accepted findings (--accepted), after the stored digests were
    # made; none of these runs accepts any, so the digest is of the JSON without that empty list.
    assert whole.pop("accepted", []) == []
    js = json.dumps(whole, ensure_ascii=False, indent=2).encode()
    return {"findings": len(report.findings), "errors": len(report.errors), "forms": len(report.forms),
            "files": len(report.files), "findings_sha256": h.hexdigest(),
            "text_sha256": hashlib.sha256(text).hexdigest(), "quiet_sha256": hashlib.sha256(quiet).hexdigest(),
            "json_sha256": hashlib.sha256(js).hexdigest(), "exit_code": report.exit_code}


def sample_digest(folder: str, against: str | None, profile: str | None) -> dict:
    from xltools.validate import validate_paths

    cwd = os.getcwd()
    os.chdir(ROOT)   # file names in the reports relative to the repository, wherever it is
    try:
        report = validate_paths([folder], against=[against] if against else (), profile=profile)
    finally:
        os.chdir(cwd)
    return digest(report)


def generated_digest(tmp: Path) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    from xltools.validate import validate_paths

    folder = tmp / "gen"
    generate.write_submissions(folder, GENERATED_N, GENERATED_UNITS, seed=0, jobs=2)
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        report = validate_paths(["gen"])
    finally:
        os.chdir(cwd)
    return digest(report)


def broken_digest(tmp: Path) -> dict:
    from xltools.validate import validate_paths

    write_broken(tmp / "broken")
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        return {profile or "national": digest(validate_paths(["broken"], profile=profile))
                for profile in (None, "shanghai")}
    finally:
        os.chdir(cwd)


def stored() -> dict:
    return json.loads(STORED.read_text("utf-8"))


@pytest.mark.parametrize("name,folder,against,profile", SAMPLE_RUNS, ids=[r[0] for r in SAMPLE_RUNS])
def test_sample_findings_unchanged(name, folder, against, profile):
    assert sample_digest(folder, against, profile) == stored()["samples"][name]


def test_broken_forms_findings_unchanged(tmp_path):
    assert broken_digest(tmp_path) == stored()["broken"]


@pytest.mark.slow
def test_generated_1k_findings_unchanged(tmp_path):
    assert generated_digest(tmp_path) == stored()["generated"]


if __name__ == "__main__":
    import tempfile

    out = {"computed_from": sys.argv[1] if len(sys.argv) > 1 else "",
           "samples": {name: sample_digest(folder, against, profile) for name, folder, against, profile in SAMPLE_RUNS}}
    with tempfile.TemporaryDirectory() as tmp:
        out["broken"] = broken_digest(Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        out["generated"] = generated_digest(Path(tmp))
    STORED.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))
