"""Template writer: the printed form as a locked Excel sheet, built from a FormSpec.

:class:`SheetWriter` lays out one form sheet (labels, inputs, totals, the indicator table).
With ``editable=True`` it is a template: yellow unlocked inputs with data validation and input
prompts, dropdowns from a hidden list sheet, the live 自查 (:mod:`xltools.livecheck`: the review
rules as formulas, marking the cells they name and counting them beside the form), and sheet +
workbook-structure protection. With ``editable=False`` it writes a filled,
read-only copy of a form (the per-project sheets of a 汇总表). The reader reads both.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter

from . import __version__
from .celltypes import INPUT_TYPES, TYPES
from .derive import DERIVATIONS
from .errors import SpecError, UsageError
from .fsutil import (
    atomic_write_bytes,
    check_out_folder,
    check_targets,
    decode_csv,
    ensure_folder,
    safe_filename,
    unique_name,
)
from .layout import MAX_ROW, Heights, text_height
from .progress import as_progress
from .spec import (
    LEVEL1_LIST,
    LISTS_SHEET,
    META_SHEET,
    Area,
    Field,
    FormSpec,
    Table,
    col_letter,
    column_arg,
    compute,
    get_path,
    load_spec,
    set_path,
)

# xlsxwriter options that keep every string a string: text typed as "=SUM(1,2)" never
# becomes a formula, "00123" never a number, "http://…" never a link.
# The default font is Arial 10 (not Calibri 11): column widths are measured in its digits, and
# every printer has it or its metric twin (Liberation Sans), so a column is as wide in Excel as
# in LibreOffice; Calibri's fallback there (DejaVu Sans) makes every column a third wider.
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
                    "default_format_properties": {"font_name": "Arial", "font_size": 10}}
FIXED_CREATED = dt.datetime(2020, 1, 1)  # reproducible docProps: regenerated templates are identical

INPUT_FILL = "#FFF2CC"
LABEL_FILL = "#F2F2F2"
CARRIED_FILL = "#E7E6E6"
HEADER_FILL = "#DDEBF7"
MISSING_FILL = "#FFC7CE"

_NAME_RE = re.compile(r"^[^\W\d][\w.]*$")
LONGTEXT_ROOM = 150   # points: a long-text input of a template gets at least this much room


@dataclass(frozen=True)
class TemplateResult:
    path: Path
    kind: str
    rows: int
    template_id: str


# ---------------------------------------------------------------------------------------------
# Styles: created once per workbook, never per cell


BASE_FONT = 10    # points: every text of the form sheet
TITLE_FONT = 16
SUBTITLE_FONT = 11
SMALLEST_FONT = 6   # a long text that does not fit Excel's tallest row is set smaller, down to this (the 公开版 sheet prints it whole at 10 pt)


class Styles:
    def __init__(self, wb: xlsxwriter.Workbook, editable: bool):
        self.wb = wb
        self.props: dict[int, dict] = {}   # id(format) -> its properties (to derive a smaller one)
        self._smaller: dict[tuple, object] = {}
        base = {"font_name": "宋体", "font_size": BASE_FONT, "border": 1, "valign": "vcenter", "text_wrap": True}
        inp = dict(base, locked=not editable, **({"bg_color": INPUT_FILL} if editable else {}))
        fixed = dict(base, bg_color=CARRIED_FILL)  # carried over from another form: locked
        self.title = wb.add_format({"font_name": "黑体", "font_size": TITLE_FONT, "bold": True, "align": "center",
                                    "valign": "vcenter"})
        self.subtitle_right = wb.add_format({"font_size": SUBTITLE_FONT, "align": "right", "valign": "vcenter"})
        self.subtitle_left = wb.add_format({"font_size": SUBTITLE_FONT, "align": "left", "valign": "vcenter"})
        self.label = wb.add_format(dict(base, bg_color=LABEL_FILL))
        self.section = wb.add_format(dict(base, bold=True, align="center", bg_color=LABEL_FILL))
        self.header = wb.add_format(dict(base, bold=True, align="center", bg_color=HEADER_FILL))
        self.note = wb.add_format(dict(base, font_size=9, font_color="#595959"))
        self.total = wb.add_format(dict(base, num_format="#,##0.00", align="right", bold=True,
                                        bg_color=LABEL_FILL))
        self.derived_text = wb.add_format(dict(base, align="center", bold=True, bg_color=LABEL_FILL))
        self.missing = wb.add_format({"bg_color": MISSING_FILL, "font_color": "#9C0006"})
        # One format per input type, from the type registry; the year sits in the subtitle line.
        extra = {"year": {"border": 0, "font_size": SUBTITLE_FONT, "bottom": 1 if editable else 0}}
        inputs = {t: c for t, c in TYPES.items() if t in INPUT_TYPES}
        self.by_type = {t: self._add(dict(inp, num_format=c.num_format, **c.style, **extra.get(t, {})))
                        for t, c in inputs.items()}
        self.carried = {t: self._add(dict(fixed, num_format=c.num_format, **c.style, **extra.get(t, {})))
                        for t, c in inputs.items()}
        # In a table a year is an ordinary bordered cell (a 资金构成 row's 年度).
        self.in_table = dict(self.by_type, year=wb.add_format(dict(inp, num_format="0", **TYPES["year"].style)))

    def _add(self, props: dict):
        fmt = self.wb.add_format(props)
        self.props[id(fmt)] = props
        return fmt

    @staticmethod
    def font_size(fmt) -> float:
        return fmt.font_size

    def smaller(self, fmt, size: float):
        """``fmt`` with a smaller font (made once per format and size)."""
        key = (id(fmt), size)
        if key not in self._smaller:
            self._smaller[key] = self._add(dict(self.props[id(fmt)], font_size=size))
        return self._smaller[key]

    def named(self, name: str):
        return getattr(self, name)


# ---------------------------------------------------------------------------------------------
# Lists on a hidden sheet (inline lists hit Excel's 255-character limit)


class ListSheet:
    """Writes every dropdown list of a spec into one hidden sheet and remembers its ranges."""

    def __init__(self, wb: xlsxwriter.Workbook, spec: FormSpec):
        self.ranges: dict[str, str] = {}
        self.ws = ws = wb.add_worksheet(LISTS_SHEET)
        columns: list[tuple[str, tuple[str, ...], str | None]] = [(k, v, None) for k, v in spec.lists.items()]
        if spec.hierarchy:
            columns.append((LEVEL1_LIST, spec.hierarchy.level1, None))
            for l1 in spec.hierarchy.level1:
                if not _NAME_RE.match(l1):
                    raise SpecError(f"一级「{l1}」不能用作 Excel 名称（级联下拉需要）")
                columns.append((f"二级:{l1}", spec.hierarchy.level2(l1), l1))
        for c, (name, values, defined) in enumerate(columns):
            ws.write_string(0, c, name)
            for r, v in enumerate(values, start=1):
                ws.write_string(r, c, v)
            ref = f"'{LISTS_SHEET}'!${col_letter(c)}$2:${col_letter(c)}${len(values) + 1}"
            self.ranges[name] = "=" + ref
            if defined:
                wb.define_name(defined, "=" + ref)
        self.width = len(columns)   # the live 自查 (xltools.livecheck) writes its cells right of the lists
        ws.hide()
        ws.protect("", {"select_locked_cells": True})


# ---------------------------------------------------------------------------------------------
# The form sheet


class SheetWriter:
    """Lays out one form sheet from its spec.

    ``carried`` names inputs whose values come from another form (field keys, and
    ``"<table>.<column>"`` for table columns): they are written locked, in grey.
    """

    def __init__(self, wb: xlsxwriter.Workbook, spec: FormSpec, *, editable: bool,
                 lists: ListSheet | None = None, styles: Styles | None = None):
        self.wb, self.spec, self.editable, self.lists = wb, spec, editable, lists
        self.st = styles or Styles(wb, editable)
        self.live = None   # the live check's plan (xltools.livecheck.Plan), once a template is written

    def rows_for(self, values: dict | None, table: Table, rows: int | None, carried=frozenset()) -> int:
        """Sheet rows of ``table``: its pre-printed rows, then at least ``min_rows`` open rows
        (``rows`` asks for more), and room for every row of ``values``."""
        data = len(get_path(values, (table.key,)) or [])
        pre = len(table.preprinted)
        if any(k.startswith(table.key + ".") for k in carried):
            return max(data, 1)   # carried indicators: exactly those rows, no room for more
        floor = table.min_rows if self.editable else 1
        return pre + max(floor, rows or 0, data - pre) if self.editable else max(pre + 1, data, rows or 0)

    def main_table(self) -> Table | None:
        """The table ``--rows`` sizes: the indicator table, else the first one."""
        return self.spec.indicators or (self.spec.tables[0] if self.spec.tables else None)

    def write(self, ws, values: dict | None = None, rows: int | None = None, carried=frozenset()) -> int:
        """Write one form; returns the last used 0-based row."""
        spec, st = self.spec, self.st
        values = compute(spec, json_copy(values or {}))
        main = self.main_table()
        self.n = {t.key: self.rows_for(values, t, rows if t is main else None, carried) for t in spec.tables}
        # Where each table sits on this sheet (an anchored table follows the rows of its anchor).
        self.placed = {t.key: spec.placed(t, self.n.get(t.anchor)) for t in spec.tables}
        for i, width in enumerate(spec.columns):
            ws.set_column(i, i, width)
        ws.hide_gridlines(2)
        self.heights = Heights(list(spec.columns))
        last = 0
        for t in spec.texts:
            area = self._area(t)
            self._put_string(ws, area, t.text, st.named(t.style))
            last = max(last, area.last_row)
        self.heights.at_least(0, 30)
        for f in spec.fields:
            la = spec.label_area(f, self.n)
            if la is not None:
                self._put_string(ws, la, f.label, st.named(f.label_style))
            area = self._area(f)
            last = max(last, area.last_row)
            if f.type in ("total", "derived"):
                self._write_formula(ws, f, area, values)
            elif f.type == "constant":
                self._put(ws, area, f.value, "number", st.total if f.value is not None else st.label)
            else:
                is_carried = f.key in carried
                fmt = (st.carried if is_carried else st.by_type)[f.type if f.type in st.by_type else "text"]
                value = get_path(values, f.path)
                if f.type == "longtext":
                    fmt = self._fitting(area, value, fmt)
                    if self.editable:   # room to type in a blank template, and to read what was carried
                        self.heights.at_least(area.first_row, LONGTEXT_ROOM)
                self._put(ws, area, value, f.type, fmt)
                if self.editable and not is_carried:
                    self._validate_field(ws, f, area)
        for table in spec.tables:
            last = max(last, self._write_table(ws, self.placed[table.key], values, carried))
        self.heights.apply(ws)
        if self.editable and self.lists is not None:
            from .livecheck import render  # the rules as formulas: formats on the cells, the 自查 block

            self.live = render(self, ws)
        if self.editable:
            ws.protect("", {"format_cells": False, "format_columns": True, "format_rows": True,
                            "select_locked_cells": True, "select_unlocked_cells": True})
        ws.set_paper(9)
        ws.set_portrait()
        ws.fit_to_pages(1, 0)
        # No repeated title rows: the printed forms (the seeds) give the title once, where the
        # form begins; a title printed again on a continuation page reads as a new form when the
        # PDF is imported.
        ws.center_horizontally()
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer("&C第 &P 页，共 &N 页")
        ws.print_area(0, 0, last, len(spec.columns) - 1)
        return last

    # -- cells --------------------------------------------------------------------------------

    def _area(self, f) -> Area:
        return self.spec.area(f, self.n)

    def _need(self, area: Area, value, fmt) -> None:
        """Room in the area's rows for ``value`` (text only: numbers and dates fit their columns)."""
        if isinstance(value, str) and value:
            wrap = fmt is not self.st.title and fmt not in (self.st.subtitle_left, self.st.subtitle_right)
            self.heights.text(area.first_row, area.first_col, area.last_row, area.last_col, value,
                              self.st.font_size(fmt), wrap=wrap)

    def _fitting(self, area: Area, value, fmt):
        """``fmt``, or a smaller font of it when ``value`` is taller than Excel's tallest row."""
        if not isinstance(value, str) or id(fmt) not in self.st.props:
            return fmt
        pixels = self.heights.pixels(area.first_col, area.last_col)
        size = self.st.font_size(fmt)
        while size > SMALLEST_FONT and text_height(value, pixels, size) > MAX_ROW * (area.last_row - area.first_row + 1):
            size -= 0.5
        return fmt if size == self.st.font_size(fmt) else self.st.smaller(fmt, size)

    def _put_string(self, ws, area: Area, text: str, fmt) -> None:
        if area.merged:
            ws.merge_range(area.first_row, area.first_col, area.last_row, area.last_col, "", fmt)
        ws.write_string(area.row, area.col, text, fmt)
        self._need(area, text, fmt)

    def _put(self, ws, area: Area, value, typ: str, fmt) -> None:
        if area.merged:
            ws.merge_range(area.first_row, area.first_col, area.last_row, area.last_col, "", fmt)
        write_typed(ws, area.row, area.col, value, typ, fmt)
        self._need(area, value, fmt)

    def ref(self, arg: str) -> str:
        """The Excel reference of a derivation argument: a field's cell or a table column's range."""
        tc = column_arg(self.spec, arg)
        if tc:
            table, col = tc
            table = self.placed[table.key]
            n = self.n[table.key]
            return f"{col.letter}{table.row(0) + 1}:{col.letter}{table.row(n - 1) + 1}"
        return self._area(self.spec.field(arg)).ref

    def _write_formula(self, ws, f: Field, area: Area, values: dict) -> None:
        cached = get_path(values, f.path)
        fmt = self.st.total if f.derive != "grade" else self.st.derived_text
        if area.merged:
            ws.merge_range(area.first_row, area.first_col, area.last_row, area.last_col, "", fmt)
        formula = DERIVATIONS[f.derive].excel(*[self.ref(a) for a in f.args])
        ws.write_formula(area.row, area.col, formula, fmt, "" if cached is None else cached)

    # -- tables --------------------------------------------------------------------------------

    def _write_table(self, ws, table: Table, values: dict, carried) -> int:
        st = self.st
        n = self.n[table.key]
        first, last = table.row(0), table.row(n - 1)
        if table.label_col is not None:
            self._put_string(ws, Area(table.header_row, table.label_col, last, table.label_col),
                             table.label, st.section)
        for c in table.columns:
            if c.spans:
                ws.merge_range(table.header_row, c.col, table.header_row, c.last, "", st.header)
            ws.write_string(table.header_row, c.col, c.label, st.header)
        for c in table.columns:
            self._need(Area(table.header_row, c.col, table.header_row, c.last or c.col), c.label, st.header)
        self.heights.at_least(table.header_row, 30)
        data = get_path(values, (table.key,)) or []
        fmts = {c.key: (st.carried if f"{table.key}.{c.key}" in carried else st.in_table)[c.type] for c in table.columns}
        for i in range(n):
            row = dict(data[i]) if i < len(data) else {}
            fixed = table.fixed(i)
            row.update(fixed)   # pre-printed: the print's text, locked
            for c in table.columns:
                fmt = st.carried[c.type] if c.key in fixed else fmts[c.key]
                if c.spans:
                    ws.merge_range(table.row(i), c.col, table.row(i), c.last, "", fmt)
                write_typed(ws, table.row(i), c.col, row.get(c.key), c.type, fmt)
                self._need(Area(table.row(i), c.col, table.row(i), c.last or c.col), row.get(c.key), fmt)
        if self.editable:
            self._validate_table(ws, table, first, last, carried)
        return last

    # -- data validation, prompts and highlighting (templates only) --------------------------

    def _dv(self, ws, area_or_rows, options: dict, label: str, prompt: str | None) -> None:
        r1, c1, r2, c2 = area_or_rows
        opts = dict(options)
        title = label.rstrip(":：")[:32]
        if prompt:
            opts.update(input_title=title, input_message=prompt[:255])
        if "error_message" in opts:
            opts.setdefault("error_title", f"{title}：输入无效"[:32])
        ws.data_validation(r1, c1, r2, c2, opts)

    def _validation_for(self, typ: str, list_name: str | None, label: str) -> dict:
        if typ == "choice" and list_name:
            return {"validate": "list", "source": self.lists.ranges[list_name],
                    "error_message": f"请从下拉列表中选择「{label}」。"}
        return TYPES[typ].validation(self.spec.money_unit)

    def _validate_field(self, ws, f: Field, a: Area) -> None:
        opts = self._validation_for(f.type, f.list, f.name)   # the name: 「年度」, not the printed 「年度)」
        self._dv(ws, (a.row, a.col, a.row, a.col), opts, f.name, f.prompt)
        # An empty required field is marked by the live check (xltools.livecheck, rule "required").

    def _validate_table(self, ws, table: Table, first: int, last: int, carried) -> None:
        cols = [c.col for c in table.columns]
        lo, hi = col_letter(min(cols)), col_letter(max(cols))
        for c in table.columns:
            if f"{table.key}.{c.key}" in carried:
                continue
            if c.cascade_from:
                parent = col_letter(table.column(c.cascade_from).col)
                opts = {"validate": "list", "source": f"=INDIRECT(${parent}{first + 1})",
                        "error_message": f"请先选择「{c.cascade_from}」，再从下拉列表中选择「{c.label}」。"}
            else:
                opts = self._validation_for(c.type, c.list, c.label)
            self._dv(ws, (first, c.col, last, c.col), opts, c.label, c.prompt)
            # An empty required cell of a filled row is marked by the live check (xltools.livecheck).
        for rule in table.highlights:
            formula = rule
            for c in table.columns:
                formula = formula.replace("{" + c.key + "}", f"${c.letter}{first + 1}")
            ws.conditional_format(first, min(cols), last, max(cols), {
                "type": "formula", "format": self.st.missing, "criteria": "=" + formula})
        if table.required:
            ws.conditional_format(first, min(cols), first, max(cols), {
                "type": "formula", "format": self.st.missing,
                "criteria": f"=COUNTA(${lo}${first + 1}:${hi}${last + 1})=0"})


def json_copy(values: dict) -> dict:
    """A deep copy of plain JSON-like data."""
    return json.loads(json.dumps(values, ensure_ascii=False, default=str))


_CELL_VALUES = (str, int, float, dt.date)


def write_typed(ws, row: int, col: int, value, typ: str, fmt) -> None:
    """Write a value as the type its cell expects; anything else as a plain string.

    Only a number, a text, a date or nothing ever reaches a cell: anything else (a dict or list
    of another kind's layout) is a bug and fails loudly instead of being written as its repr."""
    if value is not None and not isinstance(value, _CELL_VALUES):
        raise TypeError(f"not a cell value at {col_letter(col)}{row + 1}: {type(value).__name__} {value!r:.80}")
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif TYPES[typ].cell == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt)
    elif TYPES[typ].cell == "date" and isinstance(value, str) and _iso_date(value):
        ws.write_datetime(row, col, _iso_date(value), fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _iso_date(text: str) -> dt.datetime | None:
    try:
        d = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return dt.datetime(d.year, d.month, d.day)


# ---------------------------------------------------------------------------------------------
# Metadata and workbook-structure protection


def write_meta(wb: xlsxwriter.Workbook, meta: dict) -> None:
    """A very-hidden sheet telling the reader what it is reading."""
    ws = wb.add_worksheet(META_SHEET)
    for r, (k, v) in enumerate(meta.items()):
        ws.write_string(r, 0, k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            ws.write_number(r, 1, v)
        else:
            ws.write_string(r, 1, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
    ws.very_hidden()
    ws.protect("", {"select_locked_cells": True})


class _Workbook(xlsxwriter.Workbook):
    """xlsxwriter cannot protect the workbook structure; this writes the element itself, in
    its schema place (after <workbookPr>, before <bookViews>)."""

    lock_structure = False

    def _write_book_views(self) -> None:
        if self.lock_structure:
            self._xml_empty_tag("workbookProtection", [("lockStructure", "1")])
        super()._write_book_views()


def new_workbook(target, lock_structure: bool = False) -> xlsxwriter.Workbook:
    wb = _Workbook(target, dict(WORKBOOK_OPTIONS, in_memory=True))  # no temp file per sheet
    wb.lock_structure = lock_structure
    wb.set_properties({"created": FIXED_CREATED, "author": "xltools", "comments": f"xltools {__version__}"})
    return wb


# ---------------------------------------------------------------------------------------------
# Public API


def template_bytes(spec: FormSpec, values: dict | None = None, rows: int | None = None,
                   carried=frozenset()) -> tuple[bytes, int, str]:
    """The template (optionally pre-filled; ``carried`` values locked) as xlsx bytes, with its
    indicator row count and id."""
    buf = io.BytesIO()
    wb = new_workbook(buf, lock_structure=True)
    ws = wb.add_worksheet(spec.sheet)
    lists = ListSheet(wb, spec)
    writer = SheetWriter(wb, spec, editable=True, lists=lists)
    main = spec.indicators or (spec.tables[0] if spec.tables else None)
    n = writer.rows_for(values, main, rows, carried) if main else 0
    seed = json.dumps([spec.kind, spec.version, n, values, sorted(carried)] + ([spec.variant] if spec.variant else []),
                      ensure_ascii=False, sort_keys=True, default=str)
    template_id = hashlib.sha1(seed.encode("utf-8")).hexdigest()[:16]
    writer.write(ws, values, rows, carried)
    ws.activate()
    variant = {"variant": spec.variant} if spec.variant else {}   # the layout, when not the kind's own
    write_meta(wb, {"kind": spec.kind, **variant, "version": spec.version, "role": "form",
                    "template_id": template_id, "rows": n, "generator": f"xltools {__version__}"})
    wb.close()
    return buf.getvalue(), n, template_id


def prefill(spec: FormSpec, year: int | None = None, dept: str | None = None, unit: str | None = None,
            name: str | None = None) -> dict:
    """Values for the fields with these roles (year, dept, unit, name); a role the kind does not
    have is refused (e.g. --name on a kind without a name)."""
    values: dict = {}
    for role, v in (("year", year), ("dept", dept), ("unit", unit), ("name", name)):
        if v in (None, ""):
            continue
        f = spec.role(role)
        if f is None:
            raise UsageError(f"{ROLE_OPTIONS[role]} 不适用于{spec.name}：该表没有对应的栏目。")
        set_path(values, f.path, v)
    return values


# The command-line option that pre-fills each role.
ROLE_OPTIONS = {"year": "--year", "dept": "--dept", "unit": "--unit", "name": "--name"}


def template_workbook(kind: str, out: str | Path, *, year: int | None = None, dept: str | None = None,
                      unit: str | None = None, name: str | None = None, rows: int | None = None,
                      values: dict | None = None, force: bool = False, variant: str | None = None) -> TemplateResult:
    """Write the template of ``kind`` (in the layout ``variant``, else the kind's own) to ``out``
    (atomically). ``values`` pre-fills any input. An existing ``out`` is replaced only with
    ``force`` (else :class:`OutputError`)."""
    spec = load_spec(kind, variant)
    out = Path(out)
    check_targets([out], force=force)
    data = dict(values or {})
    data.update(prefill(spec, year, dept, unit, name))
    data_bytes, n, tid = template_bytes(spec, data or None, rows)
    atomic_write_bytes(out, data_bytes)
    return TemplateResult(out, kind, n, tid)


@dataclass
class FromResult:
    """What ``template --from`` did: the templates written, or (nothing written) the report of
    the source forms with the findings that stop them being carried."""

    made: list[TemplateResult]
    report: object   # xltools.validate.Report of the sources
    refused: str | None = None


def templates_from(kind: str, source, out: str | Path, *, rows: int | None = None,
                   force: bool = False, progress=None) -> FromResult:
    """Templates of ``kind`` pre-filled (and locked where carried) from the forms in ``source``
    (a form, a 汇总表, a folder of forms, or several of these). One form: ``out`` may be the
    .xlsx; else ``out`` is a folder with one file per form, named by the spec (实施单位_项目名称_
    年度_自评表.xlsx). The sources are validated first: a source with errors, or one that lacks
    what is carried (a required value, the amounts, the indicators), writes nothing."""
    from .carry import carry_values, missing_carried
    from .read import expand_paths
    from .validate import validate_inputs

    spec = load_spec(kind)
    if not spec.carry:
        raise UsageError(f"{spec.name}不能由其他表生成（没有可带入的内容），不能使用 --from。")
    out = Path(out)
    to_file = out.suffix.lower() == ".xlsx"
    if to_file and out.is_dir():
        raise UsageError(f"{out} 是一个文件夹；多个项目请把 -o 写成文件夹，如 -o 自评表/。")
    inputs = expand_paths(source)
    report = validate_inputs(inputs, progress=progress, full=True)   # whole forms: their data is carried
    forms = [f for f in report.forms if f.kind in spec.carry]
    if report.unreadable:
        return FromResult([], report, "来源文件无法读取，未生成模板。")
    if not forms:
        kinds_ = "、".join(load_spec(k).name for k in spec.carry)
        return FromResult([], report, f"来源中没有可用于生成{spec.name}的表单（需要：{kinds_}），未生成模板。")
    for form in forms:
        report.findings.extend(missing_carried(form, kind))
    if report.errors:
        return FromResult([], report, f"来源表单有错误，未生成{spec.name}；请先修改来源表单（或换用审核通过的表）。")
    if len(forms) > 1 and to_file:
        raise UsageError(f"来源含 {len(forms)} 个项目，请把 -o 改为文件夹，每个项目生成一份{spec.name}。")
    if not to_file:
        check_out_folder(out)
    jobs = []
    taken: set[str] = set()
    for form in forms:
        values, carried = carry_values(form, kind)
        target = out if to_file else out / unique_name(batch_filename(spec, values), taken)
        jobs.append((target, values, carried))
    check_targets([t for t, _, _ in jobs], inputs.paths, force=force)
    made = []
    for target, values, carried in jobs:
        data, nrows, tid = template_bytes(spec, values, rows, carried)
        atomic_write_bytes(target, data)
        made.append(TemplateResult(target, kind, nrows, tid))
    return FromResult(made, report)


def roster_columns(spec: FormSpec) -> tuple[list[str], list[str]]:
    """The columns of a roster CSV for this kind: (required, optional) — the keys of its fields
    with the roles unit and dept (required), and name (optional)."""
    required = [f.key for r in ("unit", "dept") if (f := spec.role(r))]
    optional = [f.key for r in ("name",) if (f := spec.role(r))]
    return required, optional


def read_units_csv(path: str | Path, spec: FormSpec) -> list[dict]:
    """Rows of a roster CSV (e.g. 实施单位,主管部门[,项目名称]) as field key → value; UTF-8
    (with or without BOM) or GBK."""
    required, optional = roster_columns(spec)
    example = ",".join(required + optional)
    raw = Path(path).read_bytes()
    text = decode_csv(raw, path)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if any(k not in header for k in required):
        names = "和".join(f"「{k}」" for k in required)
        raise UsageError(f"{path}: 第一行必须是列名，至少包含{names}，例如：{example}")
    rows = []
    for i, row in enumerate(reader, start=2):
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        if not any(clean.values()):
            continue
        if not clean.get(required[0]):
            raise UsageError(f"{path} 第 {i} 行：「{required[0]}」为空。")
        rows.append({k: clean.get(k, "") for k in required + optional})
    if not rows:
        raise UsageError(f"{path}: 没有任何单位行。")
    return rows


def _batch_values(spec: FormSpec, row: dict, year: int | None, dept: str | None, name: str | None) -> dict:
    def of(role):
        f = spec.role(role)
        return row.get(f.key) if f else None

    return prefill(spec, year, of("dept") or dept, of("unit"), of("name") or name)


def batch_filename(spec: FormSpec, values: dict) -> str:
    """The file-name stem of one form's template (batch, --from): see ``FormSpec.form_stem``."""
    head, tail = spec.form_stem(values)
    return safe_filename(head, tail=tail) if head else safe_filename(tail.lstrip("_"))


def _batch_one(job: tuple) -> TemplateResult:
    kind, target, kw = job
    return template_workbook(kind, target, **kw)


@dataclass
class BatchResult:
    made: list[TemplateResult]
    existing: list[Path]       # files that were there already: left as they are (not with force)


def template_batch(kind: str, units: list[dict], out: str | Path, *, year: int | None = None,
                   dept: str | None = None, name: str | None = None, rows: int | None = None,
                   jobs: int | None = None, progress=None, force: bool = False,
                   variant: str | None = None) -> BatchResult:
    """One pre-filled template per row of ``units`` (实施单位, 主管部门[, 项目名称]) into folder ``out``;
    names made unique; written by a pool of worker processes for large batches. A file that
    exists already (perhaps filled by its unit) is left as it is and listed in ``existing``,
    unless ``force``."""
    from .read import default_jobs

    spec = load_spec(kind, variant)
    out = Path(out)
    check_out_folder(out)
    taken: set[str] = set()
    work, existing = [], []
    for row in units:
        values = _batch_values(spec, row, year, dept, name)
        target = out / unique_name(batch_filename(spec, values), taken)
        if target.exists() and not force:
            existing.append(target)
            continue
        work.append((kind, target, {"values": values, "rows": rows, "force": force, "variant": variant}))
    if work:
        ensure_folder(out)
    progress = as_progress(progress)
    jobs = default_jobs(len(work)) if jobs is None else jobs
    if jobs <= 1:
        return BatchResult(list(progress.track(map(_batch_one, work), "生成模板", len(work))), existing)
    from .pool import executor

    with executor(jobs) as pool:
        results = pool.map(_batch_one, work, chunksize=max(1, len(work) // (jobs * 8)))
        return BatchResult(list(progress.track(results, "生成模板", len(work))), existing)
