"""The live 自查 of issue 16 in LibreOffice: templates of every kind are filled through UNO with
defective values (each rule of schemas/selfcheck.toml at least once) and with clean values,
recalculated and saved by LibreOffice; then, cell by cell, the cells its formulas flag — the
instance flags on the hidden list sheet and the conditional formats on the form sheet — are exactly
the cells `xltools validate` names for those rule codes, the 自查 counts equal validate's counts,
and a clean fill shows 「本表自查：未发现问题」. One soffice batch for all cases."""

from __future__ import annotations

import re
import shutil
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from lo_util import ROOT

from xltools.livecheck import block_area, load_selfcheck, plan_for, rendered_codes
from xltools.read import load_sheets
from xltools.rules import SEVERITY_COLOURS
from xltools.spec import LISTS_SHEET, META_SHEET, a1, get_path, load_spec, parse_cell
from xltools.template import template_workbook
from xltools.validate import validate_paths

pytestmark = pytest.mark.libreoffice

NUMERIC = ("money", "number", "year", "count")
CODES = set(rendered_codes())


def _cells(spec, form: dict) -> list[list]:
    """[ref, kind, value] for every value of ``form`` (a form as `read` gives it; a table row's
    missing or empty cell is left alone): numbers and dates as such, anything else as text —
    "abc" typed into an amount stays text, as when pasted."""
    out = []

    def put(ref, typ, v):
        if v is None or v == "":
            return
        if typ in NUMERIC and isinstance(v, (int, float)):
            out.append([ref, "value", v])
        elif typ == "date" and isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            out.append([ref, "date", v])
        else:
            out.append([ref, "string", str(v)])

    for f in spec.inputs:
        if f.anchor:
            continue
        put(f.ref, f.type, get_path(form, f.path))
    n_before: dict[str, int] = {}
    for t in spec.tables:
        placed = spec.placed(t, n_before.get(t.anchor))
        for i, row in enumerate(form.get(t.key) or []):
            for c in t.columns:
                if c.key in row:
                    put(placed.cell(i, c.key), c.type, row[c.key])
        n_before[t.key] = max(t.min_rows + len(t.preprinted), len(form.get(t.key) or []))
    for f in spec.inputs:
        if f.anchor:
            put(spec.area(f, n_before.get(f.anchor)).ref, f.type, get_path(form, f.path))
    return out


def _rows(keys, *rows):
    return [dict(zip(keys, r)) for r in rows]


PT = ("一级指标", "二级指标", "三级指标", "指标值")
UT = ("一级目标", "二级目标", "三级目标", "指标目标值")
SE = ("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施")

PT_DEFECT = {
    "项目名称": "", "项目性质": "乱填", "项目类别": "特定目标类", "主管部门": "某部门", "实施单位": "某单位",
    "计划开始日期": "2026-12-31", "计划完成日期": "2026-06-01",
    "年度资金": {"当年财政拨款": "abc", "上年结转资金": -5.0}, "年度总体目标": "完成全年工作。",
    "绩效指标": _rows(PT,
                  ("产出指标", "数量指标", "活动次数", ">=4(次)"),
                  ("产出指标", "质量指标", "验收合格率", "=120.00(%)"),
                  ("满意度指标", "服务对象满意度指标", "居民满意度", "≥90(次)"),
                  ("产出指标", "数量指标", "投诉件数", "<0(件)"),
                  ("产出指标", "数量指标", "活动次数", "≥5(次)"),
                  ("产出指标", "社会效益指标", "宣传覆盖", "提升"),
                  ("效益指标", "社会效益指标", "服务能力", ""),
                  ("乱一级", "数量指标", "其他一", "提升"),
                  ("", "", "其他二", "及时"),        # continues the group above: 一级 乱一级 again
                  ("效益指标", "", "其他三", "提升"),   # a new 一级: its empty 二级 is not continued
                  ("", "", " ", "")),                  # only a space: a blank row to the reader
}
# What validate names for the rendered rules on PT_DEFECT (by hand, from FORMS.md and rules.py).
PT_DEFECT_EXPECTED = {
    ("required", "B3"), ("not-in-list", "D3"), ("money-invalid", "E7"), ("money-negative", "E8"),
    ("date-order", "B5"), ("ascii-operator", "E13"), ("percent-over-100", "E14"), ("rate-unit", "E15"),
    ("count-nonpositive", "E16"), ("duplicate-indicator", "D17"), ("hierarchy", "C18"), ("value-empty", "E19"),
    ("not-in-list", "B20"), ("not-in-list", "B21"), ("table-required", "C22"), ("cost-missing", "B13"),
}

VALID_PT = {
    "项目名称": "测试项目", "项目性质": "经常性项目", "项目类别": "特定目标类", "主管部门": "某部门",
    "实施单位": "某单位", "计划开始日期": "2026-01-01", "计划完成日期": "2026-12-31",
    "项目资金": {"财政资金": 100000.0, "其他资金": 0.0},
    "年度资金": {"当年财政拨款": 100000.0, "上年结转资金": 0.0, "其他资金": 0.0}, "年度总体目标": "完成全年工作。",
    "绩效指标": _rows(PT,
                  ("产出指标", "数量指标", "活动次数", "≥4.00(次)"),
                  ("", "质量指标", "验收合格率", "=100.00(%)"),
                  ("", "时效指标", "完成时限", "2026年12月31日前"),
                  ("", "成本指标", "人均活动成本", "≤80.00(元/人)"),
                  ("效益指标", "社会效益指标", "服务能力", "提升"),
                  ("满意度指标", "服务对象满意度指标", "居民满意度", "≥90.00(%)")),
}

PT2023_DEFECT = dict(VALID_PT, **{"计划开始日期": "2025-03-01", "项目类别": "经常性项目",
                                   "资金构成": _rows(("年度", "子项目名称", "预算金额"),
                                                  ("二〇二六", "子项目一", -3.0),
                                                  (2026, "子项目二", "三万"),
                                                  (2026, "", 10.0))})
PT2023_DEFECT.pop("项目性质")

UNIT_OK = {
    "单位名称": "某中心", "财政资金拨款方式": "全额", "单位职责": "职责。", "年度履职目标": "目标。",
    "年度重点任务": _rows(("任务名称", "主要内容"), ("任务一", "内容一")),
    "预算情况": {"财政拨款": 100.0, "其他资金": 0.0, "基本支出": 60.0, "项目支出": 40.0},
    "年末在职人数": 12, "内设机构数": 3,
    "绩效指标": [{}] * 7 + _rows(UT,
                               ("产出指标", "数量指标", "服务人数", "≥100.00(人)"),
                               ("", "质量指标", "达标率", "=100.00(%)"),
                               ("", "时效指标", "完成时限", "2026年12月底前"),
                               ("成本指标", "经济成本指标", "人均成本", "≤50.00(元/人)"),
                               ("效益指标", "社会效益指标", "服务能力", "提升"),
                               ("满意度指标", "服务对象满意度指标", "群众满意度", "≥90.00(%)")),
}
UNIT_DEFECT = dict(UNIT_OK, **{
    "单位名称": None, "财政资金拨款方式": "半额", "年末在职人数": -1, "内设机构数": 2.5,
    "预算情况": {"财政拨款": "abc", "其他资金": -1.0, "基本支出": 60.0, "项目支出": 40.0},
    "年度重点任务": _rows(("任务名称", "主要内容"), ("任务一", "")),
    "绩效指标": [{}] * 7 + _rows(UT,
                               ("产出指标", "数量指标", "服务人数", "≤0(人)"),
                               ("效益指标", "数量指标", "带动就业", "≥3(人)"),
                               ("产出指标", "数量指标", "服务人数", "≥5(人)"),
                               ("满意度指标", "服务对象满意度指标", "满意度", "≥95(次)")) + [{}] + _rows(UT,
                               ("效益指标", "社会效益指标", "", "")),   # after a blank row: 第 12 行 for validate
})

SE_DEFECT = {
    "项目名称": "自评项目", "主管部门": "某部门", "实施单位": "某单位", "预期目标": "目标。", "实际完成情况": "完成。",
    "项目资金": {"当年财政拨款": {"年初预算数": 10.0, "全年预算数": "十", "全年执行数": 9.0},
             "上年结转资金": {"年初预算数": 0.0, "全年预算数": 0.0, "全年执行数": 0.0},
             "其他资金": {"年初预算数": 0.0, "全年预算数": 0.0, "全年执行数": -1.0}},
    "绩效指标": _rows(SE,
                  ("产出指标", "数量指标", "活动次数", "≥4.00(次)", "4.00(次)", 30.0, 35.0, None),
                  ("产出指标", "质量指标", "合格率", "=100.00(%)", "90.00(%)", 20.0, 18.0, None),
                  ("产出指标", "成本指标", "人均成本", "≤80.00(元/人)", "70.00(元/人)", "二十", 20.0, None),
                  ("效益指标", "社会效益指标", "服务能力", "提升", "达成指标", 20.0, -1.0, "原因"),
                  ("满意度指标", "服务对象满意度指标", "满意度", "≥90.00(%)", "95.00(%)", 10.0, 10.0, None)),
}

# 指标值 as typed in the seeds and beyond, under names that make the target rules apply.
TARGET_VALUES = [
    ("人数", "≥236.00(人)"), ("合格率", "=100%"), ("场次", ">=16次"), ("事故", "0 起"), ("点位", "＞＝5(个)"),
    ("投诉", "≤0(人)"), ("差错", "<0(件)"), ("事故数", "=0(个)"), ("覆盖率", "≥95.5（%）"), ("达标率", "≥100.00(%)"),
    ("完成率", "=101%"), ("满意度", "≥90.00(次)"), ("完成时限", "2026年6月30日前"), ("完成月份", "10月底前"),
    ("启动", ">=2026年"), ("经费", "≥1,000.00(元)"), ("人员", "≥-1(人)"), ("单价", "≤2435.90(元/年/点位)"),
    ("时效", "及时"), ("能力", "提升"), ("数量", "≥ 5 (个)"), ("比例", "=100.00(百分比)"), ("活动", ">= 3(场次)"),
    ("违规", "<=0(次)"), ("事件", "< 0 人"), ("知晓率", "≥80(人次)"), ("使用率", "=>85%"), ("设备", "=<2(台)"),
    ("百分比", "=100.5(%)"), ("指标甲", "≥5(个)(人)"), ("指标乙", "＜0(次)"), ("指标丙", "≤-2(户)"),
    ("通过率", "≥ 90 %"), ("指标丁", "2026-06-30"), ("指标戊", "=+5(个)"), ("参与率", "≥12(场)"),
]
TARGETS = dict(VALID_PT, 绩效指标=_rows(PT, *[("产出指标", "数量指标", f"{name}{i}", v)
                                         for i, (name, v) in enumerate(TARGET_VALUES)]) + VALID_PT["绩效指标"][3:4])

CASES = {   # name: (kind, variant, year, form, clean)
    "pt-defect": ("project-target", None, 2026, PT_DEFECT, False),
    "pt-clean": ("project-target", None, 2026, VALID_PT, True),
    "pt2023-defect": ("project-target", "2023", 2026, PT2023_DEFECT, False),
    "pt-targets": ("project-target", None, 2026, TARGETS, False),
    "unit-defect": ("unit-target", None, 2026, UNIT_DEFECT, False),
    "unit-clean": ("unit-target", None, 2026, UNIT_OK, True),
    "se-defect": ("project-selfeval", None, 2024, SE_DEFECT, False),
    "pt-blank": ("project-target", None, 2026, {}, False),           # no indicator at all
    "unit-blank": ("unit-target", None, 2026, {"单位名称": "某中心"}, False),   # only the pre-printed rows
}
SAMPLE_CLEAN = ROOT / "samples" / "zhongshan-2024" / "自评表" / "01_党群综合服务.xlsx"


@pytest.fixture(scope="module")
def filled(libreoffice, tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("lo-livecheck")
    ops, out = [], {}
    for name, (kind, variant, year, form, _) in CASES.items():
        spec = load_spec(kind, variant)
        src = work / f"{name}-template.xlsx"
        template_workbook(kind, src, year=year, variant=variant)
        out[name] = work / f"{name}.xlsx"
        ops.append({"op": "fill", "src": str(src), "out": str(out[name]), "sheet": spec.sheet,
                    "cells": _cells(spec, form)})
    # the committed 自评表 sample (from seed 004): clean; recalculated and saved by LibreOffice
    shutil.copy(SAMPLE_CLEAN, work / "se-sample-src.xlsx")
    out["se-sample"] = work / "se-sample.xlsx"
    ops.append({"op": "convert", "src": str(work / "se-sample-src.xlsx"), "out": str(out["se-sample"]),
                "filter": "Calc MS Excel 2007 XML", "recalc": True})
    results = libreoffice.run(ops)
    for op, res in zip(ops, results):
        assert res["ok"], (op.get("out"), res)
    return out


ALL = [*CASES, "se-sample"]


def _plan(path: Path, kind: str, variant=None):
    """The plan of the template a file was typed into: a blank template of the layout, or (the
    sample 自评表) one carried from its 申报表, with exactly its indicator rows."""
    spec = load_spec(kind, variant)
    if path.name.startswith("se-sample"):
        from xltools.read import read_workbook

        data = read_workbook(path).forms[0].data
        carried = {f"{spec.indicators.key}.{k}" for k in spec.carry["project-target"]["tables"][spec.indicators.key]["columns"]}
        return plan_for(spec, data, None, frozenset(carried))
    return plan_for(spec)


def flagged(path: Path, kind: str, variant=None) -> dict[tuple[str, str], str]:
    """(rule, cell) → severity of every instance LibreOffice computed as broken: the flags of the
    list sheet, each standing for the cell the template's plan says."""
    values = openpyxl.load_workbook(path, data_only=True)[LISTS_SHEET]
    plan = _plan(path, kind, variant)
    col = openpyxl.utils.get_column_letter(plan.flag_col + 1)
    assert {values[f"{col}{3 + k}"].value for k in range(len(plan.instances))} <= {0, 1}, path.name
    return {(x.rule, x.cell): x.severity for x in plan.flagged(values)}


@cache
def _findings(path: Path) -> list:
    report = validate_paths([path])
    assert not report.unreadable
    return [f for f in report.findings if f.rule in CODES]


def named(path: Path) -> dict[tuple[str, str], str]:
    """(rule, cell) → severity of every finding of `xltools validate` for the rendered rules."""
    return {(f.rule, f.cell): f.severity for f in _findings(path)}


def _layout(case):
    return (CASES[case][0], CASES[case][1]) if case in CASES else ("project-selfeval", None)


@pytest.mark.parametrize("case", ALL)
def test_flagged_cells_are_the_cells_validate_names(filled, case):
    got, want = flagged(filled[case], *_layout(case)), named(filled[case])
    assert sorted(set(got) - set(want)) == [] and sorted(set(want) - set(got)) == [], case
    assert got == want, case   # the same severity, too


def test_the_defects_are_the_hand_written_ones(filled):
    assert set(named(filled["pt-defect"])) == PT_DEFECT_EXPECTED
    assert set(flagged(filled["pt-defect"], "project-target")) == PT_DEFECT_EXPECTED


def test_every_rendered_rule_is_exercised(filled):
    """Each rule code of selfcheck.toml is broken in some case (so the comparison is never vacuous)."""
    seen = {rule for case in CASES if not CASES[case][4] for rule, _ in flagged(filled[case], *_layout(case))}
    assert CODES - seen == set()


def _block(path: Path, kind: str) -> tuple[str, str]:
    spec = load_spec(kind)
    col, top, _ = block_area(spec)
    ws = openpyxl.load_workbook(path, data_only=True)[spec.sheet]
    return ws.cell(1, col + 1).value, ws.cell(top + 1, col + 1).value


@pytest.mark.parametrize("case", ALL)
def test_counts_and_messages_equal_validate(filled, case):
    """The counts line is validate's counts; the messages are the first groups (a rule on one
    field or one table column) validate has findings in, each at its first such cell, with how
    many cells it has when more than one; then how many more; then the note."""
    counts, text = _block(filled[case], _layout(case)[0])
    want = named(filled[case])
    errors = sum(1 for s in want.values() if s == "error")
    warnings = sum(1 for s in want.values() if s == "warning")
    conf = load_selfcheck()
    if errors + warnings == 0:
        assert counts == conf.block.clean == "本表自查：未发现问题"
    else:
        assert counts == f"本表自查：错误 {errors} 处，警告 {warnings} 处"
    plan = _plan(filled[case], *_layout(case))
    groups, fields = [], set()
    for a, b in plan.groups:
        hit = [x.cell for x in plan.instances[a:b + 1] if (x.rule, x.cell) in want]
        if hit:
            groups.append(hit)
            if plan.instances[a].table is None:
                fields.add(hit[0])
    lines = text.split("\n")
    assert lines[-1] == conf.block.note
    shown = groups[:conf.shown]
    listed = lines[:len(shown)]
    messages = {f.cell: f.message for f in _findings(filled[case])}
    for line, hit in zip(listed, shown):
        assert line.startswith(hit[0] + "："), (line, hit)
        name = re.search(r"「([^」]+)」", line)
        if hit[0] in fields and name:   # a field's message names that field, as validate's does
            assert name.group(1) in messages[hit[0]], (line, messages[hit[0]])
        row = re.search(r"第 (\d+) 行", line)
        if row:   # a table row is numbered as validate numbers it (filled rows only)
            assert f"第 {row.group(1)} 行" in messages[hit[0]], (line, messages[hit[0]])
        assert line.endswith(conf.block.also.format(n=len(hit))) == (len(hit) > 1), line
    more = errors + warnings - sum(map(len, shown))
    if more:
        assert lines[len(shown)] == conf.block.more.format(n=more)
    assert len(lines) == len(shown) + (1 if more else 0) + 1


def test_clean_fills_show_no_problem(filled):
    for case in [c for c, v in CASES.items() if v[4]] + ["se-sample"]:
        kind = CASES[case][0] if case in CASES else "project-selfeval"
        assert named(filled[case]) == {}, case
        assert _block(filled[case], kind)[0] == "本表自查：未发现问题", case


def _fill_colour(rule) -> str | None:
    fill = rule.dxf.fill if rule.dxf is not None else None
    if fill is None:
        return None
    rgb = (fill.bgColor.rgb if fill.bgColor is not None else None) or (fill.fgColor.rgb if fill.fgColor is not None else None)
    return ("#" + rgb[-6:]).upper() if isinstance(rgb, str) else None


@pytest.mark.parametrize("case", ["pt-defect", "unit-defect", "se-defect", "pt2023-defect"])
def test_formats_mark_exactly_those_cells(filled, case):
    """Evaluate each conditional format LibreOffice saved, on each cell of its range, with the
    values LibreOffice computed: the cells it marks in the error or warning colour are exactly
    validate's, each in the colour of its finding's severity."""
    kind, variant = CASES[case][0], CASES[case][1]
    spec = load_spec(kind, variant)
    wb = openpyxl.load_workbook(filled[case])
    values = openpyxl.load_workbook(filled[case], data_only=True)[LISTS_SHEET]
    ws = wb[spec.sheet]
    colours = {SEVERITY_COLOURS[s][0].upper(): s for s in ("error", "warning")}
    marked: dict[str, set] = {}
    ref = re.compile(r"^'?" + re.escape(LISTS_SHEET) + r"'?!\$([A-Z]+)(\$?)(\d+)=1$")
    block_col = block_area(spec)[0]
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            sev = colours.get(_fill_colour(rule) or "")
            m = ref.match(rule.formula[0]) if rule.formula else None
            if sev is None or m is None:
                continue
            letters, fixed, row0 = m.group(1), m.group(2), int(m.group(3))
            for rng in cf.sqref.ranges:
                for r in range(rng.min_row, rng.max_row + 1):
                    for c in range(rng.min_col, rng.max_col + 1):
                        if c == block_col + 1:
                            continue
                        hr = row0 if fixed else row0 + (r - rng.min_row)
                        if values[f"{letters}{hr}"].value == 1:
                            marked.setdefault(a1(r - 1, c - 1), set()).add(sev)
    want: dict[str, set] = {}
    for (_, cell), sev in named(filled[case]).items():
        want.setdefault(cell, set()).add(sev)
    assert marked == want


def test_block_is_not_read_by_the_label_reader(filled):
    """Without its metadata the sheet is read by its labels: the 自查 block (text LibreOffice
    computed, right of the form) changes nothing read — fields left empty included."""
    from xltools.locate import find_forms

    path = filled["pt-defect"]
    sheets = [s for s in load_sheets(path) if s.name not in (META_SHEET,)]
    spec = load_spec("project-target")
    col = block_area(spec)[0]
    form = next(s for s in sheets if s.name == spec.sheet)
    assert any(len(row) > col and row[col] not in (None, "") for row in form.grid)   # the block is there
    with_block, _ = find_forms(sheets, str(path))
    for row in form.grid:
        for c in range(col, len(row)):
            row[c] = ""
    without, _ = find_forms(sheets, str(path))
    assert len(with_block) == 1 and [f.data for f in with_block] == [f.data for f in without]
    assert with_block[0].data["项目名称"] is None and with_block[0].data["计划开始日期"] == "2026-12-31"


def test_block_sits_outside_the_print_area(filled):
    for case, (kind, variant, *_rest) in CASES.items():
        spec = load_spec(kind, variant)
        ws = openpyxl.load_workbook(filled[case])[spec.sheet]
        area = ws.print_area[0] if isinstance(ws.print_area, list) else ws.print_area
        last = area.split(":")[-1].replace("$", "")
        col, _, _ = block_area(spec)
        assert parse_cell(re.sub(r"^.*!", "", last))[1] < col, (case, area)
