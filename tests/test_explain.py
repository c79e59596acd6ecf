"""Issue 15, part 3 (出错说明): the 填报说明 at the end of every kind's form, and warnings the
coordinator accepts with `validate --accepted 已确认.csv` (shown as 已说明, never counted;
errors never accepted)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import ROOT, valid_form, write_filled

from xltools.accepted import Accepted, load_accepted
from xltools.errors import UsageError
from xltools.merge import merge_workbooks
from xltools.read import read_workbook
from xltools.spec import load_spec, use_schemas
from xltools.template import template_bytes
from xltools.validate import validate_paths

LABEL = "填报说明（对审核警告的说明，可不填）"
NOTE = "执行率偏低：项目于 10 月才获批。\n其余指标按计划完成。"
SAMPLES = ROOT / "samples"

# Where the 填报说明 sits in each kind's blank template, worked out by hand from the printed
# layouts (FORMS.md) and the default table sizes:
# (kind, variant, its label cell, its input range)
PLACES = [
    # 绩效指标 header row 12, 40 rows 13–52; then the 填报说明
    ("project-target", None, "A53", "B53:F53"),
    # … 52; 项目投入资金构成： 53, its header 54, 5 rows 55–59; then the 填报说明
    ("project-target", "2023", "A60", "B60:F60"),
    # 绩效指标 12, rows 13–52, 总分 53, 评分等级 54; then the 填报说明 over B:H
    ("project-selfeval", None, "A55", "B55:H55"),
    # 年度重点任务 7 + 20 rows, 预算情况 28–34, 绩效指标 header 35, 7 pre-printed + 60 rows 36–102
    ("unit-target", None, "A103", "B103:E103"),
]
IDS = [f"{k}{'-' + v if v else ''}" for k, v, _, _ in PLACES]

# A sample of each layout (made with the current templates) and the same file before this issue.
SAMPLE_OF = {
    ("project-target", None): "jiuliting-2026/01_编外人员工作经费.xlsx",
    ("project-target", "2023"): "jiuting-2023/01_党群综合服务.xlsx",
    ("project-selfeval", None): "zhongshan-2024/自评表/01_党群综合服务.xlsx",
    ("unit-target", None): "jiangchuan-2026/修改后/上海市闵行区江川路街道社区党群服务中心_2026_单位整体申报表.xlsx",
}
BEFORE = "f5b385b"   # the commit before the 填报说明 (samples/ as made by the previous specs)


def cells_of(ref: str) -> list[str]:
    a, _, b = ref.partition(":")
    (c1, r1), (c2, r2) = [(re.match(r"[A-Z]+", x).group(), int(re.search(r"\d+", x).group())) for x in (a, b or a)]
    return [f"{chr(c)}{r}" for r in range(r1, r2 + 1) for c in range(ord(c1), ord(c2) + 1)]


def blank(kind: str, variant: str | None) -> bytes:
    return template_bytes(load_spec(kind, variant))[0]


# --- the 填报说明 in the templates ------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "variant", "label", "area"), PLACES, ids=IDS)
def test_template_ends_with_an_open_wrapping_填报说明(kind, variant, label, area):
    wb = openpyxl.load_workbook(io.BytesIO(blank(kind, variant)))
    ws = wb[load_spec(kind, variant).sheet]
    assert ws[label].value == LABEL
    assert area in {str(m) for m in ws.merged_cells.ranges}
    first = area.split(":")[0]
    for ref in cells_of(area):
        assert not ws[ref].protection.locked, ref          # staff can type there
    assert ws[first].alignment.wrap_text and ws[first].number_format == "@"
    assert ws[label].protection.locked                     # the label is print
    row = int(re.search(r"\d+", first).group())
    assert ws.max_row == row                               # the last thing on the form …
    assert ws.print_area.endswith(f"${row}")               # … and printed
    assert ws.row_dimensions[row].height >= 100            # tall: room for a few paragraphs
    assert ws.protection.sheet


@pytest.mark.parametrize(("kind", "variant", "label", "area"), PLACES, ids=IDS)
def test_a_typed_填报说明_reads_back_and_an_empty_one_is_absent(tmp_path, kind, variant, label, area):
    spec = load_spec(kind, variant)
    path = tmp_path / "blank.xlsx"
    path.write_bytes(blank(kind, variant))
    empty = read_workbook(path).forms[0].data
    assert "填报说明" not in empty

    wb = openpyxl.load_workbook(path)
    ws = wb[spec.sheet]
    first = area.split(":")[0]
    ws[first] = NOTE
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    form = read_workbook(filled).forms[0]
    assert form.data["填报说明"] == NOTE
    assert form.cells[("填报说明",)] == first
    assert list(form.data)[-1] == "填报说明"
    # nothing else moved: the tables did not take the note for a row
    assert {k: v for k, v in form.data.items() if k != "填报说明"} == empty


def test_the_last_indicator_row_and_the_填报说明_stay_apart(tmp_path):
    """A full indicator table (row 52 filled) right above the 填报说明 (row 53)."""
    form = valid_form()
    path = write_filled(tmp_path / "f.xlsx", form)
    wb = openpyxl.load_workbook(path)
    ws = wb["申报表"]
    for col, value in zip("BCDE", ("产出指标", "数量指标", "培训场次", "≥2.00(场)")):
        ws[f"{col}52"] = value
    ws["B53"] = NOTE
    wb.save(path)
    data = read_workbook(path).forms[0].data
    assert [r["三级指标"] for r in data["绩效指标"]] == [r["三级指标"] for r in form["绩效指标"]] + ["培训场次"]
    assert data["填报说明"] == NOTE


@pytest.mark.parametrize(("kind", "variant"), list(SAMPLE_OF), ids=IDS)
def test_a_workbook_made_with_the_previous_spec_reads_as_before(tmp_path, kind, variant):
    """Templates units already hold have no 填报说明: made here with the specs less that field,
    they read exactly as they did (no 填报说明 key, every table and field the same)."""
    sample = read_workbook(SAMPLES / SAMPLE_OF[(kind, variant)]).forms[0].data
    assert "填报说明" not in sample
    old = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", old)
    for toml in old.glob("*.toml"):
        text = toml.read_text("utf-8")
        text = re.sub(r'\[\[fields\]\]\nkey = "填报说明"\n(?:[^\[\n][^\n]*\n)*', "", text)
        toml.write_text(text.replace(', "填报说明"]', "]"), "utf-8")
    try:
        use_schemas(old)
        spec = load_spec(kind, variant)
        assert "填报说明" not in spec.key_order and all(f.role != "remark" for f in spec.fields)
        made = tmp_path / "old.xlsx"
        made.write_bytes(template_bytes(spec, sample)[0])
        before = read_workbook(made).forms[0].data
    finally:
        use_schemas(None)
    wb = openpyxl.load_workbook(made)
    assert not any(isinstance(c.value, str) and c.value.startswith("填报说明")
                   for row in wb[load_spec(kind, variant).sheet].iter_rows() for c in row)
    after = read_workbook(made).forms[0].data
    assert after == before == sample


def _git_show(rev_path: str, out: Path) -> bool:
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), "show", rev_path], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if proc.returncode != 0:
        return False
    out.write_bytes(proc.stdout)
    return True


@pytest.mark.parametrize(("kind", "variant"), list(SAMPLE_OF), ids=IDS)
def test_the_samples_as_committed_before_read_as_before(tmp_path, kind, variant):
    """The samples from git history (made by the previous templates) read like today's samples."""
    rel = SAMPLE_OF[(kind, variant)]
    old = tmp_path / "old.xlsx"
    if not _git_show(f"{BEFORE}:samples/{rel}", old):
        pytest.skip("git history not available")
    wb = openpyxl.load_workbook(old)
    assert not any(isinstance(c.value, str) and c.value.startswith("填报说明") for ws in wb for row in ws.iter_rows()
                   for c in row)
    assert read_workbook(old).forms[0].data == read_workbook(SAMPLES / rel).forms[0].data


def test_no_content_rule_looks_at_the_填报说明(tmp_path):
    """A note that repeats itself and names another year: text-repeated and text-year would flag
    it in the 年度总体目标, and say nothing about it in the 填报说明."""
    text = "二〇二五年已完成的工作延续到本年度，2025 年的数据已复核。\n" * 2
    as_goal = write_filled(tmp_path / "goal.xlsx", valid_form(年度总体目标=text.strip()))
    as_note = write_filled(tmp_path / "note.xlsx", valid_form(填报说明=text.strip()))
    assert {"text-repeated", "text-year"} <= {f.rule for f in validate_paths([as_goal]).findings}
    assert validate_paths([as_note]).findings == []
    assert read_workbook(as_note).forms[0].data["填报说明"] == text.strip()


def test_merge_shows_the_填报说明_on_the_project_sheet_not_on_the_公开版(tmp_path):
    (tmp_path / "in").mkdir()
    a = write_filled(tmp_path / "in" / "a.xlsx", valid_form(填报说明=NOTE))
    b = write_filled(tmp_path / "in" / "b.xlsx", valid_form(项目名称="第二个项目"))
    out = tmp_path / "汇总表.xlsx"
    result = merge_workbooks([a, b], out)
    assert result.outputs == [out]
    wb = openpyxl.load_workbook(out)
    texts = {ws.title: [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)] for ws in wb}
    project = [name for name, values in texts.items() if NOTE in values]
    assert len(project) == 1 and LABEL in texts[project[0]]
    assert "公开版" in texts and not any("填报说明" in v or "10 月才获批" in v for v in texts["公开版"])
    back = {f.data["项目名称"]: f.data for f in read_workbook(out).forms}
    assert back["测试项目"]["填报说明"] == NOTE and "填报说明" not in back["第二个项目"]


# --- accepted warnings -------------------------------------------------------------------------------


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def write_csv(path: Path, rows: list[tuple], encoding: str = "utf-8") -> Path:
    text = "文件或项目,单元格,规则,说明\n" + "".join(",".join(r) + "\n" for r in rows)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture()
def forms(tmp_path):
    """clean.xlsx passes; late.xlsx has exactly one warning (计划完成日期 2027-03-31 outside 2026:
    date-outside-year at D5); broken.xlsx has an error (项目名称 empty: required at B3)."""
    folder = tmp_path / "收回"
    folder.mkdir()
    # three units: the same project of one unit twice would be project-near-duplicate
    write_filled(folder / "clean.xlsx", valid_form(项目名称="甲项目", 实施单位="甲单位"))
    write_filled(folder / "late.xlsx", valid_form(项目名称="乙项目", 实施单位="乙单位", 计划完成日期="2027-03-31"))
    write_filled(folder / "broken.xlsx", valid_form(项目名称=None, 实施单位="丙单位", 计划完成日期="2027-03-31"))
    return folder


def test_without_the_csv_the_warning_counts(forms):
    proc = run("validate", forms, "--format", "json")
    data = json.loads(proc.stdout)
    got = sorted((Path(f["file"]).name, f["cell"], f["rule"], f["severity"]) for f in data["findings"])
    assert got == [("broken.xlsx", "B3", "required", "error"), ("broken.xlsx", "D5", "date-outside-year", "warning"),
                   ("late.xlsx", "D5", "date-outside-year", "warning")]
    assert data["accepted"] == []
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == "3 份：通过 1，有警告 1，退回 1。"


def test_an_accepted_warning_is_shown_as_已说明_and_not_counted(forms, tmp_path):
    csv = write_csv(tmp_path / "已确认.csv", [("late.xlsx", "D5", "date-outside-year", "跨年度项目，次年 3 月完工")])
    proc = run("validate", forms, "--accepted", csv)
    assert proc.returncode == 1   # broken.xlsx's error is still there
    lines = proc.stdout.splitlines()
    late = next(i for i, line in enumerate(lines) if "late.xlsx" in line)
    assert lines[late].startswith("√ ") and "通过，已说明 1 条" in lines[late]
    assert lines[late + 1] == ("  [已说明] 申报表!D5  「计划完成日期」2027-03-31 不在 2026 年度内，请确认年份是否填错。"
                               "  (date-outside-year) — 说明：跨年度项目，次年 3 月完工")
    assert "错误 1 条，警告 1 条，已说明 1 条；1 个文件需要退回修改。" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "3 份：通过 2，有警告 0，退回 1。"

    js = run("validate", forms, "--accepted", csv, "--format", "json")
    data = json.loads(js.stdout)
    assert [(Path(f["file"]).name, f["rule"]) for f in data["findings"]] == [("broken.xlsx", "required"),
                                                                            ("broken.xlsx", "date-outside-year")]
    (acc,) = data["accepted"]
    assert set(acc) == {"file", "sheet", "cell", "severity", "rule", "message", "note"}
    assert (Path(acc["file"]).name, acc["sheet"], acc["cell"], acc["severity"], acc["rule"], acc["note"]) == \
        ("late.xlsx", "申报表", "D5", "warning", "date-outside-year", "跨年度项目，次年 3 月完工")
    late_summary = next(s for s in data["forms"] if s["file"].endswith("late.xlsx"))
    assert (late_summary["warnings"], late_summary["conclusion"]) == (0, "优")


def test_only_accepted_warnings_exit_0(forms, tmp_path):
    (forms / "broken.xlsx").unlink()
    csv = write_csv(tmp_path / "a.csv", [("乙项目", "", "date-outside-year", "")])   # by 项目名称, every cell
    without = run("validate", forms)
    with_csv = run("validate", forms, "--accepted", csv)
    assert (without.returncode, with_csv.returncode) == (0, 0)   # warnings never fail a run …
    assert without.stderr.strip().splitlines()[-1] == "2 份：通过 1，有警告 1，退回 0。"
    assert with_csv.stderr.strip().splitlines()[-1] == "2 份：通过 2，有警告 0，退回 0。"   # … and now none is left
    assert "说明：（未写说明）" in with_csv.stdout


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_the_csv_as_excel_saves_it(forms, tmp_path, encoding):
    csv = write_csv(tmp_path / "已确认.csv", [("收回/late.xlsx", "d5", "date-outside-year", "次年完工")], encoding)
    report = validate_paths([forms], accepted=csv)
    assert [(Path(a.finding.file).name, a.finding.cell, a.note) for a in report.accepted] == [("late.xlsx", "D5", "次年完工")]
    assert all(isinstance(a, Accepted) for a in report.accepted)
    assert not [f for f in report.findings if f.file.endswith("late.xlsx")]
    assert report.summaries()[[s["file"] for s in report.summaries()].index(report.accepted[0].finding.file)][
        "warnings"] == 0


def test_errors_are_never_accepted(forms, tmp_path):
    csv = write_csv(tmp_path / "已确认.csv", [("broken.xlsx", "B3", "required", "以后再填"),
                                             ("broken.xlsx", "申报表!D5", "date-outside-year", "次年完工")])
    proc = run("validate", forms, "--accepted", csv, "--format", "json")
    data = json.loads(proc.stdout)
    assert [(Path(f["file"]).name, f["cell"], f["rule"]) for f in data["findings"]] == [
        ("broken.xlsx", "B3", "required"), ("late.xlsx", "D5", "date-outside-year")]
    assert [(Path(a["file"]).name, a["cell"]) for a in data["accepted"]] == [("broken.xlsx", "D5")]
    assert proc.returncode == 1
    notice = [line for line in proc.stderr.splitlines() if line.startswith("已确认.csv 第 2 行")]
    assert len(notice) == 1 and "错误不能以说明代替" in notice[0] and "broken.xlsx 申报表!B3" in notice[0]
    assert not any(line.startswith("已确认.csv 第 3 行") for line in proc.stderr.splitlines())


def test_rows_that_match_nothing_are_named(forms, tmp_path):
    csv = write_csv(tmp_path / "已确认.csv", [("late.xlsx", "D5", "date-outside-year", "次年完工"),
                                             ("late.xlsx", "E9", "date-outside-year", "写错了单元格"),
                                             ("没有这个项目", "", "cost-missing", "")])
    proc = run("validate", forms, "--accepted", csv)
    notices = [line for line in proc.stderr.splitlines() if line.startswith("已确认.csv")]
    assert notices == ["已确认.csv 第 3 行没有对应的审核结果（late.xlsx，单元格 E9，规则 date-outside-year）。",
                       "已确认.csv 第 4 行没有对应的审核结果（没有这个项目，规则 cost-missing）。"]
    assert "[已说明] 申报表!D5" in proc.stdout


def test_one_row_for_every_cell_of_a_rule(tmp_path):
    """Empty 单元格: every finding of that rule in that form, named by its 项目名称 (九里亭 02: the
    six 时效指标 valued only 及时, E27–E32)."""
    sample = SAMPLES / "jiuliting-2026" / "02_党群综合服务.xlsx"
    before = validate_paths([sample])
    vague = [f for f in before.findings if f.rule == "timeliness-vague"]
    assert sorted(f.cell for f in vague) == ["E27", "E28", "E29", "E30", "E31", "E32"]
    csv = write_csv(tmp_path / "a.csv", [("党群综合服务", "", "timeliness-vague", "按街道惯例")])
    after = validate_paths([sample], accepted=csv)
    assert sorted(a.finding.cell for a in after.accepted) == ["E27", "E28", "E29", "E30", "E31", "E32"]
    assert {a.note for a in after.accepted} == {"按街道惯例"}
    assert len(after.findings) == len(before.findings) - 6
    assert after.summaries()[0]["infos"] == before.summaries()[0]["infos"] - 6


@pytest.mark.parametrize(("content", "says"), [
    ("文件,单元格,规则,说明\nlate.xlsx,D5,date-outside-year,x\n".encode(), "缺少列：文件或项目"),
    ("文件或项目,单元格,说明\n".encode(), "缺少列：规则"),
    ("文件或项目,单元格,规则,说明\nlate.xlsx,D5,,x\n".encode(), "第 2 行：「规则」为空"),
    (b"PK\x03\x04\x00\x00binary", "不是 CSV 文本文件"),
    (b"\xff\xfe\x00\xd8\x00", "不是 CSV 文本文件"),
])
def test_a_bad_csv_stops_before_reading_with_exit_2(forms, tmp_path, content, says):
    csv = tmp_path / "已确认.csv"
    csv.write_bytes(content)
    proc = run("validate", forms, "--accepted", csv)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("错误：") and says in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(UsageError):
        load_accepted(csv)


def test_a_missing_csv_is_exit_2(forms, tmp_path):
    proc = run("validate", forms, "--accepted", tmp_path / "没有.csv")
    assert proc.returncode == 2 and "找不到已确认警告的清单" in proc.stderr and "Traceback" not in proc.stderr


def test_the_readme_example():
    """README: the 九里亭 samples with docs/已确认示例.csv — two accepted, row 4 matches nothing."""
    proc = run("validate", SAMPLES / "jiuliting-2026", "--accepted", ROOT / "docs" / "已确认示例.csv")
    assert proc.returncode == 0
    assert "共 3 个文件、3 个表单；错误 0 条，警告 14 条，提示 8 条，已说明 2 条；0 个文件需要退回修改。" in proc.stdout
    assert [line for line in proc.stdout.splitlines() if "[已说明]" in line][0].startswith("  [已说明] 申报表!C7  ")
    assert "已确认示例.csv 第 4 行没有对应的审核结果（党群综合服务，单元格 C7，规则 date-outside-year）。" in proc.stderr
