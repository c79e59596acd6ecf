"""Heights, widths and print setup of what we write (issue 13), checked in the workbook; the
PDF itself is checked by tests/libreoffice/test_print.py."""

from __future__ import annotations

import json
import os
import stat
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xltools import layout
from xltools.merge import DETAIL_SHEET, PUBLISHED_SHEET, SUMMARY_SHEET, merge_workbooks
from xltools.pdfout import find_soffice, to_pdf
from xltools.read import read_workbook
from xltools.spec import load_spec
from xltools.template import template_bytes

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SPEC = load_spec("project-target")
SOURCE = json.loads((SAMPLES / "source" / "000_jiuliting_2026.json").read_text("utf-8"))
GOAL = SOURCE[1]["年度总体目标"]   # 700 characters in 5 paragraphs (seed 000, 党群综合服务)


# --- layout: display width, wrapping, heights -------------------------------------------------------


def test_display_width_counts_cjk_double():
    assert layout.display_width("abc") == 3
    assert layout.display_width("党群") == 4
    assert layout.display_width("≥236.00(人)") == 1 + 6 + 1 + 2 + 1   # ≥ is ambiguous width: narrow
    assert layout.display_width("（２０）") == 8                      # full-width forms


def test_wrap_by_hand():
    # A column of 20 characters is 145 px; 10 pt CJK characters are 13.33 px: 10 fit one line
    # exactly (139 px usable), with the 6 % wrapping margin 9 per line.
    px = layout.column_pixels(20)
    assert px == 145
    assert layout.wrap_lines("中" * 10, px) == 1
    assert layout.wrap_lines("中" * 11, px) == 2      # 9 + 2
    assert layout.wrap_lines("中" * 19, px) == 3      # 9 + 9 + 1
    assert layout.wrap_lines("中" * 5 + "\n" + "中" * 5, px) == 2   # each paragraph starts a line
    assert layout.text_height("中" * 19, px) == pytest.approx(3 * 14.5 + 4)


def test_merged_area_shares_its_height():
    h = layout.Heights([20, 20])
    h.text(0, 0, 1, 0, "中" * 40)             # 5 lines over rows 0-1: 76.5 pt between them
    h.at_least(1, 50)
    got = h.resolve()
    assert got[1] >= 50 and got[0] + got[1] == pytest.approx(5 * 14.5 + 4)


def test_no_row_above_excel_maximum_and_split_pieces_fit():
    px = layout.column_pixels(30)
    text = "\n".join(["中" * 300] * 3)
    h = layout.Heights([30])
    h.text(0, 0, 0, 0, text)
    assert h.resolve()[0] == layout.MAX_ROW
    pieces = layout.split_to_rows(text, px, 10.0, 240)
    assert len(pieces) > 3
    assert all(layout.text_height(p, px) <= 240 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


def test_pages_avoid_a_lone_last_row():
    assert layout.pages_of([10] * 11, 50) == [5, 9]     # 5, 4, 2 rows (not 5, 5, 1)
    assert layout.pages_of([10] * 10, 50) == [5]


# --- the form sheets ------------------------------------------------------------------------------------


def _sheet(values=None):
    data, _, _ = template_bytes(SPEC, values)
    import io

    return openpyxl.load_workbook(io.BytesIO(data))[SPEC.sheet]


def test_long_text_row_fits_its_text():
    f = SPEC.field("年度总体目标")
    ws = _sheet({"年度总体目标": GOAL})
    pixels = sum(layout.column_pixels(SPEC.columns[c]) for c in range(f.area.first_col, f.area.last_col + 1))
    height = ws.row_dimensions[f.area.row + 1].height
    # Independent lower bound: the text's 1 em characters over the merged width, a line each 14.5 pt.
    chars_per_line = (pixels - 6) / (10 * 96 / 72)
    lines = sum(-(-len(p) // int(chars_per_line)) for p in GOAL.split("\n"))
    assert lines * 14.5 <= height <= 409


def test_blank_template_gives_long_texts_room_and_rows_stay_resizable():
    ws = _sheet()
    for key in ("项目总目标", "年度总体目标"):
        assert ws.row_dimensions[SPEC.field(key).area.row + 1].height >= 150
    assert ws.protection.formatRows is False   # False = allowed


@pytest.mark.parametrize("kind,role", [("project-target", "dept"), ("project-target", "unit"),
                                       ("project-selfeval", "dept"), ("project-selfeval", "unit"),
                                       ("unit-target", "unit")])
def test_columns_hold_the_longest_names_of_the_seeds_on_one_line(kind, role):
    spec = load_spec(kind)
    # The 主管部门 and 实施单位 of the five seeds (/work/shared/seeds), longest first.
    names = {"dept": ["上海市松江区人民政府九里亭街道办事处", "上海市松江区人民政府中山街道办事处", "上海市闵行区虹桥镇人民政府(汇总)"],
             "unit": ["上海市松江区九里亭街道社区党群服务中心", "上海市闵行区江川路街道社区党群服务中心",
                      "上海市松江区中山街道社区党群服务中心"]}[role]
    seeds = ROOT.parent / "shared" / "seeds"
    if seeds.is_dir():
        assert all(any(n in p.read_text("utf-8") for p in seeds.glob("*.txt")) for n in names)
    f = spec.role(role)
    px = sum(layout.column_pixels(spec.columns[c]) for c in range(f.area.first_col, f.area.last_col + 1))
    assert all(layout.wrap_lines(n, px) == 1 for n in names)


def test_year_is_named_in_messages():
    for kind in ("project-target", "project-selfeval", "unit-target"):
        assert load_spec(kind).role("year").name == "年度"


# --- the 汇总表 -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("sum") / "j.xlsx"
    assert merge_workbooks([SAMPLES / "jiuliting-2026"], out).exit_code == 0
    return out


def test_published_sheet_is_not_read_back(summary):
    back = read_workbook(summary)
    assert [f.data["项目名称"] for f in back.forms] == ["编外人员工作经费", "党群综合服务", "社区自治管理"]
    wb = openpyxl.load_workbook(summary)
    assert wb.sheetnames[:2] == [SUMMARY_SHEET, PUBLISHED_SHEET] and DETAIL_SHEET in wb.sheetnames
    ws = wb[PUBLISHED_SHEET]
    assert ws["A1"].value == "上海市松江区九里亭街道社区党群服务中心 2026 年度项目绩效目标汇总表"
    assert ws.print_title_rows == "$1:$1"
    # each form starts a page with its title
    starts = [c.row for c in ws["A"] if c.value == SPEC.title]
    assert len(starts) == 3 and {starts[1] - 1, starts[2] - 1} <= {b.id for b in ws.row_breaks.brk}


def test_published_sheet_merges_groups_as_printed(summary):
    ws = openpyxl.load_workbook(summary)[PUBLISHED_SHEET]
    merged = {str(r) for r in ws.merged_cells.ranges}
    # form 1 (seed 000): 产出指标 over its first 5 rows, 数量指标 over 2, 质量指标 over 2
    start = next(c.row for c in ws["A"] if c.value == SPEC.title)
    first = start + SPEC.indicators.row(0)
    assert f"B{first}:B{first + 4}" in merged
    assert f"C{first}:C{first + 1}" in merged and f"C{first + 2}:C{first + 3}" in merged


def test_overview_units_counts_and_totals(summary):
    ws = openpyxl.load_workbook(summary)[SUMMARY_SHEET]
    header = [c.value for c in ws[2]]
    assert header[-1] == "绩效指标数" and "工作表" not in header
    assert "项目资金总额(元)" in header and "年度资金申请总额(元)" in header
    total = next(r for r in ws.iter_rows() if r[0].value == "合计")
    assert total[header.index("项目资金总额(元)")].value is None         # every project left it empty
    assert total[header.index("年度资金申请总额(元)")].value.startswith("=SUM(")
    assert total[-1].value == 48 and total[-1].number_format == "0"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert int(ws.page_setup.scale or 100) >= 90 and ws.print_title_rows == "$1:$2"


def test_detail_sheet_prints(summary):
    ws = openpyxl.load_workbook(summary)[DETAIL_SHEET]
    header = [c.value for c in ws[1]]
    assert "工作表" not in header and header[:2] == ["序号", "项目名称"]
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$1"
    assert int(ws.page_setup.scale or 100) >= 90


# --- pdf: finding soffice, messages, timeout ------------------------------------------------------------


def test_no_soffice_is_a_chinese_usage_error(tmp_path, monkeypatch):
    from xltools.errors import UsageError

    monkeypatch.setenv("XLTOOLS_SOFFICE", str(tmp_path / "none"))
    assert find_soffice() is None
    book = tmp_path / "a.xlsx"
    book.write_bytes(b"x")
    with pytest.raises(UsageError, match="找不到 LibreOffice"):
        to_pdf([book])


@pytest.mark.skipif(sys.platform.startswith("win"), reason="a shell script stands in for soffice")
def test_a_hanging_soffice_is_stopped(tmp_path):
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    book = tmp_path / "a.xlsx"
    book.write_bytes(b"x")
    result = to_pdf([book], soffice=str(fake), timeout=1)
    assert result.made == [] and "秒内未完成" in result.failed[0][1]
    assert not (tmp_path / "a.pdf").exists()


def test_cli_pdf_refuses_to_replace_a_pdf(tmp_path):
    import subprocess

    book = tmp_path / "a.xlsx"
    book.write_bytes(b"x")
    (tmp_path / "a.pdf").write_bytes(b"old")
    env = dict(os.environ, XLTOOLS_SOFFICE=sys.executable)   # found, but never run: refused first
    proc = subprocess.run([sys.executable, "-m", "xltools", "pdf", str(book)], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    assert proc.returncode == 2 and "已存在" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "a.pdf").read_bytes() == b"old"


def test_summary_xml_is_valid_zip(summary):
    with zipfile.ZipFile(summary) as z:
        assert z.testzip() is None


def test_the_year_prompt_says_its_name_not_the_bracket():
    """The year's label is the print's 「年度)」; the template's prompt and error titles say 年度."""
    ws = _sheet()
    year = SPEC.role("year").ref
    dv = next(d for d in ws.data_validations.dataValidation if year in str(d.sqref))
    assert dv.promptTitle == "年度" and dv.errorTitle == "年度：输入无效"
