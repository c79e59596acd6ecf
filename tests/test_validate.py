"""Every rule of the catalogue, with the exact cell of each finding."""

from __future__ import annotations

import openpyxl
import pytest
from helpers import ROOT, SPEC, valid_form, write_filled

from xltools.rules import BY_CODE, Rule
from xltools.validate import validate_paths

HONGQIAO = ROOT / "samples" / "hongqiao-2026"
JIULITING = ROOT / "samples" / "jiuliting-2026"


def flat(report, warnings: bool = True):
    return sorted((f.cell, f.rule) for f in report.findings if warnings or f.severity == "error")


def check(tmp_path, form, name="f.xlsx"):
    return validate_paths([write_filled(tmp_path / name, form)])


def test_catalogue_is_consistent():
    # two codes have a second wording: unit-odd (a count unit on a 合规性 …), funds-incomplete (below: error)
    assert len(BY_CODE) == len(Rule) - 2
    assert [r.code for r in Rule if BY_CODE[r.code] is not r] == ["unit-odd", "funds-incomplete"]
    for rule in Rule:
        assert rule.severity in ("error", "warning", "info")
        assert rule.code == rule.code.lower() and " " not in rule.code


def test_seed_000_is_well_formed():
    # no error and none of the form rules; the reviewer's content findings: tests/test_review.py
    report = validate_paths([JIULITING])
    assert len(report.forms) == 3 and report.errors == [] and report.exit_code == 0
    assert {f.rule for f in report.findings} & FORM_RULES == set()


# The defects of seed 002 as the published forms carry them: (file, cell, rule).
SEED_002 = {
    ("01", "E14", "value-empty"),
    ("02", "E15", "value-no-operator"), ("02", "E16", "value-no-operator"), ("02", "D18", "duplicate-indicator"),
    ("02", "D20", "duplicate-indicator"), ("02", "E21", "value-no-operator"), ("02", "D25", "duplicate-indicator"),
    ("02", "E25", "rate-unit"), ("02", "D27", "duplicate-indicator"), ("02", "E28", "value-no-operator"),
    ("02", "D29", "duplicate-indicator"), ("02", "E29", "rate-unit"),
    ("03", "E21", "value-no-operator"), ("03", "E22", "value-no-operator"), ("03", "E24", "value-no-operator"),
    ("03", "E25", "value-no-operator"), ("03", "E26", "rate-unit"), ("03", "E27", "value-no-operator"),
    ("03", "E28", "value-no-operator"), ("03", "E31", "rate-unit"), ("03", "E33", "rate-unit"),
    ("04", "E16", "value-unparseable"), ("04", "E17", "value-unparseable"), ("04", "E18", "value-unparseable"),
    ("04", "E19", "value-unparseable"),
    ("05", "E13", "rate-unit"), ("05", "E15", "value-no-operator"), ("05", "E20", "value-no-operator"),
    ("06", "E13", "rate-unit"), ("06", "E14", "value-no-operator"), ("06", "E15", "value-no-operator"),
    ("06", "E20", "value-no-operator"),
    ("07", "E14", "value-empty"), ("07", "E15", "rate-unit"), ("07", "E16", "value-no-operator"),
    ("07", "E18", "value-no-operator"), ("07", "D19", "duplicate-indicator"), ("07", "E19", "rate-unit"),
    ("07", "E20", "value-no-operator"), ("07", "D22", "duplicate-indicator"), ("07", "E22", "rate-unit"),
    ("07", "D26", "duplicate-indicator"), ("07", "D28", "duplicate-indicator"), ("07", "E29", "value-no-operator"),
    ("07", "D30", "duplicate-indicator"), ("07", "E30", "rate-unit"),
    ("08", "E14", "value-empty"), ("08", "E15", "rate-unit"), ("08", "E23", "rate-unit"), ("08", "E25", "rate-unit"),
    ("09", "E16", "value-unparseable"), ("09", "E17", "value-unparseable"), ("09", "E18", "value-unparseable"),
    ("09", "E19", "value-unparseable"), ("09", "E21", "value-no-operator"),
}


FORM_RULES = {r for _, _, r in SEED_002} | {"hierarchy", "layout-mixed", "percent-over-100", "count-nonpositive"}


def test_seed_002_defects_found_at_their_cells():
    report = validate_paths([HONGQIAO])
    got = {(f.file.split("/")[-1][:2], f.cell, f.rule) for f in report.findings if f.rule in FORM_RULES}
    assert got == SEED_002
    assert all(f.sheet == SPEC.sheet for f in report.findings)
    assert report.exit_code == 1
    assert report.files_with_errors() == {str(p) for p in HONGQIAO.glob("0[1278]_*.xlsx")}
    dup = next(f for f in report.findings if f.cell == "D18")
    assert dup.message == "三级指标「工作经费使用合规性」在二级指标「质量指标」下重复出现（首次在 D17），请删除重复行或改名。"


# --- one rule at a time --------------------------------------------------------------------------

ROWS = valid_form()["绩效指标"][:4]   # the rows 13–16 the cases below append to (the base form adds 时效, 成本)


def rows(*extra, base=ROWS):
    return [dict(r) for r in base] + [dict(zip(("一级指标", "二级指标", "三级指标", "指标值"), e)) for e in extra]


@pytest.mark.parametrize("change,cell,rule", [
    ({"项目名称": None}, "B3", "required"),
    ({"年度总体目标": None}, "D11", "required"),
    ({"年度资金": {"当年财政拨款": None, "上年结转资金": 0.0, "其他资金": 0.0}}, "E7", "required"),
    ({"项目性质": "长期项目"}, "D3", "not-in-list"),
    ({"项目类别": "经常性项目"}, "F3", "not-in-list"),
    ({"年度": "明年"}, "D2", "year-invalid"),
    ({"年度资金": {"当年财政拨款": "十万元", "上年结转资金": 0.0, "其他资金": 0.0}}, "E7", "money-invalid"),
    ({"年度资金": {"当年财政拨款": 1.0, "上年结转资金": -5.0, "其他资金": 0.0}}, "E8", "money-negative"),
    ({"项目资金": {"财政资金": -1.0, "其他资金": 200000.0}}, "C7", "money-negative"),
    ({"计划开始日期": "2026-13-01"}, "B5", "date-invalid"),
    ({"计划开始日期": "2026-06-01", "计划完成日期": "2026-01-31"}, "B5", "date-order"),
    ({"计划完成日期": "2027-03-31"}, "D5", "date-outside-year"),
    ({"绩效指标": []}, "B13", "no-indicators"),
    ({"绩效指标": rows(("产出指标", "社会效益指标", "服务能力提升", "提升"))}, "C17", "hierarchy"),
    ({"绩效指标": rows(("产出", "数量指标", "场次", "=1(场)"))}, "B17", "not-in-list"),
    ({"绩效指标": rows(("产出指标", "数量指标", "活动次数", "≥5.00(次)"))}, "D17", "duplicate-indicator"),
    ({"绩效指标": rows(("效益指标", "可持续影响指标", "服务能力", "持续"))}, "D17", "duplicate-indicator-across"),
    ({"绩效指标": rows(("产出指标", "数量指标", "培训人数", None))}, "E17", "value-empty"),
    ({"绩效指标": rows(("产出指标", "数量指标", None, "=1(人)"))}, "D17", "table-required"),
    ({"绩效指标": rows(("产出指标", "质量指标", "考核合格率", "100% (2 人)"))}, "E17", "value-unparseable"),
    ({"绩效指标": rows(("产出指标", "质量指标", "考核合格率", "100%"))}, "E17", "value-no-operator"),
    ({"绩效指标": rows(("产出指标", "质量指标", "考核合格率", "=120.00(%)"))}, "E17", "percent-over-100"),
    ({"绩效指标": rows(("产出指标", "质量指标", "补贴发放准确率", "=100.00(个)"))}, "E17", "rate-unit"),
    ({"绩效指标": rows(("效益指标", "社会效益指标", "有责投诉", "<0(起)"))}, "E17", "count-nonpositive"),
    ({"绩效指标": rows(("效益指标", "社会效益指标", "有责投诉", "≤0.00(起)"))}, "E17", "count-nonpositive"),
    ({"绩效指标": rows(("产出指标", "时效指标", "完成时间", "2025年10月底前"))}, "E17", "date-target-year"),
    ({"绩效指标": rows(("产出指标", "数量指标", "培训次数", ">=16次"))}, "E17", "ascii-operator"),
    ({"绩效指标": ROWS[:3]}, "B16", "category-missing"),
    ({"绩效指标": rows(("成本指标", "经济成本指标", "单位成本", "≤80.00(元)"),
                    ("产出指标", "成本指标", "人均成本", "≤50.00(元)"))}, "C18", "layout-mixed"),
])
def test_rule_at_cell(tmp_path, change, cell, rule):
    report = check(tmp_path, valid_form(**change))
    hits = [f for f in report.findings if f.rule == rule]
    assert [f.cell for f in hits] == [cell], report.findings
    assert hits[0].severity == BY_CODE[rule].severity
    assert hits[0].sheet == SPEC.sheet and hits[0].message
    others = [f for f in report.findings if f.rule != rule and f.severity == "error"]
    assert others == [] or rule in ("hierarchy", "not-in-list"), others


def test_valid_form_is_clean(tmp_path):
    assert check(tmp_path, valid_form()).findings == []


def test_count_equal_zero_is_fine(tmp_path):
    report = check(tmp_path, valid_form(绩效指标=rows(("效益指标", "社会效益指标", "有责投诉", "=0.00(起)"),
                                                 base=valid_form()["绩效指标"])))
    assert report.findings == []


def test_total_mismatch_when_total_was_typed_over(tmp_path):
    path = write_filled(tmp_path / "t.xlsx", valid_form())
    wb = openpyxl.load_workbook(path)
    wb[SPEC.sheet][SPEC.field("年度资金.年度资金申请总额").ref] = 999.0  # protection removed, formula overwritten
    wb.save(path)
    report = validate_paths([path])
    assert [(f.cell, f.rule) for f in report.findings] == [("E6", "total-mismatch")]
    assert "999.00" in report.findings[0].message and "100,000.00" in report.findings[0].message


def test_all_findings_reported_not_just_the_first(tmp_path):
    form = valid_form(项目名称=None, 项目性质="x", 计划开始日期="2026-12-31", 计划完成日期="2026-01-01",
                      绩效指标=rows(("产出指标", "数量指标", "培训人数", None)))
    assert flat(check(tmp_path, form), warnings=False) == [
        ("B3", "required"), ("B5", "date-order"), ("D3", "not-in-list"), ("E17", "value-empty")]


def test_duplicate_project_across_files(tmp_path):
    a = write_filled(tmp_path / "a.xlsx", valid_form())
    b = write_filled(tmp_path / "b.xlsx", valid_form())
    report = validate_paths([a, b])
    [dup] = report.findings
    assert (dup.file, dup.cell, dup.rule) == (str(b), "B3", "duplicate-project")
    assert str(a) in dup.message


def test_folder_expansion_skips_lock_and_hidden_files(tmp_path):
    write_filled(tmp_path / "a.xlsx", valid_form())
    (tmp_path / "sub").mkdir()
    write_filled(tmp_path / "sub" / "b.xlsx", valid_form(项目名称="另一个"))
    (tmp_path / "~$a.xlsx").write_bytes(b"lock")
    (tmp_path / ".hidden.xlsx").write_bytes(b"junk")
    report = validate_paths([tmp_path])
    assert report.files == [str(tmp_path / "a.xlsx"), str(tmp_path / "sub" / "b.xlsx")]
    assert report.ignored == [str(tmp_path / "~$a.xlsx")]
    assert report.exit_code == 0


def test_unreadable_file_is_a_finding_and_exit_2(tmp_path):
    good = write_filled(tmp_path / "good.xlsx", valid_form(项目名称=None))
    bad = tmp_path / "bad.xlsx"
    bad.write_text("项目名称,金额\n党建,100\n", encoding="utf-8")
    report = validate_paths([good, bad])
    assert report.exit_code == 2
    f = next(f for f in report.findings if f.file == str(bad))
    assert (f.sheet, f.cell, f.severity, f.rule) == (None, None, "error", "file-not-xlsx")
    assert any(f.rule == "required" for f in report.findings)  # the other file is still validated


def test_a_check_that_cannot_run_is_never_a_silent_pass():
    """A pandera check that fails to execute (as the builtin Check.isin did under the lowest
    pandera allowed) must not vanish as a row-less failure, leaving its rule silent."""
    import pandas as pd
    import pandera.pandas as pa

    from xltools.validate import _failures

    broken = pa.DataFrameSchema({"a": pa.Column(object, nullable=True,
                                                checks=[pa.Check(lambda s: s.no_such_method(), name="not-in-list")])})
    with pytest.raises(RuntimeError, match="not-in-list"):
        _failures(broken, pd.DataFrame({"a": ["x", "y"]}))
    fine = pa.DataFrameSchema({"a": pa.Column(object, nullable=True,
                                              checks=[pa.Check(lambda s: s.isin(["x"]), name="not-in-list")])})
    assert _failures(fine, pd.DataFrame({"a": ["x", "y"]})) == [("not-in-list", "a", 1)]
