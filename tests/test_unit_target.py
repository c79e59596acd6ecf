"""单位整体支出绩效目标申报表 (kind unit-target, seed 003 江川路街道 2026): template, read,
every rule at its cell, merge; and the proof that the spec is enough: a fourth kind defined
only in a TOML file works through every command."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import ROOT

from xltools.profiles import load_profile
from xltools.read import read_workbook
from xltools.spec import load_spec
from xltools.template import template_bytes
from xltools.validate import validate_paths

SPEC = load_spec("unit-target")
SOURCE = ROOT / "samples" / "source"
PUBLISHED = json.loads((SOURCE / "003_jiangchuan_2026.json").read_text("utf-8"))[0]
FIXED = json.loads((SOURCE / "003_jiangchuan_2026_fixed.json").read_text("utf-8"))[0]
PARSED = ("运算符", "数值", "单位", "定性")

# The printed layout with 20 task rows (the default): tasks in rows 8–27, the 预算情况 block in
# rows 28–34, the 绩效指标 header in row 35, its 7 pre-printed rows 36–42, open rows from 43.
TASK_ROW, BUDGET_ROW, INDICATOR_ROW = 8, 28, 36


def run(*args, **env):
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **env), timeout=120)


def typed(form: dict) -> dict:
    """What staff type: the form without 表单, the computed total and the parsed parts."""
    out = copy.deepcopy({k: v for k, v in form.items() if k != "表单"})
    out["预算情况"].pop("部门整体预算总额", None)
    out["绩效指标"] = [{k: v for k, v in r.items() if k not in PARSED} for r in out["绩效指标"]]
    return out


def write(path: Path, form: dict) -> Path:
    data, _, _ = template_bytes(SPEC, typed(form))
    path.write_bytes(data)
    return path


def findings(path: Path) -> list[tuple[str, str]]:
    return sorted((f.cell, f.rule) for f in validate_paths([path]).findings if f.rule not in CONTENT)


# The reviewer's content rules (tests/test_review.py); unit-odd is a form rule of this kind too.
CONTENT = (set(load_profile().rules) | {"funds-incomplete"}) - {"unit-odd"}


# --- seed 003 -----------------------------------------------------------------------------------


def test_seed_figures_read_back(tmp_path):
    form = read_workbook(write(tmp_path / "a.xlsx", FIXED)).forms[0].data
    budget = form["预算情况"]
    assert budget == {"部门整体预算总额": 92787331.00, "财政拨款": 92787331.00, "其他资金": 0.00,
                      "基本支出": 50839284.87, "项目支出": 41948046.13}
    assert round(budget["基本支出"] + budget["项目支出"], 2) == 92787331.00
    assert form["单位名称"] == "上海市闵行区江川路街道社区党群服务中心" and form["财政资金拨款方式"] == "全额"
    assert len(form["年度重点任务"]) == 10 and len(form["绩效指标"]) == 60
    assert form["年末在职人数"] == 0 and isinstance(form["年末在职人数"], int)
    assert list(form) == ["表单", "年度", "单位名称", "财政资金拨款方式", "单位职责", "年度履职目标", "年度重点任务",
                          "预算情况", "年末在职人数", "内设机构数", "绩效指标"]
    assert findings(tmp_path / "a.xlsx") == []


def test_seed_defects_as_published_at_their_cells(tmp_path):
    path = write(tmp_path / "原表.xlsx", PUBLISHED)
    got = findings(path)
    rows = {r["三级目标"]: INDICATOR_ROW + i for i, r in enumerate(PUBLISHED["绩效指标"]) if r["三级目标"]}
    want = [(f"E{rows['安全事故发生数']}", "count-nonpositive"),                 # <0.00(次) on a count
            (f"E{rows['场地设施设备安全事故发生率']}", "count-nonpositive"),
            (f"E{rows['场地设施设备安全事故发生率']}", "rate-unit"),
            (f"E{rows['文献购置及时性']}", "date-target-year")]                 # 2024年底 in a 2026 form
    want += [(f"E{rows[n]}", "rate-unit") for n in ("读者满意度", "活动参与人员满意度", "培训参加人员满意度",
                                                   "相关居民满意度")]             # ≥90.00(次) on a 满意度
    want += [(f"E{rows[n]}", "unit-odd") for n in ("艺术馆运营工作完成率", "社区党校完成培训工作",
                                                  "艺术馆运营工作考核达标率", "社区党校培训工作完成及时率")]  # (率)
    for r in PUBLISHED["绩效指标"]:
        if r["指标目标值"] and re.search(r"\((百分比|人数)\)", r["指标目标值"]):
            want.append((f"E{rows[r['三级目标']]}", "unit-odd"))
        if r["一级目标"] == "成本指标" and r["二级目标"] is None:   # a 二级 left empty
            want.append((f"C{rows[r['三级目标']]}", "table-required"))
    assert got == sorted(want)
    assert len([w for w in want if w[1] == "table-required"]) == 4
    assert ("E46", "unit-odd") in got and ("E78", "count-nonpositive") in got   # two spot checks, by hand


# --- every unit rule at its cell ----------------------------------------------------------------


def variant(**changes) -> dict:
    form = copy.deepcopy(FIXED)
    for key, value in changes.items():
        if "." in key:
            a, b = key.split(".")
            form[a][b] = value
        else:
            form[key] = value
    return form


@pytest.mark.parametrize("changes, want", [
    ({"预算情况.基本支出": 50839284.88}, [(f"C{BUDGET_ROW + 4}", "budget-unbalanced")]),
    ({"预算情况.其他资金": 100.0}, [(f"C{BUDGET_ROW + 4}", "budget-unbalanced")]),
    ({"年末在职人数": 12.5}, [(f"C{BUDGET_ROW + 6}", "count-invalid")]),
    ({"内设机构数": -1}, [(f"E{BUDGET_ROW + 6}", "count-invalid")]),
    ({"内设机构数": "三个"}, [(f"E{BUDGET_ROW + 6}", "count-invalid")]),
    ({"单位职责": None}, [("B5", "required")]),
    ({"年度履职目标": None}, [("B6", "required")]),
    ({"财政资金拨款方式": "部分"}, [("B4", "not-in-list")]),
    ({"预算情况.项目支出": None}, [(f"C{BUDGET_ROW + 5}", "required")]),
])
def test_unit_rules_at_their_cells(tmp_path, changes, want):
    assert findings(write(tmp_path / "f.xlsx", variant(**changes))) == want


def test_budget_message_names_both_sums_in_yuan(tmp_path):
    report = validate_paths([write(tmp_path / "f.xlsx", variant(**{"预算情况.基本支出": 50839284.88}))])
    (f,) = [f for f in report.findings if f.rule not in CONTENT]
    assert "财政拨款＋其他资金 = 92,787,331.00" in f.message and "基本支出＋项目支出 = 92,787,331.01" in f.message
    assert "元" in f.message and f.severity == "error"


def test_tasks_and_indicators_are_checked_as_tables(tmp_path):
    form = copy.deepcopy(FIXED)
    form["年度重点任务"][2]["主要内容"] = None                  # a plain table: required cells too
    form["绩效指标"][10]["指标目标值"] = None                    # an open indicator row without its value
    form["绩效指标"][0]["三级目标"] = None                      # pre-printed rows: 三级/值 optional
    form["绩效指标"][11]["二级目标"] = "预算编审管理"            # a 二级 of another 一级
    got = findings(write(tmp_path / "f.xlsx", form))
    assert got == sorted([(f"C{TASK_ROW + 2}", "table-required"), (f"E{INDICATOR_ROW + 10}", "value-empty"),
                          (f"C{INDICATOR_ROW + 11}", "hierarchy")])


def test_no_indicator_beyond_the_preprinted_rows(tmp_path):
    form = copy.deepcopy(FIXED)
    form["绩效指标"] = [dict(r, 三级目标=None, 指标目标值=None) for r in form["绩效指标"][:7]]   # pre-printed only
    assert findings(write(tmp_path / "f.xlsx", form)) == [(f"B{INDICATOR_ROW + 7}", "no-indicators")]


def test_duplicate_unit_year(tmp_path):
    a, b = write(tmp_path / "a.xlsx", FIXED), write(tmp_path / "b.xlsx", FIXED)
    report = validate_paths([a, b])
    got = [f for f in report.findings if f.rule not in CONTENT]
    assert [(f.file, f.cell, f.rule) for f in got] == [(str(b), "B3", "duplicate-project")]
    assert "上海市闵行区江川路街道社区党群服务中心" in got[0].message


# --- template, batch, merge through the command line --------------------------------------------


def test_template_layout(tmp_path):
    out = tmp_path / "t.xlsx"
    proc = run("template", "unit-target", "-o", out, "--year", 2026, "--unit", "某街道党群服务中心")
    assert proc.returncode == 0, proc.stderr
    ws = openpyxl.load_workbook(out)["单位整体申报表"]
    assert ws["A1"].value == "单位整体支出绩效目标申报表" and ws["C2"].value == 2026
    assert ws["B3"].value == "某街道党群服务中心" and not ws["B3"].protection.locked
    assert ws.protection.sheet
    assert ws[f"C{BUDGET_ROW + 1}"].value.startswith("=") and ws[f"C{BUDGET_ROW + 1}"].protection.locked
    assert [ws[f"B{INDICATOR_ROW + i}"].value for i in range(7)] == ["投入管理指标"] * 7
    assert [ws[f"C{INDICATOR_ROW + i}"].value for i in range(7)] == [
        "预算编审管理", "预算执行管理", "预算绩效管理", "资产管理", "预算透明度", "内部控制管理", "预算信息化"]
    for i in range(7):
        assert ws[f"B{INDICATOR_ROW + i}"].protection.locked and ws[f"C{INDICATOR_ROW + i}"].protection.locked
        assert not ws[f"D{INDICATOR_ROW + i}"].protection.locked and not ws[f"E{INDICATOR_ROW + i}"].protection.locked
    open_rows = [r for r in range(INDICATOR_ROW + 7, ws.max_row + 1) if not ws[f"B{r}"].protection.locked]
    assert len(open_rows) >= 60
    assert run("template", "unit-target", "-o", tmp_path / "x.xlsx", "--dept", "区政府").returncode == 2


def test_batch_by_unit_roster_and_merge_across_units(tmp_path):
    roster = tmp_path / "单位清单.csv"
    roster.write_text("单位名称\n甲街道党群服务中心\n乙街道党群服务中心\n", encoding="utf-8")
    proc = run("template", "unit-target", "--batch", roster, "--year", 2026, "-o", tmp_path / "模板")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "模板").iterdir()) == [
        "乙街道党群服务中心_2026_单位整体申报表.xlsx", "甲街道党群服务中心_2026_单位整体申报表.xlsx"]
    returns = tmp_path / "收回"
    returns.mkdir()
    for unit, extra in (("甲街道党群服务中心", 0.0), ("乙街道党群服务中心", 1000.0)):
        form = variant(单位名称=unit)
        form["预算情况"]["其他资金"] = extra
        form["预算情况"]["项目支出"] = round(form["预算情况"]["项目支出"] + extra, 2)
        write(returns / f"{unit}.xlsx", form)
    out = tmp_path / "汇总.xlsx"   # a unit overview spans units: one .xlsx for the year
    proc = run("merge", returns, "-o", out)
    assert proc.returncode == 0, proc.stderr
    back = json.loads(run("read", out).stdout)
    assert [f["单位名称"] for f in back] == ["乙街道党群服务中心", "甲街道党群服务中心"]
    wb = openpyxl.load_workbook(out)
    overview = wb[wb.sheetnames[0]]
    assert overview["A1"].value == "2026 年度单位整体支出绩效目标汇总表"
    headers = [c.value for c in overview[2]]
    col = headers.index("部门整体预算总额(元)") + 1
    assert overview.cell(5, 1).value == "合计" and overview.cell(5, col).value.startswith("=SUM(")
    assert round(sum(f["预算情况"]["部门整体预算总额"] for f in back), 2) == 2 * 92787331.00 + 1000.00
    assert "指标明细" in wb.sheetnames


# --- the spec is enough: a fourth kind, only in TOML ---------------------------------------------


MINI = '''
kind = "mini-report"
version = 1
title = "社区活动经费简表"
name = "社区活动经费简表"
sheet = "简表"
columns = [14, 24, 16]
key_order = ["表单", "年度", "社区", "经费", "活动"]
identity = ["社区", "年度"]
group_by = ["年度"]
summary_title = "{年度} 年度社区活动经费汇总"
short_name = "简表"
form_file = ["社区", "年度"]
summary_file = "简表汇总"
summary_columns = ["社区", "经费"]

[[texts]]
cell = "A1:C1"
text = "社区活动经费简表"
style = "title"

[[fields]]
key = "年度"
role = "year"
label = "年度"
label_cell = "A2"
cell = "B2"
type = "year"
required = true

[[fields]]
key = "社区"
role = "unit"
label = "社区"
label_cell = "A3"
cell = "B3:C3"
type = "text"
required = true

[[fields]]
key = "经费"
label = "经费(元)"
label_cell = "A4"
cell = "B4"
type = "money"
required = true

[[tables]]
key = "活动"
label = "活动"
label_col = "A"
header_row = 5
min_rows = 5

[[tables.columns]]
key = "活动名称"
label = "活动名称"
col = "B"
type = "text"
required = true

[[tables.columns]]
key = "人次"
label = "人次"
col = "C"
type = "count"
required = true
'''


def test_a_fourth_kind_needs_no_python(tmp_path):
    import shutil

    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    (schemas / "mini-report.toml").write_text(MINI, encoding="utf-8")
    env = {"XLTOOLS_SCHEMAS": str(schemas)}
    blank = tmp_path / "blank.xlsx"
    assert run("template", "mini-report", "-o", blank, "--year", 2026, **env).returncode == 0
    wb = openpyxl.load_workbook(blank)
    ws = wb["简表"]
    assert ws["A1"].value == "社区活动经费简表" and ws["B2"].value == 2026 and not ws["B4"].protection.locked
    # a unit fills it: one good form, one with a bad count, one empty required amount
    returns = tmp_path / "收回"
    returns.mkdir()
    for name, money, count in (("东社区", 1200.5, 30), ("西社区", 800.0, 2.5), ("南社区", None, 10)):
        wb = openpyxl.load_workbook(blank)
        ws = wb["简表"]
        ws["B3"], ws["B4"], ws["B6"], ws["C6"] = name, money, "广场舞比赛", count
        wb.save(returns / f"{name}.xlsx")
    good = returns / "东社区.xlsx"
    read = run("read", good, **env)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == [{"表单": "mini-report", "年度": 2026, "社区": "东社区", "经费": 1200.5,
                                        "活动": [{"活动名称": "广场舞比赛", "人次": 30}]}]
    proc = run("validate", returns, "--format", "json", **env)
    assert proc.returncode == 1
    got = sorted((Path(f["file"]).name, f["cell"], f["rule"]) for f in json.loads(proc.stdout)["findings"])
    assert got == [("南社区.xlsx", "B4", "required"), ("西社区.xlsx", "C6", "count-invalid")]
    out = tmp_path / "汇总"
    proc = run("merge", good, "-o", out, **env)
    assert proc.returncode == 0, proc.stderr
    made = out / "2026_简表汇总.xlsx"
    assert [f["社区"] for f in json.loads(run("read", made, **env).stdout)] == ["东社区"]


# --- no form knowledge in the code -----------------------------------------------------------


def test_the_code_names_no_printed_label_and_no_kind():
    """Every label and kind lives in schemas/; the code asks the spec (help texts excepted)."""
    labels = set()
    for path in (ROOT / "schemas").glob("*.toml"):
        text = path.read_text("utf-8")
        labels |= set(re.findall(r'^(?:key|label) = "([^"]+)"', text, re.M))
        labels |= set(re.findall(r'^kind = "([^"]+)"', text, re.M))
    labels = {x for x in labels if len(x) >= 3}   # short words (年度, 得分) occur in ordinary prose
    offenders = []
    for path in sorted((ROOT / "xltools").glob("*.py")):
        for i, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if "help=" in line or line.lstrip().startswith(("#", '"""')) or "示例" in line or "xltools template" in line:
                continue
            for label in labels:
                if f'"{label}"' in line or f"'{label}'" in line:
                    offenders.append(f"{path.name}:{i}: {label}")
    assert offenders == []
