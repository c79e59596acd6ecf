"""退回 copies: the unit's own workbook handed back with every finding marked where it is.

``xltools validate PATH... --annotate OUTDIR`` writes, for every input .xlsx with findings, a
copy into OUTDIR under the input's name (sub-folders mirrored from the deepest folder holding
every input, so two 申报表.xlsx from two folders never collide). In the copy each finding's cell
is filled with its severity's colour (:data:`xltools.rules.SEVERITY_COLOURS`; the most severe
wins) and carries a comment with the message(s); a new first sheet lists every finding (cell
as a hyperlink to it), the form's 审核结论 and what to do next. Its words are data
(``schemas/annotate.toml``); the copy's metadata records the sheet's name so the reader skips
it (``annotations``). The input is only read, never written; the copy is written atomically.

openpyxl loads and saves the workbook: what a template holds (sheet protection, unlocked
cells, data validations, conditional formats, defined names, the very-hidden metadata sheet,
column widths, print setup) survives; cached formula results do not (openpyxl keeps formulas,
not their values), which the reader never trusts anyway and Excel recomputes on opening
(``fullCalcOnLoad``). openpyxl drops Excel's x14 extensions (data validations or conditional
formats stored in ``extLst``): a copy whose input held any names them in
:attr:`AnnotateResult.lost`.
"""

from __future__ import annotations

import io
import json
import os
import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import Field

from .errors import ConfigError, UnreadableFile, UsageError
from .rules import ERROR, INFO, SEVERITIES, SEVERITY_COLOURS, SEVERITY_NAMES, WARNING, Finding
from .specschema import _Model, validate

CONFIG_FILE = "annotate.toml"
META_KEY = "annotations"   # the metadata row naming the review sheet (xltools/read.py skips it)
MARKS_KEY = "annotated_cells"   # and the one recording how each marked cell looked before
_A1 = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
_RANK = {ERROR: 0, WARNING: 1, INFO: 2}


class AnnotateFile(_Model):
    """``schemas/annotate.toml``: the words of the review sheet and the cell comments."""

    sheet: Annotated[str, Field(min_length=1, max_length=31, pattern=r"^[^\\/?*:\[\]']+$")]
    title: str
    comment_author: str = ""
    file: str
    profile: str
    conclusion: str
    counts: str
    findings: str
    headers: Annotated[list[str], Field(min_length=4, max_length=4)]
    whole_file: str
    accepted: str = ""
    next_title: str
    colour_names: dict[str, str] = {}
    steps: list[str] = []


def load_config() -> AnnotateFile:
    """The review sheet's words: the schemas folder in use, else the packaged file."""
    from .profiles import _dirs

    for d in _dirs():
        p = d / CONFIG_FILE
        if p.is_file():
            return _load(p.resolve())
    raise ConfigError(f"找不到 {CONFIG_FILE}（退回文件“审核意见”页的文字）", file=CONFIG_FILE)


@cache
def _load(path: Path) -> AnnotateFile:
    from .profiles import _problems_error
    from .spec import _parse

    m, problems = validate(AnnotateFile, _parse(path))
    if problems:
        raise _problems_error(path, problems, "退回文件设置")
    return m


@dataclass
class AnnotateResult:
    """What ``--annotate`` did: the copies written (input display name, copy), the files without
    findings, and each input that got no copy with the reason (a PDF, a text, an unreadable file,
    a 汇总表). ``lost``: copies whose input held extensions openpyxl drops (copy, what)."""

    made: list[tuple[str, Path]] = field(default_factory=list)
    clean: list[str] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)
    lost: list[tuple[Path, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Where each copy goes


def _targets(items: list[tuple[str, Path]], roots: list[Path], outdir: Path) -> dict[str, Path]:
    """display → the copy's path: the input's path below the deepest folder holding every given
    path (a given folder is its own root), mirrored into ``outdir``."""
    resolved = [r.resolve() for r in roots]
    try:
        base = Path(os.path.commonpath(resolved)) if resolved else None
    except ValueError:   # different drives (Windows): names only, collisions refused below
        base = None
    out: dict[str, Path] = {}
    for display, path in items:
        p = path.resolve()
        try:
            rel = p.relative_to(base) if base is not None else Path(p.name)
        except ValueError:
            rel = Path(p.name)
        out[display] = outdir / rel
    return out


def _kind_of(path: Path) -> str | None:
    """Why ``path`` can get no 退回 copy by its bytes (a PDF, a text), or None for a workbook."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return "无法读取，不能生成退回文件"
    if head.lstrip(b"\xef\xbb\xbf").lstrip()[:5] == b"%PDF-":
        return "PDF 无法生成退回文件，请通知单位用下发的 Excel 模板填写后重新报送"
    if not head.startswith(b"PK"):
        return "不是 Excel 工作簿（如 PDF 复制出的文本），无法生成退回文件，请通知单位用下发的 Excel 模板填写后重新报送"
    return None


# ---------------------------------------------------------------------------------------------
# The whole run


def annotate_report(report, paths: Iterable[str | Path], outdir: str | Path, *, force: bool = False) -> AnnotateResult:
    """Write the 退回 copy of every input workbook with findings in ``report`` (from
    :func:`xltools.validate.validate_paths` over ``paths``) into ``outdir``. Accepted findings
    (``report.accepted``) are not in ``report.findings`` and are not marked. Refuses
    (:class:`~xltools.errors.OutputError`, nothing written) to write over an input, even with
    ``force``, or over an existing file without ``force``."""
    from .fsutil import check_out_folder, check_targets
    from .read import expand_paths

    config = load_config()
    outdir = Path(outdir)
    check_out_folder(outdir)
    given = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    inputs = expand_paths(given)
    items = list(inputs)
    targets = _targets(items, [g if g.is_dir() else g.parent for g in given], outdir)
    source = dict(items)
    by_file: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    accepted: dict[str, int] = {}
    for a in getattr(report, "accepted", None) or []:
        f = getattr(a, "finding", a)
        accepted[f.file] = accepted.get(f.file, 0) + 1
    unreadable = {u.path for u in report.unreadable}
    summaries: dict[str, list[dict]] = {}
    for s in report.summaries():
        summaries.setdefault(s["file"], []).append(s)
    forms_in = Counter(form.file for form in report.forms)   # several: a 汇总表 given by name

    result = AnnotateResult()
    todo: list[tuple[str, Path, Path]] = []
    for file in report.files:
        if file not in source:
            continue   # an --against source or the like: not one of the inputs
        if not by_file.get(file):
            result.clean.append(file)
            continue
        why = _kind_of(source[file]) or ("无法读取，不能生成退回文件（原因见审核结果）" if file in unreadable else None)
        if why is None and forms_in[file] > 1:
            why = "是汇总表（含多个表单），不生成退回文件；请对各单位报送的原表审核"
        if why is not None:
            result.notices.append((file, why))
            continue
        todo.append((file, source[file], targets[file]))
    wanted = [t for _, _, t in todo]
    dupes = sorted(str(t) for t, n in Counter(wanted).items() if n > 1)
    if dupes:
        raise UsageError(f"多个输入文件会写到同一个退回文件：{'、'.join(dupes)}。请分别运行，或给出它们所在的文件夹。")
    check_targets(wanted, [p for _, p in items], force=force)

    from .fsutil import atomic_write_bytes

    for file, src, target in todo:
        try:
            data, lost = annotate_bytes(src, by_file[file], summaries.get(file, []), config=config,
                                        profile=report.profile, accepted=accepted.get(file, 0), name=Path(file).name)
        except NotAnnotatable as exc:
            result.notices.append((file, str(exc)))
            continue
        atomic_write_bytes(target, data)
        result.made.append((file, target))
        if lost:
            result.lost.append((target, lost))
    return result


# ---------------------------------------------------------------------------------------------
# One workbook


class NotAnnotatable(Exception):
    """The workbook cannot get a 退回 copy (a 汇总表 made by `xltools merge`); the message says why."""


def annotate_bytes(src: str | Path, findings: list[Finding], summaries: list[dict], *, config: AnnotateFile | None = None,
                   profile=None, accepted: int = 0, name: str | None = None) -> tuple[bytes, str]:
    """The 退回 copy of ``src`` with ``findings`` marked, as xlsx bytes, and what of the input
    openpyxl could not keep ("" when nothing). ``summaries``: the file's entries of
    :meth:`Report.summaries` (its forms' 审核结论).

    A workbook annotated before (a 退回 copy sent back with problems left) first loses the old
    marks: each marked cell gets back the fill, font colour and comment it had (recorded in the
    metadata), and the old review sheet goes; then the new findings are marked."""
    import openpyxl

    from .safety import precheck
    from .spec import META_SHEET

    config = config or load_config()
    try:
        data = precheck(src)   # the very bytes vetted, whatever happens to the file meanwhile
    except UnreadableFile as exc:
        raise NotAnnotatable(f"无法读取，不能生成退回文件（{exc.message}）") from exc
    lost = _extensions(data)
    try:
        with warnings.catch_warnings():   # "extension is not supported and will be removed": in ``lost``
            warnings.simplefilter("ignore", UserWarning)
            wb = openpyxl.load_workbook(io.BytesIO(data))
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:   # read by calamine, yet openpyxl cannot load it
        raise NotAnnotatable(f"openpyxl 无法打开这个工作簿（{type(exc).__name__}），不能生成退回文件；"
                             "请把审核结果另行告知单位") from exc
    meta = wb[META_SHEET] if META_SHEET in wb.sheetnames else None
    rows = {str(meta.cell(r, 1).value): r for r in range(1, meta.max_row + 1) if meta.cell(r, 1).value} if meta else {}
    if meta is not None and str(meta.cell(rows["role"], 2).value if "role" in rows else "") == "summary":
        raise NotAnnotatable("是汇总表（由 xltools merge 生成），不生成退回文件；请对各单位报送的原表审核")
    if META_KEY in rows:   # annotated before: back to the unit's own workbook first
        old = str(meta.cell(rows[META_KEY], 2).value or "")
        if old in wb.sheetnames:
            del wb[old]
        _restore(wb, meta.cell(rows[MARKS_KEY], 2).value if MARKS_KEY in rows else None)
    if meta is None:   # a workbook not made by xltools: a metadata sheet of its own says what we added
        meta = wb.create_sheet(META_SHEET)
        meta.sheet_state = "veryHidden"
        meta.protection.sheet = True
    sheet = config.sheet
    n = 2
    while sheet in wb.sheetnames:   # a sheet of the unit's own by that name: ours gets another
        sheet, n = f"{config.sheet[:29]}{n}", n + 1
    original = _mark_cells(wb, findings, config)
    ws = wb.create_sheet(sheet, 0)
    _review_sheet(ws, findings, summaries, config, profile, accepted, name or Path(src).name)
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    wb.active = 0
    marks = json.dumps(original, ensure_ascii=False, separators=(",", ":"))
    # a cell holds 32,767 characters: past that the old marks cannot be taken off next time
    for key, value in ((META_KEY, sheet), (MARKS_KEY, marks if len(marks) < 32_000 else "")):
        row = rows.get(key) or (max(rows.values(), default=0) + 1)
        rows[key] = row
        meta.cell(row, 1, key)
        meta.cell(row, 2, value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), lost


def _colour(c) -> str | None:
    """An openpyxl Color as short text: ``rgb:FFFFF2CC``, ``theme:1``, ``theme:1:-0.25``, ``indexed:64``."""
    kind = getattr(c, "type", None)
    if c is None or kind not in ("rgb", "theme", "indexed"):
        return None
    tint = getattr(c, "tint", 0.0) or 0.0
    return f"{kind}:{getattr(c, kind)}" + (f":{tint}" if tint else "")


def _make_colour(text):
    from openpyxl.styles.colors import Color

    kind, _, rest = str(text or "").partition(":")
    value, _, tint = rest.partition(":")
    if kind not in ("rgb", "theme", "indexed") or not value:
        return None
    try:
        return Color(**{kind: value if kind == "rgb" else int(value)}, tint=float(tint or 0))
    except (TypeError, ValueError):
        return None


def _restore(wb, recorded) -> None:
    """Put back what the cells marked last time looked like (see :func:`_mark_cells`)."""
    from copy import copy

    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    try:
        marks = json.loads(str(recorded)) if recorded else {}
    except ValueError:
        marks = {}
    if not isinstance(marks, dict):
        return
    for where, was in marks.items():
        sheet, _, ref = str(where).rpartition("!")
        if sheet not in wb.sheetnames or cell_ref(ref) is None or not isinstance(was, list) or len(was) != 5:
            continue
        fill_type, fill, font_colour, text, author = was
        cell = wb[sheet][ref]
        fg = _make_colour(fill)
        cell.fill = PatternFill(fill_type=fill_type, fgColor=fg) if fill_type and fg else PatternFill(fill_type=fill_type)
        font = copy(cell.font)
        font.color = _make_colour(font_colour)
        cell.font = font
        cell.comment = Comment(str(text), str(author or "")) if text else None


def _extensions(data: bytes) -> str:
    """The Excel extensions in the input that openpyxl drops on save (x14 data validations and
    conditional formats in a sheet's ``extLst``), in words; "" when there are none."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if not name.startswith("xl/worksheets/") or not name.endswith(".xml"):
                continue
            text = z.read(name)
            if b"x14:dataValidation" in text and "数据验证扩展" not in found:
                found.append("数据验证扩展")
            if b"x14:conditionalFormatting" in text and "条件格式扩展" not in found:
                found.append("条件格式扩展")
    return "、".join(found)


def cell_ref(cell: str | None) -> tuple[int, int] | None:
    """(row, column), 1-based, of an A1 reference; None for anything else (第5行, a sheet name)."""
    if not cell:
        return None
    m = _A1.match(cell.strip().upper())
    if not m:
        return None
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _top_left(ws, row: int, col: int) -> tuple[int, int]:
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
            return rng.min_row, rng.min_col
    return row, col


def comment_line(f: Finding) -> str:
    return f"[{SEVERITY_NAMES.get(f.severity, f.severity)}] {f.message} ({f.rule})"


def _mark_cells(wb, findings: list[Finding], config: AnnotateFile) -> dict[str, list]:
    """Fill each finding's cell with its severity's colour (the most severe wins) and put the
    messages in its comment (a comment the cell had stays below them). Returns, for each cell
    marked ("sheet!A1"), how it looked before: [fill type, fill colour, font colour, comment, author]."""
    from copy import copy

    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    from .layout import wrap_lines

    at: dict[tuple[str, int, int], list[Finding]] = {}
    for f in findings:
        ref = cell_ref(f.cell)
        if ref is None or f.sheet not in wb.sheetnames:
            continue
        ws = wb[f.sheet]
        at.setdefault((f.sheet, *_top_left(ws, *ref)), []).append(f)
    original: dict[str, list] = {}
    for (sheet, row, col), fs in at.items():
        fs = sorted(fs, key=lambda f: _RANK.get(f.severity, 3))
        fill, font = SEVERITY_COLOURS.get(fs[0].severity, SEVERITY_COLOURS[INFO])
        cell = wb[sheet].cell(row, col)
        had = cell.comment.text if cell.comment is not None else None
        original[f"{sheet}!{cell.coordinate}"] = [cell.fill.fill_type, _colour(cell.fill.fgColor),
                                                  _colour(cell.font.color), had,
                                                  cell.comment.author if cell.comment is not None else None]
        cell.fill = PatternFill(fill_type="solid", start_color=_argb(fill), end_color=_argb(fill))
        styled = copy(cell.font)
        styled.color = _argb(font)
        cell.font = styled
        text = "\n".join(comment_line(f) for f in fs) + (f"\n\n{had}" if had else "")
        width = 320
        lines = sum(wrap_lines(part, width, 9) for part in text.split("\n"))
        cell.comment = Comment(text, config.comment_author or config.title, height=min(24 + lines * 16, 600),
                               width=width)
    return original


def _argb(colour: str) -> str:
    return "FF" + colour.lstrip("#").upper()


# ---------------------------------------------------------------------------------------------
# The review sheet


def _where(f: Finding, config: AnnotateFile) -> str:
    if f.sheet and f.cell:
        return f"{f.sheet}!{f.cell}"
    return f.sheet or config.whole_file


def _review_sheet(ws, findings: list[Finding], summaries: list[dict], config: AnnotateFile, profile, accepted: int,
                  name: str) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.hyperlink import Hyperlink

    from .layout import DEFAULT_ROW, MAX_ROW, column_pixels, display_width, text_height

    thin = Side(style="thin", color="FF808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    bold = Font(name="Arial", size=10, bold=True)
    plain = Font(name="Arial", size=10)
    order = sorted(findings, key=lambda f: _RANK.get(f.severity, 3))   # stable: report order within a severity
    rows_text = [(SEVERITY_NAMES.get(f.severity, f.severity), _where(f, config), f.rule, f.message) for f in order]
    labels = [config.headers[0], config.file, config.profile, config.conclusion]
    widths = [max([display_width(h) for h in labels] + [display_width(r[0]) for r in rows_text]) + 3,
              min(max([display_width(config.headers[1])] + [display_width(r[1]) for r in rows_text]) + 3, 28),
              min(max([display_width(config.headers[2])] + [display_width(r[2]) for r in rows_text]) + 3, 30)]
    widths.append(max(44, 100 - sum(widths)))
    for i, w in enumerate(widths):
        ws.column_dimensions["ABCD"[i]].width = w
    heights: dict[int, float] = {}

    def line(r: int, label: str | None, text: str, *, font=plain, merge_from: int = 1, size: float = 10) -> None:
        if label is not None:
            c = ws.cell(r, 1, label)
            c.font, c.alignment = bold, wrap
            merge_from = 2
            heights[r] = max(heights.get(r, DEFAULT_ROW), text_height(label, column_pixels(widths[0]), size))
        c = ws.cell(r, merge_from, text)
        c.font, c.alignment = font, wrap
        if merge_from < 4:
            ws.merge_cells(start_row=r, start_column=merge_from, end_row=r, end_column=4)
        pixels = sum(column_pixels(w) for w in widths[merge_from - 1:])
        heights[r] = max(heights.get(r, DEFAULT_ROW), text_height(text, pixels, size))

    r = 1
    line(r, None, config.title, font=Font(name="Arial", size=14, bold=True), size=14)
    ws.cell(r, 1).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    r += 1
    line(r, config.file, name)
    if profile is not None and getattr(profile, "label", None):
        r += 1
        line(r, config.profile, profile.label)
    for s in summaries:
        r += 1
        counts = config.counts.format(errors=s["errors"], warnings=s["warnings"], infos=s["infos"])
        what = "，".join(x for x in (s.get("name"), s.get("sheet")) if x)
        text = f"{s['conclusion']}" + (f"（{s['meaning']}）" if s.get("meaning") else "") + f"：{counts}"
        line(r, config.conclusion, (f"{what}：" if what and len(summaries) > 1 else "") + text)
    r += 2
    line(r, None, config.findings.format(n=len(order)), font=bold)
    r += 1
    header = r
    for i, h in enumerate(config.headers, 1):
        c = ws.cell(r, i, h)
        c.font, c.border = bold, box
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        c.fill = PatternFill(fill_type="solid", start_color="FFD9D9D9", end_color="FFD9D9D9")
    for f, texts in zip(order, rows_text):
        r += 1
        for i, text in enumerate(texts, 1):
            c = ws.cell(r, i, text)
            c.font, c.alignment, c.border = plain, wrap, box
        fill, font = SEVERITY_COLOURS.get(f.severity, SEVERITY_COLOURS[INFO])
        sev = ws.cell(r, 1)
        sev.fill = PatternFill(fill_type="solid", start_color=_argb(fill), end_color=_argb(fill))
        sev.font = Font(name="Arial", size=10, bold=True, color=_argb(font))
        sev.alignment = Alignment(horizontal="center", vertical="top")
        if f.sheet and cell_ref(f.cell):
            link = ws.cell(r, 2)
            quoted = f.sheet.replace("'", "''")
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{quoted}'!{f.cell}", display=texts[1])
            link.font = Font(name="Arial", size=10, color="FF0563C1", underline="single")
        heights[r] = max(text_height(t, column_pixels(w), 10) for t, w in zip(texts, widths))
    if accepted and config.accepted:
        r += 1
        line(r, None, config.accepted.format(n=accepted))
    r += 2
    line(r, None, config.next_title, font=bold)
    colours = "，".join(f"{config.colour_names.get(s, s)}为{SEVERITY_NAMES[s]}" for s in SEVERITIES
                        if any(f.severity == s for f in findings))
    for i, step in enumerate(config.steps, 1):
        r += 1
        line(r, None, f"{i}. " + step.format(colours=colours or "—"))
    for row, h in heights.items():
        ws.row_dimensions[row].height = round(min(max(h, DEFAULT_ROW), MAX_ROW), 1)
    ws.print_title_rows = f"{header}:{header}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.sheet_view.showGridLines = False
    ws.sheet_view.tabSelected = True
    ws.protection.sheet = True       # read-only: the unit edits the form, not the notes
    ws.protection.selectLockedCells = False
    ws.protection.formatRows = False   # row heights may still be adjusted
    ws.protection.formatColumns = False
