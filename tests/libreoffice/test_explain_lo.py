"""The 填报说明 (issue 15) in LibreOffice: staff type it into the template, save, print to PDF;
the workbook and its PDF both read it back, and the tables above it stay as they were.

The forms are those of test_pdf_import (short texts that fit their cells in the print), the
2023 layout with one 资金构成 row. One LibreOffice batch for the module.
"""

from __future__ import annotations

import copy

import pytest
from test_pdf_import import FORMS

from xltools.read import read_workbook
from xltools.spec import load_spec
from xltools.template import template_bytes

pytestmark = pytest.mark.libreoffice

NOTE = "执行率偏低是因为项目十月才获批。"
V2023 = dict({k: v for k, v in FORMS["project-target"].items() if k != "项目性质"}, 项目类别="经常性项目",
             资金构成=[{"年度": 2026, "子项目名称": "党群活动", "预算金额": 5733160.5}])
# (kind, variant, form, the 填报说明 input as placed for that form's rows — worked out by hand)
CASES = [
    ("project-target", None, FORMS["project-target"], "B53"),      # 40 indicator rows 13–52
    ("project-target", "2023", V2023, "B60"),                        # + caption 53, header 54, rows 55–59
    ("project-selfeval", None, FORMS["project-selfeval"], "B55"),    # + 总分 53, 评分等级 54
    ("unit-target", None, FORMS["unit-target"], "B103"),             # 绩效指标 36–102
]


@pytest.fixture(scope="module")
def rounds(libreoffice, tmp_path_factory):
    work = tmp_path_factory.mktemp("explain-lo")
    ops, out = [], []
    for i, (kind, variant, form, cell) in enumerate(CASES):
        spec = load_spec(kind, variant)
        src, typed, pdf = work / f"{i}.xlsx", work / f"{i}-typed.xlsx", work / f"{i}.pdf"
        src.write_bytes(template_bytes(spec, copy.deepcopy(form))[0])
        ops.append({"op": "fill", "src": str(src), "out": str(typed), "sheet": spec.sheet,
                    "cells": [[cell, "string", NOTE]], "check_locked": []})
        ops.append({"op": "convert", "src": str(typed), "out": str(pdf), "filter": "calc_pdf_Export"})
        out.append((src, typed, pdf))
    results = libreoffice.run(ops)
    for op, res in zip(ops, results):
        assert res["ok"], (op["out"], res)
    return [(src, typed, pdf, results[2 * i]) for i, (src, typed, pdf) in enumerate(out)]


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{k}{'-' + v if v else ''}" for k, v, _, _ in CASES])
def test_typed_in_libreoffice_read_from_the_workbook_and_its_pdf(rounds, i):
    kind, variant, form, cell = CASES[i]
    src, typed, pdf, fill = rounds[i]
    assert fill["protected"] and fill["locked"] == {cell: False}   # an open cell of a protected sheet
    before = read_workbook(src).forms[0]
    after = read_workbook(typed).forms[0]
    assert "填报说明" not in before.data and after.data["填报说明"] == NOTE
    assert after.cells[("填报说明",)] == cell
    assert {k: v for k, v in after.data.items() if k != "填报说明"} == before.data
    printed = read_workbook(pdf).forms[0]
    assert printed.data["填报说明"] == NOTE
    for table in load_spec(kind, variant).tables:   # the note did not become a table row
        assert len(printed.data[table.key]) == len(after.data[table.key]), table.key
