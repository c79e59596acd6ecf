"""Safety pre-check: decide whether a file may be handed to a spreadsheet library at all.

python-calamine (like any native parser) can abort the whole process on some crafted files,
so this module looks at the raw bytes first, with the standard library only: the magic bytes
(zip, OLE2 = legacy .xls or an encrypted workbook, text), the file size, the zip directory
(entry count, declared sizes, compression ratio), each XML part read as a capped stream
(actual size, DOCTYPE/ENTITY), the cell extent of every worksheet and the shared-string count.
Every refusal is an :class:`UnreadableFile` carrying a rule code and a Chinese message.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import UnreadableFile
from .rules import Rule
from .spec import col_index


@dataclass(frozen=True)
class Limits:
    """Safety limits. Change them with environment variables of the same name in upper case
    prefixed ``XLTOOLS_`` (e.g. ``XLTOOLS_MAX_FILE_MB=50``)."""

    max_file_mb: float = 20
    max_entries: int = 1000
    max_entry_mb: float = 100
    max_ratio: float = 200
    max_rows: int = 500_000
    max_cols: int = 104          # column CZ; our sheets use fewer than 15

    @classmethod
    def from_env(cls) -> Limits:
        kw = {}
        for name, typ in (("max_file_mb", float), ("max_entries", int), ("max_entry_mb", float),
                          ("max_ratio", float), ("max_rows", int), ("max_cols", int)):
            raw = os.environ.get(f"XLTOOLS_{name.upper()}")
            if raw:
                try:
                    kw[name] = typ(raw)
                except ValueError:
                    pass
        return cls(**kw)


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
CHUNK = 1 << 16
_DIM_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Za-z$0-9:]+)"')
_CELL_REF_RE = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="([A-Z]{1,4})([0-9]{1,8})"')
_COUNT_RE = re.compile(rb'(?:uniqueCount|count)="(\d+)"')
_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)


def _mib(n: float) -> str:
    return f"{n / 1048576:.1f} MiB"


def _fail(path, rule: Rule, **kw) -> UnreadableFile:
    return UnreadableFile(str(path), rule.code, rule.format(**kw))


def _sniff_other(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    low = text[:200].lower()
    if low.startswith(b"<!doctype html") or low.startswith(b"<html"):
        return "这是网页 HTML 文件"
    if low.startswith(b"%pdf"):
        return "这是 PDF 文件"
    if low.startswith(b"<?xml"):
        return "这是 XML 文件"
    if head.startswith(b"{\\rtf"):
        return "这是 RTF 文档"
    try:
        sample = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            sample = head.decode("gb18030")
        except UnicodeDecodeError:
            return "无法识别的文件格式"
    if "," in sample or "\t" in sample:
        return "这是 CSV/文本文件"
    return "这是文本文件"


def _ole_kind(path: Path) -> Rule:
    """An OLE2 compound file is either an encrypted OOXML package or a legacy .xls."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if "EncryptedPackage".encode("utf-16-le") in head or "EncryptionInfo".encode("utf-16-le") in head:
        return Rule.FILE_ENCRYPTED
    return Rule.FILE_XLS


def _stream_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path, limits: Limits, keep: bool) -> bytes:
    """Read one member as a stream capped at its declared size; scan for DTDs on the way."""
    cap = info.file_size
    out = bytearray()
    total = 0
    tail = b""
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > cap:
                    raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"{info.filename} 的实际大小超过声明的大小")
                window = tail + chunk
                if info.filename.endswith((".xml", ".rels", ".vml")) and _DTD_RE.search(window):
                    raise _fail(path, Rule.FILE_XML_DTD, part=info.filename)
                tail = window[-16:]
                if keep:
                    out += chunk
    except UnreadableFile:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{info.filename}: {exc}") from exc
    except Exception as exc:  # zlib.error and friends
        raise _fail(path, Rule.FILE_CORRUPT, reason=f"{info.filename}: {type(exc).__name__}") from exc
    return bytes(out)


def _check_extent(data: bytes, part: str, path, limits: Limits) -> None:
    def too_far(col: str, row: int) -> bool:
        return col_index(col) + 1 > limits.max_cols or row > limits.max_rows

    m = _DIM_RE.search(data[:4096])
    if m:
        ref = m.group(1).decode("ascii", "replace").replace("$", "")
        for end in ref.split(":"):
            mm = re.match(r"([A-Za-z]{1,4})(\d+)$", end)
            if mm and too_far(mm.group(1).upper(), int(mm.group(2))):
                raise _fail(path, Rule.FILE_EXTENT, part=part, ref=ref)
    for mm in _CELL_REF_RE.finditer(data):
        col, row = mm.group(1).decode(), int(mm.group(2))
        if too_far(col, row):
            raise _fail(path, Rule.FILE_EXTENT, part=part, ref=f"{col}{row}")


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
    if size > limits.max_file_mb * 1048576:
        raise _fail(path, Rule.FILE_TOO_LARGE, size=_mib(size), limit=_mib(limits.max_file_mb * 1048576))
    if head.startswith(OLE2_MAGIC):
        raise _fail(path, _ole_kind(p))
    if not head.startswith(ZIP_MAGICS):
        raise _fail(path, Rule.FILE_NOT_XLSX, what=_sniff_other(head))
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(path, Rule.FILE_CORRUPT, reason=str(exc) or "zip 目录缺失") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"压缩包内有 {len(infos)} 个部件，超过上限 {limits.max_entries}")
        names = {i.filename for i in infos}
        macro = sorted(n for n in names if n.lower().endswith("vbaproject.bin"))
        if macro:
            raise _fail(path, Rule.FILE_MACRO, part=macro[0])
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            what = "这是 Word 文档" if "word/document.xml" in names else (
                "这是 WPS/其他压缩文件" if names else "这是空的压缩包")
            raise _fail(path, Rule.FILE_NOT_XLSX, what=what)
        cap = limits.max_entry_mb * 1048576
        for info in infos:
            if info.file_size > cap:
                raise _fail(path, Rule.FILE_ZIP_BOMB,
                            reason=f"{info.filename} 解压后 {_mib(info.file_size)}，超过上限 {_mib(cap)}")
            if info.compress_size and info.file_size / info.compress_size > limits.max_ratio and info.file_size > 1 << 20:
                raise _fail(path, Rule.FILE_ZIP_BOMB,
                            reason=f"{info.filename} 压缩比 {info.file_size / info.compress_size:.0f}:1 超过上限 {limits.max_ratio:.0f}:1")
        for info in infos:
            name = info.filename
            is_sheet = name.startswith("xl/worksheets/") and name.endswith(".xml")
            is_sst = name == "xl/sharedStrings.xml"
            data = _stream_part(zf, info, path, limits, keep=is_sheet or is_sst)
            if is_sheet:
                _check_extent(data, name, path, limits)
            elif is_sst:
                m = _COUNT_RE.search(data[:2048])
                declared = max((int(x) for x in _COUNT_RE.findall(data[:2048])), default=0)
                if m and declared > max(len(data), 1024):
                    raise _fail(path, Rule.FILE_ZIP_BOMB, reason=f"共享字符串声明了 {declared} 个，远超文件内容")
