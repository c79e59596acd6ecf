"""The 汇总表 as a 街道 publishes it: one sheet with the title, then every form in its printed
layout, one after another, each starting on a new page (seeds 000, 002; seed 004 for 自评表).

This sheet is for printing only: the metadata names it (``published``) and the reader skips
it, so a 汇总表 read back gives each form once. Unlike the form sheets it need not keep the
reader's cell positions, so it prints what the form sheets cannot: 一级/二级 merged per group as
printed, and a long text taller than a row can be (409 pt) split over several rows, so that it
continues on the next page instead of being clipped. Values are written as values (no formulas).
"""

from __future__ import annotations

from .layout import A4, DEFAULT_ROW, MAX_ROW, Heights, fit_scale, split_to_rows, text_height
from .spec import Area, FormSpec, compute, get_path
from .template import Styles, json_copy, write_typed

PIECE = 240.0      # points: a long text is cut into rows of at most this height, to flow over pages
MARGIN = 0.4       # inches, left and right
TOP, BOTTOM = 0.6, 0.6
LONG_GROUP = 6     # a merged 一级/二级 group of more rows than this has its text at the top


class _Formats:
    """The form's formats, with the variants a split text and the merged groups need."""

    def __init__(self, wb, st: Styles):
        self.wb, self.st = wb, st
        self.cache: dict[tuple, object] = {}

    def variant(self, fmt, **props):
        key = (id(fmt), tuple(sorted(props.items())))
        if key not in self.cache:
            base = dict(self.st.props.get(id(fmt), {}))
            if not base:   # a format Styles made directly: rebuild the look that matters
                base = {"font_name": fmt.font_name, "font_size": fmt.font_size, "border": 1, "text_wrap": True,
                        "valign": "vcenter", "bold": bool(fmt.bold)}
                if fmt.bg_color:
                    base["bg_color"] = fmt.bg_color
            self.cache[key] = self.wb.add_format(dict(base, **props))
        return self.cache[key]


def write_published(ws, spec: FormSpec, forms: list[dict], title: str, st: Styles,
                    layouts: list[FormSpec] | None = None) -> None:
    """The 公开版 sheet: the title, then every form in its printed layout (``layouts``: each
    form's own spec, e.g. a variant's; default ``spec``), each from a new page."""
    widths = list(spec.columns)
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    ws.hide_gridlines(2)
    heights = Heights(widths)
    fm = _Formats(st.wb, st)
    last_col = len(widths) - 1
    ws.merge_range(0, 0, 0, last_col, "", st.title)
    ws.write_string(0, 0, title, st.title)
    heights.at_least(0, 36)
    row = 1
    starts = []
    deferred: list[tuple] = []
    for i, data in enumerate(forms):
        starts.append(row)
        row = _Form(ws, layouts[i] if layouts else spec, data, row, st, fm, heights, deferred).write() + 1
    resolved = heights.apply(ws)
    scale = fit_scale(widths, A4[0] - 2 * MARGIN * 72)
    page = (A4[1] - (TOP + BOTTOM) * 72 - 14) * 100 / scale * 0.97   # sheet points a page holds
    breaks = paginate([resolved.get(r, DEFAULT_ROW) for r in range(row)], page, set(starts[1:]))
    for r1, c1, r2, c2, value, typ, fmt in deferred:   # vertical merges: never across a page break
        _merge_within_pages(ws, r1, c1, r2, c2, value, typ, fmt, breaks)
    if breaks:
        ws.set_h_pagebreaks(breaks)
    ws.set_paper(9)
    ws.set_portrait()
    ws.set_margins(left=MARGIN, right=MARGIN, top=TOP, bottom=BOTTOM)
    ws.set_print_scale(scale)
    ws.center_horizontally()
    ws.repeat_rows(0, 0)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.print_area(0, 0, max(row - 1, 0), last_col)


def paginate(heights: list[float], page: float, starts: set[int]) -> list[int]:
    """The rows that begin a page: each of ``starts`` (a new form), and wherever the next row
    would not fit (row 0, the title, repeats on every page)."""
    breaks: list[int] = []
    room = page - (heights[0] if heights else 0.0)
    used = 0.0
    for r in range(1, len(heights)):
        if r in starts or (used + heights[r] > room and used > 0):
            breaks.append(r)
            used = 0.0
        used += heights[r]
    return breaks


def _merge_within_pages(ws, r1, c1, r2, c2, value, typ, fmt, breaks) -> None:
    """Merge r1..r2 (× c1..c2) in one piece per page; the value is repeated on each page."""
    cuts = [b for b in breaks if r1 < b <= r2]
    for a, b in zip([r1] + cuts, [c - 1 for c in cuts] + [r2]):
        if (a, c1) != (b, c2):
            ws.merge_range(a, c1, b, c2, "", fmt)
        write_typed(ws, a, c1, value, typ, fmt)


class _Form:
    def __init__(self, ws, spec: FormSpec, data: dict, base: int, st: Styles, fm: _Formats, heights: Heights,
                 deferred: list):
        self.ws, self.spec, self.st, self.fm, self.h, self.base = ws, spec, st, fm, heights, base
        self.deferred = deferred   # merges over several rows: written once the page breaks are known
        self.values = compute(spec, json_copy(data or {}))
        self.n = {t.key: max(len(get_path(self.values, (t.key,)) or []), len(t.preprinted), 1) for t in spec.tables}
        self.placed = {t.key: spec.placed(t, self.n.get(t.anchor)) for t in spec.tables}
        self.pieces: dict[str, list[str]] = {}
        self.extra: dict[int, int] = {}   # form row -> rows added below it for a split text
        # The unit's note to the reviewer (role "remark", 填报说明) is internal: not published.
        self.fields = [f for f in spec.fields if f.role != "remark"]
        for f in self.fields:
            value = get_path(self.values, f.path)
            if f.type == "longtext" and isinstance(value, str) and value:
                area = self.area_of(f)
                pixels = heights.pixels(area.first_col, area.last_col)
                parts = split_to_rows(value, pixels, 10.0, PIECE) if text_height(value, pixels) > PIECE else [value]
                self.pieces[f.key] = parts
                self.extra[area.first_row] = max(self.extra.get(area.first_row, 0), len(parts) - 1)

    def area_of(self, f) -> Area:
        return self.spec.area(f, self.n.get(f.anchor) if f.anchor else None)

    def row(self, r: int) -> int:
        """The sheet row of form row ``r``."""
        return self.base + r + sum(k for q, k in self.extra.items() if q < r)

    def rows(self, area: Area) -> tuple[int, int]:
        return self.row(area.first_row), self.row(area.last_row) + self.extra.get(area.last_row, 0)

    def put(self, area: Area, value, typ: str, fmt, wrap: bool = True) -> None:
        r1, r2 = self.rows(area)
        self.merge(r1, area.first_col, r2, area.last_col, value, typ, fmt)
        if isinstance(value, str) and value:
            self.h.text(r1, area.first_col, r2, area.last_col, value, fmt.font_size, wrap=wrap)

    def merge(self, r1: int, c1: int, r2: int, c2: int, value, typ: str, fmt) -> None:
        if r2 > r1:
            self.deferred.append((r1, c1, r2, c2, value, typ, fmt))
            return
        if c2 > c1:
            self.ws.merge_range(r1, c1, r2, c2, "", fmt)
        write_typed(self.ws, r1, c1, value, typ, fmt)

    def write(self) -> int:
        spec, st = self.spec, self.st
        last = 0
        for t in spec.texts:
            area = self.area_of(t)
            fmt = st.named(t.style)
            self.put(area, t.text, "text", fmt, wrap=t.style not in ("title", "subtitle_left", "subtitle_right"))
            last = max(last, self.rows(area)[1])
        self.h.at_least(self.row(0), 30)
        for f in self.fields:
            la = spec.label_area(f, self.n.get(f.anchor))
            if la is not None:
                fmt = st.named(f.label_style)
                self.put(la, f.label, "text", fmt, wrap=f.label_style not in ("subtitle_left", "subtitle_right"))
            area = self.area_of(f)
            last = max(last, self.rows(area)[1])
            value = get_path(self.values, f.path)
            if f.type in ("total", "derived"):
                self.put(area, value, "text" if f.derive == "grade" else "total",
                         st.derived_text if f.derive == "grade" else st.total)
            elif f.type == "constant":
                self.put(area, f.value, "number", st.total if f.value is not None else st.label)
            elif f.key in self.pieces:
                self.split(area, self.pieces[f.key], st.by_type["longtext"])
            else:
                self.put(area, value, f.type, st.by_type[f.type if f.type in st.by_type else "text"])
        for table in spec.tables:
            last = max(last, self.table(self.placed[table.key]))
        return last

    def split(self, area: Area, parts: list[str], fmt) -> None:
        """A long text over the rows of its area: one piece a row, bordered as one cell."""
        r1, r2 = self.rows(area)
        for i in range(r2 - r1 + 1):
            piece = parts[i] if i < len(parts) else None
            edge = {"top": 1 if i == 0 else 0, "bottom": 1 if r1 + i == r2 else 0}
            cell = self.fm.variant(fmt, **edge)
            if area.first_col != area.last_col:
                self.ws.merge_range(r1 + i, area.first_col, r1 + i, area.last_col, "", cell)
            write_typed(self.ws, r1 + i, area.first_col, piece, "longtext", cell)
            if piece:
                self.h.at_least(r1 + i, min(text_height(piece, self.h.pixels(area.first_col, area.last_col)), MAX_ROW))

    def table(self, table) -> int:
        st = self.st
        n = self.n[table.key]
        header, first, last = self.row(table.header_row), self.row(table.row(0)), self.row(table.row(n - 1))
        if table.label_col is not None:
            fmt = st.section if n <= LONG_GROUP else self.fm.variant(st.section, valign="top")
            self.merge(header, table.label_col, last, table.label_col, table.label, "text", fmt)
        for c in table.columns:
            self.put(Area(table.header_row, c.col, table.header_row, c.last or c.col), c.label, "text", st.header)
        self.h.at_least(header, 24)
        data = get_path(self.values, (table.key,)) or []
        rows = [dict(data[i]) if i < len(data) else {} for i in range(n)]
        for i, row in enumerate(rows):
            row.update(table.fixed(i))
        merged = self.groups(table, rows) if table.hierarchy else {}
        for i, row in enumerate(rows):
            r = first + i
            for c in table.columns:
                fmt = st.by_type[c.type]
                if (i, c.key) in merged:
                    span = merged[(i, c.key)]
                    if span == 0:
                        continue   # inside a group written above
                    if span > LONG_GROUP:
                        fmt = self.fm.variant(fmt, valign="top")
                    self.merge(r, c.col, r + span - 1, c.last or c.col, row.get(c.key), c.type, fmt)
                    self.h.text(r, c.col, r + span - 1, c.last or c.col, row.get(c.key))
                    continue
                if c.spans:
                    self.ws.merge_range(r, c.col, r, c.last, "", fmt)
                write_typed(self.ws, r, c.col, row.get(c.key), c.type, fmt)
                if isinstance(row.get(c.key), str):
                    self.h.text(r, c.col, r, c.last or c.col, row.get(c.key))
        return last

    @staticmethod
    def groups(table, rows: list[dict]) -> dict[tuple[int, str], int]:
        """(row, column) → rows merged from there (0: inside a group) for the 一级 and 二级
        columns: runs of equal values, a 二级 run never crossing a 一级 one (as printed)."""
        out: dict[tuple[int, str], int] = {}
        levels = [k for k in (table.key_of("level1"), table.key_of("level2")) if k]
        for depth, key in enumerate(levels):
            i = 0
            while i < len(rows):
                j = i + 1
                same = tuple(rows[i].get(k) for k in levels[: depth + 1])
                while j < len(rows) and rows[i].get(key) and tuple(rows[j].get(k) for k in levels[: depth + 1]) == same:
                    j += 1
                if j - i > 1:
                    out[(i, key)] = j - i
                    for q in range(i + 1, j):
                        out[(q, key)] = 0
                i = j
        return out
