"""Build the corpus of hostile and broken files (nothing is downloaded, nothing is committed).

    python tests/hostile/corpus.py OUTDIR        # write every case into OUTDIR and list them

The real files that must be read (OUTDIR/accepted: renamed, stale <dimension>, comments, UTF-16
customXml, a picture …) are built by :func:`build_accepted`.

Realistic variants are made by rewriting the members of a real sample submission
(samples/jiuliting-2026/01_*.xlsx); the bombs are written with a small hand-made zip writer
so that sizes, CRCs and zip64 fields can lie; OLE2 files (a legacy .xls, an encrypted
workbook) are written by a minimal compound-file writer. When LibreOffice is available, a real
.xls and a real password-protected .xlsx are added (``build(..., libreoffice=True)``).

Each :class:`Case` says which rule codes of :mod:`xltools.rules` may report it.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "samples" / "jiuliting-2026"
MIB = 1 << 20

# The rule that reports a malformed (not bomb-like) structure: file-malformed once the catalogue
# has it, file-zip-bomb ("文件结构异常") until then.
MALFORMED = ("file-malformed", "file-zip-bomb")


@dataclass(frozen=True)
class Case:
    name: str                 # file name in the corpus
    rules: tuple[str, ...]    # acceptable rule codes of the refusal
    what: str                 # one line for humans
    build: Callable[[Path], None]
    needs: str | None = None  # "libreoffice": only built when LibreOffice is there
    words: tuple[str, ...] = ()   # words the message must contain (e.g. the kind found)
    extra: bool = False       # beyond the list: checked through the API and in the folder run only
    pending: str | None = None  # refused only once a proposed change lands (the reason, for xfail)


# ---------------------------------------------------------------------------------------------
# A zip writer that can lie


@dataclass
class Member:
    name: str
    payload: bytes           # the bytes stored (compressed or not)
    crc: int
    size: int                # declared uncompressed size
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    offset: int | None = None  # point the directory at another member's data (overlap)
    extra: bytes = b""       # extra field, in the local header and the directory
    local_only: bool = False  # the extra field in the local header only


def raw_deflate(data: bytes, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def member(name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> Member:
    payload = raw_deflate(data) if method == zipfile.ZIP_DEFLATED else data
    return Member(name, payload, zlib.crc32(data), len(data), method)


def repeated(prefix: bytes, block: bytes, times: int, suffix: bytes) -> tuple[bytes, int, int]:
    """Deflate prefix + block * times + suffix cheaply: after a full flush the compressor starts
    afresh, so one compressed block can be repeated. Returns (payload, crc, size)."""
    def flushed(data: bytes, mode) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(mode)

    head = flushed(prefix, zlib.Z_FULL_FLUSH)
    body = flushed(block, zlib.Z_FULL_FLUSH)
    tail = flushed(suffix, zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(suffix, crc)
    return head + body * times + tail, crc, len(prefix) + len(block) * times + len(suffix)


def write_zip(path: Path, members: list[Member]) -> None:
    out = io.BytesIO()
    central = io.BytesIO()
    offsets: dict[str, int] = {}
    for m in members:
        name = m.name.encode("utf-8")
        flags = m.flags | (0x800 if not m.name.isascii() else 0)
        big = m.size >= 0xFFFFFFFF or len(m.payload) >= 0xFFFFFFFF
        extra = (struct.pack("<HHQQ", 1, 16, m.size, len(m.payload)) if big else b"") + m.extra
        size32 = 0xFFFFFFFF if big else m.size
        csize32 = 0xFFFFFFFF if big else len(m.payload)
        version = 45 if big else 20
        if m.offset is None:
            offset = out.tell()
            offsets[m.name] = offset
            out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", version, flags, m.method, 0, 0x21, m.crc,
                                  csize32, size32, len(name), len(extra)) + name + extra)
            out.write(m.payload)
        else:
            offset = m.offset
        if m.local_only:
            extra = extra[:len(extra) - len(m.extra)]
        central.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 0x031E, version, flags, m.method, 0, 0x21,
                                  m.crc, csize32, size32, len(name), len(extra), 0, 0, 0, 0o100644 << 16, offset)
                      + name + extra)
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    n = len(members)
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(cd), start, 0))
    path.write_bytes(out.getvalue())


# ---------------------------------------------------------------------------------------------
# A minimal OLE2 compound file (version 3, 512-byte sectors, no mini stream)


def write_ole2(path: Path, streams: dict[str, bytes]) -> None:
    """Streams shorter than 4,096 bytes are padded to that size so that all live in regular
    sectors (real writers put them in the mini stream; readers accept both)."""
    sector = 512
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    names = sorted(streams, key=lambda s: (len(s), s.upper()))
    datas = [streams[n].ljust(4096, b"\0") for n in names]
    chains: list[tuple[int, int]] = []      # (first sector, count) of each stream
    next_sector = 0
    for d in datas:
        count = -(-len(d) // sector)
        chains.append((next_sector, count))
        next_sector += count
    n_entries = len(names) + 1
    dir_sectors = -(-n_entries * 128 // sector)
    dir_start = next_sector
    next_sector += dir_sectors
    n_fat = 1
    while (next_sector + n_fat) > n_fat * (sector // 4):
        n_fat += 1
    fat_start = next_sector
    total = next_sector + n_fat
    fat = [free] * (n_fat * sector // 4)
    for first, count in chains:
        for k in range(count):
            fat[first + k] = first + k + 1 if k < count - 1 else end
    for k in range(dir_sectors):
        fat[dir_start + k] = dir_start + k + 1 if k < dir_sectors - 1 else end
    for k in range(n_fat):
        fat[fat_start + k] = fatsect

    def entry(name: str, typ: int, left: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), typ, 1) +
                struct.pack("<III", left, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16 +
                struct.pack("<IQ", start, size))

    entries = [entry("Root Entry", 5, free, free, 1 if names else free, end, 0)]
    for i, (n, (first, _)) in enumerate(zip(names, chains), start=1):
        right = i + 1 if i < len(names) else free
        entries.append(entry(n, 2, free, right, free, first, len(streams[n].ljust(4096, b"\0"))))
    directory = b"".join(entries).ljust(dir_sectors * sector, b"\0")
    difat = [fat_start + k for k in range(n_fat)] + [free] * (109 - n_fat)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) +
              b"\0" * 6 + struct.pack("<IIIIIIIII", 0, n_fat, dir_start, 0, 4096, end, 0, end, 0) +
              struct.pack("<109I", *difat))
    assert len(header) == 512, len(header)
    body = b"".join(d.ljust(-(-len(d) // sector) * sector, b"\0") for d in datas)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    data = header + body + directory + fat_bytes
    assert len(data) == 512 + total * sector
    path.write_bytes(data)


def _biff_record(typ: int, data: bytes) -> bytes:
    return struct.pack("<HH", typ, len(data)) + data


def minimal_xls_stream() -> bytes:
    """A BIFF8 workbook stream: BOF (workbook globals) … EOF, one BOUNDSHEET, BOF (sheet) … EOF."""
    bof_globals = _biff_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06))
    bof_sheet = _biff_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x06))
    eof = _biff_record(0x000A, b"")
    name = "申报表".encode("utf-16-le")
    sheet_offset = len(bof_globals) + 4 + 8 + len(name) + len(eof)
    boundsheet = _biff_record(0x0085, struct.pack("<IBBBB", sheet_offset, 0, 0, 3, 1) + name)
    return bof_globals + boundsheet + eof + bof_sheet + eof


# ---------------------------------------------------------------------------------------------
# The sample and rewriting its members


def sample_path() -> Path:
    return sorted(SAMPLE_DIR.glob("01_*.xlsx"))[0]


def sample_members() -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(sample_path()) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def write_members(path: Path, members: list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def variant(path: Path, replace: dict[str, bytes | Callable[[bytes], bytes]] | None = None,
            drop: tuple[str, ...] = (), add: list[tuple[str, bytes]] | None = None) -> None:
    out = []
    for name, data in sample_members():
        if name in drop:
            continue
        r = (replace or {}).get(name)
        if r is not None:
            data = r(data) if callable(r) else r
        out.append((name, data))
    write_members(path, out + list(add or []))


def sub(pattern: str, repl: str, count: int = 1) -> Callable[[bytes], bytes]:
    def f(data: bytes) -> bytes:
        text, n = re.subn(pattern, repl, data.decode("utf-8"), count=count)
        assert n, f"pattern not found: {pattern}"
        return text.encode("utf-8")
    return f


SHEET = "xl/worksheets/sheet1.xml"
META = "xl/worksheets/sheet3.xml"
SST = "xl/sharedStrings.xml"
WORKBOOK = "xl/workbook.xml"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _with_doctype(root: str, dtd: str) -> Callable[[bytes], bytes]:
    def f(data: bytes) -> bytes:
        text = data.decode("utf-8")
        body = text[text.index("<" + root):]
        return (XML_DECL + f"<!DOCTYPE {root} [{dtd}]>" + body).encode("utf-8")
    return f


def _laughs(n: int = 10) -> str:
    defs = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                                      for i in range(1, n)]
    return "".join(defs)


def _sst_first_string(entity: str) -> Callable[[bytes], bytes]:
    return sub(r"<si><t>[^<]*</t></si>", f"<si><t>{entity}</t></si>")


# ---------------------------------------------------------------------------------------------
# The cases


def b_billion_laughs_sst(p: Path) -> None:
    dtd = _laughs()
    variant(p, replace={SST: lambda d: _sst_first_string("&lol9;")(_with_doctype("sst", dtd)(d))})


def b_billion_laughs_workbook(p: Path) -> None:
    variant(p, replace={WORKBOOK: lambda d: sub(r'<sheet name="申报表"', '<sheet name="&lol9;"')(
        _with_doctype("workbook", _laughs())(d))})


def b_quadratic_sst(p: Path) -> None:
    dtd = f'<!ENTITY a "{"a" * 100_000}">'
    variant(p, replace={SST: lambda d: _sst_first_string("&a;" * 20_000)(_with_doctype("sst", dtd)(d))})


def b_quadratic_workbook(p: Path) -> None:
    dtd = f'<!ENTITY a "{"a" * 100_000}">'
    variant(p, replace={WORKBOOK: lambda d: sub(r"</definedNames>",
                                                f'<definedName name="x">{"&a;" * 20_000}</definedName></definedNames>')(
        _with_doctype("workbook", dtd)(d))})


def b_xxe_sst(p: Path) -> None:
    dtd = '<!ENTITY xxe SYSTEM "file:///etc/passwd">'
    variant(p, replace={SST: lambda d: _sst_first_string("&xxe;")(_with_doctype("sst", dtd)(d))})


def b_xxe_sheet_external_dtd(p: Path) -> None:
    def f(data: bytes) -> bytes:
        text = data.decode("utf-8")
        body = text[text.index("<worksheet"):]
        return (XML_DECL + '<!DOCTYPE worksheet SYSTEM "http://127.0.0.1:9/evil.dtd">' + body).encode("utf-8")
    variant(p, replace={SHEET: f})


def _sheet_split() -> tuple[bytes, bytes]:
    data = dict(sample_members())[SHEET]
    i = data.index(b"</sheetData>")
    return data[:i], data[i:]


def _bomb_with(p: Path, name: str, payload: bytes, crc: int, size: int) -> None:
    members = [member(n, d) for n, d in sample_members() if n != name]
    members.append(Member(name, payload, crc, size))
    write_zip(p, members)


def b_zipbomb_whitespace_huge(p: Path) -> None:
    head, tail = _sheet_split()
    payload, crc, size = repeated(head, b" " * MIB, 150, tail)   # 150 MiB of spaces inside <sheetData>
    _bomb_with(p, SHEET, payload, crc, size)


def b_zipbomb_whitespace_ratio(p: Path) -> None:
    head, tail = _sheet_split()
    payload, crc, size = repeated(head, b"\n" * MIB, 60, tail)   # 60 MiB, ratio about 1,000:1
    _bomb_with(p, SHEET, payload, crc, size)


def b_zipbomb_many_cells(p: Path) -> None:
    rows = 30_000
    cols = [chr(65 + i) for i in range(20)]  # A..T: 600,000 cells, all inside the extent
    parts = [b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b'<dimension ref="A1:T%d"/><sheetData>' % rows]
    for r in range(1, rows + 1):
        cells = "".join(f'<c r="{c}{r}"><v>{(r * 7919 + i * 104729) % 1000003}</v></c>' for i, c in enumerate(cols))
        parts.append(f'<row r="{r}">{cells}</row>'.encode())
    parts.append(b"</sheetData></worksheet>")
    variant(p, replace={SHEET: b"".join(parts)})


def b_zipbomb_lying_size(p: Path) -> None:
    """The directory says the sheet has its real size (and CRC); the data inflates on to 1 GiB."""
    data = dict(sample_members())[SHEET]
    payload, _, _ = repeated(data, b" " * MIB, 1024, b"")
    _bomb_with(p, SHEET, payload, zlib.crc32(data), len(data))


def b_zipbomb_declared_4gib(p: Path) -> None:
    data = dict(sample_members())[SHEET]
    _bomb_with(p, SHEET, raw_deflate(data), zlib.crc32(data), 4 << 30)


def b_zipbomb_overlap(p: Path) -> None:
    """Many directory entries share one compressed kernel (a non-recursive zip bomb)."""
    members = [member(n, d) for n, d in sample_members()]
    kernel_data = b" " * (MIB - 1)
    kernel = member("xl/media/kernel.bin", kernel_data)
    members.append(kernel)
    write_zip(p, members)  # to learn the kernel's offset
    with zipfile.ZipFile(p) as zf:
        offset = zf.getinfo("xl/media/kernel.bin").header_offset
    for i in range(300):
        members.append(Member(f"xl/media/image{i}.bin", kernel.payload, kernel.crc, kernel.size, offset=offset))
    write_zip(p, members)


def b_full_grid_dimension(p: Path) -> None:
    variant(p, replace={SHEET: sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>')})


def b_cell_at_xfd1048576(p: Path) -> None:
    variant(p, replace={SHEET: sub(r"</sheetData>",
                                   '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')})


def b_cell_beyond_grid_column(p: Path) -> None:
    variant(p, replace={SHEET: sub(r"(<row r=\"1\"[^>]*>)", r'\1<c r="XFE1" t="inlineStr"><is><t>x</t></is></c>')})


def b_cell_beyond_grid_row(p: Path) -> None:
    variant(p, replace={SHEET: sub(r"</sheetData>", '<row r="1048577"><c r="A1048577"><v>1</v></c></row></sheetData>')})


def b_sst_unique_count_4e9(p: Path) -> None:
    variant(p, replace={SST: sub(r'uniqueCount="\d+"', 'uniqueCount="4000000000"')})


def b_truncated_zip(p: Path) -> None:
    data = sample_path().read_bytes()
    p.write_bytes(data[: len(data) * 6 // 10])


def b_corrupt_deflate(p: Path) -> None:
    variant(p)
    raw = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as zf:
        info = zf.getinfo(SHEET)
    start = info.header_offset + 30 + len(SHEET) + len(info.extra)
    for k in range(start + 40, start + min(info.compress_size - 8, 400), 7):
        raw[k] ^= 0x5A
    p.write_bytes(bytes(raw))


def b_empty(p: Path) -> None:
    p.write_bytes(b"")


def b_xls_handmade(p: Path) -> None:
    write_ole2(p, {"Workbook": minimal_xls_stream(), "\x05SummaryInformation": b"\xfe\xff" + b"\0" * 46})


def b_xls_renamed_xlsx(p: Path) -> None:
    b_xls_handmade(p)


def b_csv_renamed_xlsx(p: Path) -> None:
    p.write_text("项目名称,实施单位,年度,当年财政拨款\n编外人员工作经费,九里亭街道,2026,36118005\n", encoding="utf-8-sig")


def b_html_as_xls(p: Path) -> None:
    p.write_text('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><body><table><tr><td>项目名称</td>'
                 "<td>编外人员工作经费</td></tr></table></body></html>", encoding="utf-8")


def b_encrypted_handmade(p: Path) -> None:
    # ECMA-376 agile encryption: EncryptionInfo starts with version 4.4, then an XML descriptor.
    info = struct.pack("<HHI", 4, 4, 0x40) + (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                                              b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption">'
                                              b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
                                              b'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" '
                                              b'hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/>'
                                              b"</encryption>")
    package = struct.pack("<Q", 40962) + os.urandom(8192)
    write_ole2(p, {"EncryptionInfo": info, "EncryptedPackage": package,
                   "\x06DataSpaces": b"\0" * 64})


def _vba_project() -> bytes:
    buf = Path(tempfile.mkdtemp()) / "vba.bin"
    write_ole2(buf, {"PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\nDocument=ThisWorkbook/&H00000000\r\n',
                     "dir": b"\x01\x00" * 64})
    data = buf.read_bytes()
    shutil.rmtree(buf.parent, ignore_errors=True)
    return data


def _macro_members() -> dict:
    ct = sub(r"application/vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet\.main\+xml",
             "application/vnd.ms-excel.sheet.macroEnabled.main+xml")

    def types(data: bytes) -> bytes:
        data = ct(data)
        return data.replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                                         b"</Types>")

    def rels(data: bytes) -> bytes:
        return data.replace(b"</Relationships>",
                            b'<Relationship Id="rId99" Type="http://schemas.microsoft.com/office/2006/relationships/'
                            b'vbaProject" Target="vbaProject.bin"/></Relationships>')

    return {"replace": {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels},
            "add": [("xl/vbaProject.bin", _vba_project())]}


def b_macro_xlsm(p: Path) -> None:
    variant(p, **_macro_members())


def b_meta_unknown_kind(p: Path) -> None:
    variant(p, replace={SST: sub(r"<t>project-target</t>", "<t>budget-report</t>")})


def b_meta_newer_version(p: Path) -> None:
    variant(p, replace={META: sub(r'(<c r="B2"[^>]*>)<v>1</v>', r"\1<v>99</v>")})


def drop_meta(p: Path, extra_replace: dict | None = None) -> None:
    """The sample without its `_xltools` sheet (as another program might save it)."""
    replace = {
        WORKBOOK: sub(r'<sheet name="_xltools"[^>]*/>', ""),
        "xl/_rels/workbook.xml.rels": sub(r'<Relationship Id="rId3"[^>]*/>', ""),
        "[Content_Types].xml": sub(r'<Override PartName="/xl/worksheets/sheet3.xml"[^>]*/>', ""),
    }
    replace.update(extra_replace or {})
    variant(p, replace=replace, drop=(META,))


NOT_A_FORM_WORDS = {
    "财政项目支出绩效目标申报表": "职工工资发放明细表", "项目名称": "姓名", "项目性质": "部门", "项目类别": "岗位",
    "主管部门": "工号", "实施单位": "银行账号", "计划开始日期": "入职日期", "计划完成日期": "发放日期",
    "绩效指标": "扣款明细", "一级指标": "扣款类别", "二级指标": "扣款项目", "三级指标": "说明",
    "年度(/项目)指标值": "金额", "年度资金申请总额:": "应发合计:", "年度总体目标": "备注",
}


def b_not_a_form(p: Path) -> None:
    def words(data: bytes) -> bytes:
        text = data.decode("utf-8")
        for a, b in NOT_A_FORM_WORDS.items():
            text = text.replace(f"<t>{a}</t>", f"<t>{b}</t>")
        return text.encode("utf-8")
    drop_meta(p, {SST: words})


def b_docx_renamed(p: Path) -> None:
    write_members(p, [("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                               b'package/2006/content-types"/>'),
                      ("word/document.xml", b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.'
                                            b'openxmlformats.org/wordprocessingml/2006/main"/>')])


def b_too_many_entries(p: Path) -> None:
    members = sample_members() + [(f"customXml/item{i}.xml", b"<a/>") for i in range(1001)]
    write_members(p, members)


def b_too_large(p: Path) -> None:
    members = [member(n, d) for n, d in sample_members()]
    blob = os.urandom(21 * MIB)
    members.append(Member("xl/media/image1.png", blob, zlib.crc32(blob), len(blob), zipfile.ZIP_STORED))
    write_zip(p, members)


def b_sheets_share_one_part(p: Path) -> None:
    n = 50
    sheets = "".join(f'<sheet name="副本{i}" sheetId="{i + 10}" r:id="rIdX{i}"/>' for i in range(n))
    rels = "".join(f'<Relationship Id="rIdX{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   f'relationships/worksheet" Target="worksheets/sheet1.xml"/>' for i in range(n))
    variant(p, replace={WORKBOOK: sub(r"</sheets>", sheets + "</sheets>"),
                        "xl/_rels/workbook.xml.rels": sub(r"</Relationships>", rels + "</Relationships>")})


def b_long_text(p: Path) -> None:
    import random
    rnd = random.Random(4)
    text = "".join(chr(rnd.randrange(0x4E00, 0x9FA5)) for _ in range(1 << 20))   # 3 MiB, incompressible
    variant(p, replace={SST: _sst_first_string(text)})


def b_utf16_sheet(p: Path) -> None:
    def f(data: bytes) -> bytes:
        text = data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
        text = text.replace('<dimension ref="A1:F52"/>', '<dimension ref="A1:XFD1048576"/>')
        return b"\xff\xfe" + text.encode("utf-16-le")
    variant(p, replace={SHEET: f})


def b_zip_encrypted_entry(p: Path) -> None:
    members = [member(n, d) for n, d in sample_members()]
    for m in members:
        if m.name == SHEET:
            m.flags |= 0x1
    write_zip(p, members)


def b_prefixed_cells_beyond(p: Path) -> None:
    """Cells with a namespace prefix and no address: the position is implied (row 1, column 200)."""
    cells = "".join("<x:c><x:v>1</x:v></x:c>" for _ in range(200))
    variant(p, replace={SHEET: sub(r"</sheetData>",
                                   f'<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                                   f'r="60">{cells}</x:row></sheetData>')})


def b_quoted_gt_hides_cell(p: Path) -> None:
    """A '>' inside a quoted attribute (legal XML) before the address: a scanner that ends tags at
    the first '>' misses the cell; the XML parser of a reader does not."""
    variant(p, replace={SHEET: sub(r"</sheetData>", '<row r="60"><c foo=">" r="XFD1048576"><v>1</v></c></row>'
                                                   "</sheetData>")})


def b_quoted_gt_in_sst(p: Path) -> None:
    variant(p, replace={SST: sub(r'uniqueCount="\d+"', 'foo=">" uniqueCount="4000000000"')})


def b_address_twice(p: Path) -> None:
    variant(p, replace={SHEET: sub(r'<c r="A3"', '<c r="A3" r="XFD1048576"')})


def b_lt_in_attribute(p: Path) -> None:
    variant(p, replace={SHEET: sub(r"</sheetData>", '<row r="60"><c a="<" r="XFD1048576"><v>1</v></c></row>'
                                                   "</sheetData>")})


def b_many_rows_in_form(p: Path) -> None:
    """6,000 indicator rows pasted below the table: inside every byte-level limit, but no form
    has that many rows (templates have at most 1,000)."""
    head, tail = _sheet_split()
    rows = []
    for r in range(53, 53 + 6000):
        rows.append(f'<row r="{r}"><c r="B{r}" t="inlineStr"><is><t>产出指标</t></is></c>'
                    f'<c r="C{r}" t="inlineStr"><is><t>数量指标</t></is></c>'
                    f'<c r="D{r}" t="inlineStr"><is><t>指标{r}</t></is></c>'
                    f'<c r="E{r}" t="inlineStr"><is><t>≥{r}(人)</t></is></c></row>')
    body = head.replace(b'<dimension ref="A1:F52"/>', b'<dimension ref="A1:F6052"/>') + "".join(rows).encode() + tail
    variant(p, replace={SHEET: body})


# -- Another reader, another part, another name ---------------------------------------------------
# python-calamine handed a file object tries its readers in turn (xls, xlsx, xlsb, ods); by path
# it picks one by the suffix. These packages hold the two parts the pre-check requires of an
# .xlsx and, beside them, what the .xlsb or .ods reader parses: before the pre-check refused
# them, that reader parsed them unvetted and the process aborted (allocation failure).

MINI_TYPES = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/'
              b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
MINI_WORKBOOK = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.openxmlformats.org/'
                 b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                 b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')


def _xlsb_record(typ: int, body: bytes = b"") -> bytes:
    """One record of a binary workbook: type (1-2 bytes) and length (1-4 bytes, 7 bits each)."""
    head = bytes([typ]) if typ < 0x80 else bytes([(typ & 0x7F) | 0x80, typ >> 7])
    n, size = len(body), b""
    while True:
        size += bytes([(n & 0x7F) | (0x80 if n >> 7 else 0)])
        n >>= 7
        if not n:
            break
    return head + size + body


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def b_polyglot_xlsb(p: Path, far: bool = True) -> None:
    """xl/workbook.bin naming one sheet whose cells sit at A1 and XFD1048576 (the .xlsb reader
    allocates the whole grid), beside [Content_Types].xml and xl/workbook.xml. ``far=False``:
    the same without the far cell (harmless, to see which reader takes it)."""
    workbook = (_xlsb_record(0x0083) + _xlsb_record(0x008F)
                + _xlsb_record(0x009C, struct.pack("<II", 0, 1) + _wide("rId1") + _wide("Sheet1"))
                + _xlsb_record(0x0090) + _xlsb_record(0x0084))

    def row(r: int) -> bytes:
        return _xlsb_record(0x0000, struct.pack("<I", r) + b"\0" * 13)

    def cell(col: int, value: float) -> bytes:
        return _xlsb_record(0x0005, struct.pack("<IId", col, 0, value))

    sheet = (_xlsb_record(0x0081) + _xlsb_record(0x0094, struct.pack("<IIII", 0, 1048575, 0, 16383))
             + _xlsb_record(0x0091) + row(0) + cell(0, 1.0) + (row(1048575) + cell(16383, 2.0) if far else b"")
             + _xlsb_record(0x0092) + _xlsb_record(0x0082))
    rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/worksheet" Target="worksheets/sheet1.bin"/></Relationships>')
    write_members(p, [("[Content_Types].xml", MINI_TYPES), ("xl/workbook.xml", MINI_WORKBOOK),
                      ("xl/workbook.bin", workbook), ("xl/_rels/workbook.bin.rels", rels),
                      ("xl/worksheets/sheet1.bin", sheet)])


def b_polyglot_ods(p: Path, far: bool = True) -> None:
    """mimetype and content.xml of an OpenDocument spreadsheet whose rows repeat into a grid of
    98 million cells (the .ods reader allocates it), beside the two .xlsx parts. ``far=False``:
    one row, one column (harmless)."""
    repeat = b'table:number-rows-repeated="6000"' if far else b'table:number-rows-repeated="1"'
    columns = b"16383" if far else b"1"
    content = (b'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               b'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0">'
               b'<office:body><office:spreadsheet><table:table table:name="Sheet1"><table:table-row>'
               b'<table:table-cell office:value-type="float" office:value="1"/></table:table-row>'
               b"<table:table-row " + repeat + b'><table:table-cell table:number-columns-repeated="' + columns
               + b'"/><table:table-cell office:value-type="float" office:value="2"/></table:table-row>'
               b"</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = (b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                b'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type='
                b'"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path='
                b'"content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    members = [member("mimetype", b"application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)]
    members += [member(n, d) for n, d in [("[Content_Types].xml", MINI_TYPES), ("xl/workbook.xml", MINI_WORKBOOK),
                                          ("META-INF/manifest.xml", manifest), ("content.xml", content)]]
    write_zip(p, members)


def _far_sheet(prefix: bytes = b"") -> bytes:
    """Sheet 1 with one more cell, at XFD1048576 (python-calamine allocates the grid up to it)."""
    data = dict(sample_members())[SHEET]
    return prefix + data.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>7</v></c></row></sheetData>')


def b_unicode_path_alias(p: Path, local_only: bool = False) -> None:
    """Sheet 1 stored as xl/media/blob.bin with an Info-ZIP Unicode Path field (0x7075) naming it
    xl/worksheets/sheet1.xml: the zip library of calamine reads that name, Python's zipfile the
    other. ``local_only``: the field in the local header only."""
    alias = "xl/media/blob.bin"
    real = SHEET.encode()
    extra = struct.pack("<HHBI", 0x7075, 5 + len(real), 1, zlib.crc32(alias.encode())) + real
    members = [member(n, d) for n, d in sample_members() if n != SHEET]
    m = member(alias, _far_sheet(b"JFIF "))
    m.extra, m.local_only = extra, local_only
    write_zip(p, members + [m])


def b_backslash_alias(p: Path) -> None:
    """A second sheet 1 named with backslashes: calamine reads '\\' as '/', and of two members with
    one name takes the later."""
    variant(p, add=[(SHEET.replace("/", "\\"), _far_sheet())])


def b_sheet_behind_image_name(p: Path) -> None:
    """The workbook's relationship points sheet 1 at xl/media/image1.jpeg, which holds the sheet
    after a few bytes of text: the reader parses it as a sheet whatever its name."""
    variant(p, replace={"xl/_rels/workbook.xml.rels": sub(r'Target="worksheets/sheet1.xml"',
                                                          'Target="media/image1.jpeg"')},
            drop=(SHEET,), add=[("xl/media/image1.jpeg", _far_sheet(b"JFIF "))])


def b_package_rels_redirect(p: Path) -> None:
    """_rels/.rels points the reader at evil/workbook.xml (calamine takes the workbook's folder
    from there); xl/ stays as it was, for a check that looks only there."""
    out = []
    for name, data in sample_members():
        if name.startswith("xl/"):
            out.append(("evil/" + name[3:], _far_sheet() if name == SHEET else data))
    variant(p, replace={"_rels/.rels": sub(r'Target="xl/workbook.xml"', 'Target="evil/workbook.xml"')}, add=out)


def b_pi_quote_exposes_cell(p: Path) -> None:
    """A processing instruction ends at the first '?>', quotes or not: the row after it is real."""
    variant(p, replace={SHEET: sub(r"</sheetData>", '<?x a="?>"<row r="1048576"><c r="XFD1048576"><v>1</v></c>'
                                                   '</row>"?></sheetData>')})


def b_comment_after_quote(p: Path) -> None:
    """'<!--' inside a quoted value does not start a comment: the cell after it is real."""
    variant(p, replace={SHEET: sub(r"</sheetData>", '<row r="60" a="<!--"><c r="XFD1048576"><v>1</v></c></row>'
                                                   "<!-- --></sheetData>")})


# -- LibreOffice-made ----------------------------------------------------------------------------

LO_HELPER = ROOT / "tests" / "libreoffice" / "lo_helper.py"


def libreoffice_available() -> bool:
    if not shutil.which("soffice") or not Path("/usr/bin/python3").exists():
        return False
    try:
        return subprocess.run(["/usr/bin/python3", "-c", "import uno"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def build_with_libreoffice(out: Path, cases: list[Case]) -> dict[str, str]:
    """One LibreOffice session for every LibreOffice-made case; returns errors by case name."""
    ops = []
    for c in cases:
        if c.name.endswith(".xls"):
            ops.append({"op": "convert", "src": str(sample_path()), "out": str(out / c.name), "filter": "MS Excel 97"})
        else:
            ops.append({"op": "convert", "src": str(sample_path()), "out": str(out / c.name),
                        "filter": "Calc MS Excel 2007 XML", "password": "xltools"})
    with tempfile.TemporaryDirectory(prefix="xltools-corpus-lo-") as tmp:
        job = Path(tmp) / "job.json"
        result = Path(tmp) / "result.json"
        job.write_text(json.dumps({"profile": str(Path(tmp) / "profile"), "ops": ops}), "utf-8")
        proc = subprocess.run(["/usr/bin/python3", str(LO_HELPER), str(job), str(result)],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not result.exists():
            return {c.name: proc.stderr[-500:] or "helper failed" for c in cases}
        results = json.loads(result.read_text("utf-8"))
    return {c.name: r.get("error") for c, r in zip(cases, results) if not r.get("ok")}


CASES: list[Case] = [
    Case("billion_laughs_sst.xlsx", ("file-xml-dtd",), "billion laughs in sharedStrings.xml", b_billion_laughs_sst),
    Case("billion_laughs_workbook.xlsx", ("file-xml-dtd",), "billion laughs in workbook.xml", b_billion_laughs_workbook),
    Case("quadratic_blowup_sst.xlsx", ("file-xml-dtd",), "quadratic blow-up in sharedStrings.xml", b_quadratic_sst),
    Case("quadratic_blowup_workbook.xlsx", ("file-xml-dtd",), "quadratic blow-up in workbook.xml", b_quadratic_workbook),
    Case("xxe_sst.xlsx", ("file-xml-dtd",), "external entity (file:///etc/passwd)", b_xxe_sst),
    Case("xxe_sheet_external_dtd.xlsx", ("file-xml-dtd",), "external DTD on a worksheet", b_xxe_sheet_external_dtd),
    Case("zipbomb_whitespace_150mib.xlsx", ("file-zip-bomb",), "150 MiB of whitespace in a sheet",
         b_zipbomb_whitespace_huge),
    Case("zipbomb_whitespace_ratio.xlsx", ("file-zip-bomb",), "60 MiB of whitespace, ratio ~1000:1",
         b_zipbomb_whitespace_ratio),
    Case("zipbomb_many_cells.xlsx", ("file-zip-bomb",), "600,000 cells in the extent", b_zipbomb_many_cells),
    Case("zipbomb_lying_size.xlsx", ("file-zip-bomb",), "a member declared 17 KiB inflating to 1 GiB",
         b_zipbomb_lying_size),
    Case("zipbomb_declared_4gib.xlsx", ("file-zip-bomb",), "a member declared 4 GiB (zip64)", b_zipbomb_declared_4gib),
    Case("zipbomb_overlap.xlsx", ("file-zip-bomb",), "300 entries sharing one compressed kernel", b_zipbomb_overlap),
    Case("full_grid_dimension.xlsx", ("file-extent",), '<dimension ref="A1:XFD1048576">', b_full_grid_dimension),
    Case("cell_at_XFD1048576.xlsx", ("file-extent",), "a cell at XFD1048576", b_cell_at_xfd1048576,
         words=("XFD1048576",)),
    Case("cell_beyond_grid_XFE1.xlsx", ("file-extent",), "a cell beyond the last column", b_cell_beyond_grid_column,
         words=("XFE1",)),
    Case("cell_beyond_grid_row_1048577.xlsx", ("file-extent",), "a cell beyond the last row",
         b_cell_beyond_grid_row),
    Case("sst_unique_count_4e9.xlsx", ("file-zip-bomb",), 'sharedStrings uniqueCount="4000000000"',
         b_sst_unique_count_4e9),
    Case("truncated.xlsx", ("file-corrupt",), "the zip cut at 60 %", b_truncated_zip),
    Case("corrupt_deflate.xlsx", ("file-corrupt",), "corrupt deflate data in a sheet", b_corrupt_deflate),
    Case("empty.xlsx", ("file-empty",), "an empty file", b_empty),
    Case("handmade.xls", ("file-xls",), "a legacy .xls (hand-made OLE2)", b_xls_handmade, extra=True),
    Case("xls_renamed.xlsx", ("file-xls",), ".xls renamed .xlsx", b_xls_renamed_xlsx),
    Case("csv_renamed.xlsx", ("file-not-xlsx",), "CSV renamed .xlsx", b_csv_renamed_xlsx, words=("CSV",)),
    Case("html_renamed.xlsx", ("file-not-xlsx",), "an HTML table saved as a spreadsheet", b_html_as_xls,
         words=("HTML",), extra=True),
    Case("docx_renamed.xlsx", ("file-not-xlsx",), "a Word document renamed .xlsx", b_docx_renamed, words=("Word",), extra=True),
    Case("encrypted_handmade.xlsx", ("file-encrypted",), "an encrypted workbook (hand-made OLE2)",
         b_encrypted_handmade, words=("加密",)),
    Case("macro.xlsm", ("file-macro",), "a macro-enabled workbook", b_macro_xlsm, words=("vbaProject.bin",)),
    Case("macro_renamed.xlsx", ("file-macro",), ".xlsm renamed .xlsx", b_macro_xlsm, words=("vbaProject.bin",)),
    Case("meta_unknown_kind.xlsx", ("unknown-kind",), "metadata naming an unknown kind", b_meta_unknown_kind,
         words=("budget-report", "project-target")),
    Case("meta_newer_version.xlsx", ("spec-version-newer",), "metadata with spec version 99", b_meta_newer_version,
         words=("99",)),
    Case("not_a_form.xlsx", ("not-a-form",), "a valid workbook that is not one of our forms", b_not_a_form,
         words=("project-target",)),
    Case("too_many_entries.xlsx", ("file-zip-bomb",), "1,013 zip entries", b_too_many_entries, extra=True),
    Case("too_large.xlsx", ("file-too-large",), "a 21 MiB file", b_too_large, extra=True),
    Case("sheets_share_one_part.xlsx", MALFORMED, "50 sheets on one part", b_sheets_share_one_part, extra=True),
    Case("long_text.xlsx", ("file-zip-bomb",), "one 3 MiB shared string (a cell holds 32,767 characters)", b_long_text,
         words=("KiB",), extra=True),
    Case("utf16_sheet.xlsx", MALFORMED, "a UTF-16 sheet (hides from byte scans)", b_utf16_sheet, extra=True),
    Case("zip_encrypted_entry.xlsx", ("file-encrypted",), "a zip entry with the encryption flag",
         b_zip_encrypted_entry, extra=True),
    Case("prefixed_cells_beyond.xlsx", ("file-extent",), "prefixed cells without address, implied column GR",
         b_prefixed_cells_beyond, extra=True),
    Case("quoted_gt_hides_cell.xlsx", ("file-extent",), "a quoted '>' before a cell's address (XFD1048576)",
         b_quoted_gt_hides_cell, extra=True, words=("XFD1048576",)),
    Case("quoted_gt_in_sst.xlsx", ("file-zip-bomb",), "a quoted '>' before uniqueCount=4e9", b_quoted_gt_in_sst,
         extra=True),
    Case("address_twice.xlsx", MALFORMED, "a cell naming two addresses", b_address_twice, extra=True),
    Case("lt_in_attribute.xlsx", MALFORMED + ("file-extent",), "a '<' inside an attribute", b_lt_in_attribute,
         extra=True),
    Case("many_rows_in_form.xlsx", ("table-too-long", "file-extent"),
         "6,000 indicator rows in one form", b_many_rows_in_form, extra=True,
         pending="the reader has no cap on table rows yet (patch proposed: refuse a form with more than 2,000)"),
    Case("polyglot.xlsb", MALFORMED, ".xlsx parts and an .xlsb workbook (xl/workbook.bin) in one zip",
         b_polyglot_xlsb, words=(".xlsb", "xl/workbook.bin")),
    Case("polyglot.ods", MALFORMED, ".xlsx parts and an OpenDocument content.xml in one zip", b_polyglot_ods,
         words=(".ods", "mimetype")),
    Case("unicode_path_alias.xlsx", MALFORMED, "a member renamed by a Unicode Path extra field",
         b_unicode_path_alias, extra=True),
    Case("backslash_alias.xlsx", MALFORMED, r"xl\worksheets\sheet1.xml beside xl/worksheets/sheet1.xml",
         b_backslash_alias, extra=True),
    Case("sheet_behind_image_name.xlsx", ("file-extent",), "a sheet stored as xl/media/image1.jpeg",
         b_sheet_behind_image_name, extra=True, words=("XFD1048576",)),
    Case("package_rels_redirect.xlsx", ("file-extent",), "_rels/.rels pointing the reader at evil/workbook.xml",
         b_package_rels_redirect, extra=True, words=("XFD1048576",)),
    Case("pi_quote_exposes_cell.xlsx", MALFORMED + ("file-extent",), "a '?>' inside quotes ends the instruction",
         b_pi_quote_exposes_cell, extra=True),
    Case("comment_after_quote.xlsx", MALFORMED + ("file-extent",), "'<!--' inside a quoted value",
         b_comment_after_quote, extra=True),
    Case("real_libreoffice.xls", ("file-xls",), "a real .xls saved by LibreOffice", lambda p: None,
         needs="libreoffice"),
    Case("encrypted_libreoffice.xlsx", ("file-encrypted",), "a password-protected .xlsx saved by LibreOffice",
         lambda p: None, needs="libreoffice", words=("加密",)),
]


# ---------------------------------------------------------------------------------------------
# Real files that are not hostile: each must be read exactly as the sample it was made from.
# Each was refused before (``before`` says how), except the 2-byte empty stream (accepted already).


@dataclass(frozen=True)
class Accepted:
    name: str
    what: str
    build: Callable[[Path], None]
    before: str = ""          # how xltools answered before the fix (the rule, or what `read` said)


def a_renamed(p: Path) -> None:
    shutil.copyfile(sample_path(), p)


def a_dimension_stale(p: Path) -> None:
    variant(p, replace={SHEET: sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:C5"/>')})


def a_dimension_one_cell(p: Path) -> None:
    variant(p, replace={SHEET: sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1"/>')})


def _with_member(p: Path, extra: Member) -> None:
    members = [member(n, d) for n, d in sample_members()]
    write_zip(p, members + [extra])


def a_empty_member_no_data(p: Path) -> None:
    """An empty member, method deflate, no compressed data at all (file_size 0, compress_size 0)."""
    _with_member(p, Member("xl/printerSettings/printerSettings1.bin", b"", 0, 0))


def a_empty_member_empty_stream(p: Path) -> None:
    """An empty member, method deflate, the 2-byte empty deflate stream."""
    _with_member(p, Member("xl/printerSettings/printerSettings1.bin", raw_deflate(b""), 0, 0))


CUSTOM_XML = ('<?xml version="1.0" encoding="utf-16"?><ct:contentTypeSchema ct:_="" ma:_="" ma:contentTypeName="文档" '
              'xmlns:ct="http://schemas.microsoft.com/office/2006/metadata/contentType" '
              'xmlns:ma="http://schemas.microsoft.com/office/2006/metadata/properties/metaAttributes">'
              "<xsd:schema xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"/></ct:contentTypeSchema>")


def a_customxml_utf16(p: Path) -> None:
    """customXml/item1.xml in UTF-16 (as SharePoint and document libraries add it), linked from
    the workbook: the reader never parses it."""
    rel = ('<Relationship Id="rId90" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
           'customXml" Target="../customXml/item1.xml"/></Relationships>')
    props = (b'<?xml version="1.0" encoding="UTF-8" standalone="no"?><ds:datastoreItem ds:itemID='
             b'"{6E2F7C3D-2E43-4C52-9D4A-4D4A0D2B8C11}" xmlns:ds="http://schemas.openxmlformats.org/officeDocument/'
             b'2006/customXml"><ds:schemaRefs/></ds:datastoreItem>')
    item_rels = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
                 b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                 b'openxmlformats.org/officeDocument/2006/relationships/customXmlProps" Target="itemProps1.xml"/>'
                 b"</Relationships>")
    types = sub(r"</Types>", '<Override PartName="/customXml/itemProps1.xml" ContentType="application/'
                             'vnd.openxmlformats-officedocument.customXmlProperties+xml"/></Types>')
    variant(p, replace={"xl/_rels/workbook.xml.rels": sub(r"</Relationships>", rel), "[Content_Types].xml": types},
            add=[("customXml/item1.xml", b"\xff\xfe" + CUSTOM_XML.encode("utf-16-le")),
                 ("customXml/itemProps1.xml", props), ("customXml/_rels/item1.xml.rels", item_rels)])


def _jpeg_with_doctype() -> bytes:
    """A small JPEG-shaped file whose XMP metadata (APP1) carries a DOCTYPE."""
    xmp = (b'http://ns.adobe.com/xap/1.0/\x00<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
           b'<!DOCTYPE x:xmpmeta [<!ENTITY ns "http://ns.adobe.com/xap/1.0/">]>'
           b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
           b'</x:xmpmeta><?xpacket end="w"?>')
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    body = bytes(range(256)) * 8
    return (b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", len(jfif) + 2) + jfif
            + b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
            + body + b"\xff\xd9")


def a_jpeg_with_doctype(p: Path) -> None:
    """A picture on the form (drawing, its relationships, xl/media/image1.jpeg) whose metadata
    holds '<!DOCTYPE': the reader never parses a picture or a drawing."""
    drawing = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><xdr:wsDr xmlns:xdr="http://schemas.'
               b'openxmlformats.org/drawingml/2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/'
               b'drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
               b'<xdr:oneCellAnchor><xdr:from><xdr:col>4</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>0</xdr:row>'
               b'<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="952500" cy="952500"/><xdr:pic><xdr:nvPicPr>'
               b'<xdr:cNvPr id="2" name="Picture 1"/><xdr:cNvPicPr/></xdr:nvPicPr><xdr:blipFill><a:blip r:embed="rId1"/>'
               b'<a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr><a:prstGeom prst="rect"><a:avLst/>'
               b"</a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>")

    def rels(rid: str, typ: str, target: str) -> bytes:
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
                f'openxmlformats.org/package/2006/relationships"><Relationship Id="{rid}" Type="http://schemas.'
                f'openxmlformats.org/officeDocument/2006/relationships/{typ}" Target="{target}"/></Relationships>'
                ).encode()

    types = sub(r"</Types>", '<Default Extension="jpeg" ContentType="image/jpeg"/><Override PartName="/xl/drawings/'
                             'drawing1.xml" ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/>'
                             "</Types>")
    variant(p, replace={SHEET: sub(r"</worksheet>", '<drawing r:id="rId1"/></worksheet>'), "[Content_Types].xml": types},
            add=[("xl/worksheets/_rels/sheet1.xml.rels", rels("rId1", "drawing", "../drawings/drawing1.xml")),
                 ("xl/drawings/drawing1.xml", drawing),
                 ("xl/drawings/_rels/drawing1.xml.rels", rels("rId1", "image", "../media/image1.jpeg")),
                 ("xl/media/image1.jpeg", _jpeg_with_doctype())])


def a_comments(p: Path) -> None:
    """Comments holding markup, as generators leave them: a commented-out cell far away, an
    unescaped '<', a '--' inside (allowed by the reader), and comments in the shared strings and
    the workbook."""
    def sheet(data: bytes) -> bytes:
        data = data.replace(b"<sheetData>", b'<!-- generated -- do not edit --><sheetData>'
                                            b'<!-- <row r="1048576"><c r="XFD1048576"><v>1</v></c></row> -->', 1)
        return data.replace(b'<row r="3" ', b'<!-- a < b, "quoted\' --><row r="3" ', 1)
    variant(p, replace={SHEET: sheet,
                        SST: sub(r"(<sst [^>]*>)", r'\1<!-- <si><t>x</t></si> <sst uniqueCount="4000000000"> -->'),
                        WORKBOOK: sub(r"<sheets>", '<!-- <sheet name="x" sheetId="9" r:id="rId9"/> --><sheets>')})


def a_cdata_and_pi(p: Path) -> None:
    """A shared string written as CDATA, a CDATA section and processing instructions holding
    markup characters (report generators write these)."""
    def sheet(data: bytes) -> bytes:
        data = data.replace(b'<row r="3" ', b'<![CDATA[ a < b, <c r="XFD1048576"> ]]><row r="3" ', 1)
        return data.replace(b"<sheetData>", b'<?report-generator version="2.1" note="<auto> \'?><sheetData>', 1)
    variant(p, replace={SHEET: sheet, SST: sub(r"<si><t>项目性质</t></si>", "<si><t><![CDATA[项目性质]]></t></si>"),
                        WORKBOOK: sub(r"(<workbook )", r'<?mso-application progid="Excel.Sheet"?>\1')})


ACCEPTED: list[Accepted] = [
    Accepted("genuine_renamed.xls", "a genuine .xlsx named .xls", a_renamed, "read: Cfb error: Invalid OLE …"),
    Accepted("genuine_renamed.xlsb", "a genuine .xlsx named .xlsb", a_renamed, "read: File not found: 'xl/workbook.bin'"),
    Accepted("genuine_renamed.ods", "a genuine .xlsx named .ods", a_renamed, "read: 'mimetype' file not found"),
    Accepted("dimension_stale.xlsx", "a <dimension> (A1:C5) smaller than the data", a_dimension_stale, "file-malformed"),
    Accepted("dimension_one_cell.xlsx", 'a <dimension ref="A1"/> on a full sheet', a_dimension_one_cell,
             "file-malformed"),
    Accepted("empty_member_no_data.xlsx", "an empty deflated member with no data (compress_size 0)",
             a_empty_member_no_data, "file-corrupt"),
    Accepted("empty_member_empty_stream.xlsx", "an empty deflated member, 2-byte stream", a_empty_member_empty_stream,
             "accepted already"),
    Accepted("customxml_utf16.xlsx", "customXml/item1.xml in UTF-16, linked from the workbook", a_customxml_utf16,
             "file-malformed (UTF-16)"),
    Accepted("jpeg_with_doctype.xlsx", "a picture whose metadata holds <!DOCTYPE", a_jpeg_with_doctype,
             "file-xml-dtd"),
    Accepted("comments_with_markup.xlsx", "XML comments holding markup in the sheet, strings and workbook",
             a_comments, "file-extent / file-malformed"),
    Accepted("cdata_and_pi.xlsx", "CDATA sections and processing instructions holding markup", a_cdata_and_pi,
             "file-malformed"),
]


def build_accepted(out: Path) -> dict[str, Accepted]:
    out.mkdir(parents=True, exist_ok=True)
    for case in ACCEPTED:
        case.build(out / case.name)
    return {case.name: case for case in ACCEPTED}


def build(out: Path, *, libreoffice: bool | None = None) -> dict[str, Case]:
    """Write every case into ``out``; LibreOffice-made cases only when LibreOffice is there."""
    out.mkdir(parents=True, exist_ok=True)
    built: dict[str, Case] = {}
    lo_cases = []
    for case in CASES:
        if case.needs == "libreoffice":
            lo_cases.append(case)
            continue
        case.build(out / case.name)
        built[case.name] = case
    if lo_cases and (libreoffice if libreoffice is not None else libreoffice_available()):
        errors = build_with_libreoffice(out, lo_cases)
        for case in lo_cases:
            if not errors.get(case.name) and (out / case.name).exists():
                built[case.name] = case
    return built


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    out = Path(argv[1])
    for name, case in build(out).items():
        size = (out / name).stat().st_size
        print(f"{name:40s} {size:>10,d}  {'/'.join(case.rules):24s} {case.what}")
    for name, case in build_accepted(out / "accepted").items():
        size = (out / "accepted" / name).stat().st_size
        print(f"accepted/{name:31s} {size:>10,d}  {'(read as the sample)':24s} {case.what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
