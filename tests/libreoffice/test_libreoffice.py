"""LibreOffice Calc as the real client: type the seed-000 submissions into the generated template
through UNO (numbers as numbers, dates as dates, 指标值 and texts as strings, formula-looking text
included), recalculate, save as .xlsx — then xltools reads exactly the data, validates it, finds
LibreOffice's totals equal to its own, merges the files; the protections survive; the merged
汇总表 opens in LibreOffice and its 合计 formulas recalc to what xltools reports; the template
prints on A4, one page wide. Every LibreOffice step runs in two batches in one soffice session."""

from __future__ import annotations

import copy
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lo_util import ROOT, pdf_fonts, pdf_pages, pdf_text, xltools

from xltools.indicators import parse_target
from xltools.merge import DETAIL_SHEET, PUBLISHED_SHEET, SUMMARY_SHEET
from xltools.spec import get_path, load_spec

pytestmark = pytest.mark.libreoffice

SPEC = load_spec("project-target")
TABLE = SPEC.table("绩效指标")
TEMPLATE = ROOT / "templates" / "project-target.xlsx"
SOURCE = ROOT / "samples" / "source" / "000_jiuliting_2026.json"
TOTAL = 44_814_165.00
A4 = (595.0, 842.0)


def submissions() -> list[dict]:
    """The seed-000 forms as staff type them, with formula-looking text in a few cells."""
    forms = json.loads(SOURCE.read_text("utf-8"))
    forms[0]["项目总目标"] = "=SUM(E7:F9) 这是文字，不是公式"
    forms[1]["项目总目标"] = "-1+2\n@SUM(A1)"
    forms[2]["绩效指标"][-1]["指标值"] = "+SUM(1,2)"
    assert any(r["指标值"] == "=100.00(%)" for r in forms[0]["绩效指标"])
    return forms


def expected(form: dict) -> dict:
    out = copy.deepcopy(form)
    for row in out["绩效指标"]:
        row.update(parse_target(row["指标值"]).parts())
    return out


def fill_cells(form: dict) -> list[list]:
    cells = []
    for f in SPEC.inputs:
        v = get_path(form, f.path)
        if v is None:
            continue
        kind = {"money": "value", "year": "value", "date": "date"}.get(f.type, "string")
        cells.append([f.ref, kind, v])
    for i, row in enumerate(form[TABLE.key]):
        for c in TABLE.columns:
            if row.get(c.key) is not None:
                cells.append([TABLE.cell(i, c.key), "string", str(row[c.key])])
    return cells


def input_refs() -> list[str]:
    refs = [SPEC.area(f, TABLE.min_rows).ref for f in SPEC.inputs]   # 填报说明 sits below the table
    refs += [TABLE.cell(i, c.key) for i in range(TABLE.min_rows) for c in TABLE.columns]
    return refs


def label_refs() -> list[str]:
    return [SPEC.label_area(f, TABLE.min_rows).ref for f in SPEC.fields] + [t.area.ref for t in SPEC.texts] + [f.ref for f in SPEC.totals]


def zero_cached_formula_values(src: Path, dst: Path) -> None:
    """A copy whose formula cells carry a stale cached value 0: only a recalculation can fix it."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/"):
                text = data.decode("utf-8")
                text = re.sub(r'(<c r="[A-Z]+\d+"[^>]*?)(?: t="str")?(>\s*<f>[^<]*</f>)\s*<v>[^<]*</v>',
                              r"\1\2<v>0</v>", text)
                data = text.encode("utf-8")
            zout.writestr(info, data)


@pytest.fixture(scope="module")
def rounds(libreoffice, tmp_path_factory):
    work = tmp_path_factory.mktemp("lo-round-trip")
    forms = submissions()
    filled_dir = work / "filled"
    filled = [filled_dir / f"{i:02d}_{f['项目名称']}.xlsx" for i, f in enumerate(forms, start=1)]
    ops = [{"op": "fill", "src": str(TEMPLATE), "out": str(out), "sheet": SPEC.sheet, "cells": fill_cells(f)}
           for f, out in zip(forms, filled)]
    ops += [{"op": "probe", "src": str(out), "cells": {SPEC.sheet: input_refs() + label_refs()}} for out in filled]
    ops += [{"op": "convert", "src": str(TEMPLATE), "out": str(work / "template.pdf"), "filter": "calc_pdf_Export"},
            {"op": "convert", "src": str(filled[1]), "out": str(work / "form02.pdf"), "filter": "calc_pdf_Export"}]
    first = libreoffice.run(ops)
    for op, res in zip(ops, first):
        assert res["ok"], (op["op"], op.get("out") or op.get("src"), res)
    merged = work / "merged" / "汇总表.xlsx"
    merge = xltools("merge", str(filled_dir), "-o", str(merged))
    assert merge.returncode == 0, merge.stderr
    stale = work / "merged" / "汇总表_stale.xlsx"
    zero_cached_formula_values(merged, stale)
    ops2 = [{"op": "convert", "src": str(merged), "out": str(work / "lo" / "汇总表.xlsx"),
             "filter": "Calc MS Excel 2007 XML", "recalc": True},
            {"op": "convert", "src": str(stale), "out": str(work / "lo" / "汇总表_stale.xlsx"),
             "filter": "Calc MS Excel 2007 XML", "recalc": True},
            {"op": "convert", "src": str(merged), "out": str(work / "lo" / "汇总表.pdf"), "filter": "calc_pdf_Export"}]
    second = libreoffice.run(ops2)
    for op, res in zip(ops2, second):
        assert res["ok"], (op["out"], res)
    n = len(forms)
    return {"forms": forms, "filled": filled, "probes": first[n:2 * n], "work": work, "merged": merged,
            "merge": merge, "stale": stale, "lo_merged": work / "lo" / "汇总表.xlsx",
            "lo_stale": work / "lo" / "汇总表_stale.xlsx", "merged_pdf": work / "lo" / "汇总表.pdf",
            "template_pdf": work / "template.pdf", "form_pdf": work / "form02.pdf"}


def test_read_gives_exactly_the_data(rounds):
    run = xltools("read", *map(str, rounds["filled"]))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [expected(f) for f in rounds["forms"]]


def test_validate_passes(rounds):
    run = xltools("validate", *map(str, rounds["filled"]))
    assert run.returncode == 0, run.stdout + run.stderr


def test_values_are_typed_as_staff_type_them(rounds):
    wb = openpyxl.load_workbook(rounds["filled"][0])
    ws = wb[SPEC.sheet]
    assert isinstance(ws["D2"].value, int) or float(ws["D2"].value) == 2026
    for key in ("计划开始日期", "计划完成日期"):
        cell = ws[SPEC.field(key).ref]
        assert cell.is_date, (key, cell.value, cell.number_format)
    assert isinstance(ws[SPEC.field("年度资金.当年财政拨款").ref].value, (int, float))
    targets = {ws[TABLE.cell(i, "指标值")].value: ws[TABLE.cell(i, "指标值")].data_type
               for i in range(len(rounds["forms"][0]["绩效指标"]))}
    assert targets["=100.00(%)"] == "s"
    assert ws[SPEC.field("项目总目标").ref].data_type == "s"
    ws3 = openpyxl.load_workbook(rounds["filled"][2])[SPEC.sheet]
    last = TABLE.cell(len(rounds["forms"][2]["绩效指标"]) - 1, "指标值")
    assert (ws3[last].value, ws3[last].data_type) == ("+SUM(1,2)", "s")


def test_totals_computed_by_libreoffice_equal_the_readers(rounds):
    run = xltools("read", *map(str, rounds["filled"]))
    read = json.loads(run.stdout)
    for path, form in zip(rounds["filled"], read):
        ws = openpyxl.load_workbook(path, data_only=True)[SPEC.sheet]
        for f in SPEC.totals:
            cached = ws[f.ref].value
            mine = get_path(form, f.path)
            if mine is None:
                assert cached in (None, ""), (path.name, f.key, cached)
            else:
                assert cached == pytest.approx(mine, abs=0.005), (path.name, f.key, cached, mine)
    assert round(sum(f["年度资金"]["年度资金申请总额"] for f in read), 2) == TOTAL


def test_merge_of_libreoffice_files(rounds):
    assert rounds["merged"].exists()
    run = xltools("read", str(rounds["merged"]))
    assert run.returncode == 0, run.stderr
    forms = json.loads(run.stdout)
    assert [f["项目名称"] for f in forms] == [f["项目名称"] for f in rounds["forms"]]
    assert round(sum(f["年度资金"]["年度资金申请总额"] for f in forms), 2) == TOTAL
    assert forms == [expected(f) for f in rounds["forms"]]


def test_protections_survive_the_resave(rounds):
    inputs, labels = input_refs(), label_refs()
    for path, probe in zip(rounds["filled"], rounds["probes"]):
        wb = openpyxl.load_workbook(path)
        ws = wb[SPEC.sheet]
        assert ws.protection.sheet, f"{path.name}: sheet protection lost"
        for ref in inputs:
            assert ws[ref].protection.locked is False, f"{path.name}!{ref} became locked"
        for ref in labels:
            assert ws[ref].protection.locked is True, f"{path.name}!{ref} became unlocked"
        # LibreOffice itself, reopening its own file, agrees.
        sheets = {s["name"]: s for s in probe["sheets"]}
        assert sheets[SPEC.sheet]["protected"] and sheets[SPEC.sheet]["visible"]
        assert not any(probe["locked"][f"{SPEC.sheet}!{r}"] for r in inputs)
        assert all(probe["locked"][f"{SPEC.sheet}!{r}"] for r in labels)
        # What LibreOffice drops — structure protection, very-hidden — does not stop the reader.
        assert wb["_xltools"].sheet_state in ("hidden", "veryHidden")
        assert wb["_lists"].sheet_state in ("hidden", "veryHidden")


def test_what_libreoffice_drops_is_known(rounds):
    """Documented in docs/safety.md; if a LibreOffice upgrade keeps them, update the doc."""
    wb = openpyxl.load_workbook(rounds["filled"][0])
    dropped = []
    if not (wb.security and wb.security.lockStructure):
        dropped.append("workbook structure protection")
    if wb["_xltools"].sheet_state != "veryHidden":
        dropped.append("very hidden")
    assert set(dropped) <= {"workbook structure protection", "very hidden"}


def _label(key: str) -> str:
    """The overview header of a money column: its name and the spec's money unit."""
    return SPEC.field(key).label.rstrip(":：").replace("其中: ", "").strip() + f"({SPEC.money_unit})"


def test_merged_summary_opens_and_its_formulas_recalc(rounds):
    read = json.loads(xltools("read", str(rounds["merged"])).stdout)
    src = openpyxl.load_workbook(rounds["merged"])
    overview = src.worksheets[0]
    sums = [c for row in overview.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith("=SUM(")]
    assert sums, "no 合计 formulas in the 汇总表"
    header_row = 2
    for lo_file in (rounds["lo_merged"], rounds["lo_stale"]):
        lo = openpyxl.load_workbook(lo_file, data_only=True)
        ws = lo.worksheets[0]
        for cell in sums:
            header = overview.cell(header_row, cell.column).value
            keys = [k for k in SPEC.summary_columns if _label(k) == header]
            assert keys, header
            want = round(sum(get_path(f, SPEC.field(keys[0]).path) or 0 for f in read), 2)
            got = ws[cell.coordinate].value
            assert got == pytest.approx(want, abs=0.005), (lo_file.name, cell.coordinate, header, got, want)
        # the per-project sheets: their total formulas recalc to the reader's values
        forms = [ws for ws in lo.worksheets
                 if ws.title not in (SUMMARY_SHEET, PUBLISHED_SHEET, DETAIL_SHEET) and ws.sheet_state == "visible"]
        for form, sheet in zip(read, forms, strict=True):
            for f in SPEC.totals:
                mine = get_path(form, f.path)
                got = sheet[f.ref].value
                if mine is None:
                    assert got in (None, ""), (sheet.title, f.key, got)
                else:
                    assert got == pytest.approx(mine, abs=0.005), (sheet.title, f.key, got, mine)
    # the 年度资金申请总额 合计 is the seed total
    col = next(c for c in sums if overview.cell(header_row, c.column).value == _label("年度资金.年度资金申请总额"))
    lo_total = openpyxl.load_workbook(rounds["lo_stale"], data_only=True).worksheets[0][col.coordinate].value
    assert lo_total == pytest.approx(TOTAL, abs=0.005)
    # and xltools still reads the 汇总表 after LibreOffice re-saved it
    again = xltools("read", str(rounds["lo_merged"]))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == read
    assert pdf_pages(rounds["merged_pdf"]), "the 汇总表 did not export to PDF"


def _check_print(pdf: Path, must_have: list[str]) -> list[tuple[float, float]]:
    pages = pdf_pages(pdf)
    assert 1 <= len(pages) <= 2, f"{pdf.name}: {len(pages)} pages"
    for w, h in pages:
        assert abs(w - A4[0]) <= 2 and abs(h - A4[1]) <= 2, f"{pdf.name}: page {w}x{h} pt is not A4 portrait"
    first = re.sub(r"\s+", "", pdf_text(pdf, 1))
    for word in must_have:
        assert word in first, f"{pdf.name}: 「{word}」 not on page 1 (one page wide?)"
    return pages


def test_template_prints_on_a4_one_page_wide(rounds):
    # Column A's label and column E/F's labels on page 1: the width fits one page.
    _check_print(rounds["template_pdf"], ["财政项目支出绩效目标申报表", "项目名称", "项目类别", "年度(/项目)指标值"])
    fonts = pdf_fonts(rounds["template_pdf"])
    assert re.search(r"CJK|WenQuanYi|wqy|Source ?Han", fonts, re.I), f"no CJK font embedded:\n{fonts}"


def test_filled_form_prints_on_a4_one_page_wide(rounds):
    form = rounds["forms"][1]
    _check_print(rounds["form_pdf"], ["财政项目支出绩效目标申报表", form["项目名称"], "项目类别"])
