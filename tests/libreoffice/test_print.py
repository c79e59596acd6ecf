"""Print as published (issue 13): LibreOffice prints what we write to PDF, and the tests look at
the PDF, not the workbook. Every character of every long text we wrote is in the PDF's text;
no two words' boxes overlap on any page; the 公开版 sheet's pages each begin with the title and
hold one project; every 指标明细 page repeats its header; the overview prints at ≥ 9 pt.

Printed: every sample, a 汇总表 / 自评汇总表 / 单位整体汇总表 of the samples, and stress forms
holding the longest texts of the seeds (and, for the 公开版 sheet, a text twice that long). All
workbooks go through one soffice run (``xltools pdf``'s own driver), shared by the module."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lo_util import ROOT

from xltools.merge import merge_workbooks
from xltools.pdfout import to_pdf
from xltools.spec import get_path, load_spec
from xltools.template import template_workbook

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow]

SAMPLES = sorted(p for p in (ROOT / "samples").rglob("*.xlsx"))
SOURCES = {p.stem: json.loads(p.read_text("utf-8")) for p in (ROOT / "samples" / "source").glob("*.json")}
LONG_KEYS = ("年度总体目标", "项目总目标", "预期目标", "实际完成情况", "单位职责", "年度履职目标", "主管部门", "实施单位",
             "项目名称", "单位名称")
ROW_KEYS = ("三级指标", "实际完成值", "偏差原因分析及改进措施", "主要内容", "三级目标", "任务名称")
FOOTER = re.compile(r"第\d+页，共\d+页")


def longest(key: str) -> str:
    """The longest value of ``key`` anywhere in the seeds' forms (fields and table rows)."""
    found = []

    def walk(o, k=None):
        if isinstance(o, dict):
            for kk, v in o.items():
                walk(v, kk)
        elif isinstance(o, list):
            for v in o:
                walk(v, k)
        elif isinstance(o, str) and k == key:
            found.append(o)

    walk(list(SOURCES.values()))
    return max(found, key=len)


def stress_target(name: str, goal: str) -> dict:
    form = json.loads(json.dumps(SOURCES["000_jiuliting_2026"][1]))
    form.update(项目名称=name, 主管部门=longest("主管部门"), 实施单位=longest("实施单位"),
                项目总目标=longest("项目总目标"), 年度总体目标=goal)
    for i, row in enumerate(form["绩效指标"][:6]):
        row["三级指标"] = f"{longest('三级指标')}{i}"   # distinct: the same 三级 twice is an error
    form["绩效指标"][0]["指标值"] = longest("年度指标值")
    return form


def stress_selfeval() -> dict:
    form = json.loads(json.dumps(SOURCES["004_zhongshan_2024_selfeval"][1]))
    form.update(预期目标=longest("预期目标"), 实际完成情况=longest("实际完成情况"), 主管部门=longest("主管部门"),
                实施单位=longest("实施单位"))
    for i, row in enumerate(form["绩效指标"][:5]):
        row.update(三级指标=f"{longest('三级指标')}{i}", 实际完成值=longest("实际完成值"),
                   偏差原因分析及改进措施=longest("偏差原因分析及改进措施"))
    return form


def stress_unit() -> dict:
    form = json.loads(json.dumps(SOURCES["003_jiangchuan_2026_fixed"][0]))
    form.update(单位职责=longest("单位职责"), 年度履职目标=longest("年度履职目标"))
    for row in form["年度重点任务"][:3]:
        row["主要内容"] = longest("主要内容")
    return form


def _write(kind: str, form: dict, path: Path) -> Path:
    data = {k: v for k, v in form.items() if k != "表单"}
    template_workbook(kind, path, values=data)
    return path


# --- the PDF, word by word ----------------------------------------------------------------------------


def pages_of(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Each page's words as (xMin, yMin, xMax, yMax, text), in reading order (top to bottom)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        words = [(float(a), float(b), float(c), float(d), html_unescape(t)) for a, b, c, d, t in
                 re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page)]
        pages.append(sorted(words, key=lambda w: (round(w[1]), w[0])))
    return pages


def html_unescape(t: str) -> str:
    import html

    return html.unescape(t)


def raw_text(pdf: Path) -> str:
    """The PDF's text in drawing order (cells one after another), whitespace and footers removed."""
    out = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return FOOTER.sub("", squeeze(out))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def lines_of(page) -> list[str]:
    """The page's text lines (words with nearly the same top), top to bottom."""
    lines: list[list] = []
    for w in page:
        if lines and abs(lines[-1][0][1] - w[1]) < 2:
            lines[-1].append(w)
        else:
            lines.append([w])
    return ["".join(x[4] for x in sorted(line)) for line in lines]


def overlaps(page) -> list[tuple[str, str]]:
    bad = []
    for i, a in enumerate(page):
        for b in page[i + 1:]:
            if b[1] > a[3]:   # sorted by top: nothing further down can meet a
                if round(b[1]) > round(a[3]) + 1:
                    break
                continue
            # Boxes are the fonts' full height; lines of another font (a lone bracket) sit a little
            # closer than that. Text over text overlaps by more than a quarter of a line.
            tall = min(a[3] - a[1], b[3] - b[1])
            if min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.25 * tall:
                bad.append((a[4], b[4]))
    return bad


def texts_written(form: dict) -> list[str]:
    """Every long text of a form (fields and table cells)."""
    out = [v for k in LONG_KEYS if isinstance(v := form.get(k), str) and v]
    for value in form.values():
        if isinstance(value, list):
            out += [row[k] for row in value if isinstance(row, dict) for k in ROW_KEYS
                    if isinstance(row.get(k), str) and row[k]]
    return out


def labels(kind: str) -> list[str]:
    """What a page break may put between two pieces of one text (repeated titles, labels of merged
    cells repeated on a new page, the indicator names): removed before looking for a text."""
    spec = load_spec(kind)
    out = [spec.title] + [t.text for t in spec.texts] + [f.label for f in spec.fields]
    for t in spec.tables:
        out += [t.label] + [c.label for c in t.columns]
    if spec.hierarchy:
        out += list(spec.hierarchy.level1) + [x for l1 in spec.hierarchy.level1 for x in spec.hierarchy.level2(l1)]
    return sorted({squeeze(x) for x in out if len(squeeze(x)) >= 2}, key=len, reverse=True)


def missing_texts(pdf: Path, texts: list[str], kind: str, titles=()) -> list[str]:
    noise = [squeeze(t) for t in titles] + labels(kind)
    got = raw_text(pdf)
    for n in noise:
        got = got.replace(n, "")
    out = []
    for text in texts:
        want = squeeze(text)
        for n in noise:
            want = want.replace(n, "")
        if want not in got:
            out.append(text[:40])
    return out


# --- the workbooks, printed once --------------------------------------------------------------------


@pytest.fixture(scope="module")
def printed(libreoffice_ready, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("print")
    books: dict[str, Path] = {}
    for i, p in enumerate(SAMPLES):
        books[f"sample:{p.relative_to(ROOT / 'samples')}"] = shutil.copyfile(p, tmp / f"s{i:02d}.xlsx")
    for folder, name in (("jiuliting-2026", "j"), ("zhongshan-2024/自评表", "z"), ("jiangchuan-2026/修改后", "u")):
        assert merge_workbooks([ROOT / "samples" / folder], tmp / f"{name}.xlsx").exit_code == 0
    books.update(summary=tmp / "j.xlsx", selfeval_summary=tmp / "z.xlsx", unit_summary=tmp / "u.xlsx")
    stress = tmp / "stress"
    stress.mkdir()
    goal = longest("年度总体目标")
    forms = {"target": stress_target("压力测试项目甲", goal), "selfeval": stress_selfeval(), "unit": stress_unit()}
    books["stress_target"] = _write("project-target", forms["target"], stress / "t.xlsx")
    books["stress_selfeval"] = _write("project-selfeval", forms["selfeval"], tmp / "se.xlsx")
    books["stress_unit"] = _write("unit-target", forms["unit"], tmp / "un.xlsx")
    # Twice the longest goal: more than a row can hold; the 公开版 sheet continues it on the next page.
    double = stress_target("压力测试项目乙", goal + "\n" + goal)
    _write("project-target", double, stress / "t2.xlsx")
    assert merge_workbooks([stress], tmp / "stress_summary.xlsx").exit_code == 0
    books["stress_summary"] = tmp / "stress_summary.xlsx"
    forms["double"] = double
    result = to_pdf(list(books.values()))
    assert result.failed == []
    return {name: (book, book.with_suffix(".pdf")) for name, book in books.items()}, forms


def _forms_of(book: Path) -> list[dict]:
    from xltools.read import read_workbook

    return [f.data for f in read_workbook(book).forms]


def test_every_long_text_is_in_the_pdf(printed):
    books, _ = printed
    problems = {}
    for name, (book, pdf) in books.items():
        if name == "stress_summary":
            continue   # its form sheets hold a text taller than Excel's tallest row: see the next test
        forms = _forms_of(book)
        kind = forms[0]["表单"]
        missing = missing_texts(pdf, [t for f in forms for t in texts_written(f)], kind)
        if missing:
            problems[name] = missing
    assert problems == {}


def test_a_text_longer_than_a_row_continues_on_the_next_page_of_the_published_sheet(printed):
    books, forms = printed
    book, pdf = books["stress_summary"]
    pages = pages_of(pdf)
    title = "上海市松江区九里亭街道社区党群服务中心 2026 年度项目绩效目标汇总表"
    spec = load_spec("project-target")
    published = [i for i, p in enumerate(pages) if lines_of(p)[:1] == [squeeze(title)] and spec.title in "".join(lines_of(p)[1:3])]
    # The project with the doubled goal spans pages; its text is whole in the PDF.
    assert len(published) >= 2
    assert missing_texts(pdf, [forms["double"]["年度总体目标"]], "project-target", [title]) == []


def test_no_two_words_overlap_on_any_page(printed):
    books, _ = printed
    problems = {}
    for name, (_, pdf) in books.items():
        for i, page in enumerate(pages_of(pdf), start=1):
            bad = overlaps(page)
            if bad:
                problems[f"{name} p{i}"] = bad[:3]
    assert problems == {}


@pytest.mark.parametrize("which", ["summary", "selfeval_summary", "unit_summary"])
def test_published_pages_begin_with_the_title_and_hold_one_form(printed, which):
    books, _ = printed
    book, pdf = books[which]
    forms = _forms_of(book)
    spec = load_spec(forms[0]["表单"])
    group = tuple(forms[0].get(k) for k in spec.group_by)
    title = squeeze(spec.summary_title.format(**dict(zip(spec.group_by, group))))
    names = [get_path(f, (spec.identity[0],)) for f in forms]
    pages = [lines_of(p) for p in pages_of(pdf)]
    overview = [i for i, p in enumerate(pages) if p[:1] == [title] and "序号" in "".join(p[1:3])]
    published = [i for i, p in enumerate(pages) if p[:1] == [title] and i not in overview]
    assert overview and published and min(published) == max(overview) + 1
    assert published == list(range(min(published), max(published) + 1))   # one run of pages
    seen = []
    for i in published:
        text = "".join(pages[i])
        on_page = [n for n in names if squeeze(n) in text]
        assert len(on_page) <= 1, (i, on_page)
        if pages[i][1] == squeeze(spec.title):   # a form begins here: its name is on this page
            assert len(on_page) == 1
            seen.append(on_page[0])
    assert seen == names   # every form, once, in order, each starting a page with the form's title


@pytest.mark.parametrize("which", ["summary", "selfeval_summary", "unit_summary", "stress_summary"])
def test_every_detail_page_repeats_the_header(printed, which):
    books, _ = printed
    _, pdf = books[which]
    pages = [lines_of(p) for p in pages_of(pdf)]
    kind = _forms_of(books[which][0])[0]["表单"]
    spec = load_spec(kind)
    header = squeeze("".join(["序号", spec.identity[0]] + [c.label for c in spec.indicators.columns]))
    # The 指标明细 sheet prints last: from its first page (after the last page where a form
    # begins; a form's continuation pages carry no title) to the end, every page has the header.
    last_form = max(i for i, p in enumerate(pages) if p and p[0] == squeeze(spec.title) or
                    (len(p) > 1 and p[1] == squeeze(spec.title)))
    first = next(i for i, p in enumerate(pages) if i > last_form and p and p[0].startswith(header))
    details = pages[first:]
    assert details
    for p in details:
        assert p[0].startswith(header), p[0]


@pytest.mark.parametrize("which", ["summary", "selfeval_summary", "unit_summary"])
def test_overview_prints_at_nine_points_or_more(printed, which):
    books, _ = printed
    book, pdf = books[which]
    with zipfile.ZipFile(book) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    found = re.search(r'<pageSetup[^>]* scale="(\d+)"', sheet)
    scale = int(found.group(1)) if found else 100   # 100 % is the default, not written
    assert 10 * scale / 100 >= 9.0
    assert 'orientation="landscape"' in sheet
    # In the PDF: a CJK word of the overview's table (10 pt at 100 %) is 1.30 × its font size tall.
    first = pages_of(pdf)[0]
    body = [w for w in first[2:] if re.search(r"[\u4e00-\u9fff]", w[4])]
    sizes = sorted((w[3] - w[1]) / 1.30 for w in body)
    assert sizes and sizes[0] >= 8.95
