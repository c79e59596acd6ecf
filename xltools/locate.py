"""The label-based reader: forms found by their printed labels on any grid (issue 12).

A workbook typed by hand in the printed layout, a 汇总 exported by another system, the text of
a published PDF (:mod:`xltools.textin`) or its text layer (:mod:`xltools.pdfin`) are all the
same printed form on another grid. :func:`find_forms` reads them all the same way, and
everything it needs comes from the spec (no label, kind or cell address is written here):

* the sheet is cut into forms at each form title (one form per title: a 汇总 on one sheet
  gives one form each); each form is read in the layout (a kind's own or a variant) whose
  labels fit it best;
* a field's value is the nearest non-label cell in the direction the spec's geometry gives
  (input cell right of its label cell, or below it for long texts, or left of it for the
  year); a long text runs over the rows below until the next label (paragraphs joined with
  ``\\n``, ``<p>`` markup removed);
* fields without a label of their own (the 自评表's funds grid) are found where their row text
  and their column header (texts of the spec in the same row / column) cross;
* tables are found by their header row and read until the next label; hierarchy tables
  (绩效指标) are read by column, and a row whose cells do not fit the columns (a drifted
  column in a PDF text) is classified by content: 一级/二级 from the indicator lists, the
  rest in column order; where that is not certain an ``import-ambiguous`` warning says what
  was assumed;
* labels are compared folded (:func:`xltools.read.label_key`: no spaces, ASCII colons and
  brackets, no trailing colon), and a spec may list printed variants as ``aliases``.

Cells are named in the grid's own terms: A1 of the workbook read; for a grid made from text
(``Sheet.lines`` set: the source line of each grid row) ``第N行`` with N the line number in
the file, so findings point at the line to look at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .celltypes import clean_text
from .indicators import parse_target
from .rules import Finding, Rule, finding
from .spec import Field, FormSpec, Table, a1, compute, get_path, kinds, layouts

_MARKUP = re.compile(r"</?p\s*>", re.IGNORECASE)
_STOPS = "。；;！!？?：:"   # a paragraph that ends with one of these is complete
_MARKUP_END = re.compile(r"\s*</p\s*>\s*$", re.IGNORECASE)
_MARKUP_START = re.compile(r"^\s*<p\s*>", re.IGNORECASE)
_CLOSING = "。！？；.!?;：:）)”\"」』"


_CLOSE = ")"        # folded closing bracket: (2026 年度) and 2026年度 print the same year
_HEAD_ROWS = 3     # rows under the title where the year line is looked for


def _key(v) -> str:
    """A cell or label compared loosely: :func:`xltools.read.label_key`, and no colons at all
    (其中: 财政资金 and 其中财政资金 print the same label)."""
    from .read import label_key

    if v is None or v == "":
        return ""
    return label_key(v).replace(":", "")


def cell_name(sheet, r: int, c: int) -> str:
    """The name of grid cell (r, c): A1, ``第N行`` on a grid made from text lines, or the
    row's printed place (``第2页第5行``) on a grid made from a PDF."""
    names = getattr(sheet, "row_names", None)
    if names:
        return names[min(max(r, 0), len(names) - 1)]
    lines = getattr(sheet, "lines", None)
    if lines:
        return f"第{lines[min(r, len(lines) - 1)]}行" if r >= 0 else f"第{lines[0]}行"
    return a1(r, c)


def _text_value(v) -> str | None:
    """A long text: ``<p>`` markup removed, paragraphs on their own lines."""
    if v is None:
        return None
    s = clean_text(v, collapse=False) if isinstance(v, str) else clean_text(v)
    if s is None:
        return None
    parts = [p.strip() for p in _MARKUP.split(s)]
    out = "\n".join(p for p in parts if p)
    return out or None


# ---------------------------------------------------------------------------------------------
# What a spec prints


@dataclass
class _Labels:
    """The folded labels of one layout: every printed text the reader stops at."""

    spec: FormSpec
    all: set[str]

    @classmethod
    def of(cls, spec: FormSpec) -> _Labels:
        out: set[str] = set()
        for f in spec.fields:
            if f.label_area is not None:
                out.update(_field_keys(f))
        for t in spec.texts:
            out.update(k for k in (_key(t.text), *(_key(a) for a in t.aliases)) if len(k) > 1)
        for t in spec.tables:
            out.add(_key(t.label))
            for c in t.columns:
                out.update((_key(c.label), *(_key(a) for a in c.aliases)))
        out.discard("")
        return cls(spec, out)


def _field_keys(f: Field) -> tuple[str, ...]:
    return tuple(k for k in (_key(f.label), *(_key(a) for a in f.aliases)) if k)


def _title_keys(spec: FormSpec) -> set[str]:
    keys = {_key(spec.title)}
    for t in spec.texts:
        if t.style == "title":
            keys.update(_key(a) for a in (t.text, *t.aliases))
    keys.discard("")
    return keys


# ---------------------------------------------------------------------------------------------
# Segments: one form per title


@dataclass
class _Segment:
    sheet: object
    top: int        # the title row
    bottom: int     # first row after the form
    keys: dict      # (r, c) → folded text of the non-empty cells
    where: dict     # folded text → [(r, c)] in reading order

    def rows(self):
        return range(self.top, self.bottom)

    def row_cells(self, r: int) -> list[tuple[int, object]]:
        row = self.sheet.grid[r] if r < len(self.sheet.grid) else []
        return [(c, v) for c, v in enumerate(row) if v is not None and v != ""
                and not (isinstance(v, str) and not v.strip())]


_TITLED_FIT = 0.3     # share of a layout's labels a titled segment must print to be read as it
_UNTITLED_FIT = 0.6   # … and a sheet without any form title


def _segments(sheet, titles: set[str] | None) -> list[_Segment]:
    """The sheet cut at each row printing a title; ``titles`` None: the whole sheet as one."""
    starts = [] if titles is not None else [0]
    for r, row in enumerate(sheet.grid if titles is not None else ()):
        for v in row:
            if v not in (None, "") and _key(v) in titles:
                starts.append(r)
                break
    out = []
    for i, top in enumerate(starts):
        bottom = starts[i + 1] if i + 1 < len(starts) else len(sheet.grid)
        keys, where = {}, {}
        for r in range(top, bottom):
            for c, v in enumerate(sheet.grid[r]):
                if v in (None, ""):
                    continue
                k = _key(v)
                if k:
                    keys[(r, c)] = k
                    where.setdefault(k, []).append((r, c))
        out.append(_Segment(sheet, top, bottom, keys, where))
    return out


def _score(seg: _Segment, labels: _Labels, others: set[str] = frozenset()) -> float:
    """The share of the layout's labels the segment prints, less the share of labels it prints
    that only another layout of the kind has (the 2023 print's 年度总目标)."""
    found = sum(1 for k in labels.all if k in seg.where)
    foreign = sum(1 for k in others - labels.all if k in seg.where)
    return (found - foreign) / max(len(labels.all), 1)


# ---------------------------------------------------------------------------------------------
# Entry point


def find_forms(sheets: list, file: str, titled_only: bool = False) -> tuple[list, list[Finding]]:
    """Every form printed on ``sheets`` (any grid: read.Sheet), by its labels; and the
    findings made while reading (``import-ambiguous`` warnings). ``titled_only``: a sheet
    without a form title is not read (else it is, as one form, if most of a layout's labels
    are on it)."""
    from .spec import LISTS_SHEET, META_SHEET

    families = [list(layouts(k)) for k in kinds()]
    labels_of = {id(spec): _Labels.of(spec) for family in families for spec in family}
    titles: dict[str, list[list[FormSpec]]] = {}
    for family in families:
        for key in set().union(*(_title_keys(s) for s in family)):
            titles.setdefault(key, []).append(family)
    forms, findings = [], []
    for sheet in sheets:
        if sheet.name in (META_SHEET, LISTS_SHEET):
            continue
        segments = _segments(sheet, set(titles))
        untitled = not segments
        if untitled and titled_only:
            continue
        if untitled:   # no title printed (a form typed from its first label): the whole sheet, if its labels fit
            segments = _segments(sheet, None)
        for seg in segments:
            title_key = next((k for c, k in sorted(seg.keys.items()) if c[0] == seg.top and k in titles), None)
            best = None
            for family in (titles[title_key] if title_key else families):
                every = [labels_of[id(spec)] for spec in family]
                union = set().union(*(x.all for x in every))
                for spec, labels in zip(family, every, strict=True):
                    s = _score(seg, labels, union)
                    if best is None or s > best[0]:
                        best = (s, spec, labels)
            if best is None or best[0] < (_UNTITLED_FIT if untitled else _TITLED_FIT):
                continue
            form, found = _Reader(seg, best[1], best[2], file).read()
            forms.append(form)
            findings.extend(found)
    return forms, findings


# ---------------------------------------------------------------------------------------------
# Reading one form


class _Reader:
    def __init__(self, seg: _Segment, spec: FormSpec, labels: _Labels, file: str):
        self.seg, self.spec, self.labels, self.file = seg, spec, labels, file
        self.sheet = seg.sheet
        self.findings: list[Finding] = []
        self.offsets: list[int] = []             # value col − label col of the values found to the right

    def name(self, r: int, c: int) -> str:
        return cell_name(self.sheet, r, c)

    def ambiguous(self, r: int, c: int, what: str, assumed: str) -> None:
        self.findings.append(finding(Rule.IMPORT_AMBIGUOUS, self.file, self.sheet.name, self.name(r, c),
                                     what=what, assumed=assumed))

    def is_label(self, r: int, c: int) -> bool:
        k = self.seg.keys.get((r, c))
        return bool(k) and k in self.labels.all

    def row_has_label(self, r: int, skip: set[str] = frozenset()) -> bool:
        return any(self.seg.keys.get((r, c)) in self.labels.all and self.seg.keys.get((r, c)) not in skip
                   for c, _ in self.seg.row_cells(r))

    # -- fields --------------------------------------------------------------------------

    def occurrences(self, f: Field) -> list[tuple[int, int]]:
        keys = _field_keys(f)
        found = {p for k in keys for p in self.seg.where.get(k, ())}
        if f.area.col < f.label_area.col:   # the year line: under the title, not a repeated print title
            found = {p for p in found if p[0] <= self.seg.top + _HEAD_ROWS}
        if not found and f.area.col < f.label_area.col:
            # a value printed before its label in one cell, near the title: (2026 年度), 2026年度
            bare = [x.rstrip(_CLOSE) for x in keys]
            found = {p for p, k in self.seg.keys.items() if p[0] <= self.seg.top + _HEAD_ROWS
                     and any(k.rstrip(_CLOSE).endswith(x) for x in bare if x)}
        return sorted(found)

    def read(self):
        from .read import Form, _column_value

        spec = self.spec
        form = Form(spec.kind, {}, self.file, self.sheet.name, variant=spec.variant)
        flat: dict = {"表单": spec.kind}
        self.form = form
        self._column_value = _column_value
        for table in spec.tables:
            flat[table.key] = self.table(table)
        # fields sharing one printed label (其他资金 twice) are matched in the spec's order
        rank: dict[str, list[Field]] = {}
        for f in spec.fields:
            if f.label_area is not None:
                rank.setdefault(_key(f.label), []).append(f)
        for same in rank.values():
            same.sort(key=lambda f: (f.label_area.row, f.label_area.col) if f.anchor is None
                      else (10_000 + f.label_area.row, f.label_area.col))
        pending = []
        for f in spec.fields:
            if f.label_area is None:
                pending.append(f)
                continue
            occ = self.occurrences(f)
            i = rank[_key(f.label)].index(f)
            got = (None, None) if not occ else self.field_value(f, occ[min(i, len(occ) - 1)])
            raw, where = got
            self.place(form, flat, f, raw, where)
        for f in pending:
            raw, where = self.grid_value(f)
            self.place(form, flat, f, raw, where)
        compute(spec, flat)
        form.computed = {f.key: get_path(flat, f.path) for f in spec.totals}
        for key, value in spec.empty().items():
            flat.setdefault(key, value)
        form.data = spec.shown(flat)
        del self._column_value
        return form, self.findings

    def place(self, form, flat, f: Field, raw, where) -> None:
        from .read import _set, normalise

        if where is None:
            where = (self.seg.top, 0)
        form.cells[f.path] = self.name(*where)
        if not f.is_input:
            form.stored[f.key] = clean_text(raw) if f.derive == "grade" else _number(raw)
            _set(flat, f.path, None)
            return
        value = normalise(_text_value(raw), f.type) if f.type == "longtext" else normalise(raw, f.type)
        if f.type == "choice" and isinstance(value, str):
            squeezed = value.replace(" ", "")
            if squeezed in self.spec.lists.get(f.list or "", ()):
                value = squeezed
        _set(flat, f.path, value)

    def field_value(self, f: Field, at: tuple[int, int]):
        la, va = f.label_area, f.area
        r, c = at
        if va.row > la.row:
            return self.below(f, r, c)
        if va.col < la.col:
            return self.left(f, r, c)
        return self.right(f, r, c)

    def right(self, f: Field, r: int, c: int):
        cells = self.seg.row_cells(r)
        for cc, v in cells:
            if cc <= c:
                continue
            if self.is_label(r, cc):
                break
            self.offsets.append(cc - c)
            if f.type == "longtext":
                return self.continued(r, cc, v), (r, cc)
            return v, (r, cc)
        # a row of labels over a row of values (年末在职人数 | 内设机构数, then 0 | 0)
        nxt = next((rr for rr in range(r + 1, self.seg.bottom) if self.seg.row_cells(rr)), None)
        if nxt is not None and not self.row_has_label(nxt) and all(self.is_label(r, cc) for cc, _ in cells):
            v = self.sheet.at(nxt, c)
            if v is not None:
                return v, (nxt, c)
        off = _median(self.offsets) if self.offsets else 1
        stop = next((cc for cc, _ in cells if cc > c and self.is_label(r, cc)), None)
        cc = c + off if stop is None or c + off < stop else c + 1
        return None, (r, cc)

    def continued(self, r: int, c: int, v):
        """A long text to the right of its label, continued on the rows below that hold no label."""
        parts = [v]
        for rr in range(r + 1, self.seg.bottom):
            cells = self.seg.row_cells(rr)
            if not cells:
                continue
            if self.row_has_label(rr):
                break
            parts.extend(x for _, x in cells)
        return self.join(parts) if len(parts) > 1 else v

    def below(self, f: Field, r: int, c: int):
        """A long text under its header: the cells below, from the label's column to the next
        label of the header row, until a row holding a label."""
        right = [cc for cc, _ in self.seg.row_cells(r) if cc > c and self.is_label(r, cc)]
        end = min(right) if right else 10 ** 6
        parts, first = [], None
        gap = False
        for rr in range(r + 1, self.seg.bottom):
            cells = self.seg.row_cells(rr)
            if not cells:
                gap = bool(parts)
                continue
            # a label in the text's columns ends it (one left of it, the block's caption, does not)
            if any(c <= cc < end and self.is_label(rr, cc) for cc, _ in cells) \
                    or all(self.is_label(rr, cc) for cc, _ in cells):
                break
            for cc, v in cells:
                if c <= cc < end:
                    if gap and self.broken(parts[-1], v):
                        # a paragraph cut by a page break (…通</p>, a blank line, <p>过…): one paragraph
                        self.ambiguous(rr, cc, f"「{f.name}」的一段文字在空行处断开",
                                       "同一段落接续（不换行）")
                        parts[-1] = _MARKUP_END.sub("", str(parts[-1])) + _MARKUP_START.sub("", str(v))
                    else:
                        parts.append(v)
                    first = first or (rr, cc)
                    gap = False
        if not parts:
            return None, (r + 1, c)
        return self.join(parts), first

    def join(self, parts: list) -> str:
        """Cells of one long text, row after row: paragraphs on their own lines; on a grid made
        from text, a paragraph that stops mid-sentence (no final 。；！？) goes on in the next row
        (a page break) and is joined without a break."""
        texts = [t for t in (_text_value(p) for p in parts) if t]
        out = texts[0] if texts else ""
        lines = getattr(self.sheet, "lines", None)
        for t in texts[1:]:
            out += "" if lines and out[-1] not in _STOPS else "\n"
            out += t
        return out

    @staticmethod
    def broken(before, after) -> bool:
        """Whether a paragraph ends mid-sentence (no closing punctuation) where the next begins."""
        a = _MARKUP.sub("", str(before)).rstrip()
        return bool(a) and bool(_MARKUP.sub("", str(after)).strip()) and a[-1] not in _CLOSING

    def left(self, f: Field, r: int, c: int):
        """A value left of its label; or in the label's own cell before it (``(2026 年度)``,
        the texts printed before it in the spec's row removed)."""
        k = self.seg.keys.get((r, c), "").rstrip(_CLOSE)
        for lk in sorted((x.rstrip(_CLOSE) for x in _field_keys(f)), key=len, reverse=True):
            if lk and k.endswith(lk):
                rest = k[: len(k) - len(lk)]
                for t in self.spec.texts:
                    if t.area.row == f.label_area.row and t.area.col < f.label_area.col:
                        tk = _key(t.text)
                        if tk and rest.startswith(tk):
                            rest = rest[len(tk):]
                if rest:
                    return rest, (r, c)
                break
        cells = [cc for cc, _ in self.seg.row_cells(r) if cc < c]
        if cells:
            cc = max(cells)
            return self.sheet.grid[r][cc], (r, cc)
        return None, (r, c)

    # -- fields without a label: the crossing of a row text and a column header -----------

    def _texts_at(self, f: Field):
        """The spec's row text (same row, left of the cell) and column text (same column, above)."""
        spec, va = self.spec, f.area
        row_text = col_text = None
        for t in spec.texts:
            if (t.anchor or None) != (f.anchor or None) or not _key(t.text):
                continue
            if t.area.first_row <= va.row <= t.area.last_row and t.area.last_col < va.col \
                    and (row_text is None or t.area.col > row_text.area.col):
                row_text = t
            if t.area.first_col <= va.col <= t.area.last_col and t.area.last_row < va.row \
                    and (col_text is None or t.area.row > col_text.area.row):
                col_text = t
        row_label = None
        if row_text is None:   # a label of another field in the same row (总分: 分值合计's label)
            for g in spec.fields:
                if g.label_area is not None and (g.anchor or None) == (f.anchor or None) \
                        and g.label_area.first_row <= va.row <= g.label_area.last_row \
                        and g.label_area.last_col < va.col \
                        and (row_label is None or g.label_area.col > row_label.label_area.col):
                    row_label = g
        return row_text, col_text, row_label

    def grid_value(self, f: Field):
        row_text, col_text, row_label = self._texts_at(f)
        keys = ()
        if row_text is not None:
            keys = (_key(row_text.text), *(_key(a) for a in row_text.aliases))
        elif row_label is not None:
            keys = _field_keys(row_label)
        rows = sorted({p for k in keys for p in self.seg.where.get(k, ())})
        if not rows:
            return None, None
        r, c0 = rows[0]
        # the fields printed in this row right of its text, in the spec's order
        anchor_col = (row_text.area if row_text is not None else row_label.label_area).last_col
        same = sorted((g for g in self.spec.fields if (g.anchor or None) == (f.anchor or None)
                       and g.area.row == f.area.row and g.area.col > anchor_col), key=lambda g: g.area.col)
        values = [(cc, v) for cc, v in self.seg.row_cells(r) if cc > c0 and not self.is_label(r, cc)]
        i = same.index(f)
        if len(values) == len(same):   # every cell printed: in order (whatever the column drift)
            cc, v = values[i]
            return v, (r, cc)
        if col_text is not None:
            ck = {_key(col_text.text), *(_key(a) for a in col_text.aliases)}
            cols = [p for k in ck for p in self.seg.where.get(k, ()) if p[0] < r]
            if cols:   # under its column header
                cc = max(cols)[1]
                return self.sheet.at(r, cc), (r, cc)
        if i < len(values):
            cc, v = values[i]
            return v, (r, cc)
        return None, (r, c0 + 1 + i)

    # -- tables ----------------------------------------------------------------------------

    def header(self, table: Table) -> tuple[int, list[int]] | None:
        want = [{_key(c.label), *(_key(a) for a in c.aliases)} for c in table.columns]
        for r in self.seg.rows():
            cells = [(cc, self.seg.keys.get((r, cc))) for cc, _ in self.seg.row_cells(r)]
            cols, i = [], 0
            for cc, k in cells:
                if i < len(want) and k in want[i]:
                    cols.append(cc)
                    i += 1
            if i == len(want):
                return r, cols
        return None

    def table(self, table: Table) -> list[dict]:
        from .read import carry_groups

        form = self.form
        found = self.header(table)
        rows: list[dict] = []
        if found is None:
            form.next_row[table.key] = self.name(self.seg.top, 0)
            return rows
        header, cols = found
        own = {k for c in table.columns for k in (_key(c.label), *(_key(a) for a in c.aliases))}
        {_key(table.label)} | {_key(c.label) for c in table.columns}
        hier = self.spec.hierarchy if table.hierarchy else None
        level1 = set(hier.level1) if hier else set()
        level2 = {v for l1 in hier.level1 for v in hier.level2(l1)} if hier else set()
        keys = [c.key for c in table.columns]
        fill = [c for c in table.columns if c.type == "choice"] if table.hierarchy else []
        previous: dict = {}
        last = header
        for r in range(header + 1, self.seg.bottom):
            cells = [(cc, v) for cc, v in self.seg.row_cells(r) if self.seg.keys.get((r, cc)) != _key(table.label)]
            if not self.seg.row_cells(r):
                continue
            if self.row_has_label(r, skip={_key(table.label)}):
                if cells and all(self.seg.keys.get((r, cc)) in own for cc, _ in cells):
                    continue   # the header printed again (after a page break)
                break
            if not cells:
                continue
            placed = self.positional(table, cols, cells, level1, level2)
            if placed is None:
                placed = self.by_content(table, r, cells, level1, level2)
            if rows and self.continues(table, placed):
                # a text cell broken over lines (a page break): the rest of the row above
                for key, (_, raw) in placed.items():
                    before = rows[-1][key] or ""
                    rows[-1][key] = before + ("" if not before or before[-1] not in _STOPS else "\n") + \
                        (self._cell(raw, table.column(key)) or "")
                continue
            values = {}
            where = {}
            for c in table.columns:
                got = placed.get(c.key)
                if got is None:
                    values[c.key] = None
                    where[c.key] = (r, cols[keys.index(c.key)])
                else:
                    cc, raw = got
                    values[c.key] = self._cell(raw, c)
                    where[c.key] = (r, cc)
            if all(v is None for v in values.values()):
                continue
            if hier is not None:
                self.parent(table, r, values, previous, hier)
            carry_groups(values, previous, fill)
            i = len(rows)
            for c in table.columns:
                form.cells[(table.key, i, c.key)] = self.name(*where[c.key])
            entry = dict(values)
            if table.parse_target and table.target is not None:
                entry.update(parse_target(values[table.target.key]).parts())
            rows.append(entry)
            previous = values
            last = r
        form.next_row[table.key] = self.name(last + 1, cols[0])
        return rows

    def continues(self, table: Table, placed: dict) -> bool:
        """On a grid made from text, a row with its first column empty and only long texts
        filled continues the row above (a text broken by a page break)."""
        if not getattr(self.sheet, "lines", None) or table.hierarchy or not placed:
            return False
        first = table.columns[0].key
        return first not in placed and all(table.column(k).type == "longtext" for k in placed)

    def parent(self, table: Table, r: int, values: dict, previous: dict, hier) -> None:
        """A 二级 printed without its 一级 that does not belong to the 一级 above (the 一级 of a
        merged group printed further down): its 一级 from the indicator lists, with a warning."""
        l1 = table.by_role("level1")
        l2 = table.by_role("level2")
        if l1 is None or l2 is None or values.get(l1.key) is not None or values.get(l2.key) is None:
            return
        above = previous.get(l1.key)
        if above is not None and hier.layouts_of(above, values[l2.key]):
            return
        parents = [x for x in hier.level1 if values[l2.key] in hier.level2(x)]
        if len(parents) == 1:
            values[l1.key] = parents[0]
            self.ambiguous(r, 0, f"「{values[l2.key]}」所在行没有一级指标，且它不属于上一行的「{above}」",
                           f"一级指标「{parents[0]}」")

    def _cell(self, raw, c):
        if c.type == "longtext":
            raw = _text_value(raw)
        return self._column_value(_OneCell(raw), 0, c, -c.col)

    def positional(self, table: Table, cols: list[int], cells, level1, level2) -> dict | None:
        """Each cell under its column header (a column spans to the next header); None when
        the row does not fit (a cell left of the first column, two in one column, a 一级/二级
        that is not one)."""
        out: dict = {}
        for cc, v in cells:
            if cc < cols[0]:
                return None
            i = max(j for j, x in enumerate(cols) if x <= cc)
            key = table.columns[i].key
            if key in out:
                return None
            out[key] = (cc, v)
        if table.hierarchy:
            for c in table.columns:
                if c.key not in out:
                    continue
                text = (clean_text(out[c.key][1]) or "").replace(" ", "")
                if c.type != "choice":
                    if text in level1 or text in level2:   # a 一级/二级 name in another column: drifted
                        return None
                    continue
                names = level1 if c.role == "level1" else level2
                if text and text not in names:
                    return None
        return out

    def by_content(self, table: Table, r: int, cells, level1, level2) -> dict:
        """A row whose cells drifted off their columns: 一级/二级 by name, the rest in order."""
        out: dict = {}
        rest = []
        l1 = next((c for c in table.columns if c.role == "level1"), None)
        l2 = next((c for c in table.columns if c.role == "level2"), None)
        for cc, v in cells:
            text = (clean_text(v) or "").replace(" ", "")
            if l1 is not None and l1.key not in out and not rest and text in level1:
                out[l1.key] = (cc, v)
            elif l2 is not None and l2.key not in out and not rest and text in level2:
                out[l2.key] = (cc, v)
            else:
                rest.append((cc, v))
        others = [c for c in table.columns if c.key not in out and c not in (l1, l2)]
        if len(rest) == len(others):
            out.update((c.key, x) for c, x in zip(others, rest, strict=True))
            return out
        if len(rest) > len(others) and others:
            # more cells than columns: the surplus is joined into the last text column
            head = rest[:len(others) - 1]
            tail = rest[len(others) - 1:]
            out.update((c.key, x) for c, x in zip(others, head, strict=False))
            out[others[-1].key] = (tail[0][0], " ".join(str(v) for _, v in tail))
            self.ambiguous(r, tail[0][0], f"这一行的单元格多于「{table.label}」的列",
                           f"多出的内容并入「{others[-1].name}」")
            return out
        # fewer cells than columns: in order when only optional columns at the end stay empty
        if all(not c.required for c in others[len(rest):]):
            out.update((c.key, x) for c, x in zip(others, rest, strict=False))
            return out
        # else each to the first column that takes it, by type
        j = 0
        taken = []
        for cc, v in rest:
            while j < len(others) and not _fits(others[j], v, len(rest) - len(taken), len(others) - j):
                j += 1
            if j >= len(others):
                break
            out[others[j].key] = (cc, v)
            taken.append(others[j].name)
            j += 1
        if rest:
            self.ambiguous(r, rest[0][0], f"这一行「{table.label}」的单元格少于列数，列可能错位",
                           "、".join(f"「{n}」" for n in taken) or "空行")
        return out


def _fits(col, v, left_cells: int, left_cols: int) -> bool:
    """Whether cell value ``v`` can be column ``col``'s, leaving enough columns for the rest."""
    if left_cols > left_cells and col.type in ("number", "money", "count"):
        return _number(v) is not None
    if left_cols > left_cells and col.type == "target":
        return parse_target(clean_text(v)).parts().get("运算符") is not None or False
    return True


class _OneCell:
    """A sheet of one cell, for the reader's column normaliser."""

    def __init__(self, v):
        self.v = v

    def at(self, r, c):
        return None if self.v == "" else self.v


def _number(v):
    from .celltypes import to_number

    n = to_number(v)
    return n if isinstance(n, (int, float)) else None


def _median(xs: list[int]) -> int:
    s = sorted(xs)
    return s[len(s) // 2]

