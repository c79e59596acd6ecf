"""项目支出绩效自评表: template (blank and --from), live scoring, rules, --against, merge."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys

import openpyxl
import pytest
from helpers import ROOT
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from xltools.carry import carry_values
from xltools.derive import grade
from xltools.merge import merge_workbooks
from xltools.read import read_workbook
from xltools.spec import a1, load_spec
from xltools.template import template_bytes
from xltools.validate import validate_paths

SELF = load_spec("project-selfeval")
TARGET = load_spec("project-target")
TABLE = SELF.table("绩效指标")
SAMPLES = ROOT / "samples" / "zhongshan-2024"
SOURCE = json.loads((ROOT / "samples" / "source" / "004_zhongshan_2024_selfeval.json").read_text("utf-8"))


def inputs_of(form: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in form.items() if k not in ("表单", "总分", "评分等级")}


def write_self(path, values, carried=frozenset()):
    data, _, _ = template_bytes(SELF, values, carried=carried)
    path.write_bytes(data)
    return path


def target_of(i: int):
    return read_workbook(sorted((SAMPLES / "申报表").glob("*.xlsx"))[i]).forms[0]


def unlocked(ws) -> set[str]:
    return {c.coordinate for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=8)
            for c in row if c.has_style and not c.protection.locked}


# --- templates ------------------------------------------------------------------------------------


def test_blank_template_layout_and_locking():
    data, rows, _ = template_bytes(SELF)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[SELF.sheet]
    assert rows == 40 and ws.protection.sheet and wb.security.lockStructure
    assert [ws.cell(5, c).value for c in range(3, 9)] == ["年初预算数", "全年预算数", "全年执行数", "分数", "执行率(%)", "得分"]
    assert [ws.cell(r, 2).value for r in range(6, 10)] == ["年度资金总额:", "其中: 当年财政拨款", "上年结转资金", "其他资金"]
    expected = set()
    for f in SELF.inputs:
        expected |= {a1(r, c) for r, c in SELF.area(f, 40).cells()}
    expected |= {TABLE.cell(i, c.key) for i in range(40) for c in TABLE.columns}
    assert unlocked(ws) == expected
    # the form ends with the 填报说明 (issue 15): its label in A55, the input B55:H55, open
    assert ws["A55"].value == "填报说明（对审核警告的说明，可不填）" and {f"{c}55" for c in "BCDEFGH"} <= expected
    # the part rows: 全年预算数 and 全年执行数 are the first two unlocked cells right of the label
    for r in (7, 8, 9):
        assert [c.coordinate for c in ws[r] if c.has_style and not c.protection.locked][1:3] == [f"D{r}", f"E{r}"]
    # formulas: totals, 执行率 (no #DIV/0!), funds 得分, 总分 and 评分等级 below the table (row 53 for 40 rows)
    assert ws["D6"].value.startswith("=IF(COUNT(D7,D8,D9)") and ws["F6"].value == 10
    assert ws["G7"].value == '=IF(AND(ISNUMBER(E7),ISNUMBER(D7)),IF(D7=0,0,ROUND(E7/D7*100,2)),"")'
    assert ws["H6"].value == '=IF(AND(ISNUMBER(G6),ISNUMBER(F6)),ROUND(F6*MIN(MAX(G6,0),100)/100,2),"")'
    assert ws["A53"].value == "总分" and ws["F53"].value.startswith("=IF(COUNT(F13:F52,F6)")
    assert ws["G53"].value.startswith("=IF(COUNT(G13:G52,H6)") and ws["H53"].value == "分值合计应为 100"
    assert ws["A54"].value == "评分等级" and ws["B54"].value.startswith('=IF(ISNUMBER(G53),IF(G53>=90,"优"')
    cf = {str(r.sqref): [x.formula[0] for x in r.rules] for r in ws.conditional_formatting}
    assert any("$G13>$F13" in f for f in cf["A13:H52"])
    assert any("LEN(TRIM($H13))=0" in f for f in cf["A13:H52"])


def test_from_template_carries_and_locks(tmp_path):
    target = target_of(0)
    values, carried = carry_values(target, "project-selfeval")
    path = write_self(tmp_path / "s.xlsx", values, carried)
    ws = openpyxl.load_workbook(path)[SELF.sheet]
    n = len(target.data["绩效指标"])
    assert ws["B3"].value == "党群综合服务" and ws["B3"].protection.locked
    assert ws["C7"].value == pytest.approx(698.0) and ws["C7"].protection.locked  # 元 → 万元, a number
    assert ws["C6"].value.startswith("=IF(COUNT(C7,C8,C9)")
    assert ws["B11"].value == target.data["年度总体目标"] and ws["B11"].protection.locked
    for i, row in enumerate(target.data["绩效指标"]):
        got = [ws[TABLE.cell(i, k)].value for k in ("一级指标", "二级指标", "三级指标", "年度指标值")]
        assert got == [row["一级指标"], row["二级指标"], row["三级指标"], row["指标值"]]
    staff = {"D7", "E7", "D8", "E8", "D9", "E9", "E11", "D2"} - {"D2"}
    staff |= {TABLE.cell(i, k) for i in range(n) for k in ("实际完成值", "分值", "得分", "偏差原因分析及改进措施")}
    staff |= {a1(r, c) for r, c in SELF.field("实际完成情况").area.cells()}
    staff |= {f"{c}{15 + n}" for c in "BCDEFGH"}   # 填报说明, below 总分 and 评分等级
    assert unlocked(ws) == staff
    assert ws[f"A{13 + n}"].value == "总分"


def test_from_cli_single_and_summary(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True)

    one = run("template", "project-selfeval", "--from", SAMPLES / "申报表" / "01_党群综合服务.xlsx", "-o", tmp_path / "a.xlsx")
    assert one.returncode == 0, one.stderr
    assert run("merge", SAMPLES / "申报表", "-o", tmp_path / "sum.xlsx").returncode == 0
    many = run("template", "project-selfeval", "--from", tmp_path / "sum.xlsx", "-o", tmp_path / "out")
    assert many.returncode == 0 and len(list((tmp_path / "out").glob("*.xlsx"))) == 3
    refused = run("template", "project-selfeval", "--from", tmp_path / "sum.xlsx", "-o", tmp_path / "x.xlsx")
    assert refused.returncode == 2 and "文件夹" in refused.stderr


# --- reading: the seed's printed totals -------------------------------------------------------


def test_seed_004_samples_give_printed_totals():
    forms = [read_workbook(p).forms[0].data for p in sorted((SAMPLES / "自评表").glob("*.xlsx"))]
    assert [f["总分"] for f in forms] == [96.5, 96.0, 94.0]
    assert [f["评分等级"] for f in forms] == ["优", "优", "优"]
    assert forms[0]["项目资金"]["年度资金总额"] == {"年初预算数": 698.0, "全年预算数": 504.92, "全年执行数": 504.92,
                                              "分数": 10.0, "执行率": 100.0, "得分": 10.0}
    assert forms[0]["项目资金"]["上年结转资金"]["执行率"] == 0.0
    assert forms == SOURCE


def test_person_filled_from_template_reads_back(tmp_path):
    """Staff type into the --from template's unlocked cells only; totals are recomputed."""
    values, carried = carry_values(target_of(1), "project-selfeval")
    tmpl = write_self(tmp_path / "t.xlsx", values, carried)
    wb = openpyxl.load_workbook(tmpl)
    ws = wb[SELF.sheet]
    src = SOURCE[1]
    for line in ("当年财政拨款", "上年结转资金", "其他资金"):
        for col in ("全年预算数", "全年执行数"):
            cell = ws[SELF.field(f"项目资金.{line}.{col}").ref]
            assert not cell.protection.locked
            cell.value = src["项目资金"][line][col]
    ws[SELF.field("实际完成情况").ref] = src["实际完成情况"]
    for i, row in enumerate(src["绩效指标"]):
        for key in ("实际完成值", "分值", "得分", "偏差原因分析及改进措施"):
            cell = ws[TABLE.cell(i, key)]
            assert not cell.protection.locked
            cell.value = row[key]
            cell.data_type = "n" if isinstance(row[key], float) else cell.data_type
    wb.save(tmp_path / "filled.xlsx")
    assert read_workbook(tmp_path / "filled.xlsx").forms[0].data == SOURCE[1]


# --- rules, each at its cell ------------------------------------------------------------------------


def base(i=0):
    return inputs_of(SOURCE[i])


def set_row(form, i, **kw):
    form["绩效指标"][i].update(kw)
    return form


def funds(form, line, **kw):
    form["项目资金"][line].update(kw)
    return form


@pytest.mark.parametrize("make,cell,rule", [
    (lambda: funds(base(), "当年财政拨款", 全年执行数=600.0), "E7", "exec-over-budget"),
    (lambda: set_row(base(), 0, 分值=6.0), "F53", "weights-sum"),
    (lambda: set_row(base(), 0, 得分=6.0), "G13", "score-range"),
    (lambda: set_row(base(), 2, 得分=4.0), "H15", "reason-missing"),
    (lambda: set_row(base(), 0, 偏差原因分析及改进措施="无"), "H13", "reason-unneeded"),
    (lambda: set_row(base(), 10, 实际完成值=None), "E23", "table-required"),
    (lambda: set_row(base(), 10, 实际完成值="很好"), "E23", "qualitative-tier"),
    (lambda: set_row(base(), 5, 实际完成值="20.00(个)"), "G18", "score-convention"),
    (lambda: set_row(base(), 0, 得分="五"), "G13", "number-invalid"),
])
def test_selfeval_rule_at_cell(tmp_path, make, cell, rule):
    form = make()
    report = validate_paths([write_self(tmp_path / "s.xlsx", form)])
    hits = [(f.cell, f.rule) for f in report.findings if f.rule == rule]
    assert hits == [(cell, rule)], report.findings


def test_seed_004_flags_the_le_on_counts(tmp_path):
    report = validate_paths([SAMPLES / "自评表" / "02_文体事务管理.xlsx"])
    conv = [f for f in report.findings if f.rule == "score-convention"]
    assert [f.cell for f in conv] == ["G18", "G19"]
    assert "≤30.00(场)" in conv[0].message and "应得 6.00" in conv[0].message and "3.40" in conv[0].message
    assert report.exit_code == 0  # warnings only


def test_cached_values_typed_over(tmp_path):
    path = write_self(tmp_path / "s.xlsx", base())
    wb = openpyxl.load_workbook(path)
    ws = wb[SELF.sheet]
    ws["D6"] = 999.0      # 年度资金总额 全年预算数 ≠ its parts
    ws["G7"] = 50.0       # 执行率 not recalculated
    ws["B54"] = "良"      # 评分等级 typed over (40 template rows: footer at 53-54)
    ws["G53"] = 99.0      # 总分 cached by a program that did not recalculate
    wb.save(path)
    got = sorted((f.cell, f.rule, f.severity) for f in validate_paths([path]).findings
                 if f.rule in ("total-mismatch", "stale-cache", "grade-mismatch"))
    assert got == [("B54", "grade-mismatch", "error"), ("D6", "total-mismatch", "error"),
                   ("G53", "stale-cache", "warning"), ("G7", "stale-cache", "warning")]


def test_against_the_target(tmp_path):
    target = target_of(0)
    values, carried = carry_values(target, "project-selfeval")
    form = base(0)
    form["项目资金"]["当年财政拨款"]["年初预算数"] = 690.0                        # budget changed
    form["绩效指标"][1]["年度指标值"] = "≤60000.00(元/月)"                       # target changed
    form["绩效指标"][2]["三级指标"] = "新增的指标"                                 # added (and the old one dropped)
    path = write_self(tmp_path / "s.xlsx", form)
    report = validate_paths([path], against=[SAMPLES / "申报表" / "01_党群综合服务.xlsx"])
    got = sorted((f.cell, f.rule) for f in report.findings if f.rule.startswith("against"))
    assert got == [("A44", "against-dropped"), ("C15", "against-added"), ("C7", "against-field"),
                   ("D14", "against-changed")]
    assert report.exit_code == 1
    clean = validate_paths([SAMPLES / "自评表"], against=[SAMPLES / "申报表"])
    assert [f for f in clean.findings if f.rule.startswith("against")] == [] and clean.exit_code == 0
    missing = validate_paths([SAMPLES / "自评表" / "03_社区自治管理.xlsx"], against=[SAMPLES / "申报表" / "01_党群综合服务.xlsx"])
    assert [(f.cell, f.rule) for f in missing.findings if f.severity == "error"] == [("B3", "against-missing")]


# --- merge ----------------------------------------------------------------------------------------


def test_selfeval_summary_round_trip_and_overview(tmp_path):
    res = merge_workbooks([SAMPLES / "自评表"], tmp_path / "自评汇总.xlsx")
    assert res.exit_code == 0
    assert [f.data for f in read_workbook(tmp_path / "自评汇总.xlsx").forms] == SOURCE
    wb = openpyxl.load_workbook(tmp_path / "自评汇总.xlsx", data_only=True)
    rows = list(wb["汇总"].iter_rows(values_only=True))
    assert rows[1][:8] == ("序号", "项目名称", "年度资金总额 年初预算数(万元)", "年度资金总额 全年预算数(万元)",
                           "年度资金总额 全年执行数(万元)", "年度资金总额 执行率(%)", "总分", "评分等级")
    total = next(r for r in rows if r[0] == "合计")
    assert total[2] == pytest.approx(7971.33) and total[4] == pytest.approx(7173.25) and total[5] == 100.0
    detail = [c.value for c in wb["指标明细"][1]]
    assert {"分值", "得分", "偏差原因分析及改进措施"} <= set(detail)


# --- property: 总分 = Σ 得分 and the right 评分等级 -----------------------------------------------------


@st.composite
def scored(draw):
    form = base(2)
    n = len(form["绩效指标"])
    weights = draw(st.lists(st.integers(0, 900), min_size=n, max_size=n))
    for row, w in zip(form["绩效指标"], weights):
        points = w / 100
        row["分值"] = points
        row["得分"] = draw(st.integers(0, w)) / 100
        row["偏差原因分析及改进措施"] = "原因" if row["得分"] < points else None
    budget = draw(st.integers(0, 10**6)) / 100
    done = draw(st.integers(0, 10**6)) / 100
    form["项目资金"]["当年财政拨款"].update(全年预算数=budget, 全年执行数=done)
    return form


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(scored())
def test_total_and_grade_property(tmp_path, form):
    data = read_workbook(write_self(tmp_path / "p.xlsx", form)).forms[0].data
    line = data["项目资金"]["年度资金总额"]
    budget, done = line["全年预算数"], line["全年执行数"]
    rate = 0.0 if budget == 0 else round(done / budget * 100, 2)
    assert line["执行率"] == rate
    assert line["得分"] == round(10 * min(rate, 100) / 100, 2)
    assert data["总分"] == pytest.approx(sum(r["得分"] for r in data["绩效指标"]) + line["得分"], abs=0.006)
    assert data["评分等级"] == grade(data["总分"])
