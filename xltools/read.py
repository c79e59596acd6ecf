"""Reader: a filled workbook (or a 汇总表) → form objects keyed by the printed labels.

All normalisation happens here, once: numbers typed as text, full-width digits, thousands
separators, stray and non-breaking spaces, dates typed as text or stored as serial numbers,
indicator groups written only on their first row (merged cells). Totals are recomputed from
their parts; cached formula results are kept only to compare (``Form.stored``).

The file goes through :func:`xltools.safety.precheck` before python-calamine opens it.
Which form a sheet holds comes from the very-hidden metadata sheet; without it (a re-save by
another program, a hand-made copy, a workbook typed in the printed layout on another grid, a
汇总 of many forms on one sheet) the label-based reader (:mod:`xltools.locate`) finds each form
by its printed title and labels, and the positional reader is the fallback. A PDF (``%PDF-``)
goes to :mod:`xltools.pdfin` and a text (a .txt: not a zip, not OLE2, not named like a
workbook) to :mod:`xltools.textin`; both give grids the label-based reader reads, their cells
named ``第N行`` (the line of the source).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .celltypes import TYPES, clean_text, fold, to_number, to_year
from .errors import MissingPath, UnreadableFile
from .indicators import parse_target
from .rules import Finding, Rule
from .safety import precheck
from .spec import (
    LISTS_SHEET,
    META_SHEET,
    Column,
    FormSpec,
    Table,
    a1,
    compute,
    get_path,
    kinds,
    layouts,
    load_spec,
    variants,
)

Grid = list[list]


@dataclass
class Form:
    """One form read from one sheet. ``data`` is what `xltools read` prints."""

    kind: str
    data: dict
    file: str
    sheet: str
    cells: dict[tuple, str] = field(default_factory=dict)       # key path → A1 of its input cell
    stored: dict[str, object] = field(default_factory=dict)     # total key → value found in the file
    next_row: dict[str, str] = field(default_factory=dict)      # table key → A1 where a new row goes
    computed: dict[str, object] = field(default_factory=dict)   # computed field key → recomputed value
    variant: str | None = None                                  # its layout: None for the kind's own

    @property
    def spec(self) -> FormSpec:
        """The spec of this form's layout (its variant's, if it has one)."""
        return load_spec(self.kind, self.variant)

    def identity(self) -> tuple:
        return tuple(self.data.get(k) for k in self.spec.identity)


@dataclass
class ReadResult:
    file: str
    forms: list[Form]
    role: str = "form"           # "form" or "summary" (a 汇总表)
    findings: list[Finding] = field(default_factory=list)
    made_by_merge: bool = False  # its metadata says `xltools merge` wrote it
    skipped: str | None = None   # why it was not read as input (then ``forms`` is empty)


# ---------------------------------------------------------------------------------------------
# Value normalisation


def normalise(value, typ: str):
    """A raw cell value as the type its cell expects (see :mod:`xltools.celltypes`)."""
    return TYPES[typ].normalise(value)


def label_key(text) -> str:
    """A label compared loosely: no spaces, ASCII colon/parentheses, no trailing colon (cached:
    every file of a batch prints the same few hundred labels)."""
    try:
        return _label_key(text)
    except TypeError:   # an unhashable value: never a label
        return _label_key.__wrapped__(text)


@lru_cache(maxsize=16384)
def _label_key(text) -> str:
    s = fold(clean_text(text) or "").replace(" ", "").replace("\n", "")
    return s.rstrip(":")


# ---------------------------------------------------------------------------------------------
# Loading sheets


@dataclass
class Sheet:
    name: str
    visible: str      # "visible", "hidden", "veryhidden"
    grid: Grid
    # A grid made from text (a .txt, a PDF's text layer): the 1-based line of the source file
    # each grid row came from; cells are then named ``第N行`` (see xltools/locate.py).
    lines: list[int] | None = None
    # A grid made from a PDF: the printed place of each grid row (``第2页第5行``), which names
    # its cells in findings instead of the grid's A1.
    row_names: list[str] | None = None

    def at(self, row: int, col: int):
        if 0 <= row < len(self.grid):
            r = self.grid[row]
            if 0 <= col < len(r):
                v = r[col]
                return None if v == "" else v
        return None


def load_sheets(path: str | Path) -> list[Sheet]:
    """Every worksheet's values as a grid from A1 (after the safety pre-check).

    python-calamine is handed the very bytes the pre-check vetted, as a file object — not the
    path: ``from_path`` picks its reader by the file's suffix (a genuine .xlsx named .xls would
    go to the .xls reader), and the file could change between the check and the parse. Given
    bytes, calamine tries its readers in turn; the .xls reader gives up at once on a zip (it
    checks the OLE2 signature first), so the .xlsx reader reads it, and the pre-check has
    refused any package holding what the .xlsb or .ods reader would parse."""
    data = precheck(path)
    import python_calamine as pc

    from .safety import is_parser_error

    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except BaseException as exc:  # calamine raises its own error types, plain ones, and Rust panics
        if not is_parser_error(exc):
            raise
        if type(exc).__name__ == "PasswordError":
            raise UnreadableFile(str(path), Rule.FILE_ENCRYPTED.code, Rule.FILE_ENCRYPTED.format()) from exc
        # Every reader refused it; the .xlsx reader's own complaint is not passed on.
        reason = "文件内容不是可以读取的 .xlsx 工作簿" if "Cannot detect file format" in str(exc) else _short(exc)
        raise UnreadableFile(str(path), Rule.FILE_UNREADABLE.code,
                             Rule.FILE_UNREADABLE.format(reason=reason)) from exc
    del data
    sheets = []
    try:
        for meta in wb.sheets_metadata:
            if "WorkSheet" not in str(meta.typ) or meta.name == LISTS_SHEET:
                continue  # the dropdown lists are ours: nothing to read there
            vis = str(meta.visible).rsplit(".", 1)[-1].lower()
            try:
                s = wb.get_sheet_by_name(meta.name)
                rows = s.to_python(skip_empty_area=False)
                r0, c0 = s.start if s.start else (0, 0)
            except BaseException as exc:
                if not is_parser_error(exc):
                    raise
                raise UnreadableFile(str(path), Rule.FILE_UNREADABLE.code,
                                     Rule.FILE_UNREADABLE.format(reason=f"工作表「{meta.name}」: {_short(exc)}")) from exc
            # skip_empty_area=False gives the grid from A1; older readers gave it from `start`
            if (r0 or c0) and len(rows) < r0 + getattr(s, "height", len(rows)):
                rows = [[""] * (len(rows[0]) + c0 if rows else c0)] * r0 + [[""] * c0 + list(r) for r in rows]
            sheets.append(Sheet(meta.name, vis, rows))
    finally:
        wb.close()
    return sheets


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


# ---------------------------------------------------------------------------------------------
# Finding forms in a workbook


def _meta(sheets: list[Sheet]) -> dict | None:
    for s in sheets:
        if s.name == META_SHEET:
            out = {}
            for row in s.grid:
                if len(row) >= 2 and row[0] not in (None, ""):
                    out[str(row[0])] = row[1]
            return out
    return None


def _title_position(sheet: Sheet, spec: FormSpec) -> tuple[int, int] | None:
    want = label_key(spec.title)
    for r, row in enumerate(sheet.grid[:8]):
        for c, v in enumerate(row[:12]):
            if v not in (None, "") and label_key(v) == want:
                return r, c
    return None


def _label_score(sheet: Sheet, spec: FormSpec, dr: int, dc: int) -> float:
    """The share of the spec's labels (of fields not below a table) found where it puts them."""
    labelled = [f for f in spec.fields if f.label_area is not None and f.anchor is None]
    hits = sum(label_key(sheet.at(f.label_area.row + dr, f.label_area.col + dc)) == label_key(f.label)
               for f in labelled)
    return hits / max(len(labelled), 1)


def _locate(sheet: Sheet, spec: FormSpec) -> tuple[int, int] | None:
    """The (row, col) shift of this sheet's layout against the spec, or None if it is not the form."""
    got = _scored(sheet, spec)
    return got[1] if got else None


def _scored(sheet: Sheet, spec: FormSpec) -> tuple[float, tuple[int, int]] | None:
    """(label score, shift) of this sheet against the spec's layout, or None if it is not the form."""
    score = _label_score(sheet, spec, 0, 0)
    if score >= 0.75:
        return score, (0, 0)
    pos = _title_position(sheet, spec)
    title = next((t for t in spec.texts if t.style == "title"), None)
    if pos and title:
        dr, dc = pos[0] - title.area.row, pos[1] - title.area.col
        score = _label_score(sheet, spec, dr, dc)
        if score >= 0.75:
            return score, (dr, dc)
    return None


def _locate_layout(sheet: Sheet, specs: list[FormSpec]) -> tuple[FormSpec, tuple[int, int]] | None:
    """The layout (a kind's own or a variant) whose labels fit this sheet best, and its shift; on a
    tie the first of ``specs`` (the kind's own layout)."""
    best = None
    for spec in specs:
        got = _scored(sheet, spec)
        if got and (best is None or got[0] > best[0]):
            best = (got[0], spec, got[1])
    return (best[1], best[2]) if best else None


def _find_header(sheet: Sheet, table: Table, dr: int, dc: int) -> int | None:
    """The 0-based row of the table's header: where the spec says, or searched by its labels."""
    def is_header(r: int) -> bool:
        return all(label_key(sheet.at(r, c.col + dc)) == label_key(c.label) for c in table.columns)

    if is_header(table.header_row + dr):
        return table.header_row + dr
    for r in range(len(sheet.grid)):
        if is_header(r):
            return r
    return None


def _not_a_form(path) -> UnreadableFile:
    names = "、".join(f"{load_spec(k).name} ({k})" for k in kinds())
    return UnreadableFile(str(path), Rule.NOT_A_FORM.code, Rule.NOT_A_FORM.format(kinds=names))


def _meta_variants(file: str, kind: str, meta: dict) -> dict[str | None, str | None]:
    """Sheet name → variant from the metadata: ``variant`` for the workbook (key None), and a
    汇总表's ``variants`` ({sheet: variant}) for sheets in another layout. An unknown variant
    (a template of a newer xltools) cannot be read reliably: :class:`UnreadableFile`."""
    out: dict[str | None, str | None] = {None: clean_text(meta.get("variant"))}
    raw = meta.get("variants")
    if raw not in (None, ""):
        try:
            given = json.loads(str(raw))
        except ValueError:
            given = None
        if isinstance(given, dict):
            out.update((str(k), clean_text(v)) for k, v in given.items())
    have = variants(kind)
    for v in out.values():
        if v is not None and v not in have:
            names = "、".join(f"{s.layout} ({s.kind}{f' --variant {s.variant}' if s.variant else ''})"
                             for k in kinds() for s in layouts(k))
            raise UnreadableFile(file, Rule.UNKNOWN_KIND.code,
                                 Rule.UNKNOWN_KIND.format(kind=f"{kind} --variant {v}", kinds=names))
    return out


def read_workbook(path: str | Path, display: str | None = None) -> ReadResult:
    """Read every form in one workbook. Raises :class:`UnreadableFile` when there is none.

    With metadata, each sheet is read in the layout the metadata names (a kind, and its variant
    for the workbook or, in a 汇总表, per sheet), and by its labels if its rows or columns were
    moved; without, by its printed labels (:func:`xltools.locate.find_forms`: one form per title,
    each in the layout of the kind whose labels fit best), else positionally. PDFs and texts are
    read by their labels. Findings made while reading (``import-ambiguous``) are in
    ``ReadResult.findings``."""
    file = display or str(path)
    loaded = _load_other(path)
    if loaded is not None:   # a PDF or a text: no metadata, no template layout; read by labels
        return _by_labels(loaded, file, None)
    sheets = load_sheets(path)
    meta = _meta(sheets)
    if meta and meta.get("annotations"):   # a 退回 copy's review sheet (xltools/annotate.py): not a form
        sheets = [s for s in sheets if s.name != str(meta["annotations"])]
    role = "form"
    located: list[tuple[Sheet, FormSpec, tuple[int, int]]] = []
    if meta and meta.get("kind") is not None:
        kind = str(meta.get("kind"))
        if kind not in kinds():
            names = "、".join(f"{load_spec(k).name} ({k})" for k in kinds())
            raise UnreadableFile(file, Rule.UNKNOWN_KIND.code, Rule.UNKNOWN_KIND.format(kind=kind, kinds=names))
        by_sheet = _meta_variants(file, kind, meta)
        version = to_year(meta.get("version"))
        supported = min(load_spec(kind, v).version for v in set(by_sheet.values()))
        if not isinstance(version, int) or version > supported:
            raise UnreadableFile(file, Rule.SPEC_NEWER.code, Rule.SPEC_NEWER.format(found=version, supported=supported))
        role = str(meta.get("role") or "form")
        printed = str(meta.get("published") or "")   # a 汇总表's print-only sheet: its forms are on their own sheets
        by_labels: list[Sheet] = []
        for s in sheets:
            if s.name in (META_SHEET, LISTS_SHEET, printed):
                continue
            spec = load_spec(kind, by_sheet.get(s.name, by_sheet[None]))
            shift = _locate(s, spec)
            if shift is not None:
                located.append((s, spec, shift))
            else:
                by_labels.append(s)
        if by_labels:   # rows or columns moved on some sheets: those are read by their labels
            from .locate import find_forms

            more, notes = find_forms(by_labels, file, titled_only=True)   # not the overview or the indicator list
            if more or not located:
                forms = [extract(sheet, spec, file, shift) for sheet, spec, shift in located] + more
                if not forms:
                    spec = load_spec(kind)
                    raise UnreadableFile(file, Rule.LAYOUT_CHANGED.code, Rule.LAYOUT_CHANGED.format(name=spec.name))
                order = {s.name: i for i, s in enumerate(sheets)}
                forms.sort(key=lambda f: order.get(f.sheet, 0))
                return ReadResult(file, forms, "summary" if role == "summary" or len(forms) > 1 else "form",
                                  findings=notes, made_by_merge=role == "summary")
    else:
        # Not made from our template (or its metadata was lost): read by the printed labels,
        # which holds for our own layout too; the positional reader is the fallback.
        try:
            return _by_labels(sheets, file, meta)
        except UnreadableFile:
            pass
        except (MemoryError, RecursionError):
            raise
        except Exception:  # a grid the label reader trips on: the positional reader may still read it
            pass
        families = [list(layouts(k)) for k in kinds()]
        for s in sheets:
            if s.name in (META_SHEET, LISTS_SHEET):
                continue
            for family in families:
                titled = [spec for spec in family if _title_position(s, spec)]
                got = _locate_layout(s, titled) if titled else None
                if got is not None:
                    located.append((s, *got))
    forms = [extract(sheet, spec, file, shift) for sheet, spec, shift in located]
    if not forms:   # not our layout (typed into another grid, exported by another system): by labels
        return _by_labels(sheets, file, meta)
    made_by_merge = role == "summary"
    if len(forms) > 1:
        role = "summary"
    return ReadResult(file, forms, role, made_by_merge=made_by_merge)


def _by_labels(sheets: list[Sheet], file: str, meta: dict | None) -> ReadResult:
    """The forms found by their printed labels (xltools/locate.py), or the reason there is none."""
    from .locate import find_forms
    from .textin import note_findings

    forms, findings = find_forms(sheets, file)
    notes = note_findings(sheets, file)   # what reading the text had to guess, in line order
    if notes:
        findings = sorted(notes + findings, key=lambda f: int(f.cell[1:-1]) if f.cell and f.cell[1:-1].isdigit() else 0)
    if not forms:
        if meta and meta.get("kind") is not None:  # ours, but rows or columns were moved
            spec = load_spec(str(meta["kind"]))
            raise UnreadableFile(file, Rule.LAYOUT_CHANGED.code, Rule.LAYOUT_CHANGED.format(name=spec.name))
        raise _not_a_form(file)
    role = "summary" if len(forms) > 1 else "form"
    made_by_merge = bool(meta) and str(meta.get("role") or "") == "summary"
    return ReadResult(file, forms, role, findings=findings, made_by_merge=made_by_merge)


_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods", ".et", ".csv")


def _load_other(path: str | Path) -> list[Sheet] | None:
    """A PDF (by its ``%PDF-`` signature) or a text file (a .txt, or text under any name that is
    not a workbook's) as grids; None for anything else (a workbook, or what the workbook
    pre-check refuses with its own message)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return None
    if head.lstrip(b"\xef\xbb\xbf").lstrip()[:5] == b"%PDF-":
        try:
            from .pdfin import load_pdf
        except ImportError:
            return None
        return load_pdf(p)
    if not head or head.startswith((b"PK", b"\xd0\xcf\x11\xe0")) or p.suffix.lower() in _WORKBOOK_SUFFIXES:
        return None
    try:
        from .textin import load_text
    except ImportError:
        return None
    return load_text(p)


# ---------------------------------------------------------------------------------------------
# Extracting one form


def _set(data: dict, path: tuple[str, ...], value) -> None:
    cur = data
    for p in path[:-1]:
        cur = cur.setdefault(p, {})
    cur[path[-1]] = value


def extract(sheet: Sheet, spec: FormSpec, file: str, shift: tuple[int, int] = (0, 0)) -> Form:
    dr, dc = shift
    form = Form(spec.kind, {}, file, sheet.name, variant=spec.variant)
    flat: dict = {"表单": spec.kind}
    rows: dict[str, int] = {}
    for table in spec.tables:
        placed = spec.placed(table, rows.get(table.anchor))   # tables come after their anchors in the spec
        flat[table.key], rows[table.key] = _extract_table(sheet, spec, placed, form, dr, dc)
    for f in spec.fields:
        area = spec.area(f, rows)
        row, col = area.row + dr, area.col + dc
        form.cells[f.path] = a1(row, col)
        raw = sheet.at(row, col)
        if not f.is_input:
            # Computed here from the inputs; what the file holds is kept only to compare.
            form.stored[f.key] = clean_text(raw) if f.derive == "grade" else to_number(raw)
            _set(flat, f.path, None)  # keeps the printed key order
            continue
        value = normalise(raw, f.type)
        if f.type == "choice" and isinstance(value, str):
            squeezed = value.replace(" ", "")
            if squeezed in spec.lists.get(f.list or "", ()):
                value = squeezed
        _set(flat, f.path, value)
    compute(spec, flat)
    form.computed = {f.key: get_path(flat, f.path) for f in spec.totals}
    for key, value in spec.empty().items():   # keys of the kind this layout does not carry
        flat.setdefault(key, value)
    form.data = spec.shown(flat)
    return form


def _column_value(sheet: Sheet, row: int, col: Column, dc: int):
    raw = sheet.at(row, col.col + dc)
    if col.type == "target":
        return clean_text(raw)
    value = normalise(raw, col.type)
    if col.type == "choice" and isinstance(value, str):
        value = value.replace(" ", "")
    return value


def _table_end(sheet: Sheet, spec: FormSpec, table: Table, header: int, dc: int) -> int:
    """The first sheet row after the table: the row of the first label or text anchored below
    it (e.g. 总分, 项目投入资金构成：), else the end of the sheet."""
    below = [(f.label_area, f.label) for f in spec.anchored(table.key) if f.label_area is not None]
    below += [(t.area, t.text) for t in spec.texts if t.anchor == table.key]
    if below:
        area, text = min(below, key=lambda x: x[0].row)
        want, col = label_key(text), area.col + dc
        for r in range(header + 1, len(sheet.grid)):
            if label_key(sheet.at(r, col)) == want:
                return r - area.row
    return len(sheet.grid)


def carry_groups(values: dict, previous: dict, fill: list[Column]) -> None:
    """Groups written once and merged down (the printed layout): an empty 一级/二级 (the
    hierarchy's choice columns, outermost first) takes the row above's, as long as every outer
    level is the same group as above."""
    inherited = True
    for c in fill:
        if values[c.key] is None and inherited and previous.get(c.key) is not None:
            values[c.key] = previous[c.key]
        else:
            inherited = inherited and values[c.key] == previous.get(c.key)


MAX_TABLE_ROWS = 2000   # rows of one table in one form; templates have at most 1,000


def _extract_table(sheet: Sheet, spec: FormSpec, table: Table, form: Form, dr: int, dc: int) -> tuple[list, int]:
    """The table's non-blank rows, and how many sheet rows it spans (for anchored fields)."""
    header = _find_header(sheet, table, dr, dc)
    rows: list[dict] = []
    if header is None:
        form.next_row[table.key] = a1(table.header_row + dr + 1, table.columns[0].col + dc)
        return rows, 0
    end = _table_end(sheet, spec, table, header, dc)
    fill = [c for c in table.columns if c.type == "choice"] if table.hierarchy else []
    target = table.target
    previous: dict = {}
    last_row = header
    for r in range(header + 1, end):
        values = {c.key: _column_value(sheet, r, c, dc) for c in table.columns}
        if all(v is None for v in values.values()):
            continue
        if len(rows) >= MAX_TABLE_ROWS:  # bounds reading and validating (a pasted list, a crafted file)
            raise UnreadableFile(form.file, Rule.TABLE_TOO_LONG.code, Rule.TABLE_TOO_LONG.format(
                label=table.label, n=MAX_TABLE_ROWS, limit=MAX_TABLE_ROWS))
        carry_groups(values, previous, fill)
        i = len(rows)
        for c in table.columns:
            form.cells[(table.key, i, c.key)] = a1(r, c.col + dc)
        entry = dict(values)
        if table.parse_target and target is not None:
            entry.update(parse_target(values[target.key]).parts())
        rows.append(entry)
        previous = values
        last_row = r
    form.next_row[table.key] = a1(last_row + 1, table.columns[0].col + dc)
    return rows, end - header - 1


# ---------------------------------------------------------------------------------------------
# Many files


def is_lock_file(name: str) -> bool:
    """Excel/WPS (``~$…``) and LibreOffice (``.~lock.…#``) lock files: never forms."""
    return name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#"))


@dataclass
class Inputs:
    """What a command was given, expanded: every file to read as (display name, path, found in
    a folder), and the lock files passed over. Folders are searched recursively; every file in
    them is read or reported (a PDF or a .docx is reported as not a form), except hidden files
    and folders (``.…``) and lock files, which are listed in ``ignored``."""

    items: list[tuple[str, Path, bool]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return ((display, path) for display, path, _ in self.items)

    @property
    def paths(self) -> list[Path]:
        return [p for _, p, _ in self.items]


def expand_paths(paths: Iterable[str | Path] | str | os.PathLike) -> Inputs:
    """Expand files and folders (a single path or an iterable of them). Raises
    :class:`~xltools.errors.MissingPath` naming every path that does not exist."""
    if isinstance(paths, Inputs):
        return paths
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    given = [(str(g), Path(g)) for g in paths]
    missing = [d for d, p in given if not p.exists()]
    if missing:
        raise MissingPath(missing)
    out = Inputs()
    for display, p in given:
        if not p.is_dir():
            out.items.append((display, p, False))
            continue
        found = []
        for f in p.rglob("*"):
            rel = f.relative_to(p)
            if is_lock_file(rel.parts[-1]) and f.is_file():
                out.ignored.append(str(f))
                continue
            if any(part.startswith(".") for part in rel.parts) or not f.is_file():
                continue
            found.append(f)
        out.items.extend((str(f), f, True) for f in sorted(found))
    return out


def default_jobs(n_files: int) -> int:
    """Worker processes for reading: one per core (at most 4) for batches, none for a few files.
    ``XLTOOLS_JOBS`` overrides (1 = read in this process)."""
    env = os.environ.get("XLTOOLS_JOBS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    if n_files < 16:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def read_paths(paths: Iterable[str | Path] | str | os.PathLike | Inputs,
               jobs: int | None = None) -> Iterator[ReadResult | UnreadableFile]:
    """Read every workbook, in order; an unreadable one yields its :class:`UnreadableFile`.
    ``paths``: a file or folder, or an iterable of them (folders are searched recursively,
    see :func:`expand_paths`); a 汇总表 made by `xltools merge` found in a folder is not read
    again as input: its result has ``skipped`` set and no forms.

    Batches are read by a pool of worker processes (forked before the caller imports pandas).
    A worker that dies on a file (a crafted file can abort a native parser) costs only that
    file: it is reported as unreadable and the rest are read on.
    """
    items = expand_paths(paths).items
    jobs = default_jobs(len(items)) if jobs is None else jobs
    if jobs <= 1:
        for item in items:
            yield read_one(*item)
        return
    yield from _read_pool(items, jobs)


def _read_item(item: tuple[str, Path, bool]) -> ReadResult | UnreadableFile:
    return read_one(*item)


def _read_pool(items: list[tuple[str, Path, bool]], jobs: int) -> Iterator[ReadResult | UnreadableFile]:
    from concurrent.futures.process import BrokenProcessPool

    from .pool import context, executor

    ctx = context()
    done = 0
    try:
        with executor(jobs, ctx) as pool:
            chunk = max(1, min(16, len(items) // (jobs * 8) or 1))
            for res in pool.map(_read_item, items, chunksize=chunk):
                done += 1
                yield res
        return
    except BrokenProcessPool:
        pass
    # A worker died: read the rest one file per process, so the culprit is named.
    for display, p, found in items[done:]:
        try:
            with executor(1, ctx) as pool:
                yield pool.submit(read_one, display, p, found).result()
        except BrokenProcessPool:
            yield UnreadableFile(display, Rule.FILE_UNREADABLE.code,
                                 Rule.FILE_UNREADABLE.format(reason="读取时解析程序异常终止，文件可能已损坏或被恶意构造"))


def read_one(display: str, path: Path, found: bool = False) -> ReadResult | UnreadableFile:
    """Read one file; never raises for the file. ``found``: it was found in a folder (then a
    汇总表 made by `xltools merge` is skipped, not read as input)."""
    if not path.exists():
        return UnreadableFile(display, Rule.FILE_UNREADABLE.code, Rule.FILE_UNREADABLE.format(reason="文件不存在"))
    if path.is_dir():
        return UnreadableFile(display, Rule.FILE_UNREADABLE.code, Rule.FILE_UNREADABLE.format(reason="这是一个文件夹"))
    try:
        result = read_workbook(path, display)
        if found and result.made_by_merge:
            return ReadResult(display, [], "summary", skipped="xltools 生成的汇总表，不作为输入")
        return result
    except UnreadableFile as exc:
        exc.path = display
        return exc
    except (MemoryError, RecursionError) as exc:
        return UnreadableFile(display, Rule.FILE_UNREADABLE.code, Rule.FILE_UNREADABLE.format(reason=type(exc).__name__))
    except Exception as exc:  # a bug or a crafted file: report it as data, never a traceback
        from .errors import ConfigError

        if isinstance(exc, ConfigError):  # the spec folder is wrong, not this file: stop, say it once
            raise
        return UnreadableFile(display, Rule.FILE_UNREADABLE.code, Rule.FILE_UNREADABLE.format(reason=_short(exc)))


def forms_to_json(forms: Iterable[Form]) -> str:
    return json.dumps([f.data for f in forms], ensure_ascii=False, indent=2)
