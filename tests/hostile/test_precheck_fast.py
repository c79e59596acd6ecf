"""The fast paths of the pre-check (xltools.safety) refuse what the exact scans refuse.

The pre-check answers most questions with C-level passes (counts, ``bytes.translate``, one
regex for every element counted), reads a small member in one piece, and keeps the parts it
has already passed (most parts of the submissions of one template are the same bytes). Each
fast path is tested here against its exact counterpart: as properties of the helpers on
XML-like text built from the tokens hostile files use, and on packages — ordinary ones pass,
the tricks each path could miss are still refused, and a remembered part answers as a fresh
scan does.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

import corpus
import pytest
from hostile_util import SAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltools import safety
from xltools.errors import UnreadableFile
from xltools.safety import Limits, precheck

DUP_WORDS = "重复声明了地址"


def answer(path: Path, limits: Limits | None = None) -> tuple[str, str] | None:
    """None when the pre-check passes the file, else (rule, message)."""
    try:
        precheck(path, limits)
    except UnreadableFile as exc:
        return exc.rule, exc.message
    return None


@pytest.fixture
def no_parts(monkeypatch):
    """An empty cache of parts for this test (and nothing left behind for the others)."""
    monkeypatch.setattr(safety, "_PARTS", {})


# ---------------------------------------------------------------------------------------------
# Properties of the helpers: the fast answer never says "nothing" where the exact scan finds something

TOKENS = [
    "<", ">", '"', "'", " ", "\t", "\n", "\r", "=", "r", "x", ":", "/", "!",
    '<c r="A1">', '<c r="B2"/>', "<c>", "<c/>", "<c ", "<cols>", "<col/>", "<color/>", "<c.x/>", "</c>",
    '<row r="1">', "<row>", "</row>", '<row r="2" r="3">', '<x:c r="A1"/>', "<x:c>", "<x:row r='1'>",
    ' r="C3"', " r='D4'", ' r ="XFD1048576"', ' r\t="E5"', '\tr="F6"', '\nr="G7"', ' r=', " r ", "r\n=",
    ' x=">"', " x='>'", ' x="<"', ' x=""', ' x="\'"', " x='\"'", ' a="1" b="2"', "'_lists'!$A$1", 'say "hi"',
    "<sheet/>", '<sheet name="a" r:id="rId1"/>', "<sheets>", "<sheetData>", "<sheetPr/>", "<x:sheet/>",
    "<si>", "</si>", "<sig/>", "<x:si>", '<sst count="5" uniqueCount="9">', "<sst>", "<x:sst uniqueCount='4'>",
    "<sstx/>", "<s", "<!DOCTYPE", "<!-- c -->",
]
TEXT = st.lists(st.sampled_from(TOKENS), max_size=40).map(lambda parts: "".join(parts).encode())
PROPERTY = settings(max_examples=400, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _lt_exact(piece: bytes) -> bool:
    return piece.rfind(b"<") > piece.rfind(b">") or bool(safety._LT_IN_TAG_RE.search(piece))


def _lt_fast(piece: bytes) -> bool:
    angles = safety._markup(piece).translate(None, safety._QUOTES)
    return angles.endswith(b"<") or b"<<" in angles


@PROPERTY
@given(TEXT)
def test_unclosed_tag_and_lt_in_tag_found_without_regex(data):
    assert _lt_fast(data) == _lt_exact(data)


def _as_the_parser(buf: bytes) -> bytes | str:
    """What quick-xml (calamine's XML parser) makes of ``buf``, one byte at a time: comments and
    processing instructions dropped, CDATA text kept (markup characters neutralised), tags
    quote-aware; "bang" for any other '<!' (a DOCTYPE, or an error), "open" for an unclosed
    comment, CDATA section or instruction."""
    out = bytearray()
    i, n = 0, len(buf)
    while i < n:
        if buf[i] != ord("<"):
            out.append(buf[i])
            i += 1
            continue
        if buf.startswith(b"<!--", i):
            j = buf.find(b"-->", i + 4)
            if j < 0:
                return "open"
            i = j + 3
        elif buf.startswith(b"<![CDATA[", i):
            j = buf.find(b"]]>", i + 9)
            if j < 0:
                return "open"
            out += buf[i + 9:j].translate(bytes.maketrans(b"<>\"'", b"____"))
            i = j + 3
        elif buf.startswith(b"<!", i):
            return "dtd" if re.match(rb"<!\s*[DdEe]", buf[i:]) else "bang"
        elif buf.startswith(b"<?", i):
            j = buf.find(b"?>", i + 1)
            if j < 0:
                return "open"
            i = j + 2
        else:
            j, quote = i + 1, None
            while j < n and (quote or buf[j] != ord(">")):
                if quote and buf[j] == quote:
                    quote = None
                elif not quote and buf[j] in b"\"'":
                    quote = buf[j]
                j += 1
            out += buf[i:j + 1]
            i = j + 1
    return bytes(out)


def _strip(buf: bytes, eof: bool):
    try:
        return safety._strip_specials(buf, "x.xml", "x.xlsx", eof=eof)
    except UnreadableFile as exc:
        return exc.rule


SPECIALS = TOKENS + ["<!--", "-->", "--", "->", "<![CDATA[", "]]>", "]]", "<?", "?>", "?", "<!", "<!-", "<![",
                     "<!doctype x>", "<! DOCTYPE", "<!ENTITY", "<!x>"]
SPECIAL_TEXT = st.lists(st.sampled_from(SPECIALS), max_size=30).map(lambda parts: "".join(parts).encode())


@PROPERTY
@given(SPECIAL_TEXT, st.integers(0, 400))
def test_comments_cdata_and_instructions_as_the_parser_reads_them(data, cut):
    """Comments, CDATA and processing instructions come out as quick-xml reads them, whole or
    cut anywhere into two chunks (the rest of the first carried into the second); a DOCTYPE or
    ENTITY declaration is refused as such (never missed: it cannot hide anywhere the parser
    would read it), any other '<!' and an unclosed one at the end as malformed."""
    want = _as_the_parser(data)
    got = _strip(data, eof=True)
    cut = min(cut, len(data))
    first = _strip(data[:cut], eof=False)
    if isinstance(first, tuple):
        second = _strip(first[1] + data[cut:], eof=True)
        split = (first[0] + second[0] + second[1]) if isinstance(second, tuple) else second
    else:
        split = first
    for answer in (got, split):
        if want == "dtd":
            assert answer == "file-xml-dtd", (data, answer)
        elif want in ("bang", "open"):
            assert answer == "file-malformed", (data, answer)
        else:
            clean = answer[0] + answer[1] if isinstance(answer, tuple) else answer
            assert clean == want, (data, answer)


@PROPERTY
@given(TEXT)
def test_address_given_twice_never_missed_by_the_counts(data):
    if safety._DUP_R_RE.search(data):
        assert safety._dup_address(data)
        markup = safety._markup(data)
        if not _lt_fast(data):   # what a piece fed by the scanner satisfies
            assert safety._dup_address(data, markup)
            assert safety._dup_address(data, markup, data.count(b'<c r="'))


@PROPERTY
@given(TEXT)
def test_one_pass_counts_equal_the_separate_scans(data):
    found = safety._TAGS_RE.findall(data)
    letters, digits, names = zip(*found) if found else ((), (), ())
    assert names.count(b"") == data.count(b"<c") - len(re.findall(rb"<c[\w.:\-]", data))
    for name, other in ((b"heet", rb"<sheet[\w.:\-]"), (b"i", rb"<si[\w.:\-]")):
        assert names.count(name) == data.count(b"<s" + name) - len(re.findall(other, data))
    assert [d for d in digits if d] == safety._CELL_ROW_RE.findall(data)
    assert (b"st" in names) >= bool(re.search(rb"<sst(?=[\s/>])", data))
    prefixed = safety._PFX_NAMES_RE.findall(data)
    for name, regex in ((b"c", safety._CELL_PREFIXED_RE), (b"sheet", safety._SHEET_PREFIXED_RE),
                        (b"si", safety._SI_PREFIXED_RE), (b"sst", re.compile(rb"<[A-Za-z_][\w.\-]*:sst(?=[\s/>])"))):
        if regex.search(data):
            assert name in prefixed


@PROPERTY
@given(TEXT)
def test_tag_end_in_runs_matches_as_the_quote_aware_tag(data):
    for name in (b"sst", b"Relationship"):
        exact = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?" + name + rb"(?=[\s/>])" + safety._IN_TAG + rb"*>")
        fast = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?" + name + rb"(?=[\s/>])" + safety._TO_TAG_END)
        text = data.replace(b"<sst", b"<" + name)
        assert [m.span() for m in fast.finditer(text)] == [m.span() for m in exact.finditer(text)]


# ---------------------------------------------------------------------------------------------
# Packages


def test_ordinary_submissions_pass_fresh_and_remembered(no_parts):
    paths = sorted(SAMPLES.parent.rglob("*.xlsx"))
    assert paths
    for p in paths:
        assert answer(p) is None, p
    assert safety._PARTS, "nothing remembered"
    for p in paths:
        assert answer(p) is None, p


def _far(path: Path, trick: str) -> None:
    """3,000 plain rows, the trick, 3,000 more: the trick sits in a piece of its own (no root tag
    with xmlns:r=, no footer= around it), where the old count test gave up no regex."""
    def rows(lo: int, hi: int) -> str:
        return "".join(f'<row r="{r}"><c r="B{r}"><v>{r}</v></c><c r="C{r}"><v>{r}</v></c></row>'
                       for r in range(lo, hi))
    body = rows(53, 3053) + trick + rows(3054, 6053)
    corpus.variant(path, replace={corpus.SHEET: lambda d: d.replace(b'<dimension ref="A1:F52"/>',
                                                                   b'<dimension ref="A1:F6052"/>')
                                  .replace(b"</sheetData>", body.encode() + b"</sheetData>")})


TWICE = {
    "r_space_eq": '<row r="3053"><c r="B3053" r ="XFD1048576"><v>1</v></c></row>',
    "r_tab_eq": '<row r="3053"><c r="B3053" r\t="XFD1048576"><v>1</v></c></row>',
    "r_newline_eq": '<row r="3053"><c r="B3053" r\n="XFD1048576"><v>1</v></c></row>',
    "tab_r": '<row r="3053"><c r="B3053"\tr="XFD1048576"><v>1</v></c></row>',
    "newline_r": '<row r="3053"><c r="B3053"\nr="XFD1048576"><v>1</v></c></row>',
    "quoted_gt": '<row r="3053"><c r="B3053" x=">" r="XFD1048576"><v>1</v></c></row>',
    "single_quoted_gt": "<row r=\"3053\"><c r=\"B3053\" x='>' r=\"XFD1048576\"><v>1</v></c></row>",
    "odd_quotes": '<row r="3053"><c r="B3053" x=""">" r="XFD1048576"><v>1</v></c></row>',
    "row_twice": '<row r="3053" r="1048576"><c r="B3053"><v>1</v></c></row>',
    "row_r_space_eq": '<row r="3053" r ="1048576"><c r="B3053"><v>1</v></c></row>',
}


@pytest.mark.parametrize("chunk", [1024, safety.CHUNK])
@pytest.mark.parametrize("name", sorted(TWICE))
def test_address_twice_far_from_the_root_is_refused(tmp_path, monkeypatch, no_parts, name, chunk):
    """r ="…" (space before '=') passed the old count test and python-calamine then aborts
    allocating the grid of XFD1048576; every other spelling is refused as before."""
    monkeypatch.setattr(safety, "CHUNK", chunk)
    path = tmp_path / f"{name}.xlsx"
    _far(path, TWICE[name])
    got = answer(path)
    assert got is not None and got[0] in corpus.MALFORMED and DUP_WORDS in got[1], got


def test_quotes_and_apostrophes_in_text_still_pass(tmp_path, no_parts):
    """Text between tags may hold quotes, apostrophes and '>': no refusal, and the counts
    (not the slow regex) decide when the tags are plain."""
    path = tmp_path / "text.xlsx"
    _far(path, '<row r="3053"><c r="B3053" t="inlineStr"><is><t>it\'s "ok" &gt; fine</t></is></c></row>')
    assert answer(path) is None
    assert answer(path, Limits(max_rows=6052)) is None
    got = answer(path, Limits(max_rows=6051))
    assert got is not None and got[0] == "file-extent", got


def _members() -> dict[str, bytes]:
    return dict(corpus.sample_members())


def _write(path: Path, replace: dict[str, corpus.Member]) -> None:
    members = [replace.get(n) or corpus.member(n, d) for n, d in corpus.sample_members()]
    corpus.write_zip(path, members)


def test_small_member_read_whole_still_checks_sizes_and_crc(tmp_path, no_parts):
    data = _members()[corpus.SHEET]
    assert len(corpus.raw_deflate(data)) <= safety.CHUNK   # read in one piece
    cases = {
        "inflates_past_declared": (corpus.Member(corpus.SHEET, corpus.raw_deflate(data), zlib.crc32(data),
                                                 len(data) - 100), "file-zip-bomb", "超过声明"),
        "smaller_than_declared": (corpus.Member(corpus.SHEET, corpus.raw_deflate(data), zlib.crc32(data),
                                                len(data) + 100), "file-corrupt", "大小与声明不符"),
        "crc": (corpus.Member(corpus.SHEET, corpus.raw_deflate(data), zlib.crc32(data) ^ 1, len(data)),
                "file-corrupt", "CRC"),
        "stored_crc": (corpus.Member(corpus.SHEET, data, zlib.crc32(data) ^ 1, len(data), method=0),
                       "file-corrupt", "CRC"),
        "corrupt_deflate": (corpus.Member(corpus.SHEET, b"\xff" * 64, zlib.crc32(data), len(data)),
                            "file-corrupt", "压缩数据"),
    }
    for name, (m, rule, words) in cases.items():
        path = tmp_path / f"{name}.xlsx"
        _write(path, {corpus.SHEET: m})
        got = answer(path)
        assert got is not None and got[0] == rule and words in got[1], (name, got)
        assert answer(path) == got, name   # never remembered as passed


def test_small_member_scanned_before_its_crc_is_checked(tmp_path, no_parts):
    """As the stream reader: the part is scanned before the CRC after it is compared."""
    data = _members()[corpus.SST]
    data = data.replace(b"<sst ", b'<!DOCTYPE sst [<!ENTITY a "b">]><sst ', 1)
    path = tmp_path / "dtd_and_crc.xlsx"
    _write(path, {corpus.SST: corpus.Member(corpus.SST, corpus.raw_deflate(data), zlib.crc32(data) ^ 1, len(data))})
    got = answer(path)
    assert got is not None and got[0] == "file-xml-dtd", got


def _grid(path: Path) -> int:
    """Σ rows × columns of the worksheets of a package, as the pre-check adds it up."""
    totals = safety._Totals()
    fp = io.BytesIO(path.read_bytes())
    with zipfile.ZipFile(fp) as zf:
        for info in zf.infolist():
            safety._scan_member(fp, info, path, Limits(), totals)
    return totals.grid


def test_remembered_parts_still_count_against_the_limits(tmp_path, monkeypatch, no_parts):
    """Parts passed before are not scanned again, but what they add (cells, sheets, grid) still
    counts: remembered parts plus one more sheet go over the grid limit, with the answer of a
    fresh scan."""
    base = tmp_path / "base.xlsx"
    corpus.variant(base)   # the members compressed as in the next package: the same bytes
    limits = Limits(max_grid=_grid(base))
    assert answer(base, limits) is None
    bigger = tmp_path / "one_more_sheet.xlsx"
    rel = ('<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
           'worksheet" Target="worksheets/sheet9.xml"/></Relationships>')
    corpus.variant(bigger, add=[("xl/worksheets/sheet9.xml", _members()[corpus.SHEET])],
                   replace={corpus.WORKBOOK: corpus.sub(r"</sheets>", '<sheet name="副本" sheetId="9" r:id="rId9"/></sheets>'),
                            "xl/_rels/workbook.xml.rels": corpus.sub(r"</Relationships>", rel)})
    inflated = []
    whole = safety._member_whole
    monkeypatch.setattr(safety, "_member_whole", lambda raw, method, info, *a: inflated.append(info.filename)
                        or whole(raw, method, info, *a))
    warm = answer(bigger, limits)
    # Every other part remembered: only the new sheet and the two parts that name it are read,
    # and the parts too large to keep (inflating beyond one CHUNK, as the template's hidden list
    # sheet with the live 自查 cells does), which are always scanned.
    large = sorted(i.filename for i in zipfile.ZipFile(base).infolist() if i.file_size > safety.CHUNK)
    assert large == ["xl/worksheets/sheet2.xml"], large
    assert sorted(inflated) == sorted(["xl/_rels/workbook.xml.rels", "xl/workbook.xml", "xl/worksheets/sheet9.xml",
                                       *large]), inflated
    assert warm is not None and warm[0] == "file-zip-bomb" and "单元格范围合计" in warm[1], warm
    safety._PARTS.clear()
    assert answer(bigger, limits) == warm
    assert len(inflated) > 1
    cells = safety._Totals()
    cells.add("cells", 10, corpus.SHEET, base, Limits(max_cells=10))
    with pytest.raises(UnreadableFile) as exc:
        cells.add("cells", 1, corpus.SHEET, base, Limits(max_cells=10))
    assert exc.value.rule == "file-zip-bomb"


def test_hostile_files_answer_the_same_remembered_or_not(hostile_corpus, no_parts):
    """Every file of the corpus, after the ordinary sample filled the cache, then again with a
    warm cache, then with an empty one: the same answer each time."""
    folder, built = hostile_corpus
    answer(corpus.sample_path())
    for name in sorted(built):
        path = folder / name
        first = answer(path)
        assert answer(path) == first, name
        safety._PARTS.clear()
        assert answer(path) == first, name
        answer(corpus.sample_path())


def test_the_cache_of_parts_stays_small(monkeypatch, no_parts):
    monkeypatch.setattr(safety, "_PARTS_MAX", 5)
    for p in sorted(SAMPLES.parent.rglob("*.xlsx")):
        assert answer(p) is None
        assert all(len(cache) <= 5 for cache in safety._PARTS.values())
    assert len(safety._PARTS) <= 4
