"""LibreOffice Calc as the real client of the 2023 layout of the 申报表 (project-target --variant
2023, seed 001 九亭镇 2023): type both forms of the seed into the blank 2023 template through UNO —
only into unlocked cells, numbers and dates as numbers, texts as strings — recalculate, save as
.xlsx. xltools reads back exactly the transcription (in the 2023 layout, from the metadata
LibreOffice kept), validate finds seed 001's defects at their cells, a merge with a 2026 form of
the same unit reads back as the same forms, and the template prints on A4, one page wide."""

from __future__ import annotations

import json
import re

import openpyxl
import pytest
from lo_util import ROOT, pdf_pages, pdf_text, xltools

from xltools.merge import merge_workbooks
from xltools.read import read_workbook
from xltools.spec import load_spec
from xltools.template import template_bytes

pytestmark = pytest.mark.libreoffice

SHEET = "申报表"
SEED = json.loads((ROOT / "samples" / "source" / "001_jiuting_2023.json").read_text("utf-8"))
PARSED = ("运算符", "数值", "单位", "定性")
A4 = (595.0, 842.0)

# The printed 2023 layout of the default template, by hand: fields in rows 2–11, indicator i in
# row 13 + i (一级 B, 二级 C, 三级 D, 指标值 E), the 资金构成 header in row 54, part i in row 55 + i
# (年度 A, 子项目名称 B, 预算金额 E).
FIELDS = {"年度": ("D2", "value"), "项目名称": ("B3", "string"), "项目类别": ("F3", "string"),
          "主管部门": ("B4", "string"), "实施单位": ("D4", "string"), "计划开始日期": ("B5", "date"),
          "计划完成日期": ("D5", "date"), "项目总目标": ("B11", "string"), "年度总体目标": ("D11", "string")}
FUNDS = {("项目资金", "财政资金"): "C7", ("项目资金", "其他资金"): "C9", ("年度资金", "当年财政拨款"): "E7",
         ("年度资金", "上年结转资金"): "E8", ("年度资金", "其他资金"): "E9"}
LOCKED = ["A3", "E3", "B10", "D10", "C6", "E6", "A53", "A54", "B54", "E54"]   # labels and the two totals


def fill_cells(form: dict) -> list[list]:
    cells = [[ref, kind, form[key]] for key, (ref, kind) in FIELDS.items() if form[key] is not None]
    cells += [[ref, "value", form[a][b]] for (a, b), ref in FUNDS.items() if form[a][b] is not None]
    for i, row in enumerate(form["绩效指标"]):
        cells += [[f"{c}{13 + i}", "string", row[k]] for c, k in zip("BCDE", ("一级指标", "二级指标", "三级指标", "指标值"))]
    for i, row in enumerate(form["资金构成"]):
        cells += [[f"A{55 + i}", "value", row["年度"]], [f"B{55 + i}", "string", row["子项目名称"]],
                  [f"E{55 + i}", "value", row["预算金额"]]]
    return cells


def without_parts(form: dict) -> dict:
    return dict(form, 绩效指标=[{k: v for k, v in r.items() if k not in PARSED} for r in form["绩效指标"]])


@pytest.fixture(scope="module")
def rounds(libreoffice, tmp_path_factory):
    work = tmp_path_factory.mktemp("lo-variant")
    template = work / "申报表模板_2023.xlsx"
    template.write_bytes(template_bytes(load_spec("project-target", "2023"))[0])
    filled = [work / "filled" / f"{i + 1:02d}.xlsx" for i in range(len(SEED))]
    ops = [{"op": "fill", "src": str(template), "out": str(out), "sheet": SHEET, "cells": fill_cells(form),
            "check_locked": LOCKED} for out, form in zip(filled, SEED)]
    ops.append({"op": "convert", "src": str(template), "out": str(work / "template.pdf"), "filter": "calc_pdf_Export"})
    results = libreoffice.run(ops)
    for op, res in zip(ops, results):
        assert res["ok"], (op["op"], op.get("out"), res)
    return {"filled": filled, "fills": results[:2], "pdf": work / "template.pdf", "work": work}


def test_typed_only_into_unlocked_cells(rounds):
    for form, res in zip(SEED, rounds["fills"]):
        assert res["protected"]
        assert [ref for ref, _, _ in fill_cells(form) if res["locked"][ref]] == []
        assert [ref for ref in LOCKED if not res["locked"][ref]] == []


def test_read_gives_exactly_the_transcription_in_the_2023_layout(rounds):
    for path, form in zip(rounds["filled"], SEED):
        (got,) = read_workbook(path).forms
        assert got.variant == "2023" and without_parts(got.data) == form


def test_validate_finds_the_seed_defects(rounds):
    run = xltools("validate", *map(str, rounds["filled"]), "--format", "json")
    assert run.returncode == 1, run.stderr
    # issue 14: the report is an object, and content rules (xltools.profiles) add their own findings
    from xltools.profiles import load_profile

    content = (set(load_profile().rules) | {"funds-incomplete"}) - {"unit-odd"}
    found = sorted((f["file"][-7:], f["cell"], f["rule"]) for f in json.loads(run.stdout)["findings"]
                   if f["rule"] not in content)
    assert found == sorted([("01.xlsx", "E13", "ascii-operator"), ("01.xlsx", "E14", "ascii-operator"),
                            ("01.xlsx", "E22", "ascii-operator"), ("02.xlsx", "B5", "required"),
                            ("02.xlsx", "D5", "required"), ("02.xlsx", "E55", "composition-unbalanced")])


def test_merge_with_a_2026_form_of_the_unit_reads_back(rounds):
    folder = rounds["work"] / "merge-in"
    folder.mkdir()
    (folder / "2023.xlsx").write_bytes(rounds["filled"][0].read_bytes())
    new = dict(without_parts(SEED[0]), 项目名称="党群活动", 项目性质="经常性项目", 项目类别="特定目标类", 资金构成=[])
    new["绩效指标"] = [dict(r, 指标值=r["指标值"].replace(">=", "≥")) for r in new["绩效指标"]]
    (folder / "2026.xlsx").write_bytes(template_bytes(load_spec("project-target"), new)[0])
    out = rounds["work"] / "汇总表.xlsx"
    result = merge_workbooks([folder], out, skip_invalid=False)
    assert result.refused is None and result.outputs == [out]
    back = {f.data["项目名称"]: f for f in read_workbook(out).forms}
    assert back["党群综合服务"].variant == "2023" and without_parts(back["党群综合服务"].data) == SEED[0]
    assert back["党群活动"].variant is None and back["党群活动"].data["项目性质"] == "经常性项目"
    assert openpyxl.load_workbook(out)["汇总"]["A1"].value.startswith(SEED[0]["实施单位"])


def test_template_prints_on_a4_one_page_wide(rounds):
    pages = pdf_pages(rounds["pdf"])
    assert 1 <= len(pages) <= 2 and all(abs(w - A4[0]) <= 2 and abs(h - A4[1]) <= 2 for w, h in pages)
    text = "".join(re.sub(r"\s+", "", pdf_text(rounds["pdf"], p + 1)) for p in range(len(pages)))
    for word in ("财政项目支出绩效目标申报表", "项目类别", "年度总目标", "项目投入资金构成：", "预算金额（元）"):
        assert word in text, word
    assert "项目性质" not in text
