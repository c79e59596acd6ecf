"""A 退回 copy in LibreOffice Calc: it opens (no repair: loaded, printed and re-saved), the 审核意见
sheet comes first, protected, and prints on A4 one page wide; the form sheet stays protected with
the flagged cells unlocked; re-saved by LibreOffice it reads as before and keeps its comments;
typed into by LibreOffice where it is flagged, it validates clean and reads like a fresh fill."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import openpyxl
import pytest
from lo_util import ROOT, pdf_pages, pdf_text, xltools

sys.path.insert(0, str(ROOT / "tests"))

from helpers import SPEC, TABLE, fill_like_person, valid_form  # noqa: E402

from xltools.annotate import annotate_report, load_config  # noqa: E402
from xltools.template import template_bytes  # noqa: E402
from xltools.validate import validate_paths  # noqa: E402

pytestmark = pytest.mark.libreoffice

REVIEW = load_config().sheet
A4 = (595.0, 842.0)


def defective() -> dict:
    form = valid_form(项目性质="临时项目")
    form["绩效指标"][0]["指标值"] = "<=0(次)"
    form["绩效指标"][1]["指标值"] = None
    form["绩效指标"][3]["指标值"] = "满意"
    return form


def read(path: Path) -> list:
    proc = xltools("read", str(path))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_libreoffice_opens_prints_and_resaves_an_annotated_copy(libreoffice, tmp_path):
    blank = template_bytes(SPEC)[0]
    (tmp_path / "收回").mkdir()
    bad = fill_like_person(blank, defective(), tmp_path / "收回" / "申报表.xlsx")
    sample = ROOT / "samples" / "jiuliting-2026" / "02_党群综合服务.xlsx"
    report = validate_paths([bad, sample])
    made = dict(annotate_report(report, [bad, sample], tmp_path / "退回").made)
    copy, copy2 = made[str(bad)], made[str(sample)]
    flagged = sorted({f.cell for f in report.findings if f.file == str(bad)})
    assert flagged == ["D3", "E13", "E14", "E16"]

    good = valid_form()
    fixes = [["D3", "string", good["项目性质"]]] + [
        [TABLE.cell(i, "指标值"), "string", good["绩效指标"][i]["指标值"]] for i in (0, 1, 3)]
    work = tmp_path / "lo"
    ops = [{"op": "probe", "src": str(copy), "cells": {SPEC.sheet: flagged}},
           {"op": "convert", "src": str(copy2), "out": str(work / "退回.pdf"), "filter": "calc_pdf_Export"},
           {"op": "convert", "src": str(copy2), "out": str(work / "resaved.xlsx"), "filter": "Calc MS Excel 2007 XML"},
           {"op": "fill", "src": str(copy), "out": str(work / "fixed.xlsx"), "sheet": SPEC.sheet, "cells": fixes,
            "check_locked": []}]
    probe, pdf, resaved, fixed = libreoffice.run(ops)
    assert all(r["ok"] for r in (probe, pdf, resaved, fixed)), [r.get("error") for r in (probe, pdf, resaved, fixed)]

    # opened: the review sheet first and protected, the form protected, the flagged cells open
    names = [s["name"] for s in probe["sheets"]]
    assert names[:2] == [REVIEW, SPEC.sheet]
    sheets = {s["name"]: s for s in probe["sheets"]}
    assert sheets[REVIEW]["visible"] and sheets[REVIEW]["protected"] and sheets[SPEC.sheet]["protected"]
    assert not any(probe["locked"].values()) and len(probe["locked"]) == len(flagged)
    assert fixed["protected"] and not any(fixed["locked"].values())

    # printed: the review sheet on A4 portrait, one page wide, its words on the first page
    pages = pdf_pages(work / "退回.pdf")
    assert pages and all(abs(w - A4[0]) < 2 and abs(h - A4[1]) < 2 for w, h in pages)
    first = pdf_text(work / "退回.pdf", 1)
    assert load_config().title in first and "funds-incomplete" in first and "5,721,160.00" in first

    # re-saved by LibreOffice: the same data, the same findings, comments and review sheet kept
    assert read(work / "resaved.xlsx") == read(sample)
    again = validate_paths([work / "resaved.xlsx"])
    theirs = [(f.cell, f.rule) for f in report.findings if f.file == str(sample)]
    assert [(f.cell, f.rule) for f in again.findings] == theirs
    wb = openpyxl.load_workbook(work / "resaved.xlsx")
    assert wb.sheetnames[0] == REVIEW
    commented = {c.coordinate for row in wb[SPEC.sheet].iter_rows() for c in row if c.comment}
    assert commented == {cell for cell, _ in theirs}

    # typed into by LibreOffice where flagged: clean, and read like a fresh fill
    done = validate_paths([work / "fixed.xlsx"])
    assert done.findings == [], [(f.cell, f.rule) for f in done.findings]
    fresh = fill_like_person(blank, good, tmp_path / "fresh.xlsx")
    assert read(work / "fixed.xlsx") == read(fresh)
