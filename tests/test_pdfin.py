"""xltools.pdfin: a PDF's text layer → one grid, and the pre-check that refuses hostile PDFs.

The PDFs here are written byte by byte by tests/pdfmake.py (ruling lines, fills, text at
known positions); every expected grid is written out by hand from the layout drawn. The
LibreOffice prints of real forms are in tests/libreoffice/test_pdf_import.py.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pdfmake as M
import pytest

from xltools.errors import UnreadableFile
from xltools.pdfin import PdfLimits, _cell_text, load_pdf, pdf_grid, precheck_pdf

ROOT = Path(__file__).resolve().parent.parent
XS = [50, 150, 250, 350, 450]          # the column edges of the drawn table
TITLE = "项目支出绩效目标测试表"          # 11 characters at 14 pt: wider than a column, centred


def head(p: M.Page, year: str = "2026") -> None:
    """Title and year line, as our print has them: ``(`` right-aligned before the bordered
    year cell, ``年度)`` after it."""
    p.text(250 - 77, 30, TITLE, 14)
    p.box(250, 58, 350, 72)
    p.text(240, 60, "(")
    p.text(253, 60, year)
    p.text(352, 60, "年度)")


def footer(p: M.Page, n: int, of: int) -> None:
    p.text(210, 800, f"第 {n} 页，共 {of} 页", 8)


def form_page(name: str) -> M.Page:
    """Page 1 of a form: a horizontally merged value, a vertically merged label painted as two
    cell backgrounds (as LibreOffice does), an empty cell, a cell of three printed lines."""
    p = M.Page()
    head(p)
    p.fill(50, 100, 150, 120)
    p.fill(50, 120, 150, 140)
    p.box(50, 80, 150, 100)
    p.box(150, 80, 450, 100)
    p.text(52, 85, "项目名称")
    p.text(152, 85, name)
    p.box(50, 100, 150, 140)
    p.text(52, 115, "项目资金")
    for top in (100, 120):
        for a, b in zip(XS[1:], XS[2:]):
            p.box(a, top, b, top + 20)
    p.text(152, 105, "总额:")
    p.text(252, 105, "100.00")
    p.text(152, 125, "其中:")
    p.text(252, 125, "60.00")
    p.text(352, 125, "备注")
    p.box(50, 140, 150, 180)
    p.box(150, 140, 450, 180)
    p.text(52, 155, "年度目标")
    # 29 characters of 10 pt from x 152 end at 442, the cell's edge at 450: no room for one more
    # (a wrap); 7 characters end far before it (a paragraph end).
    p.text(152, 142, "完成区域内两新组织党建工作，加强与两新组织的沟通联络，做好服")
    p.text(152, 154, "务和指导工作。")
    p.text(152, 166, "提升服务。")
    return p


def continuation_page() -> M.Page:
    """Page 2: the title rows repeated by the printer, then the table goes on."""
    p = M.Page()
    head(p)
    for a, b in zip(XS, XS[1:]):
        p.box(a, 80, b, 100)
    for x, s in zip(XS, ["绩效指标", "产出指标", "数量指标", "≥4.00(次)"]):
        p.text(x + 2, 85, s)
    return p


def known_pdf() -> bytes:
    p1, p2 = form_page("党群服务"), continuation_page()
    footer(p1, 1, 2)
    footer(p2, 2, 2)
    return M.pdf([p1, p2])


KNOWN_GRID = [
    [TITLE, None, None, None],
    [None, "(", "2026", "年度)"],
    ["项目名称", "党群服务", None, None],
    ["项目资金", "总额:", "100.00", None],
    [None, "其中:", "60.00", "备注"],
    ["年度目标", "完成区域内两新组织党建工作，加强与两新组织的沟通联络，做好服务和指导工作。\n提升服务。", None, None],
    ["绩效指标", "产出指标", "数量指标", "≥4.00(次)"],
]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- the grid ---------------------------------------------------------------------------------


def test_known_pdf_grid(tmp_path):
    """Cells where the ruling lines put them; merged cells in their top-left; the year line in
    the row of its bordered cell; wrapped lines joined, the paragraph end kept; page numbers and
    the repeated title rows of page 2 gone."""
    sheets = load_pdf(write(tmp_path, "申报表.pdf", known_pdf()))
    assert len(sheets) == 1
    sheet = sheets[0]
    assert (sheet.name, sheet.visible) == ("申报表", "visible")
    assert sheet.grid == KNOWN_GRID


def test_overprinted_glyphs_count_once():
    p = M.Page()
    p.box(50, 80, 150, 100)
    p.box(150, 80, 250, 100)
    for dx in (0, 0.3):   # bold faked by printing twice, a fraction of a point apart
        p.text(52 + dx, 85, "项目名称")
    p.text(152, 85, "党群服务")
    assert pdf_grid(M.pdf([p]), "x") == [["项目名称", "党群服务"]]


def test_two_forms_in_one_pdf_keep_both_titles(tmp_path):
    """A page that starts with the same title rows but then a form's own labels is a new form
    (a 汇总表 printed sheet by sheet), not a continuation: its title rows stay."""
    grid = pdf_grid(M.pdf([form_page("党群服务"), form_page("社区自治")]), "x")
    titles = [i for i, row in enumerate(grid) if row[0] == TITLE]
    assert titles == [0, 6]
    assert grid[2][:2] == ["项目名称", "党群服务"] and grid[8][:2] == ["项目名称", "社区自治"]


def test_other_year_on_second_page_is_a_new_form():
    p2 = form_page("社区自治")
    p2.ops.clear()
    head(p2, "2025")
    p2.box(50, 80, 150, 100)
    p2.box(150, 80, 450, 100)
    p2.text(52, 85, "项目名称")
    p2.text(152, 85, "社区自治")
    grid = pdf_grid(M.pdf([form_page("党群服务"), p2]), "x")
    assert [r[:3] for r in grid[6:]] == [[TITLE, None, None], [None, "(", "2025"], ["项目名称", "社区自治", None]]


def _chars(lines: list[tuple[float, str]], top0=0.0, size=10.0, wide=5.0):
    """Fake pdfplumber chars: each line from x (left edge), ASCII ``wide`` points, CJK 10."""
    out = []
    for i, (x, text) in enumerate(lines):
        for ch in text:
            w = size if ord(ch) > 0x7F else wide
            out.append({"text": ch, "x0": x, "x1": x + w, "top": top0 + 12 * i, "bottom": top0 + 12 * i + size,
                        "size": size})
            x += w
    return out


@pytest.mark.parametrize("lines, want", [
    # Latin words wrapped at a space (the space is not printed): joined with one
    ([(2, "Party building"), (2, "work")], "Party building work"),
    # CJK wrapped: no separator; the next line starting with a closing mark counts with the character before it
    ([(2, "完成区域内党建工作"), (2, "，加强沟通。")], "完成区域内党建工作，加强沟通。"),
    # a line ending well before the edge: a paragraph end
    ([(2, "完成。"), (2, "提升服务。")], "完成。\n提升服务。"),
    ([(2, "Done."), (2, "Next")], "Done.\nNext"),
    # digits after CJK, wrapped: no separator invented
    ([(2, "本年度开展活动共计"), (2, "64 场")], "本年度开展活动共计64 场"),
])
def test_wrapped_lines(lines, want):
    # the cell is 94 points wide: 9 CJK characters or 18 Latin ones fit beside a 2-point inset
    assert _cell_text(_chars(lines), 0, 94) == want


def test_centered_short_lines_keep_their_breaks():
    """Centred text (a header cell of two short lines): the left inset is large, the
    paragraph end is still seen."""
    assert _cell_text(_chars([(30, "年度"), (25, "指标值")]), 0, 94) == "年度\n指标值"


# --- the pre-check and the bounds --------------------------------------------------------------


def refused(path, code: str, limits=None) -> str:
    started = time.monotonic()
    with pytest.raises(UnreadableFile) as info:
        load_pdf(path, limits)
    assert info.value.rule == code, info.value.message
    assert time.monotonic() - started < 5
    return info.value.message


def test_huge_pdf_refused_before_reading(tmp_path):
    path = tmp_path / "huge.pdf"
    with open(path, "wb") as fh:
        fh.write(b"%PDF-1.7\n")
        fh.truncate(3 << 30)   # 3 GiB, sparse
    msg = refused(path, "file-too-large")
    assert "超过上限 20.0 MiB" in msg


def test_millions_of_objects(tmp_path):
    """1.2 million real objects (the size limit raised so that the object count is what
    refuses), and the compact kinds: an object stream declaring 3 million members, an xref
    /Size of 5 million."""
    body = b"".join(b"%d 0 obj 0 endobj\n" % i for i in range(1, 1_200_001))
    path = write(tmp_path, "objects.pdf", b"%PDF-1.4\n" + body + b"trailer << /Size 3 >>\n%%EOF\n")
    msg = refused(path, "pdf-limit", PdfLimits(max_pdf_mb=64))
    assert "对象数 1,200,000 超过上限 100,000" in msg
    objstm = (b"%PDF-1.5\n1 0 obj << /Type /ObjStm /N 3000000 /First 10 /Length 0 >>\nstream\n\nendstream\n"
              b"endobj\n%%EOF\n")
    assert "3,000,001" in refused(write(tmp_path, "objstm.pdf", objstm), "pdf-limit")   # with the stream's own
    size = b"%PDF-1.4\ntrailer << /Size 5000000 /Root 1 0 R >>\n%%EOF\n"
    assert "5,000,000" in refused(write(tmp_path, "size.pdf", size), "pdf-limit")


def test_encrypted_pdf(tmp_path):
    """A real RC4-encrypted PDF (the standard security handler): pdfplumber opens it only with
    its password — the pre-check refuses it before pdfminer sees it."""
    import pdfplumber

    p = M.Page()
    p.text(50, 50, "secret 2026")
    data = M.pdf([p], password="secret")
    with pdfplumber.open(io.BytesIO(data), password="secret") as pdf:
        assert pdf.pages[0].extract_text() == "secret 2026"   # it is what it claims to be
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pdf.pages[0].extract_text()
        opened = True
    except Exception as exc:   # PDFPasswordIncorrect, wrapped by pdfplumber in PdfminerException
        opened = False
        assert "Password" in repr(exc)
    assert not opened
    msg = refused(write(tmp_path, "密码.pdf", data), "file-encrypted")
    assert "已加密" in msg


def test_too_many_pages(tmp_path):
    msg = refused(write(tmp_path, "pages.pdf", M.pdf([M.Page() for _ in range(600)])), "pdf-limit")
    assert "页数 600 超过上限 500" in msg


def test_pages_counted_after_opening_too(tmp_path):
    """Pages the byte scan cannot see (here: only 6 are allowed) are counted once open."""
    pages = [M.Page() for _ in range(7)]
    for p in pages:
        p.text(50, 50, "内容")
    path = write(tmp_path, "p.pdf", M.pdf(pages))
    assert "页数 7 超过上限 6" in refused(path, "pdf-limit", PdfLimits(max_pdf_pages=6))


def test_flate_bomb(tmp_path):
    """A content stream of 20 MiB of spaces (20 KiB compressed), and the same compressed twice
    behind a filter chain: inflated with a cap of 5 MiB, refused there."""
    blob = zlib.compress(b" " * (20 << 20), 9)
    for name, data, filters in (("bomb.pdf", blob, b"/FlateDecode"),
                                ("bomb2.pdf", zlib.compress(blob, 9), b"[/FlateDecode /FlateDecode]")):
        pdf = (b"%PDF-1.4\n1 0 obj << /Length " + str(len(data)).encode() + b" /Filter " + filters
               + b" >>\nstream\n" + data + b"\nendstream\nendobj\n%%EOF\n")
        msg = refused(write(tmp_path, name, pdf), "pdf-limit", PdfLimits(max_pdf_inflated_mb=5))
        assert "解压后的数据量" in msg and "超过上限 5 MiB" in msg


def test_flate_bomb_behind_a_reference(tmp_path):
    """The filter named through an indirect object: the pre-check cannot read it, and inflates
    what looks like zlib data anyway."""
    blob = zlib.compress(b" " * (20 << 20), 9)
    pdf = (b"%PDF-1.4\n2 0 obj /FlateDecode endobj\n1 0 obj << /Length " + str(len(blob)).encode()
           + b" /Filter 2 0 R >>\nstream\n" + blob + b"\nendstream\nendobj\n%%EOF\n")
    assert "解压后的数据量" in refused(write(tmp_path, "ref.pdf", pdf), "pdf-limit", PdfLimits(max_pdf_inflated_mb=5))


def test_too_many_rulings(tmp_path):
    """A page of 6,000 lines: the table finder's work grows with their square; refused."""
    p = M.Page()
    p.text(50, 50, "表")
    for i in range(3000):
        p.line(10, 10 + i * 0.25, 500, 10 + i * 0.25)
        p.line(10 + i * 0.15, 10, 10 + i * 0.15, 800)
    assert "第 1 页的线条数 6,000 超过上限 5,000" in refused(write(tmp_path, "lines.pdf", M.pdf([p])), "pdf-limit")


def test_wall_clock_bound(tmp_path):
    msg = refused(write(tmp_path, "k.pdf", known_pdf()), "pdf-limit", PdfLimits(max_pdf_seconds=0.001))
    assert "读取用时" in msg


def test_character_bound(tmp_path):
    msg = refused(write(tmp_path, "k.pdf", known_pdf()), "pdf-limit", PdfLimits(max_pdf_chars=50))
    assert "文字数" in msg


def test_no_text_layer(tmp_path):
    p = M.Page()
    p.box(50, 50, 150, 70)
    assert "没有文字层" in refused(write(tmp_path, "scan.pdf", M.pdf([p])), "file-unreadable")


@pytest.mark.parametrize("data, code", [
    (b"", "file-empty"),
    (b"<html>not a pdf</html>", "file-unreadable"),
    (b"%PDF-1.4\n" + os.urandom(4000), "file-unreadable"),
    (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF", "file-unreadable"),
])
def test_damaged(tmp_path, data, code):
    refused(write(tmp_path, "bad.pdf", data), code)


def test_limits_from_environment():
    limits = PdfLimits.from_env({"XLTOOLS_MAX_PDF_PAGES": "5", "XLTOOLS_MAX_PDF_MB": "x", "XLTOOLS_MAX_PDF_SECONDS": "-1"})
    assert (limits.max_pdf_pages, limits.max_pdf_mb, limits.max_pdf_seconds) == (5, 20, 120)
    assert ("XLTOOLS_MAX_PDF_OBJECTS", "100000") in limits.describe()


def test_precheck_returns_the_bytes_vetted(tmp_path):
    data = known_pdf()
    assert precheck_pdf(write(tmp_path, "k.pdf", data)) == data


def test_pdfplumber_imported_only_when_needed():
    code = "import sys, xltools.pdfin, xltools.read; print('pdfplumber' in sys.modules, 'pdfminer' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.split() == ["False", "False"]


# --- the command line (needs the dispatch of read.py: branch locate) ----------------------------

@pytest.mark.parametrize("name, make, words", [
    ("encrypted.pdf", lambda: M.pdf([M.Page()], password="pw"), "文件已加密"),
    ("pages.pdf", lambda: M.pdf([M.Page() for _ in range(600)]), "页数 600 超过上限 500"),
    ("objstm.pdf", lambda: b"%PDF-1.5\n1 0 obj << /Type /ObjStm /N 3000000 >>\nstream\n\nendstream\nendobj\n",
     "对象数 3,000,001"),
])
def test_cli_read_refuses_with_exit_2(tmp_path, name, make, words):
    path = write(tmp_path, name, make())
    run = subprocess.run([sys.executable, "-m", "xltools", "read", str(path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert run.returncode == 2
    assert words in run.stderr and "Traceback" not in run.stderr
    assert run.stdout.strip() in ("", "[]")


def test_mutated_pdfs_read_or_refused_quietly(tmp_path, capfd):
    """Bytes flipped, cut, repeated, bracket storms inserted (fixed seed): each mutant is read
    or refused with an UnreadableFile, quickly, and pdfminer's repair warnings stay off stderr."""
    import random

    rnd = random.Random(12)
    seeds = [known_pdf(), M.pdf([form_page("党群服务")], compress=False)]
    outcomes = set()
    for i in range(60):
        data = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 6)):
            pos = rnd.randrange(len(data))
            k = rnd.random()
            if k < 0.4:
                data[pos] = rnd.randrange(256)
            elif k < 0.6:
                del data[pos:pos + rnd.randint(1, 200)]
            else:
                data[pos:pos] = rnd.choice([b"[" * 500, b"<<" * 300, b" 0 R ", b"9999999999", b"(", b"stream\n"])
        path = write(tmp_path, f"m{i}.pdf", bytes(data))
        started = time.monotonic()
        try:
            load_pdf(path)
            outcomes.add("read")
        except UnreadableFile as exc:
            outcomes.add(exc.rule)
        assert time.monotonic() - started < 5
    assert outcomes <= {"read", "file-unreadable", "pdf-limit", "file-encrypted"}
    assert "read" in outcomes and "file-unreadable" in outcomes
    assert capfd.readouterr().err == ""
