"""退回 copies (`validate --annotate`): marks exactly at the finding cells, the 审核意见 sheet, what
survives openpyxl's load/save, the fixed copy reading like a fresh fill, and the CLI's rules
(inputs untouched, nothing replaced without --force, no copy for a PDF/text or a clean file)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from helpers import ROOT, SPEC, TABLE, fill_like_person, valid_form

from xltools.annotate import annotate_bytes, annotate_report, load_config
from xltools.errors import OutputError
from xltools.layout import DEFAULT_ROW
from xltools.rules import Finding
from xltools.template import template_bytes
from xltools.validate import validate_paths

SHEET = SPEC.sheet
REVIEW = load_config().sheet
# (fill, font) as openpyxl reports them: SEVERITY_COLOURS written out by hand.
RED, YELLOW, BLUE = "FFFFC7CE", "FFFFD966", "FFD9E1F2"
MSG_NATURE = "「项目性质」的值「临时项目」不在可选范围内，请从下拉列表中选择：经常性项目、其他经常性项目、一次性项目、跨年度项目。"
MSG_ASCII = "指标值「<=0(次)」使用了半角运算符「<=」，请改为「≤」。"
MSG_COUNT = "「活动次数」按「次」计数，指标值「<=0(次)」要求小于等于0，计数不可能为负；如要求为零请写 =0(次)。"
MSG_EMPTY = "三级指标「验收合格率」的指标值为空，请填写，如 ≥10.00(人)、=100.00(%) 或 及时。"
MSG_SATIS = "满意度指标「居民满意度」的指标值「满意」无法衡量，请写成百分比，如 ≥90.00(%)。"
MSG_TIME = ("时效指标「完成时限」的指标值只写了「及时」，没有完成时限或比率；建议写明时限（如 6月30日前）或及时率"
            "（如 ≥95.00(%)）。")
# The defective fill's findings, by hand: the cell, its fill, and its comment (most severe first).
EXPECTED = {
    "D3": (RED, [f"[错误] {MSG_NATURE} (not-in-list)"]),
    "E13": (RED, [f"[错误] {MSG_COUNT} (count-nonpositive)", f"[警告] {MSG_ASCII} (ascii-operator)"]),
    "E14": (RED, [f"[错误] {MSG_EMPTY} (value-empty)"]),
    "E16": (YELLOW, [f"[警告] {MSG_SATIS} (satisfaction-unmeasurable)"]),
    "E17": (BLUE, [f"[提示] {MSG_TIME} (timeliness-vague)"]),
}


def defective() -> dict:
    form = valid_form(项目性质="临时项目")
    rows = form["绩效指标"]
    rows[0]["指标值"] = "<=0(次)"      # ascii-operator (warning) + count-nonpositive (error) in one cell
    rows[1]["指标值"] = None            # value-empty
    rows[3]["指标值"] = "满意"          # satisfaction-unmeasurable
    rows[4]["指标值"] = "及时"          # timeliness-vague (info)
    return form


@pytest.fixture(scope="module")
def blank() -> bytes:
    return template_bytes(SPEC)[0]


@pytest.fixture()
def bad(tmp_path, blank) -> Path:
    (tmp_path / "收回").mkdir()
    return fill_like_person(blank, defective(), tmp_path / "收回" / "申报表.xlsx")


@pytest.fixture()
def annotated(tmp_path, bad) -> tuple[Path, Path, object]:
    report = validate_paths([bad])
    result = annotate_report(report, [bad], tmp_path / "退回")
    assert [(f, p.relative_to(tmp_path)) for f, p in result.made] == [(str(bad), Path("退回/申报表.xlsx"))]
    return bad, result.made[0][1], report


def run(*args, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XLTOOLS_JOBS="1")
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=cwd or ROOT, timeout=120)


def read_json(path: Path) -> list:
    proc = run("read", path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# --- the marks ---------------------------------------------------------------------------------


def test_fills_and_comments_exactly_at_the_finding_cells(annotated):
    src, copy, _ = annotated
    before = openpyxl.load_workbook(src)[SHEET]
    ws = openpyxl.load_workbook(copy)[SHEET]
    got = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.comment is not None:
                got[cell.coordinate] = (cell.fill.fgColor.rgb, cell.comment.text.split("\n"))
            else:   # an unmarked cell keeps its look
                old = before[cell.coordinate]
                assert (cell.fill.fill_type, cell.fill.fgColor.rgb) == (old.fill.fill_type, old.fill.fgColor.rgb), \
                    cell.coordinate
    assert got == EXPECTED
    assert ws["D3"].fill.fill_type == "solid" and ws["D3"].font.color.rgb == "FF9C0006"
    assert ws["E16"].font.color.rgb == "FF7F6000" and ws["E17"].font.color.rgb == "FF1F3864"


def test_a_finding_without_a_cell_is_only_on_the_review_sheet(tmp_path, bad):
    report = validate_paths([bad])
    whole = Finding(str(bad), SHEET, None, "warning", "layout-mixed", "整张表的问题。")
    report.findings.append(whole)
    data, _ = annotate_bytes(bad, [f for f in report.findings if f.file == str(bad)], report.summaries())
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert {c.coordinate for row in wb[SHEET].iter_rows() for c in row if c.comment} == set(EXPECTED)
    rows = review_rows(wb[REVIEW])
    assert ("警告", SHEET, "layout-mixed", "整张表的问题。") in [r[:4] for r in rows]
    assert next(r for r in rows if r[2] == "layout-mixed")[4] is None   # no hyperlink


def review_rows(ws) -> list[tuple]:
    """The findings table of the review sheet: (级别, 位置, 规则, 说明, hyperlink location)."""
    headers = load_config().headers
    start = next(r for r in range(1, ws.max_row + 1) if [ws.cell(r, c).value for c in range(1, 5)] == headers)
    out = []
    for r in range(start + 1, ws.max_row + 1):
        values = [ws.cell(r, c).value for c in range(1, 5)]
        if values[1] is None:
            break
        link = ws.cell(r, 2).hyperlink
        out.append((*values, link.location if link is not None else None))
    return out


def test_the_review_sheet_lists_the_findings_with_links(annotated):
    _, copy, report = annotated
    wb = openpyxl.load_workbook(copy)
    assert wb.sheetnames[0] == REVIEW and wb.active.title == REVIEW
    ws = wb[REVIEW]
    assert ws.sheet_state == "visible" and ws.protection.sheet
    assert [s.title for s in wb.worksheets if s.sheet_view.tabSelected] == [REVIEW]   # no grouped sheets
    expected = [  # errors first, then warnings, then infos; report order within a severity
        ("错误", f"{SHEET}!D3", "not-in-list", MSG_NATURE, f"'{SHEET}'!D3"),
        ("错误", f"{SHEET}!E13", "count-nonpositive", MSG_COUNT, f"'{SHEET}'!E13"),
        ("错误", f"{SHEET}!E14", "value-empty", MSG_EMPTY, f"'{SHEET}'!E14"),
        ("警告", f"{SHEET}!E13", "ascii-operator", MSG_ASCII, f"'{SHEET}'!E13"),
        ("警告", f"{SHEET}!E16", "satisfaction-unmeasurable", MSG_SATIS, f"'{SHEET}'!E16"),
        ("提示", f"{SHEET}!E17", "timeliness-vague", MSG_TIME, f"'{SHEET}'!E17"),
    ]
    assert review_rows(ws) == expected
    assert len(report.findings) == len(expected)
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert "差" in text and "错误 3 条，警告 2 条，提示 1 条" in text   # the 审核结论 from report.summaries()
    assert "保持原文件名发回" in text and "填报说明" in text and "红色为错误" in text
    # severity cells coloured; long messages on taller rows; print setup
    start = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "错误")
    assert ws.cell(start, 1).fill.fgColor.rgb == RED
    assert ws.row_dimensions[start].height > DEFAULT_ROW      # a message of two lines or more
    assert ws.cell(start, 4).alignment.wrap_text
    assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.fitToWidth == 1   # A4, one page wide
    assert ws.sheet_properties.pageSetUpPr.fitToPage


def test_accepted_findings_are_not_marked(tmp_path, bad):
    report = validate_paths([bad])
    satis = next(f for f in report.findings if f.rule == "satisfaction-unmeasurable")
    report.findings.remove(satis)
    report.accepted = [SimpleNamespace(finding=satis, note="满意度调查尚未开展")]
    result = annotate_report(report, [bad], tmp_path / "退回")
    wb = openpyxl.load_workbook(result.made[0][1])
    marked = {c.coordinate for row in wb[SHEET].iter_rows() for c in row if c.comment}
    assert marked == set(EXPECTED) - {"E16"}
    assert wb[SHEET]["E16"].fill.fgColor.rgb != YELLOW
    assert all(r[2] != "satisfaction-unmeasurable" for r in review_rows(wb[REVIEW]))
    text = "\n".join(str(c.value) for row in wb[REVIEW].iter_rows() for c in row if c.value)
    assert "另有 1 条警告已按单位的说明确认" in text


# --- what survives openpyxl --------------------------------------------------------------------


def _dv(ws):
    return sorted((str(d.sqref), d.type, d.formula1, d.formula2, d.allow_blank, d.showErrorMessage, d.error)
                  for d in ws.data_validations.dataValidation)


def _cf(ws):
    return sorted((str(rng.sqref), r.type, tuple(r.formula or ()), r.priority, r.stopIfTrue)
                  for rng in ws.conditional_formatting for r in rng.rules)


def _locks(ws):
    return {c.coordinate: (c.protection.locked, c.protection.hidden) for row in ws.iter_rows() for c in row}


def test_protection_validations_formats_names_and_print_setup_survive(annotated):
    src, copy, _ = annotated
    a, b = openpyxl.load_workbook(src), openpyxl.load_workbook(copy)
    wa, wb_ = a[SHEET], b[SHEET]
    assert wb_.protection.sheet and vars(wa.protection) == vars(wb_.protection)
    assert _locks(wa) == _locks(wb_)
    unlocked = [k for k, (locked, _) in _locks(wb_).items() if not locked]
    assert set(EXPECTED) <= set(unlocked)     # the marked cells can still be typed into
    assert _dv(wa) == _dv(wb_) and len(_dv(wb_)) > 5
    assert _cf(wa) == _cf(wb_) and _cf(wb_)
    assert sorted(a.defined_names) == sorted(b.defined_names) and len(b.defined_names) >= 4
    for name in a.defined_names:
        assert a.defined_names[name].attr_text == b.defined_names[name].attr_text
    assert b.security.lockStructure
    assert {k: v.width for k, v in wa.column_dimensions.items()} == {k: v.width for k, v in wb_.column_dimensions.items()}
    assert {k: v.height for k, v in wa.row_dimensions.items()} == {k: v.height for k, v in wb_.row_dimensions.items()}
    assert wa.print_area == wb_.print_area and wa.print_title_rows == wb_.print_title_rows
    for attr in ("paperSize", "orientation", "fitToWidth", "fitToHeight"):
        assert getattr(wa.page_setup, attr) == getattr(wb_.page_setup, attr), attr
    assert wb_.sheet_properties.pageSetUpPr.fitToPage == wa.sheet_properties.pageSetUpPr.fitToPage
    assert vars(wa.page_margins) == vars(wb_.page_margins)
    assert sorted(map(str, wa.merged_cells.ranges)) == sorted(map(str, wb_.merged_cells.ranges))
    # the metadata: still very hidden, unchanged, plus the name of the review sheet
    meta_a = [(r[0].value, r[1].value) for r in a["_xltools"].iter_rows() if r[0].value]
    meta_b = [(r[0].value, r[1].value) for r in b["_xltools"].iter_rows() if r[0].value]
    assert b["_xltools"].sheet_state == "veryHidden" and b["_lists"].sheet_state == "hidden"
    assert meta_b[:-1] == meta_a + [("annotations", REVIEW)] and meta_b[-1][0] == "annotated_cells"
    assert json.loads(meta_b[-1][1])["申报表!D3"] == ["solid", "rgb:FFFFF2CC", "theme:1", None, None]   # the input yellow


def test_an_x14_extension_lost_on_save_is_named(tmp_path, bad):
    with zipfile.ZipFile(bad) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    ext = (b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
           b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
           b'<x14:dataValidations count="0" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"/>'
           b'</ext></extLst></worksheet>')
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b"</worksheet>", ext)
    x14 = tmp_path / "x14" / "申报表.xlsx"
    x14.parent.mkdir()
    with zipfile.ZipFile(x14, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    report = validate_paths([x14])
    result = annotate_report(report, [x14], tmp_path / "退回")
    assert [(p.name, what) for p, what in result.lost] == [("申报表.xlsx", "数据验证扩展")]


# --- the reader ignores the annotations; a fixed copy is a fresh submission ----------------------


def test_a_fixed_copy_validates_clean_and_reads_like_a_fresh_fill(tmp_path, annotated, blank):
    _, copy, _ = annotated
    good = valid_form()
    want = {f.ref: good_value for f in SPEC.inputs if (good_value := _get(good, f.path)) is not None}
    for i, row in enumerate(good["绩效指标"]):
        for c in TABLE.columns:
            want[TABLE.cell(i, c.key)] = row.get(c.key)
    # a program does what staff do: the flagged cells (found by their comments), typed in place
    wb = openpyxl.load_workbook(copy)
    ws = wb[SHEET]
    flagged = [c for row in ws.iter_rows() for c in row if c.comment is not None]
    assert sorted(c.coordinate for c in flagged) == sorted(EXPECTED)
    for cell in flagged:
        assert not cell.protection.locked, cell.coordinate
        cell.value = want[cell.coordinate]
        if isinstance(cell.value, str):
            cell.data_type = "s"   # typed into a text cell: "=100.00(%)" stays text, as in Excel
    fixed = tmp_path / "发回" / "申报表.xlsx"
    fixed.parent.mkdir()
    wb.save(fixed)
    report = validate_paths([fixed])
    assert report.findings == [] and report.exit_code == 0
    fresh = fill_like_person(blank, good, tmp_path / "fresh.xlsx")
    assert read_json(fixed) == read_json(fresh)


def _get(data: dict, path: tuple):
    for p in path:
        data = (data or {}).get(p)
    return data


@pytest.mark.parametrize("sample", ["jiuliting-2026/02_党群综合服务.xlsx", "jiangchuan-2026/原表",
                                    "zhongshan-2024/自评表/02_文体事务管理.xlsx", "jiuting-2023/02_党建工作及党群站点.xlsx"])
def test_every_kind_annotated_reads_as_before(tmp_path, sample):
    """申报表, 单位整体表, 自评表 and the 2023 layout: marks at the findings, the same `read` JSON."""
    src = ROOT / "samples" / sample
    report = validate_paths([src])
    result = annotate_report(report, [src], tmp_path / "退回")
    assert len(result.made) == len(report.files) == 1 and report.findings
    _, copy = result.made[0]
    wb = openpyxl.load_workbook(copy)
    sheet = report.forms[0].sheet
    marked = {f"{sheet}!{c.coordinate}" for row in wb[sheet].iter_rows() for c in row if c.comment}
    assert marked == {f"{f.sheet}!{f.cell}" for f in report.findings if f.cell}
    assert len(review_rows(wb[REVIEW])) == len(report.findings)
    assert read_json(copy) == read_json(report.files[0] if Path(report.files[0]).is_file() else src)
    again = validate_paths([copy])
    assert [(f.cell, f.rule, f.message) for f in again.findings] == [(f.cell, f.rule, f.message) for f in report.findings]


# --- the command line ----------------------------------------------------------------------------


def test_cli_writes_copies_leaves_inputs_alone_and_refuses_to_replace(tmp_path, bad, blank):
    folder = bad.parent
    fill_like_person(blank, valid_form(), folder / "好的.xlsx")
    shutil.copy(ROOT / "samples" / "source" / "000_jiuliting_2026.txt", folder / "公开的.txt")
    stat = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    out = tmp_path / "退回"
    proc = run("validate", folder, "--annotate", out)
    assert proc.returncode == 1, proc.stderr          # the defective form has errors
    assert proc.stdout.splitlines() == [str(out / "申报表.xlsx")]
    assert sorted(p.name for p in out.iterdir()) == ["申报表.xlsx"]
    assert "公开的.txt：不是 Excel 工作簿" in proc.stderr and "无法生成退回文件" in proc.stderr
    assert f"已生成 1 份退回文件到 {out}{os.sep}；1 份没有问题，不需退回，1 份无法生成（见上）。" in proc.stderr
    assert "[错误] 申报表!D3" in proc.stderr            # the report itself went to stderr
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == stat
    made = (out / "申报表.xlsx").stat().st_mtime_ns
    again = run("validate", folder, "--annotate", out)
    assert again.returncode == 2 and "已存在" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr and (out / "申报表.xlsx").stat().st_mtime_ns == made
    forced = run("validate", folder, "--annotate", out, "--force")
    assert forced.returncode == 1 and forced.stdout.splitlines() == [str(out / "申报表.xlsx")]
    into = run("validate", folder, "--annotate", folder, "--force")   # over the inputs: never
    assert into.returncode == 2 and "不能是输入文件" in into.stderr
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == stat
    assert not list(out.glob(".*.tmp")) and not list(folder.glob(".*.tmp"))


def test_cli_mirrors_sub_folders_and_names_a_pdf(tmp_path, blank):
    for unit in ("东社区", "西社区"):
        (tmp_path / "收回" / unit).mkdir(parents=True)
        fill_like_person(blank, defective(), tmp_path / "收回" / unit / "申报表.xlsx")
    (tmp_path / "收回" / "西社区" / "扫描件.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    out = tmp_path / "退回"
    proc = run("validate", "收回", "--annotate", "退回", cwd=tmp_path)
    assert sorted(Path(p) for p in proc.stdout.splitlines()) == [Path("退回/东社区/申报表.xlsx"),
                                                                  Path("退回/西社区/申报表.xlsx")]
    assert (out / "东社区" / "申报表.xlsx").is_file() and (out / "西社区" / "申报表.xlsx").is_file()
    assert "扫描件.pdf：PDF 无法生成退回文件，请通知单位用下发的 Excel 模板填写后重新报送。" in proc.stderr
    as_json = run("validate", "收回", "--annotate", "退回", "--force", "--format", "json", cwd=tmp_path)
    assert {Path(f["file"]).name for f in json.loads(as_json.stdout)["findings"]} == {"申报表.xlsx", "扫描件.pdf"}
    assert str(Path("退回/东社区/申报表.xlsx")) in as_json.stderr.splitlines()   # the copies: on stderr then
    # two folders given: each mirrored below their common parent
    both = run("validate", "收回/东社区", "收回/西社区/申报表.xlsx", "--annotate", "退回2", cwd=tmp_path)
    assert sorted(Path(p) for p in both.stdout.splitlines()) == [Path("退回2/东社区/申报表.xlsx"),
                                                                 Path("退回2/西社区/申报表.xlsx")]


def test_cli_annotate_onto_a_file_is_a_usage_error(tmp_path, bad):
    (tmp_path / "退回").write_text("x", "utf-8")
    proc = run("validate", bad, "--annotate", tmp_path / "退回")
    assert proc.returncode == 2 and "不是文件夹" in proc.stderr and "Traceback" not in proc.stderr


def test_the_reader_skips_the_sheet_the_metadata_names_whatever_it_holds(tmp_path, annotated):
    """The review sheet is passed over by its name in the copy's metadata, not by luck: even a
    sheet there holding a whole form (here: a copy of the form sheet) is not read."""
    from xltools.read import read_workbook

    src, copy, _ = annotated
    wb = openpyxl.load_workbook(copy)
    del wb[REVIEW]
    clone = wb.copy_worksheet(wb[SHEET])
    clone.title = REVIEW
    wb.move_sheet(REVIEW, -(len(wb.sheetnames) - 1))
    odd = tmp_path / "odd.xlsx"
    wb.save(odd)
    assert [f.sheet for f in read_workbook(odd).forms] == [SHEET]
    assert read_json(odd) == read_json(src)


def test_the_api_refuses_to_replace_a_copy_or_write_over_an_input(tmp_path, annotated):
    src, copy, report = annotated
    before = copy.read_bytes()
    with pytest.raises(OutputError, match="已存在"):
        annotate_report(report, [src], copy.parent)
    with pytest.raises(OutputError, match="不能是输入文件"):
        annotate_report(report, [src], src.parent, force=True)
    assert copy.read_bytes() == before
    assert annotate_report(report, [src], copy.parent, force=True).made == [(str(src), copy)]


def test_a_copy_annotated_again_loses_the_old_marks(tmp_path, annotated):
    """A 退回 copy sent back with problems left: the fixed cell looks as in the template again,
    the rest are marked anew, one review sheet."""
    src, copy, _ = annotated
    before = openpyxl.load_workbook(src)[SHEET]
    wb = openpyxl.load_workbook(copy)
    wb[SHEET]["D3"].value = "经常性项目"     # fixed; the rest left as they were
    back = tmp_path / "发回" / "申报表.xlsx"
    back.parent.mkdir()
    wb.save(back)
    report = validate_paths([back])
    again = annotate_report(report, [back], tmp_path / "第二次退回").made[0][1]
    wb2 = openpyxl.load_workbook(again)
    ws = wb2[SHEET]
    assert {c.coordinate: c.fill.fgColor.rgb for row in ws.iter_rows() for c in row if c.comment} == {
        k: fill for k, (fill, _) in EXPECTED.items() if k != "D3"}
    d3, was = ws["D3"], before["D3"]
    assert (d3.fill.fill_type, d3.fill.fgColor.rgb, d3.font.color.theme) == (
        was.fill.fill_type, was.fill.fgColor.rgb, was.font.color.theme)
    assert wb2.sheetnames.count(REVIEW) == 1 and wb2.sheetnames[0] == REVIEW
    assert len(review_rows(wb2[REVIEW])) == len(EXPECTED) and "D3" not in str(review_rows(wb2[REVIEW]))


def test_a_summary_gets_no_copy(tmp_path):
    merged = tmp_path / "汇总表.xlsx"
    assert run("merge", ROOT / "samples" / "jiuliting-2026", "-o", merged).returncode == 0
    proc = run("validate", merged, "--annotate", tmp_path / "退回")
    assert "汇总表" in proc.stderr and "不生成退回文件" in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "退回").exists() or not any((tmp_path / "退回").iterdir())


def test_a_workbook_not_made_by_xltools_is_annotated_and_read_as_before(tmp_path, bad):
    """A form typed into another workbook (no metadata: read by its labels) gets the marks, a
    metadata sheet of its own naming the review sheet, and reads as before; annotated again, the
    old review sheet and marks go."""
    wb = openpyxl.load_workbook(bad)
    for name in ("_xltools", "_lists"):
        del wb[name]
    foreign = tmp_path / "别处" / "申报表.xlsx"
    foreign.parent.mkdir()
    wb.save(foreign)
    report = validate_paths([foreign])
    assert {f.cell for f in report.findings} == set(EXPECTED)
    copy = annotate_report(report, [foreign], tmp_path / "退回").made[0][1]
    wb = openpyxl.load_workbook(copy)
    assert wb.sheetnames == [REVIEW, SHEET, "_xltools"] and wb["_xltools"].sheet_state == "veryHidden"
    assert {c.coordinate for row in wb[SHEET].iter_rows() for c in row if c.comment} == set(EXPECTED)
    assert read_json(copy) == read_json(foreign)
    report2 = validate_paths([copy])
    assert [(f.cell, f.rule) for f in report2.findings] == [(f.cell, f.rule) for f in report.findings]
    twice = annotate_report(report2, [copy], tmp_path / "又退回").made[0][1]
    assert openpyxl.load_workbook(twice).sheetnames == [REVIEW, SHEET, "_xltools"]
