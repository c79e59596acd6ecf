"""The reader opens what the pre-check vetted, whatever the file is called (issue 9, section 4).

* python-calamine is handed the vetted bytes, not the path: a genuine .xlsx named .xls, .xlsb
  or .ods reads as under its own name, and a file changed on disk after the check is not read;
* a package holding the parts another reader of calamine parses (.xlsb, .ods) is refused;
* the XML checks apply to what calamine's .xlsx reader parses — found from the relationships,
  not from folder names — and every part it opens gets them (checked against calamine itself:
  each member corrupted in turn); pictures, customXml and the like get the zip checks only;
* comments, CDATA and processing instructions are read as calamine's XML parser reads them:
  they hide nothing from the scanner that calamine sees;
* real files (stale <dimension>, comments, empty members, UTF-16 customXml, a picture whose
  metadata says DOCTYPE) are read exactly as the sample they were made from, also through the
  command line.
"""

from __future__ import annotations

import builtins
import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import corpus
import pytest
from hostile_util import RSS_LIMIT_MB, SAMPLES, TIME_LIMIT, run_many, sha256

from xltools import read as read_module
from xltools import safety
from xltools.errors import UnreadableFile
from xltools.read import ReadResult, read_one, read_workbook
from xltools.safety import Limits, precheck


def forms(path: Path) -> list[dict]:
    return [f.data for f in read_workbook(path).forms]


@pytest.fixture(scope="module")
def sample_forms() -> list[dict]:
    return forms(corpus.sample_path())


@pytest.fixture(scope="module")
def accepted(tmp_path_factory) -> tuple[Path, dict[str, corpus.Accepted]]:
    folder = tmp_path_factory.mktemp("accepted")
    return folder, corpus.build_accepted(folder)


def calamine_load(data: bytes) -> dict[str, list]:
    """What python-calamine reads from ``data``, as load_sheets asks it (every worksheet but
    the dropdown lists)."""
    import python_calamine as pc

    wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        return {m.name: wb.get_sheet_by_name(m.name).to_python(skip_empty_area=False)
                for m in wb.sheets_metadata if "WorkSheet" in str(m.typ) and m.name != "_lists"}
    finally:
        wb.close()


# ---------------------------------------------------------------------------------------------
# The vetted bytes, not the path


@pytest.mark.parametrize("suffix", [".xls", ".xlsb", ".ods", ".XLSX", ""])
def test_a_renamed_xlsx_reads_as_under_its_own_name(tmp_path, suffix):
    """python-calamine's from_path picks the reader by the suffix (``Cfb error: Invalid OLE``
    for .xls); the bytes handed over are read as the .xlsx the pre-check found."""
    src = SAMPLES / "01_编外人员工作经费.xlsx"
    own = tmp_path / "own.xlsx"
    shutil.copyfile(src, own)
    renamed = tmp_path / f"renamed{suffix}"
    shutil.copyfile(src, renamed)
    assert forms(renamed) == forms(own)
    res = read_one(renamed.name, renamed)
    assert isinstance(res, ReadResult), res


def test_the_bytes_parsed_are_the_bytes_vetted(tmp_path, monkeypatch):
    """The file replaced on disk right after the pre-check (another sample, a different form):
    what is read is still what was checked."""
    path = tmp_path / "申报表.xlsx"
    shutil.copyfile(SAMPLES / "01_编外人员工作经费.xlsx", path)
    other = sorted(SAMPLES.glob("*.xlsx"))[1].read_bytes()
    checked = read_module.precheck

    def check_then_swap(p, *a):
        out = checked(p, *a)
        Path(p).write_bytes(other)
        return out

    monkeypatch.setattr(read_module, "precheck", check_then_swap)
    got = read_workbook(path)
    monkeypatch.setattr(read_module, "precheck", checked)
    shutil.copyfile(SAMPLES / "01_编外人员工作经费.xlsx", path)
    assert [f.data for f in got.forms] == forms(path)


def test_the_file_is_opened_once(tmp_path, monkeypatch):
    """Even a package above 1 MiB (once scanned from a second handle) is read with one open."""
    path = tmp_path / "大.xlsx"
    blob = bytes(range(256)) * 6000   # 1.5 MiB, stored
    members = [corpus.member(n, d) for n, d in corpus.sample_members()]
    members.append(corpus.member("xl/media/image1.png", blob, zipfile.ZIP_STORED))
    corpus.write_zip(path, members)
    assert path.stat().st_size > 1 << 20
    opened = []
    real_open = builtins.open

    def counting_open(file, *a, **kw):
        if str(file) == str(path):
            opened.append(file)
        return real_open(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", counting_open)
    data = precheck(path)
    assert len(opened) == 1, opened
    assert data == path.read_bytes()


def test_a_second_name_in_a_local_header_is_refused(tmp_path):
    """The directory carries the Unicode Path field in the corpus case; here only the local
    header does."""
    path = tmp_path / "local.xlsx"
    corpus.b_unicode_path_alias(path, local_only=True)
    with zipfile.ZipFile(path) as zf:
        assert not zf.getinfo("xl/media/blob.bin").extra
    with pytest.raises(UnreadableFile) as exc:
        precheck(path)
    assert exc.value.rule == "file-malformed" and "本地文件头带有另一个文件名" in exc.value.message


# ---------------------------------------------------------------------------------------------
# Another reader


@pytest.mark.parametrize("build", [corpus.b_polyglot_xlsb, corpus.b_polyglot_ods], ids=["xlsb", "ods"])
def test_a_polyglot_would_be_parsed_by_another_reader(tmp_path, build):
    """Without the far cell the polyglots are harmless: calamine, handed the bytes, reads them
    with its .xlsb or .ods reader (a sheet "Sheet1" that the .xlsx parts do not have) — the
    pre-check refuses them all the same."""
    path = tmp_path / "polyglot.bin"
    build(path, far=False)
    assert "Sheet1" in calamine_load(path.read_bytes())
    with pytest.raises(UnreadableFile) as exc:
        precheck(path)
    assert exc.value.rule == "file-malformed" and "读取程序可能按另一种格式解析它" in exc.value.message


# What calamine's .xlsb reader (xl/sharedStrings.bin and xl/styles.bin even before it finds no
# workbook.bin) and .ods reader (mimetype, META-INF/manifest.xml, content.xml) open, spelt as
# calamine finds them too.
FOREIGN = ["xl/workbook.bin", "xl/sharedStrings.bin", "xl/styles.bin", "xl/_rels/workbook.bin.rels", "mimetype",
           "content.xml", "META-INF/manifest.xml", "XL/WORKBOOK.BIN", "xl\\workbook.bin", "MimeType"]


@pytest.mark.parametrize("name", FOREIGN)
def test_the_parts_of_another_format_are_refused(tmp_path, name):
    path = tmp_path / "x.xlsx"
    corpus.variant(path, add=[(name, b"application/vnd.oasis.opendocument.spreadsheet")])
    with pytest.raises(UnreadableFile) as exc:
        precheck(path)
    assert exc.value.rule == "file-malformed", exc.value.message
    assert name in exc.value.message


# ---------------------------------------------------------------------------------------------
# The parts calamine parses get the XML checks — all of them


def parsed_parts(path: Path, monkeypatch) -> set[str]:
    """The members the pre-check scanned as parsed by the reader."""
    seen: dict[str, bool] = {}
    scan = safety._scan_member

    def recording(fp, info, *a, parsed=True, **kw):
        seen[info.filename] = parsed
        return scan(fp, info, *a, parsed=parsed, **kw)

    monkeypatch.setattr(safety, "_scan_member", recording)
    monkeypatch.setattr(safety, "_PARTS", {})
    try:
        precheck(path)
    finally:
        monkeypatch.setattr(safety, "_scan_member", scan)
    return {name for name, parsed in seen.items() if parsed}


def _moved(folder: str) -> list[tuple[str, bytes]]:
    """The sample with its workbook in another folder (as _rels/.rels says), xl/workbook.xml kept."""
    out = []
    for name, data in corpus.sample_members():
        if name == "_rels/.rels":
            data = data.replace(b'Target="xl/workbook.xml"', f'Target="{folder}workbook.xml"'.encode())
        out.append((folder + name[3:] if name.startswith("xl/") else name, data))
    return out + [("xl/workbook.xml", dict(corpus.sample_members())[corpus.WORKBOOK])]


def _retarget(target: str) -> list[tuple[str, bytes]]:
    members = corpus.sample_members()
    return [(n, d.replace(b'Target="worksheets/sheet1.xml"', f'Target="{target}"'.encode())
             if n == "xl/_rels/workbook.xml.rels" else d) for n, d in members]


PACKAGES = {
    "sample": lambda: corpus.sample_members(),
    "folder_elsewhere": lambda: _moved("report/"),
    "folder_root": lambda: _moved(""),
    "names_upper_case": lambda: [(n.upper() if n.startswith("xl/") and n != corpus.WORKBOOK else n, d)
                                 for n, d in corpus.sample_members()],
    "sheet_absolute_target": lambda: _retarget("/xl/worksheets/sheet1.xml"),
    "sheet_in_customxml": lambda: [("customXml/item1.xml" if n == corpus.SHEET else n, d)
                                   for n, d in _retarget("/customXml/item1.xml")],
    "sheet_named_png": lambda: [("xl/media/image1.png" if n == corpus.SHEET else n, d)
                                for n, d in _retarget("media/image1.png")],
}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_part_calamine_opens_gets_the_xml_checks(tmp_path, monkeypatch, package):
    """Each member's data corrupted in turn: where calamine then fails to read the workbook, it
    opened that member — and the pre-check had scanned it as parsed."""
    members = PACKAGES[package]()
    path = tmp_path / f"{package}.xlsx"
    corpus.write_members(path, members)
    calamine_load(path.read_bytes())   # the package itself reads
    parsed = parsed_parts(path, monkeypatch)
    opened = set()
    for target, _ in members:
        broken = []
        for name, data in members:
            m = corpus.member(name, data)
            if name == target:
                m = corpus.Member(name, b"\xff" * 16 + m.payload, m.crc, m.size)
            broken.append(m)
        bad = tmp_path / "broken.xlsx"
        corpus.write_zip(bad, broken)
        try:
            calamine_load(bad.read_bytes())
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            opened.add(target)
    assert opened, "calamine opened nothing?"
    assert opened <= parsed, sorted(opened - parsed)
    # and not much more: the folder's four parts, the package relationships and the sheets
    assert len(parsed) <= len(opened) + 2, (sorted(parsed), sorted(opened))


def test_parts_calamine_never_parses_get_the_zip_checks_only(tmp_path, monkeypatch, accepted):
    folder, _ = accepted
    parsed = parsed_parts(folder / "jpeg_with_doctype.xlsx", monkeypatch)
    assert "xl/media/image1.jpeg" not in parsed and "xl/drawings/drawing1.xml" not in parsed
    assert "xl/worksheets/sheet1.xml" in parsed
    parsed = parsed_parts(folder / "customxml_utf16.xlsx", monkeypatch)
    assert not {n for n in parsed if n.startswith("customXml/")}, parsed
    # still inflated and CRC-checked
    path = tmp_path / "bad_crc.xlsx"
    members = [corpus.member(n, d) for n, d in corpus.sample_members()]
    image = corpus._jpeg_with_doctype()
    members.append(corpus.Member("xl/media/image1.jpeg", corpus.raw_deflate(image), 12345, len(image)))
    corpus.write_zip(path, members)
    with pytest.raises(UnreadableFile) as exc:
        precheck(path)
    assert exc.value.rule == "file-corrupt" and "CRC" in exc.value.message


# ---------------------------------------------------------------------------------------------
# Comments, CDATA, processing instructions: what the scanner sees is what calamine sees

FAR = '<row r="5000"><c r="A5000"><v>7</v></c></row>'
LIMITS = Limits(max_rows=1000)

# (markup put before </sheetData>, whether calamine reads the cell at row 5000 — or, True too,
# refuses the markup: then the pre-check may refuse it as well)
CONSTRUCTS = {
    "comment": (f"<!-- {FAR} -->", False),
    "comment_lt": (f"<!-- a < b {FAR} -->", False),
    "comment_open_close": (f"<!--> {FAR} -->", False),
    "comment_three_dashes": (f"<!---> {FAR} -->", False),
    "comment_double_dash": (f"<!-- a -- b {FAR} -->", False),
    "comment_gt_spaced": (f"<!-- x -- > {FAR} -->", False),
    "after_comment": (f"<!-- x -->{FAR}", True),
    "after_comment_dashes": (f"<!-- x --->{FAR}", True),
    "cdata": (f"<![CDATA[ {FAR} ]]>", False),
    "cdata_spaced_end": (f"<![CDATA[ ]] > {FAR} ]]>", False),
    "after_cdata": (f"<![CDATA[ x ]]>{FAR}", True),
    "pi": (f"<?x {FAR} ?>", False),
    "pi_quoted_end": (f'<?x a="?>"{FAR}"?>', True),
    "pi_empty": (f"<?>{FAR}", True),
    "after_pi": (f"<?x y?>{FAR}", True),
    "pi_minimal": (f"<??>{FAR}", True),
    "pi_empty_then_end": (f"<?>{FAR}?>", True),        # calamine: not closed (an error)
    "comment_minimal": (f"<!---->{FAR}", True),
    "cdata_minimal": (f"<![CDATA[]]>{FAR}", True),
    "bang_space": (f"<! -- x -->{FAR}", True),          # calamine: unknown markup (an error)
    "comment_inside_tag": ('<row r="5000" <!-- -->><c r="A5000"><v>7</v></c></row>', True),
    "comment_in_value": ('<row r="5000" a="<!--"><c r="A5000"><v>7</v></c></row><!-- -->', True),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_comments_hide_from_the_scanner_only_what_calamine_does_not_read(tmp_path, name):
    markup, visible = CONSTRUCTS[name]
    path = tmp_path / f"{name}.xlsx"
    corpus.variant(path, replace={corpus.SHEET: corpus.sub(r"</sheetData>", markup + "</sheetData>")})
    try:
        sheets = calamine_load(path.read_bytes())
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        sheets = None   # calamine refuses the markup
    sees = sheets is not None and len(sheets["申报表"]) >= 5000
    if sheets is not None:
        assert sees == visible, f"calamine {'reads' if sees else 'skips'} the cell"
    try:
        precheck(path, LIMITS)
        passed = True
    except UnreadableFile as exc:
        passed = False
        assert exc.rule in ("file-extent", "file-malformed"), exc.message
    if sees:
        assert not passed, "the pre-check passed a cell calamine reads"
    if not visible:
        assert passed, "a comment/CDATA/PI that calamine skips was refused"


def test_comments_by_the_hundred_thousand_are_refused_in_time(tmp_path):
    """Each comment is taken out by a step in Python: a sheet of 300,000 tiny ones is refused
    (like 200,000 cells without an address), not walked for seconds."""
    path = tmp_path / "注释.xlsx"
    comments = "".join(f"<!--{i * 7919 % 1000003}-->" for i in range(300_000))   # not too compressible
    corpus.variant(path, replace={corpus.SHEET: corpus.sub(r"</sheetData>", comments + "</sheetData>")})
    started = time.monotonic()
    with pytest.raises(UnreadableFile) as exc:
        precheck(path)
    assert exc.value.rule == "file-malformed" and "大量注释" in exc.value.message
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------------------------------------
# Real files


@pytest.mark.parametrize("name", [c.name for c in corpus.ACCEPTED])
def test_real_files_are_accepted_and_read_as_the_sample(accepted, sample_forms, name):
    folder, _ = accepted
    path = folder / name
    before = sha256(path)
    precheck(path)
    assert forms(path) == sample_forms
    res = read_one(name, path)
    assert isinstance(res, ReadResult), res
    assert sha256(path) == before


def test_a_dimension_far_beyond_the_data_counts_in_the_grid(tmp_path):
    """The risk of a <dimension> is a reader sizing its grid by it: one far larger than the data
    counts in the grid limit as cells there would (a smaller one is only stale)."""
    path = tmp_path / "大范围.xlsx"
    corpus.variant(path, replace={corpus.SHEET: corpus.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:CZ30000"/>')})
    with pytest.raises(UnreadableFile) as exc:
        precheck(path)
    assert exc.value.rule == "file-zip-bomb" and "单元格范围合计" in exc.value.message
    # Room for this one sheet's range and the other sheets' own (the hidden list sheet holds the
    # live 自查 cells: tens of thousands of cells), and no more than 1,000 cells besides.
    others = sum(_dimension_cells(zipfile.ZipFile(path).read(n)) for n in zipfile.ZipFile(path).namelist()
                 if n.startswith("xl/worksheets/sheet") and n != corpus.SHEET)
    precheck(path, Limits(max_grid=104 * 30000 + others + 1000))
    with pytest.raises(UnreadableFile):
        precheck(path, Limits(max_grid=104 * 30000 + others - 1))


def _dimension_cells(xml: bytes) -> int:
    """Rows × columns of a worksheet's <dimension ref="A1:AQ509"/>, counted here by hand."""
    import re

    ref = re.search(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"', xml)
    def col(letters: bytes) -> int:
        n = 0
        for ch in letters.decode():
            n = n * 26 + ord(ch) - 64
        return n
    c1, r1, c2, r2 = ref.group(1), int(ref.group(2)), ref.group(3) or ref.group(1), int(ref.group(4) or ref.group(2))
    return (col(c2) - col(c1) + 1) * (r2 - r1 + 1)


def test_a_member_without_data_must_be_declared_empty(tmp_path):
    """No compressed data is an empty member only when the directory says so (size 0, CRC 0)."""
    for size, crc, rule in ((100, 0, "file-corrupt"), (0, 1, "file-corrupt")):
        path = tmp_path / f"{size}_{crc}.xlsx"
        members = [corpus.member(n, d) for n, d in corpus.sample_members()]
        corpus.write_zip(path, members + [corpus.Member("docProps/custom.xml", b"", crc, size)])
        with pytest.raises(UnreadableFile) as exc:
            precheck(path)
        assert exc.value.rule == rule, exc.value.message


def test_real_files_through_the_command_line(accepted, tmp_path):
    """read, validate and merge: exit 0, the sample's data, within the limits of the hostile
    runs, the input unchanged."""
    folder, built = accepted
    before = {name: sha256(folder / name) for name in built}
    jobs = {("sample", "read"): ("read", str(corpus.sample_path()))}
    for name in built:
        path = str(folder / name)
        jobs[(name, "read")] = ("read", path)
        jobs[(name, "validate")] = ("validate", "--format", "json", path)
        jobs[(name, "merge")] = ("merge", path, "-o", str(tmp_path / name.replace(".", "_")))
    runs = run_many(jobs)
    want = json.loads(runs[("sample", "read")].out)
    for (name, command), run in runs.items():
        assert run.code == 0, run
        assert "Traceback" not in run.err, run
        assert run.seconds < TIME_LIMIT and run.rss_mb < RSS_LIMIT_MB, run
        if command == "read":
            assert json.loads(run.out) == want, name
        if command == "validate":
            assert [f for f in json.loads(run.out)["findings"] if f["severity"] == "error"] == [], run
    assert {name: sha256(folder / name) for name in built} == before
