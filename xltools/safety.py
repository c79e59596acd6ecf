"""Safety pre-check: decide whether a file may be handed to a spreadsheet library at all.

python-calamine (like any native parser) can abort the whole process on some crafted files —
an abort cannot be caught — and a zip member can inflate to gigabytes. So this module looks at
the raw bytes first, with the standard library only, and never holds more than one chunk of a
member in memory. The file is read once; :func:`precheck` returns those bytes, and the reader
parses exactly them (not the path: no second look at a file that may have changed, and no
reader chosen by the file's suffix):

* the magic bytes: a zip package; OLE2 = a legacy .xls or an encrypted (password-protected)
  workbook, said which; text, HTML, PDF … named;
* the file size, the number of zip entries, each entry's declared size and compression ratio,
  the sum of the declared sizes, overlapping or duplicate entries (names compared as calamine
  looks them up), a member carrying a second name (Unicode Path field), encrypted entries;
* no part of another format beside the .xlsx ones (an .xlsb workbook, an OpenDocument
  content.xml): calamine would hand those to its .xlsb or .ods reader, never vetted;
* each member inflated by hand as a stream capped at its declared size (``zipfile.read()`` of a
  member that lies about its size inflates all of it before the CRC check fails), with its CRC;
* no macro part (vbaProject.bin, Excel 4 macro sheets) — reported, never run;
* the parts calamine's .xlsx reader parses — found from the relationships it follows, not from
  folder names — get the XML checks; every other part (pictures, customXml, docProps …) only
  the zip checks above. The XML checks: no DOCTYPE/ENTITY (billion laughs, quadratic blow-up,
  external entities); comments, CDATA sections and processing instructions read as calamine's
  XML parser reads them; every worksheet's cells (explicit ``r`` or implied by position) within
  the extent of a form, the number of cells and the dense grid a reader would allocate (from the
  cells, and from ``<dimension>`` when that reaches further), no single text longer than a cell
  can hold; the shared strings' declared counts against the actual content; the number of
  sheets, no two sheets on one part.

It is cheap next to reading the file: nearly every test is a C-level pass (a count, a
``bytes.translate``, one regex for every element counted), the exact regexes run only where the
cheap passes leave a doubt; a member that fits in one chunk is inflated in one piece; a part
already passed (the same compressed bytes — the styles, theme and relationships of the packages
of one template) is not scanned again, only what it adds to the totals (cells, sheets, strings,
grid) is counted against the limits again.

Every refusal is an :class:`UnreadableFile` with a rule code of :mod:`xltools.rules` and a
Chinese message saying what was found and what to do. The limits are a :class:`Limits`;
each can be changed with an environment variable (see :meth:`Limits.from_env`).
"""

from __future__ import annotations

import dataclasses
import functools
import html
import io
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
        return env_limits(cls, environ)

    def describe(self) -> list[tuple[str, str]]:
        return describe_limits(self)


@functools.lru_cache(maxsize=8)
def _env_names(cls: type[Limits]) -> tuple[str, ...]:
    return tuple(f"XLTOOLS_{f.name.upper()}" for f in dataclasses.fields(cls))


@functools.lru_cache(maxsize=64)
def _limits_from(cls: type, values: tuple[str | None, ...]):
    """Limits from the values of the environment variables (frozen: one instance per set of
    values); a value that is not a positive number leaves the default."""
    kw = {}
    for f, raw in zip(dataclasses.fields(cls), values):
        if raw:
            typ = float if f.type in ("float", float) else int
            try:
                value = typ(raw)
            except ValueError:
                continue
            if value > 0:
                kw[f.name] = value
    return cls(**kw)


def env_limits(cls: type, environ=None):
    """An instance of the frozen limits dataclass ``cls`` (:class:`Limits`, and those of the
    text and PDF readers) with each field overridden by ``XLTOOLS_<FIELD>`` when set."""
    env = os.environ if environ is None else environ
    return _limits_from(cls, tuple(map(env.get, _env_names(cls))))


def describe_limits(limits) -> list[tuple[str, str]]:
    """(environment variable, current value) of every limit, for documentation and --help."""
    return [(f"XLTOOLS_{f.name.upper()}", str(getattr(limits, f.name))) for f in dataclasses.fields(limits)]


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_LOCAL = struct.Struct("<6xHH16xHH")   # flags, method, name and extra lengths of a local header
CHUNK = 1 << 16
MIB = 1 << 20

# The inside of a tag: quoted values may hold '>' (legal) — a quoted value is consumed whole.
_IN_TAG = rb"""(?:[^>"']|"[^"]*"|'[^']*')"""
# The same up to the tag's '>', in runs: the parse is deterministic (a quote opens a value that
# ends at the same quote, any other character but '>' is consumed), so no backtracking is lost.
_TO_TAG_END = rb"""(?:[^>"']++|"[^"]*+"|'[^']*+')*+>"""
# Worksheet tags <row …> and <c …>, with or without a namespace prefix, and their r= address.
_SHEET_TAG_RE = re.compile(
    rb"<(?:[A-Za-z_][\w.\-]*:)?(row|c)(?=[\s/>])(?:(?=" + _IN_TAG + rb"""*?\sr\s*=\s*["']([^"']*)["']))?""")
# A '<' before the '>' of a tag: illegal, refused. Found without it: two '<' side by side
# once all but the < and > are deleted (:meth:`_MemberScan.chunk`).
_LT_IN_TAG_RE = re.compile(rb"<[^<>]*<")
_NOT_MARKUP = bytes(sorted(set(range(256)) - set(b"<>\"'")))   # what _markup() deletes
_QUOTES = b"\"'"
# A cell or row naming its address twice: which one a reader takes is up to the reader.
_DUP_R_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(?:c|row)\s" + _IN_TAG + rb"*?(?<=\s)r\s*="
                       + rb"""\s*(?:"[^"]*"|'[^']*')""" + _IN_TAG + rb"*?(?<=\s)r\s*=")

_CELL_ROW_RE = re.compile(rb'<c r="[A-Z]{1,3}(\d{1,7})"')      # how every writer starts a cell
_CELL_PREFIXED_RE = re.compile(rb"<[A-Za-z_][\w.\-]*:c(?=[\s/>])")
_SHEET_PREFIXED_RE = re.compile(rb"<[A-Za-z_][\w.\-]*:sheet(?=[\s/>])")
_SI_PREFIXED_RE = re.compile(rb"<[A-Za-z_][\w.\-]*:si(?=[\s/>])")
# In one pass, the elements counted: each <c, <sheet, <si and <sst not followed by a name
# character (not <cols>, <sheetData>: as many as count('<c') minus the '<c[\w.:\-]' matches,
# and so on) and, for a cell written <c r="A1", the letters and digits of its address (the
# _CELL_ROW_RE match).
_TAGS_RE = re.compile(rb'<(?:c(?![\w.:\-])(?: r="([A-Z]{1,3})(\d{1,7})")?|s(heet|i|st)(?![\w.:\-]))')
# The local names after a ':' that a prefixed <x:c, <x:sheet, <x:si or <x:sst would show.
_PFX_NAMES_RE = re.compile(rb":(c|sheet|si|sst)(?=[\s/>])")
_ODD_SPACE_RE = re.compile(rb"[\t\n\r\x0b\x0c][r=]|r[\t\n\r\x0b\x0c]")
_MAX_SLOW = 200_000   # cells not starting <c r="A1", comments …, are walked one by one: keep that bounded
_REF_RE = re.compile(r"^\$?([A-Za-z]{1,4})\$?(\d{1,9})$")
_SST_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?sst(?=[\s/>])" + _TO_TAG_END)
_DIM_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?dimension\s" + _IN_TAG
                         + rb"""*?(?<=\s)ref\s*=\s*["']([^"']*)["']""")
_SST_COUNT_RE = re.compile(rb'\s(uniqueCount|count)\s*=\s*["\']\s*(\d+)\s*["\']')
_REL_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?Relationship\s" + _TO_TAG_END)
_ATTR_RE = re.compile(rb'\s(\w+)\s*=\s*["\']([^"\']*)["\']')
_ANY_REL_RE = re.compile(rb"<[^\s<>\"'/!?]*?relationship(?=[\s/>])" + _TO_TAG_END, re.I)
_ANY_ATTR_RE = re.compile(rb"""([^\s=<>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")

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


def _ole_kind(data: bytes) -> tuple[Rule, dict]:
    """An OLE2 compound file: an encrypted OOXML package, a legacy .xls, or something else.

    The directory entries (stream names, UTF-16) may sit anywhere in the file, so the whole
    file (at most ``max_file_mb``, already in memory) is searched."""
    names = {key: key.encode("utf-16-le") for key in
             ("EncryptedPackage", "EncryptionInfo", "Workbook", "Book", "WordDocument",
              "PowerPoint Document")}
    found = {key for key, raw in names.items() if raw in data}
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


# A package holding, beside the .xlsx parts, the parts another reader of python-calamine looks
# for: handed a file object, calamine tries its readers in turn (xls, xlsx, xlsb, ods), and these
# would be parsed — never vetted — by the .xlsb or .ods reader whenever the .xlsx reader gives up.
# Matched as calamine matches names (case-insensitive, '\\' as '/').
_FOREIGN_PARTS = {
    "xl/workbook.bin": "Excel 二进制工作簿 (.xlsb)",
    "xl/sharedstrings.bin": "Excel 二进制工作簿 (.xlsb)",
    "xl/styles.bin": "Excel 二进制工作簿 (.xlsb)",
    "xl/_rels/workbook.bin.rels": "Excel 二进制工作簿 (.xlsb)",
    "mimetype": "OpenDocument 表格 (.ods)",
    "content.xml": "OpenDocument 表格 (.ods)",
    "meta-inf/manifest.xml": "OpenDocument 表格 (.ods)",
}


def _key(name: str) -> str:
    """A part name as the readers look it up: calamine lowercases the names and reads a '\\' as
    '/' (``str.lower`` folds more than ASCII: two names calamine takes for one are one here too)."""
    return name.replace("\\", "/").lower()


def _unicode_path(extra: bytes, name: str) -> str | None:
    """The name of an Info-ZIP Unicode Path field (0x7075) in ``extra`` when it differs from
    ``name``, else None. The zip library of calamine reads a member under that name, Python's
    zipfile under the other: the part vetted would not be the part parsed."""
    i = 0
    while i + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, i)
        if kind == 0x7075:
            other = extra[i + 9:i + 4 + size].decode("utf-8", "replace")
            if other != name:
                return other or "?"
        i += 4 + size
    return None


# ---------------------------------------------------------------------------------------------
# Reading one member as a capped stream


def _open_member(fp, info: zipfile.ZipInfo, path) -> int:
    """Check the local header of a member against the directory and leave ``fp`` at its data;
    return the compression method."""
    name = info.filename
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的本地文件头缺失")
    flags, method, n_name, n_extra = _LOCAL.unpack(head)
    local_name = fp.read(n_name)
    if (local_name != info.orig_filename.encode("utf-8")
            and local_name != info.orig_filename.encode("cp437", "replace")):
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的本地文件头与目录不一致")
    if n_extra:
        alias = _unicode_path(fp.read(n_extra), info.filename)
        if alias is not None:
            raise _malformed(path, f"{name} 的本地文件头带有另一个文件名「{alias[:60]}」")
    if (flags | info.flag_bits) & 0x1:
        raise _fail(path, Rule.FILE_ENCRYPTED)
    if method != info.compress_type or method not in _ZIP_METHODS:
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 使用了不支持的压缩方式 {info.compress_type}")
    return method


def _member_whole(raw: bytes, method: int, info: zipfile.ZipInfo, path,
                  limit: int) -> tuple[bytes, UnreadableFile | None] | None:
    """A small member (``raw``: all its compressed bytes, at most ``CHUNK``, its local header
    checked) inflated in one piece, with the same checks and the same answer as
    :func:`_member_chunks` when that yields it as a single chunk: ``(data, error)``, the error
    (size or CRC) to be raised after ``data`` is scanned, as the generator raises it when
    resumed after its only chunk. ``None`` when the member does not come out in one piece
    (inflates beyond ``CHUNK``): then it is read as a stream. No data at all with method deflate
    is an empty member (some writers store one so), as is the 2-byte empty deflate stream."""
    name = info.filename
    if method == zipfile.ZIP_DEFLATED and raw:
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(raw, CHUNK)   # never more than CHUNK bytes
        except zlib.error as exc:
            raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的压缩数据损坏（{exc}）") from exc
        if not inflater.eof:
            return None
    else:
        out = raw
    declared = info.file_size
    if len(out) > declared:
        raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"{name} 的实际大小超过声明的 {declared} 字节")
    if len(out) > limit:
        raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"{name} 解压后超过上限 {_mib(limit)}")
    late = None
    if len(out) != declared:
        late = _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的大小与声明不符")
    elif zlib.crc32(out) != info.CRC:
        late = _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的 CRC 校验失败")
    return out, late


def _member_chunks(fp, info: zipfile.ZipInfo, path, limit: int):
    """Yield the uncompressed bytes of one member in chunks, never more than its declared size
    (and never more than ``limit``); check the local header, the deflate stream and the CRC."""
    name = info.filename
    method = _open_member(fp, info, path)
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
        # An empty member stored with method deflate and no data at all (some writers do that)
        # is an empty stream, not a truncated one.
        if inflater is not None and not inflater.eof and info.compress_size:
            raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的压缩数据不完整")
    except zlib.error as exc:
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的压缩数据损坏（{exc}）") from exc
    if produced != declared:
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的大小与声明不符")
    if crc != info.CRC:
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{name} 的 CRC 校验失败")


# ---------------------------------------------------------------------------------------------
# Scanning the XML of a member, chunk by chunk, each chunk cut after a '>' (no tag is split).
# Every part the reader parses gets every check: which part it takes for a worksheet or the
# shared strings follows relationships a crafted file can point anywhere, so no check relies on
# the part's role or name.


def _ref(text: str) -> tuple[int, int] | None:
    """'F52' -> (52, 6), 1-based (row, column); None if not a cell reference."""
    m = _REF_RE.match(text.strip())
    if not m:
        return None
    return int(m.group(2)), col_index(m.group(1).upper()) + 1


_COLS: dict[bytes, int] = {}   # b"F" -> 6: at most 18,278 keys ([A-Z]{1,3})


def _col(letters: bytes) -> int:
    """b'F' -> 6 (1-based), from the letters of an address matched by a regex."""
    n = _COLS.get(letters)
    if n is None:
        n = _COLS[letters] = col_index(letters.decode("ascii")) + 1
    return n


@functools.lru_cache(maxsize=512)
def _range(text: str) -> tuple[tuple[int, int], ...] | None:
    """'A1:F52' -> ((1, 1), (52, 6)); None unless one or two cell references."""
    parsed = tuple(_ref(e) for e in text.replace("$", "").split(":"))
    if len(parsed) > 2 or any(p is None for p in parsed):
        return None
    return parsed


def _a1(row: int, col: int) -> str:
    return f"{col_letter(col - 1)}{row}"


@dataclass
class _Totals:
    """What all parts of a package add up to, each against its limit. While a part is scanned
    for the cache of parts (:func:`_scan_member`), ``log`` records its additions in order."""

    cells: int = 0
    grid: int = 0
    sheets: int = 0
    strings: int = 0
    slow: int = 0
    special: int = 0
    log: list | None = None

    def add(self, kind: str, n: int, part: str, path, limits: Limits) -> None:
        value = getattr(self, kind) + n
        setattr(self, kind, value)
        if self.log is not None:
            self.log.append((kind, n))
        if kind == "cells":
            if value > limits.max_cells:
                raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"工作表中的单元格超过 {limits.max_cells:,} 个（{part}）")
        elif kind == "sheets":
            if value > limits.max_sheets:
                raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"工作簿中的工作表超过 {limits.max_sheets} 个")
        elif kind == "strings":
            if value > limits.max_cells:
                raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"共享字符串超过 {limits.max_cells:,} 个")
        elif kind == "slow":
            if value > _MAX_SLOW:
                raise _malformed(path, f"{part} 中有大量写法不规范的单元格（缺少地址或带前缀）")
        elif kind == "special":
            if value > _MAX_SLOW:
                raise _malformed(path, f"{part} 中有大量注释、CDATA 或处理指令")
        elif value > limits.max_grid:   # grid
            raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"工作表的单元格范围合计超过 {limits.max_grid:,} 格（{part}）")


class _XmlScanner:
    """Cells, rows and <dimension> (worksheets), <sst> counts and <si> items (shared strings),
    <sheet> elements (the workbook) and worksheet relationships (.rels) of one part."""

    __slots__ = ("part", "path", "limits", "totals", "row", "col", "min_row", "min_col", "max_row", "max_col",
                 "dimension", "sst", "size", "rels", "in_data", "targets", "found")

    def __init__(self, part: str, path, limits: Limits, totals: _Totals, collect: bool = False):
        self.part, self.path, self.limits, self.totals = part, path, limits, totals
        self.row = 0            # current row (1-based), as a reader counts it
        self.col = 0            # current column (1-based) within the row
        self.min_row = self.min_col = 1 << 30
        self.max_row = self.max_col = 0
        self.dimension: tuple[str, tuple[int, int, int, int]] | None = None
        self.sst: dict[bytes, int] | None = None
        self.size = 0
        self.rels = part.lower().endswith(".rels")
        self.in_data = False
        self.targets: dict[str, int] = {}
        # The relationships that decide which parts the reader opens, when collected: ("doc",
        # targets) for the main document (_rels/.rels), ("sheet", targets) for a sheet.
        self.found: list[tuple[str, tuple[bytes, ...]]] | None = [] if collect else None

    # -- helpers ------------------------------------------------------------------------------

    def _too_far(self, row: int, col: int) -> bool:
        return row > self.limits.max_rows or col > self.limits.max_cols or row < 1

    def _extent(self, ref: str) -> UnreadableFile:
        return _fail(self.path, Rule.FILE_EXTENT, part=self.part, ref=ref)

    def _bomb(self, reason: str) -> UnreadableFile:
        return _fail(self.path, Rule.FILE_ZIP_BOMB, reason=reason)

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, data: bytes, markup: bytes | None = None) -> None:
        """One piece of the part, cut after a '>'. Each test is a C-level pass over the bytes;
        the per-element regexes run only where the cheap passes found something. ``markup``,
        if given: ``data`` reduced to its characters < > " ' (:func:`_markup`), in which no two
        '<' stand without a '>' between them (a piece the caller has checked)."""
        self.size += len(data)
        lim, tot = self.limits, self.totals
        # A prefixed element (<x:c, <x:sheet, <x:si, <x:sst) shows ':c ', ':sheet/', … somewhere.
        prefixed = _PFX_NAMES_RE.findall(data) if b":" in data else ()
        # One pass: each cell (<c not followed by a name character: not <cols>, <color>) with
        # the letters and digits of its address when written <c r="A1", and each <sheet, <si
        # and <sst (not <sheetData>, <sig…>).
        found = _TAGS_RE.findall(data)
        letters, digits, names = zip(*found) if found else ((), (), ())
        n = plain = names.count(b"")   # the cells (an element named has a name)
        if b"c" in prefixed:
            n += len(_CELL_PREFIXED_RE.findall(data))
        if n:
            tot.add("cells", n, self.part, self.path, lim)
            self._cells(data, n, markup, letters, digits)
        if len(names) > plain or prefixed:
            k = names.count(b"heet")
            if b"sheet" in prefixed:
                k += len(_SHEET_PREFIXED_RE.findall(data))
            if k:
                tot.add("sheets", k, self.part, self.path, lim)
            k = names.count(b"i")
            if b"si" in prefixed:
                k += len(_SI_PREFIXED_RE.findall(data))
            if k:
                tot.add("strings", k, self.part, self.path, lim)
            # _SST_TAG_RE matches only an <sst or <x:sst followed by a space, '/' or '>'.
            if self.sst is None and (b"st" in names or b"sst" in prefixed):
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
        if self.found is not None:
            self._relationships(data)
        if self.rels and b"/worksheet" in data:
            for m in _REL_RE.finditer(data):
                if b"/worksheet" not in m.group(0):
                    continue   # its Type cannot end with /worksheet
                tag = m.group(0)
                # Cached: the same few tags in every package (short keys only, memory stays small).
                target = (_worksheet_target if len(tag) <= 1024 else _worksheet_target.__wrapped__)(tag)
                if target is not None:
                    target = (_rel_target if len(target) <= 256 else _rel_target.__wrapped__)(self.part, target)
                    self.targets[target] = self.targets.get(target, 0) + 1

    def _relationships(self, data: bytes) -> None:
        """Every <Relationship> tag (any prefix, any case) to the main document or to a sheet,
        with all its Target values: more than the reader would take (it takes one Target, under
        that exact name, and only Type ending so), never less."""
        found = self.found
        for m in _ANY_REL_RE.finditer(data):
            types, targets = [], []
            for key, dq, sq in _ANY_ATTR_RE.findall(m.group(0)):
                key = key.lower()
                if key.endswith(b"type"):
                    types.append(dq or sq)
                elif key.endswith(b"target"):
                    targets.append(dq or sq)
            for kind in {_rel_kind(t) for t in types} - {None}:
                found.append((kind, tuple(targets)))
            if len(found) > self.limits.max_entries + self.limits.max_sheets:
                raise self._bomb(f"{self.part} 中的工作表关系超过 {self.limits.max_entries + self.limits.max_sheets} 个")

    def _cells(self, data: bytes, n: int, markup: bytes | None, letters: tuple, digits: tuple) -> None:
        """``letters`` and ``digits``: of the address of each '<c r="A1"' (the _CELL_ROW_RE
        matches), empty for other cells and for the elements named in ``feed``."""
        canonical = len(digits) - digits.count(b"")
        # When every cell is one of the '<c r="A1"', there are as many '<c r="'.
        if _dup_address(data, markup, n if canonical == n else None):
            raise _malformed(self.path, f"{self.part} 中有单元格或行重复声明了地址")
        if canonical == n:
            self._explicit(data, letters, digits)
        else:
            # Cells without an address, with a namespace prefix or the address not first: rare
            # (no spreadsheet program writes them), walked one by one within a budget.
            self.totals.add("slow", n, self.part, self.path, self.limits)
            self._sequential(data)

    def _explicit(self, data: bytes, letters: tuple, digits: tuple) -> None:
        """Every cell starts <c r="A1": the extent from C-level scans, no Python loop per cell."""
        rows = set(digits)   # rows repeat (a row has many cells): each once
        rows.discard(b"")
        rows = list(map(int, rows))
        lo_r, hi_r = min(rows), max(rows)
        cols = set(letters)
        cols.discard(b"")
        cols = {k: _col(k) for k in cols}
        lo_c, hi_c = min(cols.values()), max(cols.values())
        lim = self.limits
        if hi_r > lim.max_rows or lo_r < 1:
            bad = hi_r if hi_r > lim.max_rows else lo_r
            m = re.search(rb'<c r="([A-Z]{1,3})' + str(bad).encode() + rb'"', data)
            raise self._extent(_a1(bad, cols[m.group(1)] if m else 1))
        if hi_c > lim.max_cols:
            far = next(k for k, v in cols.items() if v == hi_c)
            m = re.search(rb'<c r="' + far + rb'(\d+)"', data)
            raise self._extent(_a1(int(m.group(1)) if m else 1, hi_c))
        self.min_row, self.max_row = min(self.min_row, lo_r), max(self.max_row, hi_r)
        self.min_col, self.max_col = min(self.min_col, lo_c), max(self.max_col, hi_c)
        # The position after this chunk, for cells without an address in a later chunk.
        last = data.rfind(b"<row")
        tail = data[last:] if last >= 0 else b""
        if last >= 0 and b"<c" not in tail:
            self._sequential(tail)
        else:
            # The last cell: the last '<c r="A1"' (the last entries may name other elements).
            i = len(digits) - 1
            while not digits[i]:
                i -= 1
            self.row = int(digits[i])
            self.col = cols[letters[i]]

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
        parsed = (_range if len(text) <= 64 else _range.__wrapped__)(text)
        if parsed is None:
            raise _malformed(self.path, f"{self.part} 的范围声明「{text[:40]}」无效")
        for r, c in parsed:
            if self._too_far(r, c):
                raise self._extent(text)
        (r1, c1), (r2, c2) = parsed[0], parsed[-1]
        self.dimension = (text, (min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))

    def close(self) -> None:
        lim = self.limits
        # The grid a reader may allocate: up to the last cell, or up to the end of <dimension>
        # if that is further (a reader may size its grid by it). A <dimension> smaller than the
        # data is stale, not a risk: some writers leave it so, and calamine reads every cell
        # whatever it says (it only reserves memory by it, at most 100,000 cells).
        rows, cols = self.max_row, self.max_col
        if self.dimension:
            _, (_, _, r2, c2) = self.dimension
            rows, cols = max(rows, r2), max(cols, c2)
        if rows and cols:
            self.totals.add("grid", rows * cols, self.part, self.path, lim)
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


def _dup_address(data: bytes, markup: bytes | None = None, cells_r: int | None = None) -> bool:
    """Whether a <c> or <row> tag has two r= attributes (what :data:`_DUP_R_RE` finds).

    Counts first. The regex needs two whitespace-r-(whitespace)-= in one tag. When every such
    spot is the canonical ' r=' right after '<c' or '<row' (no ' r ', no other whitespace
    before or after an 'r' or before a '=', as many ' r=' as '<c r="' and '<row r="'), the
    second one begins a tag of its own, so the first tag would have to run over that tag's
    '<'. It cannot when no tag holds a '<' and the quotes in every tag pair up
    (:func:`_plain_tags`): then there is none. Otherwise, the regex. (Counting only 'r=', as
    before, missed an address written 'r ="…"'.) ``markup``: see :meth:`_XmlScanner.feed`;
    ``cells_r``: the number of '<c r="' in ``data``, if known."""
    if cells_r is None:
        cells_r = data.count(b'<c r="')
    if (data.count(b" r=") == cells_r + data.count(b'<row r="')
            and b" r " not in data and not _odd_space(data)
            and (_plain_tags(markup, checked=True) if markup is not None else _plain_tags(_markup(data)))):
        return False
    return bool(_DUP_R_RE.search(data))


def _odd_space(data: bytes) -> bool:
    """Whether a whitespace other than ' ' (tab, newline, CR, VT, FF) stands before an 'r' or a
    '=', or after an 'r'. Each is looked for with memchr; a newline or two (after the XML
    declaration) are common."""
    for ws in b"\t\n\r\x0b\x0c":
        i = data.find(ws)
        seen = 0
        while i >= 0:
            if data[i + 1:i + 2] in (b"r", b"=") or data[i - 1:i] == b"r":
                return True
            seen += 1
            if seen > 8:
                return _ODD_SPACE_RE.search(data) is not None
            i = data.find(ws, i + 1)
    return False


def _markup(data: bytes) -> bytes:
    """The characters < > " ' of ``data`` in order, nothing else (one C-level pass)."""
    return data.translate(None, _NOT_MARKUP)


def _plain_tags(markup: bytes, checked: bool = False) -> bool:
    """Whether, in the piece ``markup`` was made from, no tag holds a '<' and no quoted value
    holds a '<' or '>' (so a tag read quote-aware ends at the first '>' after its '<').

    Between a '<' and the next '>' (or '<'), ``markup`` holds only the quotes of that tag. With
    no single quote in any tag, the double quotes of a tag pair up as a reader (and
    :data:`_IN_TAG`) pairs them exactly when their number is even; then no value holds a '<' or
    '>' (nothing but quotes stands between two quotes side by side). Every run of double quotes
    even is stricter (a '"' in text between tags also counts): one count of '"' and one of '""'.
    Single quotes in text (an apostrophe) are dropped first. ``checked``: no two '<' without a
    '>' between them, already known (:meth:`_MemberScan.chunk` refuses them)."""
    if not checked and b"<<" in markup.translate(None, _QUOTES):
        return False
    if b"'" in markup:
        if b"<'" in markup.translate(None, b'"'):
            return False   # a tag with a single quote: the regex decides
        markup = markup.translate(None, b"'")   # apostrophes in text
    # Every run of double quotes even: each tag's quotes (one run between its '<' and '>') pair up.
    return markup.count(b'"') == 2 * markup.count(b'""')


def _rels_source(rels_part: str) -> str:
    """'xl/_rels/workbook.xml.rels' -> 'xl/workbook.xml' (the part whose relationships these are)."""
    folder, name = posixpath.split(rels_part)
    base = posixpath.dirname(folder)
    return posixpath.join(base, name[: -len(".rels")])


@functools.lru_cache(maxsize=1024)
def _worksheet_target(tag: bytes) -> bytes | None:
    """The Target of a <Relationship …> tag to an internal worksheet, else None."""
    attrs = {k.lower(): v for k, v in _ATTR_RE.findall(tag)}
    if (attrs.get(b"type", b"").endswith(b"/worksheet")
            and attrs.get(b"targetmode", b"").lower() != b"external"):
        return attrs.get(b"target", b"")
    return None


@functools.lru_cache(maxsize=1024)
def _rel_target(rels_part: str, target: bytes) -> str:
    """The part a relationship of ``rels_part`` points to ('worksheets/sheet1.xml' ->
    'xl/worksheets/sheet1.xml')."""
    return _resolve(_rels_source(rels_part), target.decode("utf-8", "replace"))


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


# ---------------------------------------------------------------------------------------------
# Which parts the reader parses. python-calamine's .xlsx reader (calamine 0.36/0.37, from its
# source, src/xlsx/mod.rs) opens _rels/.rels; in the folder of its officeDocument target
# (``xl/`` normally) workbook.xml, sharedStrings.xml, styles.xml and _rels/workbook.xml.rels;
# and each sheet that relationships file points to (a Target starting with '/' from the root,
# otherwise appended to that folder as it is). Names are looked up case-insensitively, '\\' as
# '/'. Older versions take ``xl/`` always and a Target ``xl/…`` as it is: both are included, as
# is the Target resolved by the OPC rules. Every other part (docProps, theme, customXml, media,
# drawings, printer settings …) is never parsed as XML by it: those get the checks of the zip
# (sizes, ratio, CRC, overlap, names), not the XML checks — a picture may hold any bytes.

_SHEET_TYPES = (b"worksheet", b"chartsheet", b"dialogsheet")
_FOLDER_PARTS = ("workbook.xml", "sharedstrings.xml", "styles.xml", "_rels/workbook.xml.rels")


def _rel_kind(typ: bytes) -> str | None:
    """"doc" for a relationship to the main document, "sheet" for one to a sheet, else None."""
    for t in {typ, html.unescape(typ.decode("utf-8", "replace")).encode("utf-8")}:
        t = t.strip().lower()
        if t.endswith(b"officedocument"):
            return "doc"
        if t.rsplit(b"/", 1)[-1] in _SHEET_TYPES:
            return "sheet"
    return None


def _texts(value: bytes) -> set[str]:
    """A Target as the reader may take it: as written (the workbook's relationships) and
    unescaped (the package's)."""
    text = value.decode("utf-8", "replace")
    return {text, html.unescape(text)}


def _norm(path: str) -> str:
    return posixpath.normpath("/" + path).lstrip("/") if path else ""


@functools.lru_cache(maxsize=256)
def _doc_folders(target: bytes) -> frozenset[str]:
    """The folder the reader takes the workbook from, for an officeDocument Target ('xl/')."""
    out = set()
    for text in _texts(target):
        i = text.rfind("/")
        folder = text[:i + 1] if i >= 0 else ""
        folder = folder[1:] if folder.startswith("/") else folder
        norm = _norm(folder)
        out.update((_key(folder), _key(norm + "/" if norm else "")))
    return frozenset(out)


@functools.lru_cache(maxsize=1024)
def _sheet_keys(folder: str, rels_part: str, target: bytes) -> frozenset[str]:
    """The names (keys) the reader may open for a sheet Target of ``rels_part``."""
    out = set()
    for text in _texts(target):
        for path in (text[1:] if text.startswith("/") else folder + text, text,
                     _resolve(_rels_source(rels_part), text)):
            out.update((_key(path), _key(_norm(path))))
    return frozenset(out)


# Comments, CDATA sections and processing instructions, found as the XML parser of calamine
# (quick-xml) finds them: only where a tag may begin (a '<!--' inside a quoted attribute value is
# part of that value). Text and ordinary tags (quote-aware, as quick-xml reads them) in one run:
_ORDINARY_RE = re.compile(rb"""(?:[^<]++|<(?![!?])(?:[^>"']++|"[^"]*+"|'[^']*+')*+>)*+""")
_BANG_RE = re.compile(rb"<!\s*")
_NEUTRAL = bytes.maketrans(b"<>\"'", b"____")   # the text of a CDATA section holds no markup


def _drop_declaration(chunk: bytes) -> bytes:
    """The first chunk of a part without its XML declaration (a processing instruction: it ends
    at the first '?>', quotes or not), so that an ordinary part keeps the fast path."""
    start = 3 if chunk.startswith(b"\xef\xbb\xbf") else 0
    if chunk.startswith(b"<?", start):
        end = chunk.find(b"?>", start + 1)
        if end >= 0:
            return chunk[:start] + chunk[end + 2:]
    return chunk


def _strip_specials(buf: bytes, name: str, path, eof: bool) -> tuple[bytes, bytes, int]:
    """``buf`` (starting where text may stand) as the parser sees its elements: comments and
    processing instructions removed, the text of CDATA sections kept without its markup
    characters. Returns ``(clean, rest, n)``: ``rest`` (raw) begins at the first construct not
    complete in ``buf`` — an open tag, comment, CDATA section or instruction — and waits for
    the next chunk; ``n`` constructs were taken out. Ends as quick-xml ends them: a comment at
    the first '-->' after '<!--', a CDATA section at the first ']]>', an instruction at the
    first '?>' (neither looks at quotes). Any other '<!' is refused: a DOCTYPE/ENTITY
    declaration, or markup the parser rejects. ``eof``: nothing follows, an unclosed comment,
    section or instruction is refused."""
    out = []
    pos = taken = 0
    n = len(buf)
    while True:
        end = _ORDINARY_RE.match(buf, pos).end()
        if end > pos:
            out.append(buf[pos:end])
        if end >= n:
            return b"".join(out), b"", taken
        taken += 1
        kind = buf[end + 1:end + 2]
        close = -1
        if kind == b"!":
            if buf.startswith(b"<!--", end):
                close = buf.find(b"-->", end + 4)
                pos = close + 3
            elif buf.startswith(b"<![CDATA[", end):
                close = buf.find(b"]]>", end + 9)
                if close >= 0:
                    out.append(buf[end + 9:close].translate(_NEUTRAL))
                pos = close + 3
            else:
                blank = _BANG_RE.match(buf, end).end()
                head = buf[end:end + 9]
                if not eof and (blank == n or b"<!--".startswith(head) or b"<![CDATA[".startswith(head)):
                    pass   # cut inside '<!--' or '<![CDATA[' (or before the word after '<!'): wait
                elif buf[blank:blank + 1] in (b"D", b"d", b"E", b"e"):
                    raise _fail(path, Rule.FILE_XML_DTD, part=name)
                else:
                    raise _malformed(path, f"{name} 中有无法识别的 <! 标记")
        elif kind == b"?":
            close = buf.find(b"?>", end + 1)
            pos = close + 2
        if close < 0:
            # Not complete in buf: an open tag (or a lone '<'), comment, CDATA section or instruction.
            if eof and kind in (b"!", b"?"):
                raise _malformed(path, f"{name} 中有未闭合的注释、CDATA 或处理指令")
            return b"".join(out), buf[end:], taken - 1


class _MemberScan:
    """The XML scans of one part the reader parses, fed chunk by chunk: each chunk cut before its
    last '<' (every tag before it is complete, a quoted '>' inside a tag does not end it) and the
    pieces handed to an :class:`_XmlScanner`. Comments, CDATA sections and processing
    instructions are taken out first, exactly as the parser reads them (:func:`_strip_specials`);
    that is also where a DOCTYPE/ENTITY declaration is found. A part without any '<!' or '<?'
    (past its XML declaration) has none of them and goes straight to the scanner."""

    __slots__ = ("name", "path", "limits", "totals", "scanner", "first", "carry")

    def __init__(self, name: str, path, limits: Limits, totals: _Totals, collect: bool = False):
        self.name, self.path, self.limits, self.totals = name, path, limits, totals
        self.scanner = _XmlScanner(name, path, limits, totals, collect)
        self.first = True
        self.carry = b""

    def chunk(self, chunk: bytes) -> None:
        name, path = self.name, self.path
        if self.first:
            self.first = False
            if b"\x00" in chunk[:4096]:
                raise _malformed(path, f"{name} 不是 UTF-8 编码的 XML（如 UTF-16）")
            chunk = _drop_declaration(chunk)
        # Cut before the last '<': the last tag and the text after it wait for the next chunk.
        buf = self.carry + chunk
        rest = b""
        if b"<!" in buf or b"<?" in buf:
            buf, rest, taken = _strip_specials(buf, name, path, eof=False)
            if taken:
                self.totals.add("special", taken, name, path, self.limits)
        cut = buf.rfind(b"<")
        if cut > 0:
            piece = buf[:cut]
            markup = _markup(piece)
            angles = markup.translate(None, _QUOTES)
            # A '<' after the last '>' (an unclosed tag), or two '<' with no '>' between them.
            if angles.endswith(b"<") or b"<<" in angles:
                raise _malformed(path, f"{name} 中有未闭合或含 '<' 的标签")
            self.scanner.feed(piece, markup)
            self.carry = buf[cut:] + rest
        else:
            self.carry = buf + rest
        if len(self.carry) > self.limits.max_text_kb * 1024:
            raise _fail(path, Rule.FILE_ZIP_BOMB,
                        reason=f"{name} 中有一段超过 {self.limits.max_text_kb} KiB 的文本或标签，超出单元格的容量")

    def finish(self) -> tuple | None:
        """Close the part; the relationships it holds (``collect``), else None."""
        carry = self.carry
        if b"<!" in carry or b"<?" in carry:
            clean, rest, taken = _strip_specials(carry, self.name, self.path, eof=True)
            if taken:
                self.totals.add("special", taken, self.name, self.path, self.limits)
            carry = clean + rest
        if carry.startswith(b"</") and carry.count(b"<") == 1:
            # A closing tag: no element, address or count begins in it, only its size counts.
            self.scanner.size += len(carry)
        elif carry:
            markup = _markup(carry)
            if b"<<" in markup.translate(None, _QUOTES):
                raise _malformed(self.path, f"{self.name} 中有未闭合或含 '<' 的标签")
            self.scanner.feed(carry, markup)
        self.scanner.close()
        found = self.scanner.found
        return tuple(found) if found is not None else None


# Parts already scanned, by their exact bytes: most parts of the packages of one template are
# the same in every package (styles, theme, relationships, content types, …). What a part adds
# to the totals is replayed (each addition checked against its limit, as when scanned); every
# other check depends only on what the key holds, and passed. Only parts that passed every
# check are kept; the key holds the compressed bytes (compared in full, no digest), the name,
# the method, the declared size and CRC, and how the part was scanned; per Limits, CHUNK and
# _MAX_SLOW. A part of relationships keeps what the scan found in it.
_PARTS: dict[tuple, dict[tuple, tuple]] = {}
_PARTS_MAX = 256          # parts kept per set of limits (then the cache starts afresh)
_PART_MAX_BYTES = 16384   # compressed size of a part kept


def _part_cache(limits: Limits) -> dict[tuple, tuple]:
    key = (limits, CHUNK, _MAX_SLOW)
    cache = _PARTS.get(key)
    if cache is None:
        if len(_PARTS) >= 4:
            _PARTS.clear()
        cache = _PARTS[key] = {}
    return cache


def _scan_member(fp, info: zipfile.ZipInfo, path, limits: Limits, totals: _Totals,
                 cache: dict | None = None, parsed: bool = True, collect: bool = False) -> tuple | None:
    """Inflate one member within its limits and check its size and CRC; a part the reader
    parses (``parsed``) also gets every XML check. Returns the relationships found in it
    (``collect``: see :attr:`_XmlScanner.found`), else None."""
    name = info.filename
    limit = int(limits.max_entry_mb * MIB)
    size = info.compress_size
    if size <= CHUNK:
        # Most parts are a few KiB: read in one piece, not as a stream (same checks, same answers).
        method = _open_member(fp, info, path)
        raw = fp.read(size)
        if len(raw) == size:
            key = None
            if cache is not None and size <= _PART_MAX_BYTES:
                key = (name, raw, method, info.file_size, info.CRC, parsed, collect)
                hit = cache.get(key)
                if hit is not None:
                    log, found = hit
                    for kind, n in log:
                        totals.add(kind, n, name, path, limits)
                    return found
            whole = _member_whole(raw, method, info, path, limit)
            if whole is not None:
                data, late = whole
                scan = _MemberScan(name, path, limits, totals, collect) if parsed else None
                totals.log = [] if key is not None else None
                try:
                    if scan is not None and data:
                        scan.chunk(data)
                    if late is not None:
                        raise late
                    found = scan.finish() if scan is not None else None
                    if key is not None:
                        if len(cache) >= _PARTS_MAX:
                            cache.clear()
                        cache[key] = (tuple(totals.log), found)
                finally:
                    totals.log = None
                return found
    scan = _MemberScan(name, path, limits, totals, collect) if parsed else None
    for chunk in _member_chunks(fp, info, path, limit):
        if scan is not None:
            scan.chunk(chunk)
    return scan.finish() if scan is not None else None


# ---------------------------------------------------------------------------------------------
# The pre-check


def read_capped(path: str | Path, cap: int) -> tuple[int, bytes]:
    """(size on disk, bytes): the whole file, read once, or nothing when it is larger than
    ``cap`` bytes; a file that grew after the size was taken is read to one byte past the cap
    (so ``len(data) > cap`` tells). The pre-checks of workbooks, texts and PDFs start here."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = b""
            if size <= cap:
                data = fh.read(size + 1)
                if len(data) > size:   # grown since the fstat (or no size, a pipe): read on, to one byte past the cap
                    data += fh.read(cap + 1 - len(data))
    except OSError as exc:
        raise _fail(path, Rule.FILE_UNREADABLE, reason=exc.strerror or str(exc)) from exc
    return size, data


def precheck(path: str | Path, limits: Limits | None = None) -> bytes:
    """Raise :class:`UnreadableFile` unless ``path`` is a plain, sane .xlsx package; return its
    bytes, exactly as vetted.

    The file is read once (at most ``max_file_mb``) and every check runs on that buffer: a
    reader handed the returned bytes sees what was checked, whatever happens to the file on
    disk meanwhile and whatever it is called (``.xls``, ``.ods``: the name plays no part)."""
    limits = limits or Limits.from_env()
    cap = int(limits.max_file_mb * MIB)
    size, data = read_capped(path, cap)
    if size > cap or len(data) > cap:
        raise _fail(path, Rule.FILE_TOO_LARGE, size=_mib(max(size, len(data))), limit=_mib(cap))
    if not data:
        raise _fail(path, Rule.FILE_EMPTY)
    head = data[:4096]
    if head.startswith(OLE2_MAGIC):
        rule, kw = _ole_kind(data)
        raise _fail(path, rule, **kw)
    if not head.startswith(ZIP_MAGICS):
        raise _fail(path, Rule.FILE_NOT_XLSX, what=_sniff_other(head))
    try:
        _check_zip(io.BytesIO(data), path, limits)
    except UnreadableFile:
        raise
    except MemoryError as exc:
        raise _fail(path, Rule.FILE_ZIP_BOMB, reason="读取压缩包目录时内存不足") from exc
    except Exception as exc:  # zipfile on a damaged directory: BadZipFile, struct.error, ValueError …
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise _fail(path, Rule.FILE_CORRUPT, reason=reason) from exc
    return data


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
    keys = [_key(n) for n in names]
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        for n, key in zip(names, keys):
            if key in seen:
                raise _malformed(path, f"压缩包内有重名部件 {n}")
            seen.add(key)
    for info in infos:
        if info.extra:
            alias = _unicode_path(info.extra, info.filename)
            if alias is not None:
                raise _malformed(path, f"{info.filename} 在压缩包目录中还带有另一个文件名「{alias[:60]}」")
    macro = sorted(n for n, key in zip(names, keys)
                   if key.endswith("vbaproject.bin") or key.startswith("xl/macrosheets/"))
    if macro:
        raise _fail(path, Rule.FILE_MACRO, part=macro[0])
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _fail(path, Rule.FILE_NOT_XLSX, what=_zip_kind(set(names)))
    foreign = [(n, _FOREIGN_PARTS[key]) for n, key in zip(names, keys) if key in _FOREIGN_PARTS]
    if foreign:
        part, kind = foreign[0]
        raise _malformed(path, f"压缩包内除 .xlsx 的部件外，还有 {kind} 的部件 {part}，"
                               f"读取程序可能按另一种格式解析它")
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
    cache = _part_cache(limits)
    by_key = dict(zip(keys, infos))
    done: set[str] = set()

    def relationships(key: str) -> tuple:
        """Scan a part of relationships the reader parses first; what it points to."""
        info = by_key.get(key)
        if info is None or key in done:
            return ()
        done.add(key)
        return _scan_member(fp, info, path, limits, totals, cache, collect=True) or ()

    # First the relationships that say which parts the reader opens, then every member, each
    # with the XML checks if the reader parses it.
    parsed = {"_rels/.rels"}
    folders = {"xl/"}
    for kind, targets in relationships("_rels/.rels"):
        if kind == "doc":
            for target in targets:
                # Cached: the same few targets in every package (short keys only).
                found = (_doc_folders if len(target) <= 256 else _doc_folders.__wrapped__)(target)
                folders.update(f for f in found if any(f + name in by_key for name in _FOLDER_PARTS))
    for folder in sorted(folders):
        parsed.update(folder + name for name in _FOLDER_PARTS)
        rels = folder + "_rels/workbook.xml.rels"
        for kind, targets in relationships(rels):
            if kind == "sheet":
                for target in targets:
                    keys_of = _sheet_keys if len(target) + len(folder) <= 256 else _sheet_keys.__wrapped__
                    parsed.update(keys_of(folder, by_key[rels].filename, target))
    for info, key in zip(infos, keys):
        if key not in done:
            _scan_member(fp, info, path, limits, totals, cache, parsed=key in parsed)


def is_parser_error(exc: BaseException) -> bool:
    """Whether a spreadsheet library's exception means "this file cannot be read" (to be reported
    as an unreadable file). A Rust panic inside python-calamine surfaces as pyo3's
    ``PanicException``, which derives from BaseException, not Exception; interrupts do not count."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        return False
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"
