"""LibreOffice Calc as the real client of the 单位整体支出绩效目标申报表 (unit-target, seed 003
江川路街道 2026): type the corrected transcription and the form as published into the blank
template through UNO — only into unlocked cells (checked before typing), numbers as numbers,
texts as strings (`=100.00(%)` included, which must stay text) — recalculate, save as .xlsx.
Then xltools reads exactly the corrected data, LibreOffice's 部门整体预算总额 is 92,787,331.00,
validate passes on it and reports the seed's defects at their cells on the published one, a
merge of it reads back as the same form, and the sheet protection survives. One batch."""

from __future__ import annotations

import json

import openpyxl
import pytest
from lo_util import ROOT, xltools

from xltools.merge import merge_workbooks
from xltools.profiles import load_profile
from xltools.read import read_workbook
from xltools.spec import load_spec
from xltools.template import template_bytes

pytestmark = pytest.mark.libreoffice

SHEET = "单位整体申报表"
SOURCE = ROOT / "samples" / "source"
(FIXED,) = json.loads((SOURCE / "003_jiangchuan_2026_fixed.json").read_text("utf-8"))
(PUBLISHED,) = json.loads((SOURCE / "003_jiangchuan_2026.json").read_text("utf-8"))
PARSED = ("运算符", "数值", "单位", "定性")
TOTAL = 92_787_331.00

# The printed layout of the default template (20 task rows; seed 003 has 10 tasks), derived by
# hand from schemas/unit-target.toml: tasks B/C rows 8–27 (主要内容 merged C:E), the 预算情况
# block rows 28–34 (部门整体预算总额 C29 = SUM of 财政拨款 C30 and 其他资金 C31; 基本支出 C32,
# 项目支出 C33; 年末在职人数 C34, 内设机构数 E34), the 绩效指标 header row 35, indicator i in row 36 + i
# (一级 B, 二级 C, 三级 D, 指标目标值 E), rows 36–42 pre-printed.
FIELD_CELLS = {"年度": "C2", "单位名称": "B3", "财政资金拨款方式": "B4", "单位职责": "B5", "年度履职目标": "B6"}
BUDGET_CELLS = {"财政拨款": "C30", "其他资金": "C31", "基本支出": "C32", "项目支出": "C33"}
HEAD_CELLS = {"年末在职人数": "C34", "内设机构数": "E34"}
TOTAL_CELL = "C29"
TASK_ROW, IND_ROW, PRE = 8, 36, 7
IND_COLS = {"一级目标": "B", "二级目标": "C", "三级目标": "D", "指标目标值": "E"}
PREPRINTED_CELLS = [f"{c}{IND_ROW + i}" for i in range(PRE) for c in "BC"]
LABEL_CELLS = ["A1", "A3", "A4", "A5", "A6", "A7", "B7", "C7", "A28", "B28", "C28", "B29", "B30", "B31", "B32", "B33",
               "B34", "D34", "A35", "B35", "C35", "D35", "E35"]
LOCKED_CELLS = PREPRINTED_CELLS + [TOTAL_CELL] + LABEL_CELLS

# `xltools validate` on the form as published: every defect at its cell (row = 36 + its index in
# 绩效指标), derived once by hand from 003_jiangchuan_2026.json.
PUBLISHED_FINDINGS = sorted([
    ("E78", "count-nonpositive"),                  # [42] 安全事故发生数 <0.00(次)
    ("E82", "count-nonpositive"),                  # [46] 场地设施设备安全事故发生率 <0.00(次) …
    ("E82", "rate-unit"),                          #      … a 率 counted in 次 as well
    ("E92", "rate-unit"), ("E93", "rate-unit"),    # [56]–[59] 满意度 ≥…(次)
    ("E94", "rate-unit"), ("E95", "rate-unit"),
    ("E69", "date-target-year"),                   # [33] 文献购置及时性 2024年底 in a 2026 form
    ("E46", "unit-odd"), ("E48", "unit-odd"),      # [10] [12] =100.00(率)
    ("E57", "unit-odd"), ("E66", "unit-odd"),      # [21] [30] ≥100.00(率)
    ("E54", "unit-odd"), ("E55", "unit-odd"),      # [18] [19] [20] [22]–[25] =100.00(百分比)
    ("E56", "unit-odd"), ("E58", "unit-odd"), ("E59", "unit-odd"), ("E60", "unit-odd"), ("E61", "unit-odd"),
    ("E88", "unit-odd"),                           # [52] ≥95.00(百分比)
    ("E62", "unit-odd"),                           # [26] =100.00(人数)
    ("C74", "table-required"), ("C75", "table-required"),   # [38]–[41] 成本指标 with no 二级
    ("C76", "table-required"), ("C77", "table-required"),
])


def test_the_findings_list_matches_the_seed_rows():
    """The literal list above names the rows it claims to (guards against a miscount)."""
    rows = PUBLISHED["绩效指标"]

    def at(ref: str) -> dict:
        return rows[int(ref[1:]) - IND_ROW]

    value = {ref: at(ref)["指标目标值"] for ref, rule in PUBLISHED_FINDINGS if ref[0] == "E"}
    assert {value[r] for r, rule in PUBLISHED_FINDINGS if rule == "count-nonpositive"} == {"<0.00(次)"}
    assert [at(r)["三级目标"] for r, rule in PUBLISHED_FINDINGS if rule == "rate-unit"] == [
        "场地设施设备安全事故发生率", "读者满意度", "活动参与人员满意度", "培训参加人员满意度", "相关居民满意度"]
    assert value["E69"] == "2024年底"
    odd = sorted(value[r][value[r].index("("):] for r, rule in PUBLISHED_FINDINGS if rule == "unit-odd")
    assert odd == sorted(["(人数)"] + ["(百分比)"] * 8 + ["(率)"] * 4)
    assert all(at(r)["一级目标"] == "成本指标" and at(r)["二级目标"] is None
               for r, rule in PUBLISHED_FINDINGS if rule == "table-required")


def fill_cells(form: dict) -> list[list]:
    """[ref, kind, value] of everything staff type for ``form``: numbers as values, texts as strings;
    the pre-printed 一级/二级 are not typed (they must equal the print)."""
    cells = []
    for key, ref in FIELD_CELLS.items():
        if form[key] is not None:
            cells.append([ref, "value" if key == "年度" else "string", form[key]])
    for i, task in enumerate(form["年度重点任务"]):
        for col, key in (("B", "任务名称"), ("C", "主要内容")):
            if task[key] is not None:
                cells.append([f"{col}{TASK_ROW + i}", "string", task[key]])
    for key, ref in BUDGET_CELLS.items():
        cells.append([ref, "value", form["预算情况"][key]])
    for key, ref in HEAD_CELLS.items():
        cells.append([ref, "value", form[key]])
    for i, row in enumerate(form["绩效指标"]):
        for key, col in IND_COLS.items():
            if i < PRE and key in ("一级目标", "二级目标"):
                continue
            if row[key] is not None:
                cells.append([f"{col}{IND_ROW + i}", "string", row[key]])
    return cells


def untyped_open_cells(form: dict) -> list[str]:
    """Cells staff could type into but this form leaves empty (the pre-printed rows' 三级/值 …)."""
    typed = {ref for ref, _, _ in fill_cells(form)}
    every = [f"{c}{IND_ROW + i}" for i in range(PRE) for c in "DE"]
    every += [f"{c}{TASK_ROW + i}" for i in range(20) for c in "BC"]
    every += [f"{c}{IND_ROW + i}" for i in range(PRE, PRE + 60) for c in "BCDE"]
    return [r for r in every if r not in typed]


def without_parts(form: dict) -> dict:
    return dict(form, 绩效指标=[{k: v for k, v in r.items() if k not in PARSED} for r in form["绩效指标"]])


@pytest.fixture(scope="module")
def rounds(libreoffice, tmp_path_factory):
    work = tmp_path_factory.mktemp("lo-unit")
    template = work / "单位整体申报表.xlsx"
    template.write_bytes(template_bytes(load_spec("unit-target"))[0])
    fixed, published = work / "filled" / "修改后.xlsx", work / "published" / "原表.xlsx"
    for form in (FIXED, PUBLISHED):   # the transcriptions' pre-printed rows are the print's
        assert [(r["一级目标"], r["二级目标"]) for r in form["绩效指标"][:PRE]] == [
            ("投入管理指标", x) for x in ("预算编审管理", "预算执行管理", "预算绩效管理", "资产管理", "预算透明度",
                                     "内部控制管理", "预算信息化")]
    ops = [{"op": "fill", "src": str(template), "out": str(fixed), "sheet": SHEET, "cells": fill_cells(FIXED),
            "check_locked": LOCKED_CELLS + untyped_open_cells(FIXED)},
           {"op": "fill", "src": str(template), "out": str(published), "sheet": SHEET,
            "cells": fill_cells(PUBLISHED), "check_locked": LOCKED_CELLS},
           {"op": "probe", "src": str(fixed),
            "cells": {SHEET: [r for r, _, _ in fill_cells(FIXED)] + untyped_open_cells(FIXED) + LOCKED_CELLS}}]
    results = libreoffice.run(ops)
    for op, res in zip(ops, results):
        assert res["ok"], (op["op"], op.get("out") or op.get("src"), res)
    merged = work / "merged" / "2026_单位整体汇总表.xlsx"
    merge = merge_workbooks([fixed], merged)
    return {"fixed": fixed, "published": published, "fills": results[:2], "probe": results[2],
            "merged": merged, "merge": merge}


def test_typed_only_into_unlocked_cells(rounds):
    for form, res in zip((FIXED, PUBLISHED), rounds["fills"]):
        assert res["protected"], "the template's sheet is not protected"
        locked = res["locked"]
        typed = [ref for ref, _, _ in fill_cells(form)]
        assert [r for r in typed if locked[r]] == [], "typed into locked cells"
        assert [r for r in LOCKED_CELLS if not locked[r]] == [], "pre-printed, label or formula cells unlocked"
    assert [r for r in untyped_open_cells(FIXED) if rounds["fills"][0]["locked"][r]] == []
    assert rounds["fills"][0]["locked"][TOTAL_CELL] and rounds["fills"][0]["locked"]["B36"]


def test_read_gives_exactly_the_corrected_transcription(rounds):
    got = read_workbook(rounds["fixed"]).forms[0].data
    assert without_parts(got) == FIXED
    # exactly the JSON: key order, and 0 (a head count) is not 0.0 (an amount)
    assert json.dumps(without_parts(got), ensure_ascii=False) == json.dumps(FIXED, ensure_ascii=False)
    rows = got["绩效指标"]
    assert {k: rows[10][k] for k in PARSED} == {"运算符": "=", "数值": 100.0, "单位": "%", "定性": None}
    assert {k: rows[28][k] for k in PARSED} == {"运算符": None, "数值": None, "单位": None, "定性": "10月底前"}
    # what LibreOffice stored: numbers as numbers, the formula-looking target as text
    ws = openpyxl.load_workbook(rounds["fixed"])[SHEET]
    assert ws["C2"].value == 2026 and ws["C30"].data_type == "n" and ws["C34"].value == 0
    assert (ws["E46"].value, ws["E46"].data_type) == ("=100.00(%)", "s")
    assert "\n" in ws["B5"].value and ws["B5"].data_type == "s"


def test_libreoffice_computes_the_budget_total(rounds):
    ws = openpyxl.load_workbook(rounds["fixed"], data_only=True)[SHEET]
    cached = ws[TOTAL_CELL].value
    assert isinstance(cached, (int, float)) and cached == pytest.approx(TOTAL, abs=0.005), cached
    formula = openpyxl.load_workbook(rounds["fixed"])[SHEET][TOTAL_CELL].value
    assert formula.startswith("=") and "SUM(C30,C31)" in formula.replace("$", ""), formula


def _findings(path) -> tuple[int, list[tuple[str, str]]]:
    run = xltools("validate", str(path), "--format", "json")
    assert run.returncode in (0, 1), run.stdout + run.stderr
    # the form rules; the reviewer's content rules are tests/test_review.py's (unit-odd is both)
    content = (set(load_profile().rules) | {"funds-incomplete"}) - {"unit-odd"}
    return run.returncode, sorted((f["cell"], f["rule"]) for f in json.loads(run.stdout)["findings"]
                                  if f["rule"] not in content)


def test_validate_passes_the_corrected_and_finds_the_published_defects(rounds):
    assert _findings(rounds["fixed"]) == (0, [])   # exit code 0, nothing to report
    code, found = _findings(rounds["published"])
    assert found == PUBLISHED_FINDINGS
    assert code == 1   # count-nonpositive and table-required are errors


def test_merge_reads_back_as_the_same_form(rounds):
    merge = rounds["merge"]
    assert merge.exit_code == 0 and rounds["merged"].exists()
    back = read_workbook(rounds["merged"])
    assert [without_parts(f.data) for f in back.forms] == [FIXED]
    assert back.forms[0].data == read_workbook(rounds["fixed"]).forms[0].data


def test_protection_survives_the_resave(rounds):
    typed = [r for r, _, _ in fill_cells(FIXED)]
    open_refs = typed + untyped_open_cells(FIXED)
    wb = openpyxl.load_workbook(rounds["fixed"])
    ws = wb[SHEET]
    assert ws.protection.sheet, "sheet protection lost"
    assert [r for r in open_refs if ws[r].protection.locked] == [], "inputs became locked"
    assert [r for r in LOCKED_CELLS if not ws[r].protection.locked] == [], "locked cells became unlocked"
    assert [ws[r].value for r in PREPRINTED_CELLS[1::2]] == [
        "预算编审管理", "预算执行管理", "预算绩效管理", "资产管理", "预算透明度", "内部控制管理", "预算信息化"]
    # LibreOffice, reopening its own file, agrees.
    probe = rounds["probe"]
    sheets = {s["name"]: s for s in probe["sheets"]}
    assert sheets[SHEET]["protected"] and sheets[SHEET]["visible"]
    assert not any(probe["locked"][f"{SHEET}!{r}"] for r in open_refs)
    assert all(probe["locked"][f"{SHEET}!{r}"] for r in LOCKED_CELLS)
    assert wb["_xltools"].sheet_state in ("hidden", "veryHidden")
