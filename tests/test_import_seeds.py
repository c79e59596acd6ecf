"""Issue 12 §3: the five seeds are the test. Each seed text (samples/source/*.txt, the text of a
published PDF) is imported; every form must equal its hand transcription (samples/source/*.json,
made independently, NOTES.md records each interpretation) field by field, and the figures the
print shows are checked against numbers written here from the seeds themselves."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from xltools.read import read_workbook

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "samples" / "source"
PARSED = ("运算符", "数值", "单位", "定性")

# seed text → its transcription, the number of forms, the layout
SEEDS = {
    "000_jiuliting_2026": (3, None),
    "001_jiuting_2023": (2, "2023"),
    "002_hongqiao_2026": (9, None),
    "003_jiangchuan_2026": (1, None),
    "004_zhongshan_2024_selfeval": (3, None),
}


def _unparsed(form: dict) -> dict:
    """A form's data without the parsed parts of 指标值 (the transcriptions do not carry them)."""
    return {k: [{c: v for c, v in row.items() if c not in PARSED} for row in v]
            if isinstance(v, list) and v and isinstance(v[0], dict) else v
            for k, v in form.items()}


def _diff(got, want, path="", out=None) -> list[str]:
    out = [] if out is None else out
    if isinstance(got, dict) and isinstance(want, dict):
        for k in dict.fromkeys([*want, *got]):
            _diff(got.get(k, "<无>"), want.get(k, "<无>"), f"{path}/{k}", out)
    elif isinstance(got, list) and isinstance(want, list):
        if len(got) != len(want):
            out.append(f"{path}: {len(got)} 行，应为 {len(want)} 行")
        for i, (a, b) in enumerate(zip(got, want)):
            _diff(a, b, f"{path}[{i}]", out)
    elif got != want:
        out.append(f"{path}: {got!r} ≠ {want!r}")
    return out


@pytest.fixture(scope="module")
def imported():
    return {stem: read_workbook(SOURCE / f"{stem}.txt") for stem in SEEDS}


@pytest.mark.parametrize("stem", sorted(SEEDS))
def test_each_seed_imports_equal_to_its_transcription(imported, stem):
    res = imported[stem]
    n, variant = SEEDS[stem]
    want = json.loads((SOURCE / f"{stem}.json").read_text("utf-8"))
    assert len(res.forms) == n == len(want)
    assert all(f.variant == variant for f in res.forms)
    problems = _diff([_unparsed(f.data) for f in res.forms], want)
    assert not problems, "\n".join(problems[:30])


def test_seed_figures(imported):
    def total(stem, path):
        return round(sum(f.data[path[0]][path[1]] or 0 for f in imported[stem].forms), 2)

    assert total("000_jiuliting_2026", ("年度资金", "年度资金申请总额")) == 44_814_165.00
    assert total("002_hongqiao_2026", ("年度资金", "年度资金申请总额")) == 18_068_100.00
    jiuting = imported["001_jiuting_2023"].forms
    assert [sum(r["预算金额"] for r in f.data["资金构成"]) for f in jiuting] == [380_000.00, 0]
    assert [f.data["年度资金"]["年度资金申请总额"] for f in jiuting] == [380_000.00, 380_000.00]
    unit = imported["003_jiangchuan_2026"].forms[0].data["预算情况"]
    assert unit["部门整体预算总额"] == 92_787_331.00
    assert (unit["基本支出"], unit["项目支出"]) == (50_839_284.87, 41_948_046.13)
    selfeval = imported["004_zhongshan_2024_selfeval"].forms
    assert [f.stored.get("总分") for f in selfeval] == [96.50, 96.00, 94.00]
    assert [f.stored.get("评分等级") for f in selfeval] == ["优", "优", "优"]


def test_indicator_counts_per_form(imported):
    """NOTES.md's table (counted from the seeds' lines)."""
    counts = {stem: [len(f.data["绩效指标"]) for f in imported[stem].forms] for stem in SEEDS}
    assert counts["000_jiuliting_2026"] == [8, 33, 7]
    assert counts["002_hongqiao_2026"] == [19, 17, 21, 12, 8, 8, 18, 13, 13]
    assert counts["001_jiuting_2023"] == [10, 10]
    assert counts["004_zhongshan_2024_selfeval"] == [31, 24, 13]


def test_ambiguous_text_is_a_warning_at_its_line(imported):
    """000 line 36–38: a paragraph of 年度总体目标 cut by a page break (…通</p>, blank, <p>过…) is
    joined, and said so at line 38; no import-ambiguous is an error."""
    findings = imported["000_jiuliting_2026"].findings
    assert [(f.rule, f.cell, f.severity) for f in findings] == [("import-ambiguous", "第38行", "warning")]
    for res in imported.values():
        assert all(f.rule == "import-ambiguous" and f.severity == "warning" for f in res.findings)


def test_cells_name_the_lines_of_the_text(imported):
    form = imported["000_jiuliting_2026"].forms[0]
    assert form.cells[("项目名称",)] == "第7行"
    assert form.cells[("年度资金", "年度资金申请总额")] == "第10行"
    assert form.cells[("绩效指标", 0, "三级指标")] == "第17行"


def test_validate_reads_a_seed_text_and_reports_at_its_lines():
    """validate takes the seed text directly: the real defects the samples (made from the
    transcription) produce, at the lines of the text, plus the import-ambiguous warnings."""
    def run(path):
        proc = subprocess.run([sys.executable, "-m", "xltools", "validate", "--format", "json", str(path)],
                              capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 1, proc.stderr
        return json.loads(proc.stdout)

    text = run(SOURCE / "002_hongqiao_2026.txt")
    samples = run(ROOT / "samples" / "hongqiao-2026")
    assert all(f["cell"].startswith("第") and f["cell"].endswith("行") for f in text if f["cell"])
    assert Counter(f["rule"] for f in text if f["rule"] != "import-ambiguous") == Counter(f["rule"] for f in samples)
    assert all(f["severity"] == "warning" for f in text if f["rule"] == "import-ambiguous")


def test_import_command_writes_one_workbook_per_form(tmp_path):
    out = tmp_path / "导入"
    cmd = [sys.executable, "-m", "xltools", "import", *(str(SOURCE / f"{s}.txt") for s in SEEDS), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    written = [Path(p) for p in proc.stdout.splitlines()]
    assert len(written) == 18 == len(list(out.iterdir()))
    assert "已导入 18 个表单（5 个文件）" in proc.stderr
    assert (out / "上海市松江区九里亭街道社区党群服务中心_编外人员工作经费_2026_申报表.xlsx") in written
    assert (out / "上海市闵行区江川路街道社区党群服务中心_2026_单位整体申报表.xlsx") in written
    # the workbooks are our templates: read back (by their metadata) to the data imported
    def key(data):
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    want = [f.data for s in SEEDS for f in read_workbook(SOURCE / f"{s}.txt").forms]
    back = [f.data for p in written for f in read_workbook(p).forms]
    assert sorted(map(key, back)) == sorted(map(key, want))
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    forced = subprocess.run([*cmd, "--force"], capture_output=True, text=True, cwd=ROOT)
    assert forced.returncode == 0, forced.stderr
