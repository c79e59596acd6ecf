"""Safety pre-check: decide whether a file may be handed to a spreadsheet library at all.

python-calamine (like any native parser) can abort the whole process on some crafted files —
an abort cannot be caught — and a zip member can inflate to gigabytes. So this module looks at
the raw bytes first, with the standard library only, and never holds more than one chunk of a
member in memory:

* the magic bytes: a zip package; OLE2 = a legacy .xls or an encrypted (password-protected)
  workbook, said which; text, HTML, PDF … named;
* the file size, the number of zip entries, each entry's declared size and compression ratio,
  the sum of the declared sizes, overlapping or duplicate entries, encrypted entries;
* each member inflated by hand as a stream capped at its declared size (``zipfile.read()`` of a
  member that lies about its size inflates all of it before the CRC check fails), with its CRC;
* no DOCTYPE/ENTITY in any part (billion laughs, quadratic blow-up, external entities);
* no macro part (vbaProject.bin, Excel 4 macro sheets) — reported, never run;
* every worksheet: the cells (explicit ``r`` or implied by position) within the extent of a form,
  the number of cells and the dense grid a reader would allocate, the ``<dimension>`` neither
  beyond the extent nor smaller than the data, no single text longer than a cell can hold;
* the shared strings: the declared counts against the actual content;
* the workbook: the number of sheets, no two sheets on one part.

Every refusal is an :class:`UnreadableFile` with a rule code of :mod:`xltools.rules` and a
Chinese message saying what was found and what to do. The limits are a :class:`Limits`;
each can be changed with an environment variable (see :meth:`Limits.from_env`).
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import UnreadableFile
from .rules import Rule
from .spec import col_index, col_letter


@dataclass(frozen=True)
class Limits:
    """Safety limits. Each can be changed with an environment variable of the same name in upper
    case prefixed ``XLTOOLS_`` (e.g. ``XLTOOLS_MAX_FILE_MB=50``); an invalid value is ignored."""

    max_file_mb: float = 20          # the file on disk
    max_entries: int = 1000          # members of the zip package
    max_entry_mb: float = 100        # one member, uncompressed (declared and actual)
    max_total_mb: float = 100        # all members together, uncompressed
    max_ratio: float = 200           # uncompressed : compressed, for members above 1 MiB
    max_rows: int = 100_000          # a cell below this row is outside any form or 汇总表
    max_cols: int = 104              # a cell right of column CZ likewise (our sheets use < 15)
    max_cells: int = 500_000         # cells in all worksheets together (a 汇总表 of 200 projects: ~150,000)
    max_grid: int = 2_000_000        # Σ rows × columns of every worksheet (what a reader allocates)
    max_sheets: int = 1000           # sheets in the workbook (a 汇总表 has one per project + 3)
    max_text_kb: int = 512           # one XML text or tag; a cell holds at most 32,767 characters

    @classmethod
    def from_env(cls, environ=None) -> Limits:
        env = os.environ if environ is None else environ
        kw = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"XLTOOLS_{f.name.upper()}")
            if raw:
                typ = float if f.type in ("float", float) else int
                try:
                    value = typ(raw)
                except ValueError:
                    continue
                if value > 0:
                    kw[f.name] = value
        return cls(**kw)

    def describe(self) -> list[tuple[str, str]]:
        """(environment variable, current value) of every limit, for documentation and --help."""
        return [(f"XLTOOLS_{f.name.upper()}", str(getattr(self, f.name))) for f in dataclasses.fields(self)]


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
CHUNK = 1 << 16
MIB = 1 << 20

_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
# The inside of a tag: quoted values may hold '>' (legal) — a quoted value is consumed whole.
_IN_TAG = rb"""(?:[^>"']|"[^"]*"|'[^']*')"""
# Worksheet tags <row …> and <c …>, with or without a namespace prefix, and their r= address.
_SHEET_TAG_RE = re.compile(
    rb"<(?:[A-Za-z_][\w.\-]*:)?(row|c)(?=[\s/>])(?:(?=" + _IN_TAG + rb"""*?\sr\s*=\s*["']([^"']*)["']))?""")
_LT_IN_TAG_RE = re.compile(rb"<[^<>]*<")   # a '<' before the '>' of a tag: illegal, refused
# A cell or row naming its address twice: which one a reader takes is up to the reader.
_DUP_R_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(?:c|row)\s" + _IN_TAG + rb"*?(?<=\s)r\s*="
                       + rb"""\s*(?:"[^"]*"|'[^']*')""" + _IN_TAG + rb"*?(?<=\s)r\s*=")

_CELL_ROW_RE = re.compile(rb'<c r="[A-Z]{1,3}(\d{1,7})"')      # how every writer starts a cell
_CELL_COL_RE = re.compile(rb'<c r="([A-Z]{1,3})\d')
_LAST_COL_RE = re.compile(rb'<c r="([A-Z]{1,3})\d')
_CELL_PREFIXED_RE = re.compile(rb"<[A-Za-z_][\w.\-]*:c(?=[\s/>])")
_SHEET_PREFIXED_RE = re.compile(rb"<[A-Za-z_][\w.\-]*:sheet(?=[\s/>])")
_SI_PREFIXED_RE = re.compile(rb"<[A-Za-z_][\w.\-]*:si(?=[\s/>])")
_C_OTHER_RE = re.compile(rb"<c[\w.:\-]")
_SHEET_OTHER_RE = re.compile(rb"<sheet[\w.:\-]")
_SI_OTHER_RE = re.compile(rb"<si[\w.:\-]")
_MAX_SLOW = 200_000   # cells not starting <c r="A1" are walked one by one: keep that bounded
_REF_RE = re.compile(r"^\$?([A-Za-z]{1,4})\$?(\d{1,9})$")
_SST_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?sst(?=[\s/>])" + _IN_TAG + rb"*>")
_DIM_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?dimension\s" + _IN_TAG
                         + rb"""*?(?<=\s)ref\s*=\s*["']([^"']*)["']""")
_SST_COUNT_RE = re.compile(rb'\s(uniqueCount|count)\s*=\s*["\']\s*(\d+)\s*["\']')
_REL_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?Relationship\s" + _IN_TAG + rb"*>")
_ATTR_RE = re.compile(rb'\s(\w+)\s*=\s*["\']([^"\']*)["\']')

_XMLISH = (".xml", ".rels", ".vml")
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


def _mib(n: float) -> str:
    return f"{n / MIB:.1f} MiB"


def _fail(path, rule: Rule, **kw) -> UnreadableFile:
    return UnreadableFile(str(path), rule.code, rule.format(**kw))


# A structural defect that is not a bomb: malformed but harmless-looking. The catalogue has no
# rule for it yet (see docs/safety.md); until it does, it is reported as a structure anomaly.
_MALFORMED = getattr(Rule, "FILE_MALFORMED", Rule.FILE_ZIP_BOMB)


def _malformed(path, reason: str) -> UnreadableFile:
    return _fail(path, _MALFORMED, reason=reason)


# ---------------------------------------------------------------------------------------------
# Not a zip: say what it is


def _sniff_other(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    low = text[:200].lower()
    if low.startswith(b"<!doctype html") or low.startswith(b"<html") or b"<table" in low:
        return "这是网页 HTML 文件（常见于系统导出的“伪 .xls”）"
    if low.startswith(b"%pdf"):
        return "这是 PDF 文件"
    if low.startswith(b"<?xml"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head:
            return "这是 Excel 2003 XML 表格"
        return "这是 XML 文件"
    if head.startswith(b"{\\rtf"):
        return "这是 RTF 文档"
    if head.startswith((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        return "这是 RAR/7z/gzip 压缩包"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "这是图片文件"
    try:
        sample = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            sample = head.decode("gb18030")
        except UnicodeDecodeError:
            return "无法识别的文件格式"
    if "," in sample or "\t" in sample or "，" in sample:
        return "这是 CSV/文本文件"
    return "这是文本文件"


def _ole_kind(path: Path) -> tuple[Rule, dict]:
    """An OLE2 compound file: an encrypted OOXML package, a legacy .xls, or something else.

    The directory entries (stream names, UTF-16) may sit anywhere in the file, so the whole
    file (at most ``max_file_mb``) is scanned in chunks."""
    names = {key: key.encode("utf-16-le") for key in
             ("EncryptedPackage", "EncryptionInfo", "Workbook", "Book", "WordDocument",
              "PowerPoint Document")}
    found: set[str] = set()
    tail = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK * 16)
            if not chunk:
                break
            window = tail + chunk
            for key, raw in names.items():
                if key not in found and raw in window:
                    found.add(key)
            tail = window[-64:]
    if {"EncryptedPackage", "EncryptionInfo"} & found:
        return Rule.FILE_ENCRYPTED, {}
    if "WordDocument" in found:
        return Rule.FILE_NOT_XLSX, {"what": "这是 Word 97-2003 文档 (.doc)"}
    if "PowerPoint Document" in found:
        return Rule.FILE_NOT_XLSX, {"what": "这是 PowerPoint 97-2003 演示文稿 (.ppt)"}
    return Rule.FILE_XLS, {}


def _zip_kind(names: set[str]) -> str:
    if "xl/workbook.bin" in names:
        return "这是 Excel 二进制工作簿 (.xlsb)，请另存为 Excel 工作簿 (.xlsx)"
    if "word/document.xml" in names:
        return "这是 Word 文档"
    if "ppt/presentation.xml" in names:
        return "这是 PowerPoint 演示文稿"
    if "mimetype" in names and "content.xml" in names:
        return "这是 OpenDocument (.ods/.odt) 文件，请另存为 Excel 工作簿 (.xlsx)"
    return "这是其他压缩文件" if names else "这是空的压缩包"


# ---------------------------------------------------------------------------------------------
# Reading one member as a capped stream


def _member_chunks(fp, info: zipfile.ZipInfo, path, limit: int):
    """Yield the uncompressed bytes of one member in chunks, never more than its declared size
    (and never more than ``limit``); check the local header, the deflate stream and the CRC."""
    name = info.filename
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的本地文件头缺失")
    flags, method = struct.unpack("<HH", head[6:10])
    n_name, n_extra = struct.unpack("<HH", head[26:30])
    local_name = fp.read(n_name)
    if local_name not in (info.orig_filename.encode("utf-8"), info.orig_filename.encode("cp437", "replace")):
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的本地文件头与目录不一致")
    fp.seek(n_extra, os.SEEK_CUR)
    if (flags | info.flag_bits) & 0x1:
        raise _fail(path, Rule.FILE_ENCRYPTED)
    if method != info.compress_type or method not in _ZIP_METHODS:
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 使用了不支持的压缩方式 {info.compress_type}")
    declared = info.file_size
    left = info.compress_size
    produced = 0
    crc = 0
    inflater = zlib.decompressobj(-15) if method == zipfile.ZIP_DEFLATED else None

    def account(out: bytes) -> bytes:
        nonlocal produced, crc
        produced += len(out)
        if produced > declared:
            raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"{name} 的实际大小超过声明的 {declared} 字节")
        if produced > limit:
            raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"{name} 解压后超过上限 {_mib(limit)}")
        crc = zlib.crc32(out, crc)
        return out

    try:
        while left > 0:
            raw = fp.read(min(CHUNK, left))
            if not raw:
                raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的数据被截断")
            left -= len(raw)
            if inflater is None:
                yield account(raw)
                continue
            buf = raw
            while True:
                out = inflater.decompress(buf, CHUNK)
                if out:
                    yield account(out)
                buf = inflater.unconsumed_tail
                if inflater.eof or (not buf and not out):
                    break
            if inflater.eof:
                break
        if inflater is not None and not inflater.eof:
            raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的压缩数据不完整")
    except zlib.error as exc:
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的压缩数据损坏（{exc}）") from exc
    if produced != declared:
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的大小与声明不符")
    if crc != info.CRC:
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的 CRC 校验失败")


# ---------------------------------------------------------------------------------------------
# Scanning the XML of a member, chunk by chunk, each chunk cut after a '>' (no tag is split).
# Every XML part gets every check: which part a reader takes for a worksheet or the shared
# strings follows relationships a crafted file can point anywhere, so no check relies on names.


def _ref(text: str) -> tuple[int, int] | None:
    """'F52' -> (52, 6), 1-based (row, column); None if not a cell reference."""
    m = _REF_RE.match(text.strip())
    if not m:
        return None
    return int(m.group(2)), col_index(m.group(1).upper()) + 1


def _a1(row: int, col: int) -> str:
    return f"{col_letter(col - 1)}{row}"


@dataclass
class _Totals:
    cells: int = 0
    grid: int = 0
    sheets: int = 0
    strings: int = 0
    slow: int = 0


class _XmlScanner:
    """Cells, rows and <dimension> (worksheets), <sst> counts and <si> items (shared strings),
    <sheet> elements (the workbook) and worksheet relationships (.rels) of one part."""

    def __init__(self, part: str, path, limits: Limits, totals: _Totals):
        self.part, self.path, self.limits, self.totals = part, path, limits, totals
        self.row = 0            # current row (1-based), as a reader counts it
        self.col = 0            # current column (1-based) within the row
        self.min_row = self.min_col = 1 << 30
        self.max_row = self.max_col = 0
        self.dimension: tuple[str, tuple[int, int, int, int]] | None = None
        self.sst: dict[bytes, int] | None = None
        self.items = 0
        self.size = 0
        self.rels = part.lower().endswith(".rels")
        self.in_data = False
        self.targets: dict[str, int] = {}

    # -- helpers ------------------------------------------------------------------------------

    def _too_far(self, row: int, col: int) -> bool:
        return row > self.limits.max_rows or col > self.limits.max_cols or row < 1

    def _extent(self, ref: str) -> UnreadableFile:
        return _fail(self.path, Rule.FILE_EXTENT, part=self.part, ref=ref)

    def _bomb(self, reason: str) -> UnreadableFile:
        return _fail(self.path, Rule.FILE_ZIP_BOMB, reason=reason)

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """One piece of the part, cut after a '>'. Each test is a C-level pass over the bytes;
        the per-element regexes run only where the cheap passes found something."""
        self.size += len(data)
        lim, tot = self.limits, self.totals
        n = _count(data, b"<c", _C_OTHER_RE, b":c", _CELL_PREFIXED_RE)
        if n:
            tot.cells += n
            if tot.cells > lim.max_cells:
                raise self._bomb(f"工作表中的单元格超过 {lim.max_cells:,} 个（{self.part}）")
            self._cells(data, n)
        if b"<s" in data or b":s" in data:
            k = _count(data, b"<sheet", _SHEET_OTHER_RE, b":sheet", _SHEET_PREFIXED_RE)
            if k:
                tot.sheets += k
                if tot.sheets > lim.max_sheets:
                    raise self._bomb(f"工作簿中的工作表超过 {lim.max_sheets} 个")
            k = _count(data, b"<si", _SI_OTHER_RE, b":si", _SI_PREFIXED_RE)
            if k:
                self.items += k
                tot.strings += k
                if tot.strings > lim.max_cells:
                    raise self._bomb(f"共享字符串超过 {lim.max_cells:,} 个")
            if self.sst is None and b"sst" in data:
                m = _SST_TAG_RE.search(data)
                if m:
                    self.sst = {k: int(v) for k, v in _SST_COUNT_RE.findall(m.group(0))}
        if not self.in_data:
            # <dimension> comes before <sheetData> (a reader takes it from there).
            if self.dimension is None and b"dimension" in data:
                m = _DIM_TAG_RE.search(data)
                if m:
                    self._dimension(m.group(1).decode("ascii", "replace"))
            self.in_data = b"sheetData" in data
        if self.rels:
            for m in _REL_RE.finditer(data):
                attrs = {k.lower(): v for k, v in _ATTR_RE.findall(m.group(0))}
                if (attrs.get(b"type", b"").endswith(b"/worksheet")
                        and attrs.get(b"targetmode", b"").lower() != b"external"):
                    target = attrs.get(b"target", b"").decode("utf-8", "replace")
                    target = _resolve(_rels_source(self.part), target)
                    self.targets[target] = self.targets.get(target, 0) + 1

    def _cells(self, data: bytes, n: int) -> None:
        if _dup_address(data):
            raise _malformed(self.path, f"{self.part} 中有单元格或行重复声明了地址")
        digits = _CELL_ROW_RE.findall(data)
        if len(digits) == n:
            self._explicit(data, digits)
        else:
            # Cells without an address, with a namespace prefix or the address not first: rare
            # (no spreadsheet program writes them), walked one by one within a budget.
            self.totals.slow += n
            if self.totals.slow > _MAX_SLOW:
                raise _malformed(self.path, f"{self.part} 中有大量写法不规范的单元格（缺少地址或带前缀）")
            self._sequential(data)

    def _explicit(self, data: bytes, digits: list[bytes]) -> None:
        """Every cell starts <c r="A1": the extent from C-level scans, no Python loop per cell."""
        rows = list(map(int, digits))
        lo_r, hi_r = min(rows), max(rows)
        cols = {letters: col_index(letters.decode("ascii")) + 1
                for letters in set(_CELL_COL_RE.findall(data))}
        lo_c, hi_c = min(cols.values()), max(cols.values())
        lim = self.limits
        if hi_r > lim.max_rows or lo_r < 1:
            bad = hi_r if hi_r > lim.max_rows else lo_r
            m = re.search(rb'<c r="([A-Z]{1,3})' + str(bad).encode() + rb'"', data)
            raise self._extent(_a1(bad, cols[m.group(1)] if m else 1))
        if hi_c > lim.max_cols:
            letters = next(k for k, v in cols.items() if v == hi_c)
            m = re.search(rb'<c r="' + letters + rb'(\d+)"', data)
            raise self._extent(_a1(int(m.group(1)) if m else 1, hi_c))
        self.min_row, self.max_row = min(self.min_row, lo_r), max(self.max_row, hi_r)
        self.min_col, self.max_col = min(self.min_col, lo_c), max(self.max_col, hi_c)
        # The position after this chunk, for cells without an address in a later chunk.
        last = data.rfind(b"<row")
        tail = data[last:] if last >= 0 else b""
        if last >= 0 and b"<c" not in tail:
            self._sequential(tail)
        else:
            self.row = rows[-1]
            m = _LAST_COL_RE.search(data, max(0, data.rfind(b'<c r="')))
            self.col = cols.get(m.group(1), 0) if m else 0

    def _sequential(self, data: bytes) -> None:
        """Cells without an address sit after the previous one: walk the tags in order."""
        max_rows, max_cols = self.limits.max_rows, self.limits.max_cols
        row, col = self.row, self.col
        for m in _SHEET_TAG_RE.finditer(data):
            tag, ref = m.group(1), m.group(2)
            if tag == b"c":
                if ref is not None:
                    rc = _ref(ref.decode("ascii", "replace"))
                    if rc is None:
                        shown = ref.decode("utf-8", "replace")[:20]
                        raise _malformed(self.path, f"{self.part} 中的单元格地址「{shown}」无效")
                    row, col = rc
                else:
                    row, col = row or 1, col + 1
                if row > max_rows or col > max_cols:
                    raise self._extent(_a1(row, col))
                if row > self.max_row:
                    self.max_row = row
                if col > self.max_col:
                    self.max_col = col
                if row < self.min_row:
                    self.min_row = row
                if col < self.min_col:
                    self.min_col = col
            else:  # <row>
                if ref is not None:
                    try:
                        row = int(ref)
                    except ValueError:
                        shown = ref.decode("utf-8", "replace")[:20]
                        raise _malformed(self.path, f"{self.part} 中的行号「{shown}」无效") from None
                else:
                    row += 1
                if row > 1_048_576 or row < 1:
                    raise self._extent(f"第 {row} 行")
                col = 0
        self.row, self.col = row, col

    def _dimension(self, text: str) -> None:
        ends = text.replace("$", "").split(":")
        parsed = [_ref(e) for e in ends]
        if len(parsed) > 2 or any(p is None for p in parsed):
            raise _malformed(self.path, f"{self.part} 的范围声明「{text[:40]}」无效")
        for r, c in parsed:
            if self._too_far(r, c):
                raise self._extent(text)
        (r1, c1), (r2, c2) = parsed[0], parsed[-1]
        self.dimension = (text, (min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))

    def close(self) -> None:
        lim = self.limits
        if self.max_row:
            self.totals.grid += self.max_row * self.max_col
            if self.totals.grid > lim.max_grid:
                raise self._bomb(f"工作表的单元格范围合计超过 {lim.max_grid:,} 格（{self.part}）")
            if self.dimension:
                text, (r1, c1, r2, c2) = self.dimension
                inside = (r1 <= self.min_row and c1 <= self.min_col
                          and self.max_row <= r2 and self.max_col <= c2)
                if not inside:
                    data = f"{_a1(self.min_row, self.min_col)}:{_a1(self.max_row, self.max_col)}"
                    raise _malformed(self.path, f"{self.part} 声明的范围 {text} 小于实际数据范围 {data}")
        if self.sst is not None:
            unique = self.sst.get(b"uniqueCount")
            count = self.sst.get(b"count")
            # Every <si> takes at least 5 bytes: a uniqueCount beyond size / 5 cannot be true.
            if unique is not None and unique > max(self.size // 5, 16):
                raise self._bomb(f"共享字符串声明了 {unique:,} 个，远超文件内容")
            if count is not None and count > max(lim.max_cells * 4, 16):
                raise self._bomb(f"共享字符串声明被引用 {count:,} 次，远超单元格上限")
        for target, n in self.targets.items():
            if n > 1:
                raise _malformed(self.path, f"{n} 个工作表指向同一部件 {target}")


def _dup_address(data: bytes) -> bool:
    """Whether a <c> or <row> tag has two r= attributes. Counts first: when every r= is the
    canonical ' r="' right after '<c' or '<row', there is none; otherwise the exact regex."""
    canonical = data.count(b'<c r="') + data.count(b'<row r="')
    if data.count(b"r=") == data.count(b'r="') == data.count(b' r="') == canonical:
        return False
    return bool(_DUP_R_RE.search(data))


def _count(data: bytes, start: bytes, other: re.Pattern, colon: bytes, prefixed: re.Pattern) -> int:
    """How many elements named ``start[1:]`` begin in ``data``: every ``<name`` minus those
    continuing with a name character (``<cols``), plus prefixed ones (``<x:c``) if any."""
    n = data.count(start)
    if n:
        n -= len(other.findall(data))
    if colon in data:
        n += len(prefixed.findall(data))
    return n


def _rels_source(rels_part: str) -> str:
    """'xl/_rels/workbook.xml.rels' -> 'xl/workbook.xml' (the part whose relationships these are)."""
    folder, name = posixpath.split(rels_part)
    base = posixpath.dirname(folder)
    return posixpath.join(base, name[: -len(".rels")])


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _looks_xml(name: str, head: bytes) -> bool:
    if name.lower().endswith(_XMLISH):
        return True
    h = head[:64]
    return (h.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
            or h.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")))


def _scan_member(fp, info: zipfile.ZipInfo, path, limits: Limits, totals: _Totals) -> None:
    name = info.filename
    max_text = limits.max_text_kb * 1024
    scanner: _XmlScanner | None = None
    first = True
    xml = False
    carry = b""
    tail = b""
    for chunk in _member_chunks(fp, info, path, int(limits.max_entry_mb * MIB)):
        window = tail + chunk
        if b"<!" in window and _DTD_RE.search(window):
            raise _fail(path, Rule.FILE_XML_DTD, part=name)
        tail = window[-16:]
        if first:
            first = False
            xml = _looks_xml(name, chunk)
            if xml:
                if b"\x00" in chunk[:4096]:
                    raise _malformed(path, f"{name} 不是 UTF-8 编码的 XML（如 UTF-16）")
                scanner = _XmlScanner(name, path, limits, totals)
        if not xml:
            continue
        # Cut before the last '<': every tag before it is complete (a quoted '>' inside a tag
        # does not end it); the last tag and the text after it wait for the next chunk.
        buf = carry + chunk
        cut = buf.rfind(b"<")
        if cut > 0:
            piece = buf[:cut]
            if piece.rfind(b"<") > piece.rfind(b">") or _LT_IN_TAG_RE.search(piece):
                raise _malformed(path, f"{name} 中有未闭合或含 '<' 的标签")
            scanner.feed(piece)
            carry = buf[cut:]
        else:
            carry = buf
        if len(carry) > max_text:
            raise _fail(path, Rule.FILE_ZIP_BOMB,
                        reason=f"{name} 中有一段超过 {limits.max_text_kb} KiB 的文本或标签，超出单元格的容量")
    if scanner is not None:
        if carry:
            if _LT_IN_TAG_RE.search(carry):
                raise _malformed(path, f"{name} 中有未闭合或含 '<' 的标签")
            scanner.feed(carry)
        scanner.close()


# ---------------------------------------------------------------------------------------------
# The pre-check


def precheck(path: str | Path, limits: Limits | None = None) -> None:
    """Raise :class:`UnreadableFile` unless ``path`` is a plain, sane .xlsx package."""
    limits = limits or Limits.from_env()
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise _fail(path, Rule.FILE_UNREADABLE, reason=exc.strerror or str(exc)) from exc
    if size == 0:
        raise _fail(path, Rule.FILE_EMPTY)
    if size > limits.max_file_mb * MIB:
        raise _fail(path, Rule.FILE_TOO_LARGE, size=_mib(size), limit=_mib(limits.max_file_mb * MIB))
    if head.startswith(OLE2_MAGIC):
        rule, kw = _ole_kind(p)
        raise _fail(path, rule, **kw)
    if not head.startswith(ZIP_MAGICS):
        raise _fail(path, Rule.FILE_NOT_XLSX, what=_sniff_other(head))
    try:
        with open(p, "rb") as fp:
            _check_zip(fp, path, limits)
    except UnreadableFile:
        raise
    except OSError as exc:
        raise _fail(path, Rule.FILE_UNREADABLE, reason=exc.strerror or str(exc)) from exc
    except MemoryError as exc:
        raise _fail(path, Rule.FILE_ZIP_BOMB, reason="读取压缩包目录时内存不足") from exc
    except Exception as exc:  # zipfile on a damaged directory: BadZipFile, struct.error, ValueError …
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise _fail(path, Rule.FILE_CORRUPT, reason=reason) from exc


def _check_zip(fp, path, limits: Limits) -> None:
    try:
        zf = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(path, Rule.FILE_CORRUPT, reason=str(exc) or "zip 目录缺失") from exc
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise _fail(path, Rule.FILE_ZIP_BOMB,
                    reason=f"压缩包内有 {len(infos)} 个部件，超过上限 {limits.max_entries}")
    names = [i.filename for i in infos]
    seen: set[str] = set()
    for n in names:
        if n.lower() in seen:
            raise _malformed(path, f"压缩包内有重名部件 {n}")
        seen.add(n.lower())
    macro = sorted(n for n in names
                   if n.lower().endswith("vbaproject.bin") or n.lower().startswith("xl/macrosheets/"))
    if macro:
        raise _fail(path, Rule.FILE_MACRO, part=macro[0])
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _fail(path, Rule.FILE_NOT_XLSX, what=_zip_kind(set(names)))
    # Overlapping members (one compressed kernel shared by many entries) are a known bomb.
    spans = sorted((i.header_offset,
                    i.header_offset + 30 + len(i.orig_filename.encode("utf-8")) + i.compress_size,
                    i.filename) for i in infos)
    for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
        if start < end:
            raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"部件 {name} 与 {other} 的数据重叠")
    cap = limits.max_entry_mb * MIB
    total = 0
    for info in infos:
        if info.file_size > cap:
            raise _fail(path, Rule.FILE_ZIP_BOMB,
                        reason=f"{info.filename} 解压后 {_mib(info.file_size)}，超过上限 {_mib(cap)}")
        if info.file_size > MIB and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _fail(path, Rule.FILE_ZIP_BOMB,
                        reason=f"{info.filename} 压缩比 {info.file_size / max(info.compress_size, 1):.0f}:1 "
                               f"超过上限 {limits.max_ratio:.0f}:1")
        total += info.file_size
    if total > limits.max_total_mb * MIB:
        raise _fail(path, Rule.FILE_ZIP_BOMB,
                    reason=f"解压后共 {_mib(total)}，超过上限 {_mib(limits.max_total_mb * MIB)}")
    totals = _Totals()
    for info in infos:
        _scan_member(fp, info, path, limits, totals)


def is_parser_error(exc: BaseException) -> bool:
    """Whether a spreadsheet library's exception means "this file cannot be read" (to be reported
    as an unreadable file). A Rust panic inside python-calamine surfaces as pyo3's
    ``PanicException``, which derives from BaseException, not Exception; interrupts do not count."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        return False
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"
