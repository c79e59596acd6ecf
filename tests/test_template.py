"""The template staff receive: layout, locking, formats, dropdowns, metadata, print setup."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile

import openpyxl
import pytest
from helpers import ROOT, SPEC, TABLE

from xltools.spec import Area, a1
from xltools.template import template_bytes, template_workbook


@pytest.fixture(scope="module")
def wb():
    data, rows, _ = template_bytes(SPEC)
    assert rows == 40
    return openpyxl.load_workbook(io.BytesIO(data))


@pytest.fixture(scope="module")
def ws(wb):
    return wb[SPEC.sheet]


def input_cells(rows: int = 40) -> set[str]:
    cells = set()
    for f in SPEC.inputs:
        cells |= {a1(r, c) for r, c in SPEC.area(f, rows).cells()}
    for i in range(rows):
        cells |= {a1(TABLE.row(i), col) for c in TABLE.columns for col in range(c.col, (c.last or c.col) + 1)}
    return cells


def test_labels_printed_exactly_and_inputs_beside_them(ws):
    assert ws["A1"].value == "财政项目支出绩效目标申报表"
    for f in SPEC.fields:
        assert ws[SPEC.label_area(f, 40).ref].value == f.label
    # the input is directly right of its label, or below it for long texts
    for f in SPEC.inputs:
        la, ia = SPEC.label_area(f, 40), SPEC.area(f, 40)
        beside = ia.first_row == la.first_row and ia.first_col == la.last_col + 1
        below = f.type == "longtext" and ia.first_row == la.last_row + 1 and ia.first_col == la.first_col
        assert beside or below or f.key == "年度", f.key
    header = [ws.cell(TABLE.header_row + 1, c.col + 1).value for c in TABLE.columns]
    assert header == ["一级指标", "二级指标", "三级指标", "年度(/项目)指标值"]


def test_sheet_and_workbook_protected(wb, ws):
    assert ws.protection.sheet is True
    assert ws.protection.formatColumns is False  # False = allowed in OOXML's inverted flags
    assert ws.protection.formatRows is False
    assert ws.protection.insertRows is True and ws.protection.deleteRows is True
    assert wb.security is not None and wb.security.lockStructure is True


def test_only_inputs_unlocked(ws):
    unlocked = {c.coordinate for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=8)
                for c in row if c.has_style and not c.protection.locked}
    assert unlocked == input_cells()
    for f in SPEC.totals:
        assert ws[SPEC.area(f, 40).ref].protection.locked
        assert ws[SPEC.area(f, 40).ref].value.startswith("=IF(COUNT(")


def test_input_formats(ws):
    fmt = {"text": "@", "longtext": "@", "choice": "@", "money": "#,##0.00", "date": "yyyy-mm-dd", "year": "0"}
    for f in SPEC.inputs:
        assert ws[SPEC.area(f, 40).ref].number_format == fmt[f.type], f.key
    for i in (0, 39):
        for c in TABLE.columns:
            assert ws[TABLE.cell(i, c.key)].number_format == "@"


def _validations(ws) -> dict[str, object]:
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            out[rng.split(":")[0]] = dv
    return out


def test_dropdowns_cascade_and_number_checks(wb, ws):
    dvs = _validations(ws)
    nature = dvs[SPEC.field("项目性质").ref]
    assert nature.type == "list" and nature.formula1.startswith("'_lists'!$A$2")
    assert nature.showErrorMessage and nature.showInputMessage and nature.promptTitle
    lists = wb["_lists"]
    col_a = [c.value for c in lists["A"][1:] if c.value]
    assert col_a == list(SPEC.lists["项目性质"])
    assert len(nature.formula1) < 255
    level1 = dvs[TABLE.cell(0, "一级指标")]
    assert level1.type == "list" and str(level1.sqref) == f"{TABLE.cell(0, '一级指标')}:{TABLE.cell(39, '一级指标')}"
    level2 = dvs[TABLE.cell(0, "二级指标")]
    assert level2.type == "list" and level2.formula1 == f"INDIRECT(${TABLE.column('一级指标').letter}{TABLE.row(0) + 1})"
    for l1 in SPEC.hierarchy.level1:  # one defined name per 一级, listing its 二级
        ref = wb.defined_names[l1].attr_text
        sheet, cells = ref.split("!")
        values = [c[0].value for c in wb["_lists"][cells.replace("$", "")]]
        assert values == list(SPEC.hierarchy.level2(l1))
    money = dvs[SPEC.field("年度资金.当年财政拨款").ref]
    assert money.type == "decimal" and money.operator == "greaterThanOrEqual" and money.formula1 == "0"
    assert dvs[SPEC.field("计划开始日期").ref].type == "date"
    assert dvs[SPEC.field("年度").ref].type == "whole"


def test_required_cells_highlighted(ws):
    ranges = {str(r.sqref) for r in ws.conditional_formatting}
    for f in SPEC.inputs:
        if f.required:
            assert SPEC.area(f, 40).ref in ranges, f.key


def test_metadata_very_hidden(wb):
    meta = wb["_xltools"]
    assert meta.sheet_state == "veryHidden"
    values = {r[0].value: r[1].value for r in meta.iter_rows(max_col=2)}
    assert values["kind"] == "project-target" and values["version"] == SPEC.version
    assert values["rows"] == 40 and len(values["template_id"]) == 16
    assert wb["_lists"].sheet_state == "hidden"
    assert wb.sheetnames[0] == SPEC.sheet


def test_print_setup(ws):
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "portrait"
    # fitToWidth defaults to 1 in OOXML, so it may be omitted
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows is None   # the title once, as printed forms have it (and as import reads it)


def test_rows_option_and_minimum(tmp_path):
    res = template_workbook("project-target", tmp_path / "t.xlsx", rows=60, year=2026, unit="某单位", dept="某部门")
    assert res.rows == 60
    ws = openpyxl.load_workbook(res.path)[SPEC.sheet]
    assert not ws[TABLE.cell(59, "指标值")].protection.locked
    assert ws[SPEC.field("年度").ref].value == 2026
    assert ws[SPEC.field("实施单位").ref].value == "某单位"
    assert template_workbook("project-target", tmp_path / "s.xlsx", rows=5).rows == 40


def test_template_is_deterministic_and_committed_copy_fresh():
    a, _, _ = template_bytes(SPEC)
    b, _, _ = template_bytes(SPEC)
    assert a == b
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "regenerate.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"templates/ or samples/ are stale; run python scripts/regenerate.py\n{proc.stdout}"


def test_workbook_xml_structure_lock_in_schema_order():
    data, _, _ = template_bytes(SPEC)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml").decode()
    assert xml.index("<workbookPr") < xml.index("<workbookProtection") < xml.index("<bookViews>")


def test_merged_input_areas_fully_unlocked(ws):
    merged = [f for f in SPEC.inputs if SPEC.area(f, 40).merged]
    assert merged, "the spec has merged inputs (long texts)"
    for f in merged:
        for r, c in Area.cells(SPEC.area(f, 40)):
            assert not ws.cell(r + 1, c + 1).protection.locked
