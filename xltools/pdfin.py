"""A PDF with a text layer → one grid of cells, as printed (issue 12).

Forms come back as PDFs too: printed from Excel/WPS/LibreOffice, or exported by a reporting
system. Such a PDF has no cells, only glyphs at positions and the ruling lines of the borders.
:func:`load_pdf` turns it into one :class:`xltools.read.Sheet` (all pages in order) that the
label-based reader (:mod:`xltools.locate`) reads like any other grid:

* the tables drawn with ruling lines (``page.find_tables`` with the lines strategy of
  pdfplumber) give the cells; the column edges of all cells on a page form its columns, the
  row edges its rows, so a merged cell has its text in its top-left position and ``None`` in
  the others;
* text outside the tables (the title, ``(2026 年度)``) becomes cells of its own rows, in
  reading order — in the row of the table it sits beside when it does (the year line of our
  print: ``(`` and ``年度)`` around the bordered year cell); a line centred over the table, wider
  than one column (a title merged across the form), goes to the first column;
* within a cell the lines the printer wrapped are joined again — with no separator between CJK
  characters, with a space between two words — and a line break is kept only where a line ends
  clearly before the cell's right edge (the next word would have fitted: a paragraph end);
* page furniture is dropped: page numbers (``第 1 页，共 2 页``, ``1/2``, ``Page 1``) in the top
  or bottom margin, a line repeated at the same place on every page, and the title rows a
  printer repeats at the top of each continuation page.

Before pdfminer parses anything, :func:`precheck_pdf` looks at the raw bytes (read once; the
parser gets exactly those): the size, the ``%PDF-`` header, encryption (refused), a cheap count
of objects, object-stream members, cross-reference entries and streams, each Flate stream
inflated with a cap (a decompression bomb stops there), the pages. Parsing then runs under a
wall-clock limit (SIGALRM where the platform and thread allow it, and a check after each page)
and a limit on the characters read. Every refusal is an :class:`~xltools.errors.UnreadableFile`
with a Chinese message. The limits are a :class:`PdfLimits`, each changeable with an
environment variable (``XLTOOLS_MAX_PDF_PAGES=50`` …).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import signal
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import UnreadableFile
from .rules import Rule
from .safety import describe_limits, env_limits, read_capped

MIB = 1 << 20
PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class PdfLimits:
    """Limits for PDF input. Each can be changed with the environment variable of its name in
    upper case prefixed ``XLTOOLS_`` (``XLTOOLS_MAX_PDF_MB=50``); an invalid value is ignored.
    A form prints on 1–3 pages with a few hundred objects; a 汇总表 of 200 projects on ~400."""

    max_pdf_mb: float = 20             # the file on disk
    max_pdf_objects: int = 100_000     # indirect objects (markers, object-stream members, xref entries)
    max_pdf_streams: int = 20_000      # streams
    max_pdf_inflated_mb: float = 200   # all Flate streams together, inflated
    max_pdf_pages: int = 500
    max_pdf_chars: int = 2_000_000     # characters of the text layer
    max_pdf_rulings: int = 5_000       # ruling lines on one page (a form page has ~200)
    max_pdf_seconds: float = 120       # wall-clock time of the parse

    @classmethod
    def from_env(cls, environ=None) -> PdfLimits:
        return env_limits(cls, environ)

    def describe(self) -> list[tuple[str, str]]:
        return describe_limits(self)


def _fail(path, rule: Rule, **kw) -> UnreadableFile:
    return UnreadableFile(str(path), rule.code, rule.format(**kw))


def _limit(path, what: str, found, limit, unit: str = "") -> UnreadableFile:
    return _fail(path, Rule.PDF_LIMIT, what=what, found=_n(found) + unit, limit=_n(limit) + unit)


def _n(v) -> str:
    return f"{v:,.0f}" if isinstance(v, (int, float)) and float(v).is_integer() else f"{v:,.1f}"


# ---------------------------------------------------------------------------------------------
# The pre-check: raw bytes only, standard library only

_ENCRYPT_RE = re.compile(rb"/Encrypt(?![A-Za-z0-9])")
_XREF_ROW_RE = re.compile(rb"\d{10}[ \t]\d{5}[ \t][nf]")
_SIZE_RE = re.compile(rb"/Size[\s\x00]*(\d{1,15})")
_N_RE = re.compile(rb"/N[\s\x00]*(\d{1,15})")
_PAGE_RE = re.compile(rb"/Type[\s\x00]*/Page(?![A-Za-z0-9])")
_FILTER_RE = re.compile(rb"/Filter[\s\x00]*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_EOL_RE = re.compile(rb"stream(\r\n|\n|\r)?")


def precheck_pdf(path: str | Path, limits: PdfLimits | None = None) -> bytes:
    """Raise :class:`UnreadableFile` unless ``path`` looks like a plain, sane PDF of a form's
    size; return its bytes, exactly as vetted."""
    limits = limits or PdfLimits.from_env()
    cap = int(limits.max_pdf_mb * MIB)
    size, data = read_capped(path, cap)
    if size > cap or len(data) > cap:
        raise _fail(path, Rule.FILE_TOO_LARGE, size=f"{max(size, len(data)) / MIB:.1f} MiB",
                    limit=f"{cap / MIB:.1f} MiB")
    if not data:
        raise _fail(path, Rule.FILE_EMPTY)
    if PDF_MAGIC not in data[:1024]:
        raise _fail(path, Rule.FILE_UNREADABLE, reason="文件开头没有 PDF 标记（%PDF-），不是 PDF 文件或已损坏")
    if _ENCRYPT_RE.search(data):
        raise _fail(path, Rule.FILE_ENCRYPTED)
    # Objects: every "obj" keyword not part of "endobj" (an upper bound: any "obj" counts), the
    # members object streams declare, the rows of classic xref tables, the largest /Size.
    markers = data.count(b"obj") - data.count(b"endobj")
    members = 0
    for m in re.finditer(rb"/ObjStm(?![A-Za-z0-9])", data):
        n = _N_RE.search(data, max(0, m.start() - 1024), m.end() + 1024)
        if n:
            members += int(n.group(1))
    rows = len(_XREF_ROW_RE.findall(data))
    sizes = max((int(s) for s in _SIZE_RE.findall(data)), default=0)
    objects = max(markers + members, rows, sizes)
    if objects > limits.max_pdf_objects:
        raise _limit(path, "的对象数", objects, limits.max_pdf_objects)
    streams = data.count(b"stream") - data.count(b"endstream")
    if streams > limits.max_pdf_streams:
        raise _limit(path, "的数据流数", streams, limits.max_pdf_streams)
    pages = len(_PAGE_RE.findall(data))
    if pages > limits.max_pdf_pages:
        raise _limit(path, "的页数", pages, limits.max_pdf_pages)
    _check_streams(data, path, limits)
    return data


def _check_streams(data: bytes, path, limits: PdfLimits) -> None:
    """Inflate every Flate stream (each filter of a chain in turn) with a cap on the total:
    pdfminer inflates content streams whole, in memory. Other filters that expand (LZW,
    RunLength) are counted at their worst case."""
    budget = int(limits.max_pdf_inflated_mb * MIB)
    total = 0
    pos = 0
    while True:
        at = data.find(b"stream", pos)
        if at < 0:
            break
        pos = at + 6
        if data[max(0, at - 3):at] == b"end":
            continue
        head = data[max(0, at - 4096):at]
        start = head.rfind(b"obj")
        d = head[start + 3:] if start >= 0 else head
        if b"<<" not in d:
            continue
        m = _FILTER_RE.search(d)
        filters = re.findall(rb"/([A-Za-z0-9]+)", m.group(1)) if m else []
        if not m and b"/Filter" in d:
            filters = [b"?"] * 4   # given by reference: inflate while it looks like zlib data
        eol = _EOL_RE.match(data, at)
        begin = eol.end()
        end = data.find(b"endstream", begin)
        raw = data[begin:end if end >= 0 else len(data)]
        pos = begin + len(raw)
        size = len(raw)
        for f in filters:
            if f == b"?" and not _zlib_head(raw):
                break
            if f in (b"FlateDecode", b"Fl", b"?"):
                raw, size = _inflate(raw, budget - total + 1)
            elif f in (b"LZWDecode", b"LZW"):
                size, raw = size * 3400, b""     # 12-bit LZW codes emit ≤ ~3,800 bytes each
            elif f in (b"RunLengthDecode", b"RL"):
                size, raw = size * 128, b""
            else:
                break   # image codecs and ASCIIHex/85 (which shrink): pdfminer leaves images alone
            if total + size > budget:
                raise _limit(path, "解压后的数据量", (total + size) / MIB, limits.max_pdf_inflated_mb, " MiB")
        total += size
        if total > budget:
            raise _limit(path, "解压后的数据量", total / MIB, limits.max_pdf_inflated_mb, " MiB")


def _zlib_head(raw: bytes) -> bool:
    return len(raw) > 1 and raw[0] & 0x0F == 8 and (raw[0] << 8 | raw[1]) % 31 == 0


def _inflate(raw: bytes, cap: int) -> tuple[bytes, int]:
    """``raw`` inflated, at most ``cap`` bytes of it (then the size says cap was reached)."""
    d = zlib.decompressobj()
    out = []
    n = 0
    buf = raw
    try:
        while buf and n <= cap:
            chunk = d.decompress(buf, min(CHUNK, cap + 1 - n))
            out.append(chunk)
            n += len(chunk)
            buf = d.unconsumed_tail
            if not chunk and not buf:
                break
    except zlib.error:
        pass   # a damaged stream: pdfminer gets what inflates, as it would
    return b"".join(out), n


CHUNK = 1 << 20


# ---------------------------------------------------------------------------------------------
# Time and size bounds of the parse


class _TimeUp(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float):
    """SIGALRM after ``seconds`` in the main thread of a platform that has it (a read worker
    process, the CLI); elsewhere the caller's checks between pages must do."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def ring(signum, frame):
        raise _TimeUp

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _quiet_pdfminer():
    """pdfminer logs what it repairs ("Data-loss while decompressing corrupted data") as
    warnings, which Python's last-resort handler would print in English on stderr: silenced
    while we parse (what matters becomes a finding or a refusal)."""
    import logging

    log = logging.getLogger("pdfminer")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


# ---------------------------------------------------------------------------------------------
# Loading


def load_pdf(path: str | Path, limits: PdfLimits | None = None) -> list:
    """The PDF at ``path`` as one :class:`xltools.read.Sheet` named after the file (pages in
    order). Raises :class:`UnreadableFile` for a refused or unreadable PDF."""
    from .read import Sheet

    limits = limits or PdfLimits.from_env()
    data = precheck_pdf(path, limits)
    names: list[str] = []
    grid = pdf_grid(data, path, limits, row_names=names)
    return [Sheet(Path(path).stem, "visible", grid, row_names=names)]


def pdf_grid(data: bytes, path, limits: PdfLimits | None = None, row_names: list[str] | None = None) -> list[list]:
    """The rows × cells of the PDF ``data`` (already vetted by :func:`precheck_pdf`)."""
    limits = limits or PdfLimits.from_env()
    started = time.monotonic()
    pages: list[_Page] = []
    try:
        with _deadline(limits.max_pdf_seconds), _quiet_pdfminer():
            import pdfplumber

            with pdfplumber.open(io.BytesIO(data)) as pdf:
                n = len(pdf.pages)
                if n > limits.max_pdf_pages:
                    raise _limit(path, "的页数", n, limits.max_pdf_pages)
                chars = 0
                for page in pdf.pages:
                    pages.append(_read_page(page, path, limits))
                    release = getattr(page, "close", None) or getattr(page, "flush_cache", None)
                    if release:
                        release()   # the page's parsed objects: one page in memory at a time
                    chars += pages[-1].chars
                    if chars > limits.max_pdf_chars:
                        raise _limit(path, "的文字数", chars, limits.max_pdf_chars)
                    if time.monotonic() - started > limits.max_pdf_seconds:
                        raise _TimeUp
    except UnreadableFile:
        raise
    except _TimeUp as exc:
        raise _limit(path, "的读取用时", time.monotonic() - started, limits.max_pdf_seconds, " 秒") from exc
    except MemoryError as exc:
        raise _fail(path, Rule.FILE_UNREADABLE, reason="读取 PDF 时内存不足") from exc
    except RecursionError as exc:
        raise _fail(path, Rule.FILE_UNREADABLE, reason="PDF 结构嵌套过深") from exc
    except Exception as exc:   # pdfminer/pdfplumber on a damaged file: PDFSyntaxError, KeyError, …
        if _caused_by(exc, _TimeUp):   # pdfplumber wraps what pdfminer raised (PdfminerException)
            raise _limit(path, "的读取用时", time.monotonic() - started, limits.max_pdf_seconds, " 秒") from exc
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        if _caused_by(exc, _PASSWORD_ERRORS):
            raise _fail(path, Rule.FILE_ENCRYPTED) from exc
        raise _fail(path, Rule.FILE_UNREADABLE, reason=f"PDF 文件已损坏或格式不受支持（{reason}）") from exc
    if not any(p.chars for p in pages):
        raise _fail(path, Rule.FILE_UNREADABLE,
                    reason="PDF 没有文字层（可能是扫描件或图片），请提交 Excel 表，或由 Excel/WPS 直接导出的 PDF")
    return _join_pages(pages, row_names)


# ---------------------------------------------------------------------------------------------
# One page → rows


@dataclass
class _Seg:
    """A piece of text at a place: a table cell's text, or a run of text outside the tables."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    cell: bool          # from a table cell (then x0 is the cell's left edge)


@dataclass
class _Page:
    height: float
    segs: list[_Seg]
    xs: list[float]     # column edges
    bands: list[tuple[float, float]]   # row bands of the tables
    chars: int
    rows: list[list] = dataclasses.field(default_factory=list)


def _rulings(page) -> dict:
    """Table settings of the lines strategy, from the ruling lines only: stroked lines and
    rectangles, and filled rectangles thin enough to be lines. A cell's background is a filled
    rectangle too (LibreOffice fills each cell of a merged range on its own): its edges are no
    cell borders."""
    from pdfplumber.utils import line_to_edge, rect_to_edges

    edges = [line_to_edge(x) for x in page.lines]
    for r in page.rects:
        if r.get("stroke") or min(r["x1"] - r["x0"], r["bottom"] - r["top"]) <= 2:
            edges.extend(rect_to_edges(r))
    for c in page.curves:
        if c.get("stroke"):
            from pdfplumber.utils import curve_to_edges

            edges.extend(curve_to_edges(c))
    v = [e for e in edges if e["orientation"] == "v"]
    h = [e for e in edges if e["orientation"] == "h"]
    return {"vertical_strategy": "explicit", "horizontal_strategy": "explicit",
            "explicit_vertical_lines": v, "explicit_horizontal_lines": h}


def _read_page(page, path, limits: PdfLimits) -> _Page:
    chars, seen = [], set()
    for c in page.chars:
        key = (c.get("text"), round(c["x0"]), round(c["top"]))
        if c.get("text") and c.get("upright", True) and key not in seen:
            seen.add(key)   # a glyph printed twice at one place (bold faked by overprinting) once
            chars.append(c)
    # Every cell the ruling lines enclose, a lone bordered cell too (find_tables drops those).
    settings = _rulings(page)
    n = len(settings["explicit_vertical_lines"]) + len(settings["explicit_horizontal_lines"])
    if n > limits.max_pdf_rulings:
        raise _limit(path, f"第 {page.page_number} 页的线条数", n, limits.max_pdf_rulings)
    lined = len(settings["explicit_vertical_lines"]) > 1 and len(settings["explicit_horizontal_lines"]) > 1
    cells = list(page.debug_tablefinder(settings).cells) if lined else []
    xs = _cluster([x for c in cells for x in (c[0], c[2])])
    # Each character to the cell holding its centre; cells are bucketed by row for speed.
    owner: dict[int, list] = {}
    bucket: dict[int, list[int]] = {}
    for i, (_, top, _, bottom) in enumerate(cells):
        for b in range(int(top // 20), int(bottom // 20) + 1):
            bucket.setdefault(b, []).append(i)
    outside = []
    for ch in chars:
        cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
        for i in bucket.get(int(cy // 20), ()):
            x0, top, x1, bottom = cells[i]
            if x0 <= cx <= x1 and top <= cy <= bottom:
                owner.setdefault(i, []).append(ch)
                break
        else:
            outside.append(ch)
    segs = []
    for i, (x0, top, x1, bottom) in enumerate(cells):
        text = _cell_text(owner.get(i, []), x0, x1)
        segs.append(_Seg(text or "", x0, x1, top, bottom, True))
    for line in _lines(outside):
        for run in _runs(line, xs):
            segs.append(_Seg(_line_text(run), run[0]["x0"], max(c["x1"] for c in run),
                             min(c["top"] for c in run), max(c["bottom"] for c in run), False))
    ys = _cluster([y for c in cells for y in (c[1], c[3])])
    bands = [(a, b) for a, b in zip(ys, ys[1:])
             if any(c[1] <= a + 1 and c[3] >= b - 1 for c in cells)]
    return _Page(float(page.height), segs, xs, bands, len(chars))


def _cluster(values: list[float], tol: float = 1.5) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if out and v - out[-1] <= tol:
            continue
        out.append(v)
    return out


def _lines(chars: list[dict]) -> list[list[dict]]:
    """Characters grouped into printed lines (by their top), each sorted left to right."""
    lines: list[list[dict]] = []
    for ch in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        if lines and abs(ch["top"] - lines[-1][0]["top"]) <= 0.5 * max(ch["size"], 1):
            lines[-1].append(ch)
        else:
            lines.append([ch])
    return [sorted(line, key=lambda c: c["x0"]) for line in lines]


def _runs(line: list[dict], xs: list[float]) -> list[list[dict]]:
    """A line outside the tables split where a gap wider than a character separates two texts,
    or a column edge passes between them (the texts beside a bordered cell)."""
    runs = [[line[0]]]
    for prev, ch in zip(line, line[1:]):
        gap = ch["x0"] - prev["x1"]
        if gap > 1.5 * max(ch["size"], prev["size"], 1) or (
                gap > 0.2 * ch["size"] and any(prev["x1"] - 0.5 <= x <= ch["x0"] + 0.5 for x in xs)):
            runs.append([ch])
        else:
            runs[-1].append(ch)
    return runs


def _line_text(line: list[dict]) -> str:
    out = [line[0]["text"]]
    for prev, ch in zip(line, line[1:]):
        if ch["x0"] - prev["x1"] > 0.3 * max(ch["size"], 1) and " " not in (prev["text"], ch["text"]):
            out.append(" ")
        out.append(ch["text"])
    return "".join(out)


def _wide(ch: str) -> bool:
    """CJK characters and full-width forms: a line may break between any two of them."""
    return ord(ch) >= 0x2E80


# Characters a line may not start with (the printer carries the one before them over too).
_NO_START = set("，。、；：？！）》」』】〉”’%,.;:?!)]}")


def _next_width(line: list[dict]) -> float:
    """The width of what would have had to fit at the end of the line before: the first
    character (CJK), the first word (Latin), together with a mark that may not start a line."""
    n = 1
    if not _wide(line[0]["text"]):
        while n < len(line) and line[n]["text"] != " " and not _wide(line[n]["text"]):
            n += 1
    while n < len(line) and line[n]["text"] in _NO_START:
        n += 1
    return line[n - 1]["x1"] - line[0]["x0"]


def _cell_text(chars: list[dict], x0: float, x1: float) -> str | None:
    lines = _lines(chars)
    if not lines:
        return None
    size = max(c["size"] for c in chars)
    pad = min(min(line[0]["x0"] for line in lines) - x0, 0.3 * size + 0.5)
    inner = (x1 - x0) - 2 * max(pad, 0.0)
    text = _line_text(lines[0])
    for prev, line in zip(lines, lines[1:]):
        leftover = inner - (prev[-1]["x1"] - prev[0]["x0"])
        if leftover > _next_width(line) + 0.25 * size:
            sep = "\n"   # the next word would have fitted: the line ended there
        else:
            a, b = prev[-1]["text"], line[0]["text"]
            sep = " " if not (_wide(a) or _wide(b)) and a != " " and b != " " and a.isalnum() and b.isalnum() else ""
        text += sep + _line_text(line)
    text = text.strip()
    return text or None


# ---------------------------------------------------------------------------------------------
# Pages → one grid

_PAGE_NO_RE = re.compile(r"^(第\s*\d+\s*页(\s*[，,、/]?\s*共\s*\d+\s*页)?|共\s*\d+\s*页\s*第\s*\d+\s*页|"
                         r"\d+\s*/\s*\d+|page\s*\d+(\s*(of|/)\s*\d+)?)$", re.I)
_BARE_NO_RE = re.compile(r"^[-—–]?\s*\d{1,3}\s*[-—–]?$")   # "3", "- 3 -": only when alone on its line


def _in_margin(seg: _Seg, page: _Page) -> bool:
    return seg.bottom < 0.1 * page.height or seg.top > 0.9 * page.height


def _furniture(pages: list[_Page]) -> set[tuple[int, int]]:
    """(page, segment) of page numbers in the margins and of counters repeated on every page."""
    drop = set()
    for p, page in enumerate(pages):
        loose = [(s, seg) for s, seg in enumerate(page.segs) if not seg.cell and _in_margin(seg, page)]
        for s, seg in loose:
            text = seg.text.strip()
            alone = not any(t is not seg and abs(t.top - seg.top) < 0.5 * (seg.bottom - seg.top) for _, t in loose)
            if _PAGE_NO_RE.match(text) or (alone and _BARE_NO_RE.match(text)):
                drop.add((p, s))
    if len(pages) > 1:
        # A counter in the margin of every page at the same place, in any wording ("- 3 -"):
        # the same text but for its numbers, which differ between pages.
        def key(seg: _Seg):
            return re.sub(r"\d+", "#", seg.text), round(seg.top / 3), round(seg.x0 / 3)

        found: dict[tuple, list[tuple[int, int, str]]] = {}
        for p, page in enumerate(pages):
            for s, seg in enumerate(page.segs):
                if not seg.cell and _in_margin(seg, page):
                    found.setdefault(key(seg), []).append((p, s, seg.text))
        for hits in found.values():
            if len({p for p, _, _ in hits}) == len(pages) and len({t for _, _, t in hits}) > 1:
                drop.update((p, s) for p, s, _ in hits)
    return drop


def _page_rows(page: _Page, skip: set[int]) -> list[list]:
    """The page's segments placed in rows (by table band, else a row of their own) and columns."""
    xs = page.xs
    ncols = max(len(xs) - 1, 1)
    left, right = (xs[0], xs[-1]) if xs else (0.0, 0.0)
    rows: dict[float, dict[int, str]] = {}
    loose: list[tuple[float, float, _Seg]] = []
    for s, seg in enumerate(page.segs):
        if s in skip:
            continue
        if seg.cell:
            y = _nearest_band(page.bands, seg.top)
            col = _index(xs, seg.x0)
            if seg.text:
                _put(rows.setdefault(y, {}), col, seg.text)
            else:
                rows.setdefault(y, {})
            continue
        cy = (seg.top + seg.bottom) / 2
        band = next((a for a, b in page.bands if a <= cy <= b), None)
        loose.append((band if band is not None else seg.top, seg.x0, seg))
    # Text outside the bands: one row per printed line (tops within half a line height).
    placed = []
    for y, _x, seg in sorted(loose, key=lambda t: (t[0], t[1])):
        if not any(a <= (seg.top + seg.bottom) / 2 <= b for a, b in page.bands):
            for y0, h in placed:
                if abs(seg.top - y0) <= 0.5 * h:
                    y = y0
                    break
            else:
                placed.append((seg.top, max(seg.bottom - seg.top, 1.0)))
        row = rows.setdefault(y, {})
        if not xs:
            col = len(row)
        elif (seg.x1 - seg.x0 > (right - left) / ncols and abs((seg.x0 + seg.x1) / 2 - (left + right) / 2)
              < 0.05 * (right - left)):
            col = 0   # centred over the table and wider than a column: a title merged across
        else:
            col = _index(xs, seg.x0, loose=True)
        _put(row, col, seg.text)
    out = []
    for y in sorted(rows):
        row = rows[y]
        width = max(row, default=-1) + 1
        out.append([row.get(c) for c in range(width)])
    return out


def _put(row: dict[int, str], col: int, text: str) -> None:
    row[col] = f"{row[col]} {text}" if row.get(col) else text


def _nearest_band(bands: list[tuple[float, float]], top: float) -> float:
    best = min(bands, key=lambda b: abs(b[0] - top), default=(top, top))
    return best[0] if abs(best[0] - top) <= 1.5 else top


def _index(xs: list[float], x: float, loose: bool = False) -> int:
    """The column whose left edge is at ``x`` (a cell), or that ``x`` falls in (loose text)."""
    if not xs:
        return 0
    if not loose:
        return min(range(len(xs)), key=lambda i: abs(xs[i] - x))
    i = 0
    while i + 1 < len(xs) - 1 and xs[i + 1] <= x + 1.0:
        i += 1
    return i


# pdfminer's refusals of an encrypted file it cannot open (named: pdfminer is imported only by pdfplumber)
_PASSWORD_ERRORS = frozenset({"PDFPasswordIncorrect", "PDFEncryptionError", "PDFEncryptionWarning"})


def _caused_by(exc: BaseException | None, kind: type | frozenset) -> bool:
    """Whether ``exc``, its causes or its arguments are of ``kind`` (a type, or type names)."""
    def hit(x) -> bool:
        return isinstance(x, kind) if isinstance(kind, type) else type(x).__name__ in kind

    seen = 0
    while exc is not None and seen < 20:
        if hit(exc) or any(hit(a) for a in getattr(exc, "args", ())):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _shared_columns(pages: list[_Page]) -> None:
    """Pages of one table width share their column edges: a column whose cell is merged over
    the whole page (the label column of a table continued from the page before) draws no cell
    of its own there, and would otherwise shift that page's cells one column left."""
    families: dict[int, list[float]] = {}
    for page in pages:
        if page.xs:
            families.setdefault(round(page.xs[-1]), []).extend(page.xs)
    edges = {k: _cluster(v) for k, v in families.items()}
    for page in pages:
        if page.xs:
            page.xs = edges[round(page.xs[-1])]


def _join_pages(pages: list[_Page], row_names: list[str] | None = None) -> list[list]:
    """The pages' rows as one grid; ``row_names`` (if given) receives the printed place of each
    grid row, ``第2页第5行`` (the rows of that page as the grid counts them), for findings."""
    drop = _furniture(pages)
    _shared_columns(pages)
    grids = [_page_rows(page, {s for q, s in drop if q == p}) for p, page in enumerate(pages)]
    out: list[list] = []
    head: list[list] = []      # the first rows of the page where the current form began
    for p, rows in enumerate(grids, start=1):
        if head and rows:
            # The title rows a printer repeats on a continuation page, at its top or after the
            # text of a merged cell continued from the page before.
            k = next((i for i in range(min(3, len(rows))) if _same(rows[i], head[0])), None)
            n = 0
            if k is not None:
                while n < min(len(head) - 1, len(rows) - k) and _same(rows[k + n], head[n]):
                    n += 1
            if n and not (k + n < len(rows) and _shares_label(rows[k + n], head[n])):
                rows = rows[:k] + rows[k + n:]
            else:
                head = rows[:4]
        else:
            head = rows[:4]
        if row_names is not None:
            row_names.extend(f"第{p}页第{i}行" for i in range(1, len(rows) + 1))
        out.extend(rows)
    width = max((len(r) for r in out), default=0)
    return [r + [None] * (width - len(r)) for r in out]


def _same(a: list, b: list) -> bool:
    """The same printed text (a line may be cut into cells differently on another page)."""
    text = lambda r: "".join(str(v) for v in r if v).replace(" ", "")
    return bool(text(a)) and text(a) == text(b)


def _shares_label(a: list, b: list) -> bool:
    """Whether two rows have a text in common at the same place (the labels of a new form)."""
    return any(x and x == y for x, y in zip(a, b))
