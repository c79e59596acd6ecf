"""LibreOffice Calc as the real client of the 项目支出绩效自评表 (issue 4, each kind added later):
build the 自评表 of each 2024 中山街道 申报表 exactly as `xltools template project-selfeval --from`
does, type the staff inputs of seed 004 into its unlocked cells only through UNO (the carried
cells are locked), recalculate, save as .xlsx — then xltools reads exactly seed 004, the
values LibreOffice computed (执行率, funds 得分, 总分, 评分等级 …) equal the reader's, validate
--against the 申报表 passes, the sheet is still protected, and the 自评汇总表 merged from the
three files reads back as the three forms. All LibreOffice work is one batch."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from lo_util import ROOT, xltools

from xltools.read import read_workbook
from xltools.spec import a1, get_path, load_spec
from xltools.template import templates_from

pytestmark = pytest.mark.libreoffice

KIND = "project-selfeval"
SPEC = load_spec(KIND)
TABLE = SPEC.table("绩效指标")
SAMPLES = ROOT / "samples" / "zhongshan-2024"
TARGETS = sorted((SAMPLES / "申报表").glob("*.xlsx"))
SOURCE = json.loads((ROOT / "samples" / "source" / "004_zhongshan_2024_selfeval.json").read_text("utf-8"))
CARRY = SPEC.carry["project-target"]
CARRIED_FIELDS = tuple(CARRY["fields"])                                   # 年度, 项目名称, …, 年初预算数 ×3
CARRIED_COLUMNS = tuple(CARRY["tables"][TABLE.key]["columns"])            # 一级/二级/三级指标, 年度指标值
NUMERIC = ("money", "number", "year")
LINES = ("当年财政拨款", "上年结转资金", "其他资金")


def staff_fields() -> list:
    """The inputs of the 自评表 not carried from the 申报表: what staff type outside the table."""
    return [f for f in SPEC.inputs if f.key not in CARRIED_FIELDS]


def staff_columns() -> list:
    return [c for c in TABLE.columns if c.key not in CARRIED_COLUMNS]


def test_staff_inputs_are_what_the_brief_names():
    """The spec-derived staff inputs are exactly: 全年预算数/全年执行数 of the three part rows,
    实际完成情况, 填报说明 (issue 15: the unit's answer to a warning, below the table), and per
    indicator 实际完成值, 分值, 得分, 偏差原因分析及改进措施."""
    want = {f"项目资金.{line}.{col}" for line in LINES for col in ("全年预算数", "全年执行数")} | {"实际完成情况", "填报说明"}
    assert {f.key for f in staff_fields()} == want
    assert [c.key for c in staff_columns()] == ["实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
    assert len(TARGETS) == len(SOURCE) == 3


def fill_cells(form: dict) -> list[list]:
    """[ref, kind, value] of every staff input of a seed-004 form: numbers as numbers, texts as strings."""
    cells = []
    for f in staff_fields():
        v = get_path(form, f.path)
        if v is not None:
            cells.append([f.ref, "value" if f.type in NUMERIC else "string", v])
    for i, row in enumerate(form[TABLE.key]):
        for c in staff_columns():
            v = row.get(c.key)
            if v is not None:
                cells.append([TABLE.cell(i, c.key), "value" if c.type in NUMERIC else "string", v])
    return cells


def staff_refs(n: int) -> list[str]:
    """Every cell staff may type into (typed or left empty)."""
    return [SPEC.area(f, n).ref for f in staff_fields()] + [TABLE.cell(i, c.key) for i in range(n) for c in staff_columns()]


def carried_refs(n: int) -> list[str]:
    """The cells carried from the 申报表 (locked): 年度, 项目名称, 主管部门, 实施单位, 预期目标,
    年初预算数 of the part rows, and 一级/二级/三级指标, 年度指标值 of every indicator."""
    return [SPEC.field(k).ref for k in CARRIED_FIELDS] + [TABLE.cell(i, k) for i in range(n) for k in CARRIED_COLUMNS]


def computed_refs(n: int) -> list[str]:
    """The formula and constant cells (locked), the anchored ones placed below ``n`` indicator rows."""
    return [SPEC.area(f, n).ref for f in SPEC.totals + SPEC.constants]


@pytest.fixture(scope="module")
def rounds(libreoffice, tmp_path_factory):
    work = tmp_path_factory.mktemp("lo-selfeval")
    templates, filled, rows = [], [], []
    for target, form in zip(TARGETS, SOURCE):
        # exactly `xltools template project-selfeval --from <申报表> -o <file>` (the CLI passes rows=None)
        made = templates_from(KIND, target, work / "templates" / f"{target.stem}_自评表.xlsx").made
        assert len(made) == 1 and made[0].rows == len(form[TABLE.key]), (target.name, made)
        templates.append(made[0].path)
        filled.append(work / "filled" / f"{target.stem}.xlsx")
        rows.append(made[0].rows)
    fills = [{"op": "fill", "src": str(t), "out": str(out), "sheet": SPEC.sheet, "cells": fill_cells(form),
              "check_locked": staff_refs(n) + carried_refs(n) + computed_refs(n)}
             for t, out, form, n in zip(templates, filled, SOURCE, rows)]
    probes = [{"op": "probe", "src": str(out), "cells": {SPEC.sheet: staff_refs(n) + carried_refs(n) + computed_refs(n)}}
              for out, n in zip(filled, rows)]
    ops = fills + probes
    results = libreoffice.run(ops)
    for op, res in zip(ops, results):
        assert res["ok"], (op["op"], op.get("out") or op.get("src"), res)
    merged = work / "merged" / "自评汇总表.xlsx"
    merge = xltools("merge", str(work / "filled"), "-o", str(merged))
    assert merge.returncode == 0, merge.stdout + merge.stderr
    return {"templates": templates, "filled": filled, "rows": rows, "fills": results[:3], "probes": results[3:],
            "merged": merged}


@pytest.fixture(scope="module")
def read(rounds):
    run = xltools("read", *map(str, rounds["filled"]))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_typed_only_into_unlocked_cells(rounds):
    for path, res, form, n in zip(rounds["templates"], rounds["fills"], SOURCE, rounds["rows"]):
        locked = res["locked"]
        assert res["protected"], f"{path.name}: the template's sheet is not protected"
        typed = [ref for ref, _, _ in fill_cells(form)]
        assert set(typed) <= set(staff_refs(n))
        assert [r for r in typed if locked[r]] == [], f"{path.name}: typed into locked cells"
        assert [r for r in staff_refs(n) if locked[r]] == [], f"{path.name}: staff inputs locked"
        assert [r for r in carried_refs(n) if not locked[r]] == [], f"{path.name}: carried cells unlocked"
        assert [r for r in computed_refs(n) if not locked[r]] == [], f"{path.name}: formula cells unlocked"
        # the brief's named cells, explicitly
        for ref in ("B3", "C7", "C8", "C9", "A13", "B13", "C13", "D13", TABLE.cell(n - 1, "年度指标值")):
            assert locked[ref], (path.name, ref)
        for ref in ("D7", "E7", "D8", "E8", "D9", "E9", "E11", "E13", "F13", "G13", "H13"):
            assert not locked[ref], (path.name, ref)


def test_read_gives_exactly_seed_004(read):
    assert read == SOURCE
    assert [f["总分"] for f in read] == [96.5, 96.0, 94.0]
    assert [f["评分等级"] for f in read] == ["优", "优", "优"]


def test_values_libreoffice_computed_equal_the_readers(rounds, read):
    for path, form, n in zip(rounds["filled"], read, rounds["rows"]):
        ws = openpyxl.load_workbook(path, data_only=True)[SPEC.sheet]
        # every computed field as the reader recomputes it (分值合计 too, which `read` does not print)
        computed = read_workbook(path).forms[0].computed
        assert set(computed) == {f.key for f in SPEC.totals}
        for f in SPEC.totals:
            ref = SPEC.area(f, n).ref
            cached, mine = ws[ref].value, computed[f.key]
            if f.key in SPEC.key_order or f.path[0] in SPEC.key_order:
                assert mine == get_path(form, f.path), (path.name, f.key)
            if mine is None:
                assert cached in (None, ""), (path.name, f.key, ref, cached)
            elif isinstance(mine, str):
                assert cached == mine, (path.name, f.key, ref, cached, mine)
            else:
                assert isinstance(cached, (int, float)), (path.name, f.key, ref, cached)
                assert cached == pytest.approx(mine, abs=0.005), (path.name, f.key, ref, cached, mine)
        # the brief's cells by address: 执行率 G6..G9, funds 得分 H6, 总分 and 评分等级 below the table
        total_ref = SPEC.area(SPEC.field("总分"), n).ref
        grade_ref = SPEC.area(SPEC.field("评分等级"), n).ref
        assert (total_ref, grade_ref) == (a1(12 + n, 6), a1(13 + n, 1))
        assert ws["G6"].value == pytest.approx(100.0) and ws["H6"].value == pytest.approx(10.0)
        assert [ws[f"G{r}"].value for r in (7, 8, 9)] == pytest.approx([100.0, 0.0, 0.0])
        assert ws[total_ref].value == pytest.approx(form["总分"], abs=0.005)
        assert ws[SPEC.area(SPEC.field("分值合计"), n).ref].value == pytest.approx(100.0)   # Σ分值 + 10
        assert ws[grade_ref].value == form["评分等级"] == "优"
    totals = [openpyxl.load_workbook(p, data_only=True)[SPEC.sheet][SPEC.area(SPEC.field("总分"), n).ref].value
              for p, n in zip(rounds["filled"], rounds["rows"])]
    assert totals == pytest.approx([96.5, 96.0, 94.0], abs=0.005)


def _findings(*paths) -> list[tuple]:
    run = xltools("validate", *map(str, paths), "--against", str(SAMPLES / "申报表"), "--format", "json")
    assert run.returncode == 0, run.stdout + run.stderr
    return [(Path(f["file"]).name, f["sheet"], f["cell"], f["severity"], f["rule"]) for f in json.loads(run.stdout)["findings"]]


def test_validate_against_the_targets_passes(rounds):
    mine = _findings(*rounds["filled"])
    assert not [f for f in mine if f[3] == "error"], mine
    # LibreOffice's cached results agree with the reader: no stale cache, no total or grade typed over
    assert not [f for f in mine if f[4] in ("stale-cache", "total-mismatch", "grade-mismatch")], mine
    # and the findings are those of the sample 自评表 (the 02 score-convention warnings, …)
    assert mine == _findings(*sorted((SAMPLES / "自评表").glob("*.xlsx")))


def test_protection_survives_the_resave(rounds):
    for path, probe, n in zip(rounds["filled"], rounds["probes"], rounds["rows"]):
        wb = openpyxl.load_workbook(path)
        ws = wb[SPEC.sheet]
        assert ws.protection.sheet, f"{path.name}: sheet protection lost"
        assert [r for r in staff_refs(n) if ws[r].protection.locked] == [], f"{path.name}: inputs became locked"
        assert [r for r in carried_refs(n) + computed_refs(n) if not ws[r].protection.locked] == [], \
            f"{path.name}: carried or formula cells became unlocked"
        # LibreOffice, reopening its own file, agrees.
        sheets = {s["name"]: s for s in probe["sheets"]}
        assert sheets[SPEC.sheet]["protected"] and sheets[SPEC.sheet]["visible"]
        assert not any(probe["locked"][f"{SPEC.sheet}!{r}"] for r in staff_refs(n))
        assert all(probe["locked"][f"{SPEC.sheet}!{r}"] for r in carried_refs(n) + computed_refs(n))


def test_merge_of_libreoffice_files(rounds):
    run = xltools("read", str(rounds["merged"]))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == SOURCE
