"""The declarative form specs (schemas/*.toml) as frozen dataclasses.

Everything that knows where a label or an input sits — the template writer, the reader,
the validator and the merger — asks a :class:`FormSpec`. Nothing else in the package writes
a cell address or a printed label.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path

from .errors import SpecError

FIELD_TYPES = {"text", "longtext", "choice", "year", "date", "money", "total", "derived", "constant"}
COMPUTED_TYPES = {"total", "derived", "constant"}
COLUMN_TYPES = {"text", "choice", "target", "money", "number", "year"}

META_SHEET = "_xltools"   # very hidden: kind, spec version, role, template id
LISTS_SHEET = "_lists"    # hidden: the dropdown lists

_FIELD_KEYS = {"key", "label", "label_cell", "label_style", "cell", "type", "required", "list",
               "prompt", "sum_of", "derive", "args", "value", "anchor"}
_COLUMN_KEYS = {"key", "label", "col", "type", "required", "list", "cascade_from", "prompt"}
_TABLE_KEYS = {"key", "label", "label_col", "header_row", "min_rows", "required", "hierarchy",
               "columns", "highlights", "parse_target"}
_TEXT_KEYS = {"cell", "text", "style", "anchor"}
_SPEC_KEYS = {"kind", "version", "title", "name", "sheet", "money_unit", "indicators", "columns",
              "key_order", "identity", "group_by", "empty_lists", "lists", "texts", "fields",
              "tables", "summary_title", "summary_columns", "carry", "period", "checks",
              "short_name", "form_file", "summary_file"}


# ---------------------------------------------------------------------------------------------
# A1 references


def col_index(letters: str) -> int:
    """'A' -> 0, 'F' -> 5, 'AA' -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def col_letter(index: int) -> str:
    """0 -> 'A'."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


@lru_cache(maxsize=65536)
def a1(row: int, col: int) -> str:
    """0-based (row, col) -> 'B3'."""
    return f"{col_letter(col)}{row + 1}"


_CELL_RE = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")


def parse_cell(ref: str) -> tuple[int, int]:
    """'B3' -> (2, 1), 0-based."""
    m = _CELL_RE.match(ref.strip().upper())
    if not m:
        raise SpecError(f"不是单元格地址：{ref!r}")
    return int(m.group(2)) - 1, col_index(m.group(1))


@dataclass(frozen=True)
class Area:
    """A cell or a merged range, 0-based and inclusive."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int

    @classmethod
    def parse(cls, ref: str) -> Area:
        a, _, b = ref.partition(":")
        r1, c1 = parse_cell(a)
        r2, c2 = parse_cell(b) if b else (r1, c1)
        return cls(r1, c1, r2, c2)

    @property
    def row(self) -> int:
        return self.first_row

    @property
    def col(self) -> int:
        return self.first_col

    @property
    def ref(self) -> str:
        """The A1 address of the top-left cell (where the value lives)."""
        return a1(self.first_row, self.first_col)

    @property
    def merged(self) -> bool:
        return (self.first_row, self.first_col) != (self.last_row, self.last_col)

    def shifted(self, rows: int) -> Area:
        return Area(self.first_row + rows, self.first_col, self.last_row + rows, self.last_col)

    def cells(self):
        for r in range(self.first_row, self.last_row + 1):
            for c in range(self.first_col, self.last_col + 1):
                yield r, c


# ---------------------------------------------------------------------------------------------
# The spec


@dataclass(frozen=True)
class Text:
    area: Area
    text: str
    style: str
    anchor: str | None = None


_LABEL_PREFIX = re.compile(r"^其中\s*[:：]\s*")


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    label_area: Area | None   # None: the label is a row/column header printed as a text
    area: Area
    type: str
    required: bool = False
    list: str | None = None
    prompt: str | None = None
    sum_of: tuple[str, ...] = ()
    label_style: str = "label"
    derive: str | None = None       # for type "derived": a name in xltools.derive.DERIVATIONS
    args: tuple[str, ...] = ()      # field keys, or "<table>.<column>" for a whole table column
    value: float | None = None      # for type "constant"
    anchor: str | None = None       # a table key: rows count from the first row below that table

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))

    @property
    def name(self) -> str:
        """The short name for messages: the printed label without a leading 其中: and the
        trailing colon or bracket of the print (「其中: 当年财政拨款」→ 当年财政拨款, 「年度)」→ 年度)."""
        return _LABEL_PREFIX.sub("", self.label).rstrip(":：)）").strip()

    @property
    def ref(self) -> str:
        return self.area.ref

    @property
    def is_input(self) -> bool:
        return self.type not in COMPUTED_TYPES


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    col: int
    type: str
    required: bool = False
    list: str | None = None
    cascade_from: str | None = None
    prompt: str | None = None

    @property
    def letter(self) -> str:
        return col_letter(self.col)


@dataclass(frozen=True)
class Table:
    key: str
    label: str
    label_col: int | None   # a section label merged down the table's left side, if any
    header_row: int  # 0-based
    min_rows: int
    columns: tuple[Column, ...]
    required: bool = False
    hierarchy: bool = False
    highlights: tuple[str, ...] = ()   # conditional-format formulas per row, {列名} = that row's cell
    parse_target: bool = False         # add the parsed parts of the 指标值 (运算符/数值/单位/定性) to each row

    @cached_property
    def target(self) -> Column | None:
        """The column holding the 指标值 (type "target"), if any."""
        return next((c for c in self.columns if c.type == "target"), None)

    def row(self, i: int) -> int:
        """0-based sheet row of the i-th data row."""
        return self.header_row + 1 + i

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    def cell(self, i: int, key: str) -> str:
        return a1(self.row(i), self.column(key).col)


@dataclass(frozen=True)
class Hierarchy:
    """The indicator tree of schemas/indicators.toml, in its layouts."""

    layouts: dict[str, dict[str, tuple[str, ...]]]
    layout_names: dict[str, str]
    required_level1: tuple[str, ...]
    count_units: frozenset[str]
    rate_bad_units: frozenset[str]

    @cached_property
    def level1(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for tree in self.layouts.values():
            for k in tree:
                seen.setdefault(k, None)
        return tuple(seen)

    def level2(self, level1: str) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for tree in self.layouts.values():
            for v in tree.get(level1, ()):
                seen.setdefault(v, None)
        return tuple(seen)

    @cached_property
    def _pairs(self) -> dict[tuple[str, str], frozenset[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        for name, tree in self.layouts.items():
            for l1, l2s in tree.items():
                for l2 in l2s:
                    out.setdefault((l1, l2), set()).add(name)
        return {k: frozenset(v) for k, v in out.items()}

    def layouts_of(self, level1: str, level2: str) -> frozenset[str]:
        """The layouts in which level2 sits under level1 (empty: a hierarchy error)."""
        return self._pairs.get((level1, level2), frozenset())


@dataclass(frozen=True)
class FormSpec:
    kind: str
    version: int
    title: str
    name: str
    sheet: str
    money_unit: str
    columns: tuple[float, ...]
    key_order: tuple[str, ...]
    identity: tuple[str, ...]
    group_by: tuple[str, ...]
    empty_lists: tuple[str, ...]
    lists: dict[str, tuple[str, ...]]
    texts: tuple[Text, ...]
    fields: tuple[Field, ...]
    tables: tuple[Table, ...]
    summary_title: str = "{实施单位} {年度} 年度汇总表"
    summary_columns: tuple[str, ...] = ()
    short_name: str = ""                       # 申报表 / 自评表: in file names and messages
    form_file: tuple[str, ...] = ()            # keys whose values name one form's file
    summary_file: str = "汇总表"               # merge: <group_by values>_<summary_file>.xlsx
    carry: dict = field(default_factory=dict)   # other kind → how its values carry into this one
    period: tuple[str, ...] = ()               # (start, end) date fields: start ≤ end, both in 年度
    checks: tuple[str, ...] = ()               # extra rule groups of xltools.validate.CHECKS
    hierarchy: Hierarchy | None = None
    source: Path | None = field(default=None, compare=False)

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    @property
    def inputs(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.is_input)

    @property
    def totals(self) -> tuple[Field, ...]:
        """Computed fields (sums and other derivations), in dependency order."""
        return tuple(f for f in self.fields if f.type in ("total", "derived"))

    @property
    def constants(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.type == "constant")

    def anchored_base(self, table_key: str, rows: int) -> int:
        """The 0-based sheet row just below ``rows`` data rows of a table."""
        return self.table(table_key).header_row + 1 + rows

    def area(self, f: Field | Text, rows: int | None) -> Area:
        """Where a field (or text) sits when its anchor table has ``rows`` rows."""
        if f.anchor is None:
            return f.area
        return f.area.shifted(self.anchored_base(f.anchor, rows or 0))

    def label_area(self, f: Field, rows: int | None) -> Area | None:
        if f.label_area is None or f.anchor is None:
            return f.label_area
        return f.label_area.shifted(self.anchored_base(f.anchor, rows or 0))

    def anchored(self, table_key: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.anchor == table_key)

    def choices(self, list_name: str) -> tuple[str, ...]:
        if list_name == "一级指标" and self.hierarchy:
            return self.hierarchy.level1
        return self.lists[list_name]

    def form_stem(self, values: dict) -> tuple[str, str]:
        """One form's file name (no suffix) as (what varies, the fixed tail): the values of
        ``form_file`` that are filled, then ``_`` + ``short_name`` — e.g. (九里亭街道_党群综合服务_2026, _申报表)."""
        parts = [str(v) for k in self.form_file if (v := (values or {}).get(k)) not in (None, "")]
        return "_".join(parts), "_" + self.short_name

    def summary_stem(self, group: tuple) -> tuple[str, str]:
        """A 汇总表's file name (no suffix) for the values of ``group_by``, as (head, tail)."""
        parts = [str(v) if v not in (None, "") else f"未填{k}" for k, v in zip(self.group_by, group)]
        return "_".join(parts), "_" + self.summary_file

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)


def get_path(values: dict | None, path: tuple[str, ...]):
    cur = values
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def column_arg(spec: FormSpec, arg: str) -> tuple[Table, Column] | None:
    """``"<table>.<column>"`` names a whole table column; anything else is a field key."""
    head, _, rest = arg.partition(".")
    for t in spec.tables:
        if t.key == head:
            for c in t.columns:
                if c.key == rest:
                    return t, c
    return None


def arg_value(spec: FormSpec, data: dict | None, arg: str):
    tc = column_arg(spec, arg)
    if tc:
        return [row.get(tc[1].key) for row in (get_path(data, (tc[0].key,)) or [])]
    return get_path(data, spec.field(arg).path)


def set_path(data: dict, path: tuple[str, ...], value) -> None:
    cur = data
    for p in path[:-1]:
        cur = cur.setdefault(p, {})
    cur[path[-1]] = value


def compute(spec: FormSpec, data: dict) -> dict:
    """Set every constant and derived field of ``data`` from its inputs (in spec order)."""
    from .derive import DERIVATIONS

    for f in spec.constants:
        set_path(data, f.path, f.value)
    for f in spec.totals:
        fn = DERIVATIONS[f.derive].python
        set_path(data, f.path, fn(*[arg_value(spec, data, a) for a in f.args]))
    return data


# ---------------------------------------------------------------------------------------------
# Loading


def schemas_dir() -> Path:
    """schemas/ inside an installed wheel, else the repository's top-level schemas/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise SpecError("找不到表单定义目录 schemas/")


def _check_keys(where: str, data: dict, allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise SpecError(f"{where}: 未知的键 {sorted(unknown)}")


def _load_hierarchy(name: str) -> Hierarchy:
    data = tomllib.loads((schemas_dir() / f"{name}.toml").read_text("utf-8"))
    layouts = {k: {l1: tuple(l2s) for l1, l2s in v["tree"].items()} for k, v in data["layouts"].items()}
    return Hierarchy(
        layouts=layouts,
        layout_names={k: v.get("name", k) for k, v in data["layouts"].items()},
        required_level1=tuple(data.get("required_level1", ())),
        count_units=frozenset(data.get("count_units", ())),
        rate_bad_units=frozenset(data.get("rate_bad_units", ())),
    )


def _build(data: dict, source: Path) -> FormSpec:
    where = source.name
    _check_keys(where, data, _SPEC_KEYS)
    fields = []
    for f in data.get("fields", []):
        _check_keys(f"{where} 字段 {f.get('key')}", f, _FIELD_KEYS)
        if f["type"] not in FIELD_TYPES:
            raise SpecError(f"{where} 字段 {f['key']}: 未知类型 {f['type']}")
        fields.append(Field(
            key=f["key"], label=f["label"],
            label_area=Area.parse(f["label_cell"]) if f.get("label_cell") else None,
            area=Area.parse(f["cell"]), type=f["type"], required=f.get("required", False),
            list=f.get("list"), prompt=f.get("prompt"), sum_of=tuple(f.get("sum_of", ())),
            label_style=f.get("label_style", "label"),
            derive=f.get("derive") or ("sum" if f["type"] == "total" else None),
            args=tuple(f.get("args", f.get("sum_of", ()))), value=f.get("value"), anchor=f.get("anchor"),
        ))
    tables = []
    for t in data.get("tables", []):
        _check_keys(f"{where} 表格 {t.get('key')}", t, _TABLE_KEYS)
        cols = []
        for c in t["columns"]:
            _check_keys(f"{where} 列 {c.get('key')}", c, _COLUMN_KEYS)
            if c["type"] not in COLUMN_TYPES:
                raise SpecError(f"{where} 列 {c['key']}: 未知类型 {c['type']}")
            cols.append(Column(
                key=c["key"], label=c["label"], col=col_index(c["col"]), type=c["type"],
                required=c.get("required", False), list=c.get("list"),
                cascade_from=c.get("cascade_from"), prompt=c.get("prompt"),
            ))
        tables.append(Table(
            key=t["key"], label=t["label"],
            label_col=col_index(t["label_col"]) if t.get("label_col") else None,
            header_row=int(t["header_row"]) - 1, min_rows=int(t.get("min_rows", 10)),
            columns=tuple(cols), required=t.get("required", False), hierarchy=t.get("hierarchy", False),
            highlights=tuple(h["when"] for h in t.get("highlights", ())),
            parse_target=t.get("parse_target", False),
        ))
    texts = []
    for x in data.get("texts", []):
        _check_keys(f"{where} 文字", x, _TEXT_KEYS)
        texts.append(Text(Area.parse(x["cell"]), x["text"], x.get("style", "label"), x.get("anchor")))
    spec = FormSpec(
        kind=data["kind"], version=int(data["version"]), title=data["title"], name=data["name"],
        sheet=data["sheet"], money_unit=data.get("money_unit", "元"),
        columns=tuple(data.get("columns", ())), key_order=tuple(data["key_order"]),
        identity=tuple(data["identity"]), group_by=tuple(data["group_by"]),
        empty_lists=tuple(data.get("empty_lists", ())),
        lists={k: tuple(v) for k, v in data.get("lists", {}).items()},
        texts=tuple(texts), fields=tuple(fields), tables=tuple(tables),
        hierarchy=_load_hierarchy(data["indicators"]) if data.get("indicators") else None,
        summary_title=data.get("summary_title", "{实施单位} {年度} 年度汇总表"),
        summary_columns=tuple(data.get("summary_columns", ())),
        short_name=data.get("short_name") or data["name"],
        form_file=tuple(data.get("form_file", data["identity"])),
        summary_file=data.get("summary_file", "汇总表"),
        carry=data.get("carry", {}),
        period=tuple(data.get("period", ())),
        checks=tuple(data.get("checks", ())),
        source=source,
    )
    _check_consistency(spec)
    return spec


def _check_consistency(spec: FormSpec) -> None:
    keys = {f.key for f in spec.fields}
    for f in spec.fields:
        for k in f.sum_of:
            if k not in keys:
                raise SpecError(f"{spec.kind}: 合计 {f.key} 引用了不存在的字段 {k}")
        if f.type == "choice" and f.list not in spec.lists:
            raise SpecError(f"{spec.kind}: 字段 {f.key} 的下拉列表 {f.list} 未定义")
    for k in spec.summary_columns:
        if k not in keys:
            raise SpecError(f"{spec.kind}: 汇总列 {k} 不是字段")
    for k in spec.form_file + spec.group_by + spec.identity:
        if k not in keys:
            raise SpecError(f"{spec.kind}: 文件名、分组或识别用的 {k} 不是字段")
    for f in spec.fields:
        if f.type == "derived":
            from .derive import DERIVATIONS

            if f.derive not in DERIVATIONS:
                raise SpecError(f"{spec.kind}: 字段 {f.key} 的计算方式 {f.derive} 未定义")
        if f.anchor is not None:
            spec.table(f.anchor)
    taken: dict[tuple, str] = {}
    items = [(f.key, f.area, f.anchor) for f in spec.fields]
    items += [(f.key + "(标签)", f.label_area, f.anchor) for f in spec.fields if f.label_area]
    items += [(t.text, t.area, t.anchor) for t in spec.texts]
    for what, area, anchor in items:
        for r, c in area.cells():
            rc = (anchor, r, c)
            if rc in taken:
                raise SpecError(f"{spec.kind}: 单元格 {a1(r, c)} 同时用于 {taken[rc]} 和 {what}")
            taken[rc] = what


@cache
def load_spec(kind: str) -> FormSpec:
    path = schemas_dir() / f"{kind}.toml"
    if not path.is_file():
        raise SpecError(f"未知的表单类型 {kind}；可用：{'、'.join(kinds())}")
    return _build(tomllib.loads(path.read_text("utf-8")), path)


@cache
def kinds() -> tuple[str, ...]:
    """The form kinds with a spec in schemas/ (files declaring `kind`)."""
    out = []
    for p in sorted(schemas_dir().glob("*.toml")):
        head = p.read_text("utf-8")
        if re.search(r"^kind\s*=", head, re.M):
            out.append(p.stem)
    return tuple(out)
