"""The declarative form specs (schemas/*.toml) as frozen dataclasses.

Everything that knows where a label or an input sits — the template writer, the reader,
the validator and the merger — asks a :class:`FormSpec`. Nothing else in the package writes
a cell address or a printed label.

A kind may have other printed layouts, its *variants*: ``schemas/<kind>-<variant>.toml`` says
``extends = "<kind>"``, ``variant = "<name>"`` and how it differs (see :func:`_extend`), and is
resolved at load into an ordinary :class:`FormSpec` (``load_spec(kind, variant)``) whose JSON keys
are the kind's: a key the layout does not carry reads as ``[]`` (a table) or ``None``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache, cached_property, lru_cache
from pathlib import Path

from .celltypes import COLUMN_TYPES, COMPUTED_TYPES, FIELD_TYPES  # noqa: F401
from .errors import ConfigError, SpecError

# Roles: what a field or column is for, so that rules, prefill, file names and merge ask the
# spec for "the year" or "the 三级 column" instead of naming a printed label.
FIELD_ROLES = ("year", "unit", "dept", "name", "start", "end", "weights", "remark")
# "remark": the unit's own note to the reviewer (填报说明, the answer to a warning): optional, never
# checked by the content rules, read into the JSON only when filled, not printed on the 公开版.
COLUMN_ROLES = ("level1", "level2", "level3", "target", "actual", "points", "score", "reason")
TABLE_ROLES = ("indicators",)
# Rule groups a kind enables with `checks = [...]`, and the roles each one needs.
CHECK_ROLES = {
    "indicators": ("table:indicators", "level1", "level2", "level3", "target"),
    "period": ("field:start", "field:end", "field:year"),
    "selfeval": ("table:indicators", "level3", "target", "actual", "points", "score", "reason", "field:weights"),
}
# The cell formats of xltools.template.Styles a text or label may name (keep in step with it).
TEXT_STYLES = {"title", "subtitle_right", "subtitle_left", "label", "section", "header", "note", "total",
               "derived_text"}
DEFAULT_SUMMARY_TITLE = "{实施单位} {年度} 年度汇总表"

META_SHEET = "_xltools"   # very hidden: kind, spec version, role, template id
LISTS_SHEET = "_lists"    # hidden: the dropdown lists

# Load every kind and list from this folder instead of the packaged schemas/ (see use_schemas).
SCHEMAS_ENV = "XLTOOLS_SCHEMAS"
LEVEL1_LIST = "@level1"   # the list of a level-1 column: the 一级 of the kind's indicator hierarchy


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
    aliases: tuple[str, ...] = ()   # other printed forms of the text (the label-based reader)


_LABEL_PREFIX = re.compile(r"^其中\s*[:：]\s*")


def short_name(label: str) -> str:
    return _LABEL_PREFIX.sub("", label).rstrip(":：)）").strip()


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
    role: str | None = None         # one of FIELD_ROLES
    short: str | None = None        # the spec's `name`: the short name in messages
    aliases: tuple[str, ...] = ()   # other printed forms of the label (the label-based reader)

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))

    @property
    def name(self) -> str:
        """The short name for messages: the spec's ``name``, else the printed label without a
        leading 其中: and the trailing colon or bracket of the print (「其中: 当年财政拨款」→ 当年财政拨款)."""
        return self.short or short_name(self.label)

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
    role: str | None = None         # one of COLUMN_ROLES
    short: str | None = None
    last: int | None = None         # the last sheet column when the column spans several (merged per row)
    aliases: tuple[str, ...] = ()   # other printed forms of the label (the label-based reader)

    @property
    def letter(self) -> str:
        return col_letter(self.col)

    @property
    def spans(self) -> bool:
        return self.last is not None and self.last > self.col

    @property
    def name(self) -> str:
        return self.short or short_name(self.label)


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
    role: str | None = None            # one of TABLE_ROLES ("indicators"), or None for a plain table
    preprinted: tuple[tuple[tuple[str, str], ...], ...] = ()   # first rows: (column key, fixed text) pairs
    anchor: str | None = None          # a table key: header_row counts from the first row below that table

    def by_role(self, role: str) -> Column | None:
        return next((c for c in self.columns if c.role == role), None)

    def key_of(self, role: str) -> str | None:
        c = self.by_role(role)
        return c.key if c else None

    def fixed(self, i: int) -> dict[str, str]:
        """The pre-printed (locked) values of data row ``i``: empty past the pre-printed rows."""
        return dict(self.preprinted[i]) if i < len(self.preprinted) else {}

    @cached_property
    def target(self) -> Column | None:
        """The column holding the 指标值 (role "target", else type "target"), if any."""
        return self.by_role("target") or next((c for c in self.columns if c.type == "target"), None)

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
    odd_units: dict[str, str] = field(default_factory=dict)   # a unit that is not one → what is meant

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
    lists: dict[str, tuple[str, ...]]
    texts: tuple[Text, ...]
    fields: tuple[Field, ...]
    tables: tuple[Table, ...]
    summary_title: str = DEFAULT_SUMMARY_TITLE
    summary_columns: tuple[str, ...] = ()
    short_name: str = ""                       # 申报表 / 自评表: in file names and messages
    form_file: tuple[str, ...] = ()            # keys whose values name one form's file
    summary_file: str = "汇总表"               # merge: <group_by values>_<summary_file>.xlsx
    carry: dict = field(default_factory=dict)   # other kind → how its values carry into this one
    period: tuple[str, ...] = ()               # (start, end) date fields: start ≤ end, both in 年度
    checks: tuple[str, ...] = ()               # rule groups (CHECK_ROLES) this kind enables
    balances: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = ()   # (name, sides): Σ of each side equal
    hierarchy: Hierarchy | None = None
    source: Path | None = field(default=None, compare=False)
    variant: str | None = None                 # the layout: None for the kind's own, else a variant name
    description: str = ""                      # of a variant: what sets its layout apart (messages, help)
    absent: tuple[tuple[str, bool], ...] = ()  # keys of key_order this layout does not carry: (key, is a table)

    def empty(self) -> dict:
        """What the keys this layout does not carry read as: ``[]`` for a table (another layout
        of the kind has it), else ``None`` — so every layout of a kind gives the same JSON keys."""
        return {k: ([] if is_table else None) for k, is_table in self.absent}

    @property
    def layout(self) -> str:
        """The kind and its layout in words: 项目支出绩效目标申报表, or …（2023 版式）."""
        return self.name if self.variant is None else f"{self.name}（{self.variant} 版式）"

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

    def placed(self, table: Table, anchor_rows: int | None) -> Table:
        """``table`` at its sheet position: an anchored table moves down with the rows of its anchor."""
        if table.anchor is None:
            return table
        return replace(table, header_row=self.anchored_base(table.anchor, anchor_rows or 0) + table.header_row,
                       anchor=None)

    def anchored_base(self, table_key: str, rows: int) -> int:
        """The 0-based sheet row just below ``rows`` data rows of a table."""
        return self.table(table_key).header_row + 1 + rows

    def _base(self, anchor: str, rows) -> int:
        """The first sheet row below table ``anchor``: ``rows`` is its row count, or a mapping of
        every table's row count (needed when the anchor table itself follows another table)."""
        if not isinstance(rows, Mapping):
            return self.anchored_base(anchor, rows or 0)
        t = self.placed(self.table(anchor), rows.get(self.table(anchor).anchor))
        return t.header_row + 1 + (rows.get(anchor) or 0)

    def area(self, f: Field | Text, rows: int | Mapping[str, int] | None) -> Area:
        """Where a field (or text) sits when its anchor table has ``rows`` rows (or, a mapping:
        when the tables have these row counts)."""
        if f.anchor is None:
            return f.area
        return f.area.shifted(self._base(f.anchor, rows))

    def label_area(self, f: Field, rows: int | Mapping[str, int] | None) -> Area | None:
        if f.label_area is None or f.anchor is None:
            return f.label_area
        return f.label_area.shifted(self._base(f.anchor, rows))

    @cached_property
    def remarks(self) -> tuple[str, ...]:
        """Top-level keys of the fields with role "remark": absent from the JSON when empty."""
        return tuple(f.key for f in self.fields if f.role == "remark")

    def shown(self, flat: dict) -> dict:
        """The form object in ``key_order``, without an empty remark (a form made before the
        template had one reads as it did)."""
        return {k: flat.get(k) for k in self.key_order if not (k in self.remarks and flat.get(k) in (None, ""))}

    def anchored(self, table_key: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.anchor == table_key)

    def choices(self, list_name: str) -> tuple[str, ...]:
        if list_name == LEVEL1_LIST and self.hierarchy:
            return self.hierarchy.level1
        return self.lists[list_name]

    def form_stem(self, values: dict) -> tuple[str, str]:
        """One form's file name (no suffix) as (what varies, the fixed tail): the values of
        ``form_file`` that are filled, then ``_`` + ``short_name`` — e.g. (九里亭街道_党群综合服务_2026, _申报表)."""
        parts = [str(v) for k in self.form_file if (v := (values or {}).get(k)) not in (None, "")]
        return "_".join(parts), "_" + self.short_name

    def summary_stem(self, group: tuple) -> tuple[str, str]:
        """A 汇总表's file name (no suffix) for the values of ``group_by``, as (head, tail)."""
        return "_".join(self.group_words(group)), "_" + self.summary_file

    def group_words(self, group: tuple) -> list[str]:
        """The values of ``group_by`` for names and messages, an empty one as 未填<key>."""
        return [str(v) if v not in (None, "") else f"未填{k}" for k, v in zip(self.group_by, group)]

    def role(self, role: str) -> Field | None:
        """The field with this role (FIELD_ROLES), if the kind has one."""
        return next((f for f in self.fields if f.role == role), None)

    def value(self, data: dict | None, role: str):
        f = self.role(role)
        return get_path(data, f.path) if f else None

    @property
    def indicators(self) -> Table | None:
        """The indicator table (role "indicators"), if the kind has one."""
        return next((t for t in self.tables if t.role == "indicators"), None)

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
#
# Everything is read from one folder: the packaged schemas/, or the one XLTOOLS_SCHEMAS names
# (looked up at every call, so the override applies whenever it is set; caches are keyed by the
# folder). A spec file or list that does not fit the typed schema (xltools.specschema) or whose
# parts do not fit together is a ConfigError: one message naming the file and the keys, never a
# finding on the forms being read.


def packaged_schemas_dir() -> Path:
    """schemas/ inside an installed wheel, else the repository's top-level schemas/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("找不到表单定义目录 schemas/（安装不完整？）")


def schemas_dir() -> Path:
    """The folder every kind and list is loaded from: ``XLTOOLS_SCHEMAS`` if set, else the packaged one."""
    return _schemas_dir(os.environ.get(SCHEMAS_ENV) or None)


@cache
def _schemas_dir(override: str | None) -> Path:
    if override is None:
        return packaged_schemas_dir()
    path = Path(override).expanduser()
    if not path.is_dir():
        raise ConfigError(f"环境变量 {SCHEMAS_ENV} 指定的表单定义目录不存在：{path}", file=str(path))
    return path.resolve()


def use_schemas(path: str | os.PathLike | None) -> Path:
    """Load every kind and list from ``path`` from now on, in this process and in the worker
    processes it starts (the folder is put in ``XLTOOLS_SCHEMAS``); ``None`` goes back to the
    packaged schemas. Raises :class:`ConfigError` when the folder does not exist or holds no
    form spec (then nothing changes). Spec files are validated when first loaded."""
    if path is None:
        os.environ.pop(SCHEMAS_ENV, None)
        clear_caches()
        return schemas_dir()
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"表单定义目录不存在：{folder}", file=str(folder))
    folder = folder.resolve()
    _kinds(folder)
    os.environ[SCHEMAS_ENV] = str(folder)
    clear_caches()
    return folder


def clear_caches() -> None:
    """Forget every loaded spec and list (after the files or the folder changed)."""
    for fn in (_schemas_dir, _kinds, _variant_files, _load_spec, _load_lists):
        fn.cache_clear()


def kinds() -> tuple[str, ...]:
    """The form kinds with a spec in the schemas folder (files declaring `kind`), by file name.
    Cheap: the files are not parsed (no pydantic on the ``xltools --help`` path). Variants
    (files declaring ``extends``) are layouts of a kind, not kinds: see :func:`variants`."""
    return _kinds(schemas_dir())


_KIND_RE = re.compile(r"^\s*kind\s*=", re.M)
_EXTENDS_RE = re.compile(r"^\s*extends\s*=", re.M)


@cache
def _kinds(folder: Path) -> tuple[str, ...]:
    out = tuple(p.stem for p in sorted(folder.glob("*.toml")) if _KIND_RE.search(_read_text(p)))
    if not out:
        raise ConfigError(f"表单定义目录 {folder} 中没有任何表单定义（含 kind = … 的 .toml 文件）", file=str(folder))
    return out


def variants(kind: str) -> tuple[str, ...]:
    """The variant names of ``kind`` (its other printed layouts, e.g. ``("2023",)``), sorted;
    the kind's own layout is not among them. A variant is a file ``<kind>-<variant>.toml``
    declaring ``extends = "<kind>"`` and ``variant = "<variant>"``."""
    return tuple(sorted(_variant_files(schemas_dir()).get(kind, {})))


@cache
def _variant_files(folder: Path) -> dict[str, dict[str, Path]]:
    """kind → variant → file, for every variant file of the folder (parsed with tomllib only)."""
    out: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.glob("*.toml")):
        text = _read_text(path)
        if not _EXTENDS_RE.search(text) or _KIND_RE.search(text):
            continue   # a kind (its kind = … wins, and says what is wrong when loaded) or a list file
        data = _parse(path)
        extends, name = data.get("extends"), data.get("variant")
        problems = []
        if not isinstance(extends, str) or extends not in _kinds(folder):
            problems.append(("extends", f"应为本目录中的一种表单类型：{'、'.join(_kinds(folder))}，实际为 {extends!r}"))
        if not isinstance(name, str) or not name.strip():
            problems.append(("variant", "缺少这个键（必填）：版式名称，如 \"2023\"" if name is None else
                             f"应为文字（版式名称，如 \"2023\"），实际为 {name!r}"))
        elif isinstance(extends, str) and path.stem != f"{extends}-{name}":
            problems.append(("variant", f"文件名应为 {extends}-{name}.toml，实际为 {path.name}"))
        if problems:
            raise _config_error(path, problems)
        out.setdefault(extends, {})[name] = path
    return out


def load_spec(kind: str, variant: str | None = None) -> FormSpec:
    """The spec of ``kind`` — of its variant ``variant`` (a layout declared by
    ``<kind>-<variant>.toml``), else of its own layout — validated (:class:`ConfigError` when its
    file or lists are wrong, :class:`SpecError` for an unknown kind or variant)."""
    folder = schemas_dir()
    if kind not in _kinds(folder):
        raise SpecError(f"未知的表单类型 {kind}；可用：{'、'.join(_kinds(folder))}")
    if variant is not None and variant not in _variant_files(folder).get(kind, {}):
        have = variants(kind)
        raise SpecError(f"表单类型 {kind} 没有版式「{variant}」；"
                        + (f"可用：{'、'.join(have)}" if have else "它只有一种版式"))
    got = _load_spec(folder, kind, variant)
    if isinstance(got, ConfigError):
        raise ConfigError(got.message, got.file, got.keys)  # a fresh one: no traceback piles up
    return got


def layouts(kind: str) -> tuple[FormSpec, ...]:
    """Every layout of ``kind``: its own spec first, then one per variant."""
    return (load_spec(kind),) + tuple(load_spec(kind, v) for v in variants(kind))


def load_all() -> dict[str, FormSpec]:
    """Every kind of the schemas folder, loaded and validated: a command can check its whole
    configuration once, up front (:class:`ConfigError` at the first wrong file). Called before
    a pool of readers is forked, it also spares every worker the load (they inherit the cache).
    Variants are loaded (and checked) too; the dict holds each kind's own layout."""
    out = {}
    for k in kinds():
        out[k] = layouts(k)[0]
    return out


@cache
def _load_spec(folder: Path, kind: str, variant: str | None = None) -> FormSpec | ConfigError:
    # A failure is cached too: a pool of readers meets it once per file, and must stop fast.
    try:
        path = folder / f"{kind}.toml"
        base = _parse(path)
        family = _family_tables(folder, kind, base)
        if variant is None:
            return _build(base, path, family=family)
        got = _load_spec(folder, kind, None)   # the base first: its errors are named as its own
        if isinstance(got, ConfigError):
            return got
        vpath = _variant_files(folder)[kind][variant]
        patch = _check_variant(vpath)
        have = {x.get("key") for k in ("fields", "tables") for x in base.get(k, []) if isinstance(x, dict)}
        have |= set(base.get("lists", {}))
        unknown = [(f"drop[{i}]", f"「{k}」不是「{kind}」的字段、表格或下拉列表")
                   for i, k in enumerate(patch.get("drop", [])) if k not in have]
        if unknown:
            raise _config_error(vpath, unknown)
        return _build(_extend(base, patch), vpath, variant=variant, description=patch.get("description", ""),
                      family=family)
    except ConfigError as exc:
        return exc


def _family_tables(folder: Path, kind: str, base: dict) -> frozenset[str]:
    """The table keys of every layout of a kind (its own and its variants'), from the files as
    written: a key of ``key_order`` that a layout does not carry reads as [] when it is one."""
    out = set()
    for data in [base] + [_parse(p) for p in _variant_files(folder).get(kind, {}).values()]:
        tables = data.get("tables")
        out |= {t["key"] for t in tables if isinstance(t, dict) and isinstance(t.get("key"), str)} \
            if isinstance(tables, list) else set()
    return frozenset(out)


def _check_variant(path: Path) -> dict:
    """A variant file, validated against its typed schema (specschema.VariantFile)."""
    from . import specschema

    data = _parse(path)
    _, problems = specschema.validate(specschema.VariantFile, data)
    if problems:
        raise _config_error(path, problems)
    return data


# How a variant changes its base, by key of the spec file: a list of items matched by one of
# their keys (an item with a new key is added; `columns` of a table are replaced as a whole),
# a table of named entries (merged by name), or anything else (replaced).
_ITEMS_BY = {"fields": ("key",), "tables": ("key",), "texts": ("cell", "anchor"), "balances": ("name",)}
_MERGED = ("lists", "carry")
_VARIANT_ONLY = ("extends", "variant", "drop", "description")


def _extend(base: dict, patch: dict) -> dict:
    """The spec of a variant as one spec file: ``base`` changed by ``patch`` (see _ITEMS_BY),
    less the fields, tables and lists ``patch["drop"]`` names (also left out of ``summary_columns``)."""
    import copy

    out = copy.deepcopy(base)
    for key, value in patch.items():
        if key in _VARIANT_ONLY:
            continue
        if key in _ITEMS_BY:
            ident = _ITEMS_BY[key]
            items = out.setdefault(key, [])
            for item in value:
                at = next((i for i, old in enumerate(items)
                           if all(old.get(k) == item.get(k) for k in ident)), None)
                if at is None:
                    items.append(copy.deepcopy(item))
                else:
                    items[at] = dict(items[at], **copy.deepcopy(item))
        elif key in _MERGED:
            out[key] = dict(out.get(key, {}), **copy.deepcopy(value))
        else:
            out[key] = copy.deepcopy(value)
    dropped = set(patch.get("drop", ()))
    for key in ("fields", "tables"):
        out[key] = [x for x in out.get(key, []) if x.get("key") not in dropped]
    out["lists"] = {k: v for k, v in out.get("lists", {}).items() if k not in dropped}
    if "summary_columns" in out:
        out["summary_columns"] = [k for k in out["summary_columns"] if k not in dropped]
    return out


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8-sig")  # Notepad's UTF-8 starts with a BOM
    except UnicodeDecodeError:
        raise ConfigError(f"表单定义文件 {path} 不是 UTF-8 编码：请用编辑器另存为 UTF-8 后重试。", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"无法读取表单定义文件 {path}：{exc.strerror or exc}", file=str(path)) from None


_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)|\s*\(at end of document\)")
_TOML_REASONS = {
    "Expected '=' after a key in a key/value pair": "键后面缺少 =",
    "Invalid value": "值无效（文字要用英文双引号括起来，true/false 和数字不加引号）",
    "Invalid statement": "无法识别的一行（中文的键和文字都要用英文双引号括起来）",
    "Expected newline or end of document after a statement": "一行只能写一个 键 = 值",
    "Cannot overwrite a value": "同一个键写了两次",
    "Unclosed array": "列表缺少右方括号 ]",
    "Unterminated string": "文字缺少结束的双引号",
    "Illegal character": "含有不允许的字符",
    "Expected ']' at the end of a table declaration": "表头缺少右方括号 ]",
    "Invalid initial character for a key part": "键的开头字符无效（中文键要用双引号括起来）",
}


def _parse(path: Path) -> dict:
    text = _read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raw = str(exc)
        m = _TOML_WHERE.search(raw)
        where = (f"第 {m.group(1)} 行第 {m.group(2)} 列" if m.group(1) else "文件末尾") if m else ""
        reason = _TOML_WHERE.sub("", raw).strip()
        if reason == "Illegal character '\\n'":
            reason = "这一行没写完（文字是否少了结束的双引号？）"
        else:
            reason = next((zh for en, zh in _TOML_REASONS.items() if reason.startswith(en)), reason)
        raise _config_error(path, [(where or "TOML", f"TOML 语法错误：{reason}")]) from None


_MAX_PROBLEMS = 20


def _config_error(path: Path, problems: list[tuple[str, str]]) -> ConfigError:
    lines = [f"表单定义文件有误：{path}"]
    lines += [f"  {where}：{what}" for where, what in problems[:_MAX_PROBLEMS]]
    if len(problems) > _MAX_PROBLEMS:
        lines.append(f"  ……另有 {len(problems) - _MAX_PROBLEMS} 处")
    lines.append("这是表单定义的问题，不是所填表单的问题：请改正该文件后重新运行。")
    return ConfigError("\n".join(lines), file=str(path), keys=tuple(where for where, _ in problems))


@cache
def _load_lists(path: Path) -> Hierarchy:
    from . import specschema

    data = _parse(path)
    m, problems = specschema.validate(specschema.ListsFile, data)
    if problems:
        raise _config_error(path, problems)
    hierarchy = Hierarchy(
        layouts={k: {l1: tuple(l2s) for l1, l2s in v.tree.items()} for k, v in m.layouts.items()},
        layout_names={k: v.name or k for k, v in m.layouts.items()},
        required_level1=tuple(m.required_level1),
        count_units=frozenset(m.count_units),
        rate_bad_units=frozenset(m.rate_bad_units),
        odd_units=dict(m.odd_units),
    )
    level1 = set(hierarchy.level1)
    problems = [(f"required_level1[{i}]", f"一级指标「{k}」不在任何 layouts.*.tree 中")
                for i, k in enumerate(m.required_level1) if k not in level1]
    if problems:
        raise _config_error(path, problems)
    return hierarchy


def _area(ref: str | None) -> Area | None:
    return Area.parse(ref) if ref else None


def _build(data: dict, source: Path, *, variant: str | None = None, description: str = "",
           family: frozenset[str] = frozenset()) -> FormSpec:
    from . import specschema

    m, problems = specschema.validate(specschema.SpecFile, data)
    if problems:
        raise _config_error(source, problems)
    if variant is None and m.kind != source.stem:
        raise _config_error(source, [("kind", f"应与文件名一致：\"{source.stem}\"，实际为 \"{m.kind}\"")])
    hierarchy = None
    if m.indicators:
        lists = source.parent / f"{m.indicators}.toml"
        if not lists.is_file():
            raise _config_error(source, [("indicators", f"列表文件 {lists.name} 不在 {source.parent} 中")])
        hierarchy = _load_lists(lists)
    fields = tuple(
        Field(
            key=f.key, label=f.label, label_area=_area(f.label_cell), area=Area.parse(f.cell), type=f.type,
            required=f.required, list=f.list, prompt=f.prompt, sum_of=tuple(f.sum_of), label_style=f.label_style,
            derive=f.derive or ("sum" if f.type == "total" else None),
            args=tuple(f.sum_of if f.args is None else f.args), value=f.value, anchor=f.anchor,
            role=f.role, short=f.name, aliases=tuple(f.aliases),
        )
        for f in m.fields
    )
    tables = tuple(
        Table(
            key=t.key, label=t.label, label_col=col_index(t.label_col) if t.label_col else None,
            header_row=t.header_row - 1, min_rows=t.min_rows,
            columns=tuple(
                Column(key=c.key, label=c.label, col=col_index(c.col.strip()), type=c.type, required=c.required,
                       list=c.list, cascade_from=c.cascade_from, prompt=c.prompt, role=c.role, short=c.name,
                       last=col_index(c.to.strip()) if c.to else None, aliases=tuple(c.aliases))
                for c in t.columns
            ),
            required=t.required, hierarchy=t.hierarchy, highlights=tuple(h.when for h in t.highlights),
            parse_target=t.parse_target, role=t.role, anchor=t.anchor,
            preprinted=tuple(tuple(row.items()) for row in t.preprinted),
        )
        for t in m.tables
    )
    spec = FormSpec(
        kind=m.kind, version=m.version, title=m.title, name=m.name, sheet=m.sheet, money_unit=m.money_unit,
        columns=tuple(m.columns), key_order=tuple(m.key_order), identity=tuple(m.identity),
        group_by=tuple(m.group_by),
        lists={k: tuple(v) for k, v in m.lists.items()},
        texts=tuple(Text(Area.parse(x.cell), x.text, x.style, x.anchor, tuple(x.aliases)) for x in m.texts),
        fields=fields, tables=tables, hierarchy=hierarchy, summary_title=m.summary_title,
        summary_columns=tuple(m.summary_columns),
        short_name=m.short_name or m.name, form_file=tuple(m.identity if m.form_file is None else m.form_file),
        summary_file=m.summary_file,
        carry=data.get("carry", {}),  # as written (validated): xltools.carry reads it as a dict
        period=tuple(m.period) or tuple(f.key for r in ("start", "end") for f in fields if f.role == r),
        checks=tuple(m.checks), source=source,
        balances=tuple((b.name, tuple(tuple(side) for side in b.sides)) for b in m.balances),
        variant=variant, description=description,
        absent=tuple((k, k in family) for k in m.key_order
                     if k not in {f.path[0] for f in fields} | {t.key for t in tables}),
    )
    problems = _check_consistency(spec)
    if problems:
        raise _config_error(source, problems)
    return spec


def cols_of(t: Table) -> set[str]:
    return {c.key for c in t.columns}


def _check_consistency(spec: FormSpec) -> list[tuple[str, str]]:
    """What the typed schema cannot see: references to fields, tables, columns and lists that
    do not exist, and cells used twice. ``[(key path, message), …]``, empty when all is well."""
    import string

    from .derive import DERIVATIONS

    out: list[tuple[str, str]] = []
    keys: dict[str, int] = {}
    tables = {t.key: t for t in spec.tables}

    def at(i: int, part: str) -> str:
        return f'fields[{i}].{part}（字段 key = "{spec.fields[i].key}"）'

    def is_arg(a: str) -> bool:
        return a in keys or column_arg(spec, a) is not None

    for i, f in enumerate(spec.fields):
        if f.key in keys:
            out.append((at(i, "key"), f"与 fields[{keys[f.key]}] 重复"))
        keys.setdefault(f.key, i)
    for i, f in enumerate(spec.fields):
        for k in f.sum_of:
            if k not in keys:
                out.append((at(i, "sum_of"), f"合计引用了不存在的字段「{k}」"))
        if f.type == "derived":
            if f.derive not in DERIVATIONS:
                out.append((at(i, "derive"), f"计算方式「{f.derive}」未定义；可用：{'、'.join(DERIVATIONS)}"))
            for a in f.args:
                if not is_arg(a):
                    out.append((at(i, "args"), f"引用了不存在的字段或表格列「{a}」"))
        if f.type == "choice" and f.list not in spec.lists:
            out.append((at(i, "list"), f"下拉列表「{f.list}」未在 [lists] 中定义" if f.list else "下拉字段须用 list 指定下拉列表"))
        if f.anchor is not None and f.anchor not in tables:
            out.append((at(i, "anchor"), f"表格「{f.anchor}」不存在"))
    for i, x in enumerate(spec.texts):
        if x.anchor is not None and x.anchor not in tables:
            out.append((f'texts[{i}].anchor（文字 cell = "{x.area.ref}"）', f"表格「{x.anchor}」不存在"))
    for name in ("identity", "group_by", "form_file", "summary_columns", "period"):
        for j, k in enumerate(getattr(spec, name)):
            if k not in keys:
                out.append((f"{name}[{j}]", f"「{k}」不是字段"))
    if spec.period:
        if len(spec.period) != 2:
            out.append(("period", "应为 [开始日期字段, 结束日期字段] 两项"))
        for j, k in enumerate(spec.period):
            if k in keys and spec.fields[keys[k]].type != "date":
                out.append((f"period[{j}]", f"字段「{k}」不是日期（type = \"date\"）"))
    try:
        names = {n for _, n, _, _ in string.Formatter().parse(spec.summary_title) if n is not None}
        for n in sorted(names - set(spec.group_by)):
            out.append(("summary_title", f"{{{n}}} 不在 group_by 中；只能用 {'、'.join('{' + g + '}' for g in spec.group_by)}"))
    except ValueError:
        out.append(("summary_title", "花括号不配对"))
    seen_tables: dict[str, int] = {}
    for ti, t in enumerate(spec.tables):
        where = f'tables[{ti}]'
        hint = f'（表格 key = "{t.key}"）'
        if t.key in seen_tables:
            out.append((f"{where}.key{hint}", f"与 tables[{seen_tables[t.key]}] 重复"))
        seen_tables.setdefault(t.key, ti)
        if t.hierarchy and spec.hierarchy is None:
            out.append((f"{where}.hierarchy{hint}", "需要在文件开头用 indicators = \"…\" 指定指标体系文件"))
        cols: dict[str, int] = {}
        for ci, c in enumerate(t.columns):
            cat = f'{where}.columns[{ci}]（表格 key = "{t.key}"，列 key = "{c.key}"）'
            if c.key in cols:
                out.append((cat, f"列 key 与 columns[{cols[c.key]}] 重复"))
            cols.setdefault(c.key, ci)
        for ci, c in enumerate(t.columns):
            cat = f'{where}.columns[{ci}].%s（表格 key = "{t.key}"，列 key = "{c.key}"）'
            if c.cascade_from is not None and c.cascade_from not in cols:
                out.append((cat % "cascade_from", f"列「{c.cascade_from}」不在本表格中"))
            if c.type == "choice" and c.cascade_from is None:
                if c.list is None:
                    out.append((cat % "list", "下拉列须用 list 指定下拉列表（或用 cascade_from 级联）"))
                elif c.list not in spec.lists and not (c.list == LEVEL1_LIST and spec.hierarchy):
                    out.append((cat % "list", f"下拉列表「{c.list}」未在 [lists] 中定义"))
        for hi, h in enumerate(t.highlights):
            for n in re.findall(r"\{([^{}]*)\}", h):
                if n not in cols:
                    out.append((f"{where}.highlights[{hi}].when{hint}", f"{{{n}}} 不是本表格的列"))
    for other, rule in spec.carry.items():
        base = f'carry."{other}"'
        for k in rule.get("fields", {}):
            if k not in keys:
                out.append((f'{base}.fields."{k}"', f"「{k}」不是本表单的字段"))
        for tk, t in rule.get("tables", {}).items():
            if tk not in tables:
                out.append((f'{base}.tables."{tk}"', f"「{tk}」不是本表单的表格"))
                continue
            mine = {c.key for c in tables[tk].columns}
            for ck in t.get("columns", {}):
                if ck not in mine:
                    out.append((f'{base}.tables."{tk}".columns."{ck}"', f"「{ck}」不是表格「{tk}」的列"))
            for j, ck in enumerate(t.get("match", [])):
                if ck not in t.get("columns", {}):
                    out.append((f'{base}.tables."{tk}".match[{j}]', f"「{ck}」不在本节 columns 中"))
    # Roles: each at most once; every rule group the kind enables finds the roles it needs.
    seen_roles: dict[str, str] = {}
    for f in spec.fields:
        if f.role and f.role in seen_roles:
            out.append((f"fields（字段 key = \"{f.key}\"）.role", f"角色「{f.role}」已用于字段「{seen_roles[f.role]}」"))
        if f.role:
            seen_roles.setdefault(f.role, f.key)
    for f in spec.fields:
        if f.role == "remark" and (f.type not in ("text", "longtext") or f.required or "." in f.key
                                   or f.key not in spec.key_order):
            out.append((f"fields（字段 key = \"{f.key}\"）.role",
                        "角色「remark」（填报说明）须为选填的文字字段（type = \"text\" 或 \"longtext\"），"
                        "键不含“.”且列在 key_order 中"))
    for ti, t in enumerate(spec.tables):
        roles = [c.role for c in t.columns if c.role]
        for r in sorted({r for r in roles if roles.count(r) > 1}):
            out.append((f'tables[{ti}]（表格 key = "{t.key}"）', f"列角色「{r}」用于多列"))
        for pi, row in enumerate(t.preprinted):
            for ck, _ in row:
                if ck not in cols_of(t):
                    out.append((f'tables[{ti}].preprinted[{pi}]（表格 key = "{t.key}"）', f"「{ck}」不是本表格的列"))
    for ti, t in enumerate(spec.tables):
        if t.anchor is not None and (t.anchor not in tables or tables[t.anchor].anchor is not None):
            out.append((f'tables[{ti}].anchor（表格 key = "{t.key}"）', f"「{t.anchor}」应为本表单中一个不跟随其他表格的表格"))
    if sum(1 for t in spec.tables if t.role == "indicators") > 1:
        out.append(("tables", "只能有一个 role = \"indicators\" 的表格"))
    for group in spec.checks:
        for need in CHECK_ROLES.get(group, ()):
            kind_, _, role = need.rpartition(":")
            if kind_ == "table":
                ok = spec.indicators is not None
            elif kind_ == "field":
                ok = spec.role(role) is not None
            else:
                ok = spec.indicators is not None and spec.indicators.by_role(role) is not None
            if not ok:
                what = {"table": "表格", "field": "字段"}.get(kind_, "指标表的列")
                out.append((f"checks（{group}）", f"规则组「{group}」需要 role = \"{role}\" 的{what}，本表单没有"))
    for bi, (name, sides) in enumerate(spec.balances):
        where = f"balances[{bi}]（{name}）"
        for side in sides:
            for k in side:
                tc = column_arg(spec, k)
                if k not in keys and tc is None:
                    out.append((where, f"「{k}」不是字段，也不是「表格.列」"))
                elif tc is not None and (len(side) > 1 or tc[1].type not in ("money", "number")):
                    out.append((where, f"表格列「{k}」须为金额或数字列，且单独作为一边（该列各行之和）"))
        if sum(1 for side in sides for k in side if column_arg(spec, k)) > 1:
            out.append((where, "只能有一边是表格列"))
    # Cells used twice (anchored items count from their table, so compare within one anchor).
    taken: dict[tuple, str] = {}
    items = [(at(i, "cell"), f.area, f.anchor) for i, f in enumerate(spec.fields)]
    items += [(at(i, "label_cell"), f.label_area, f.anchor) for i, f in enumerate(spec.fields) if f.label_area]
    items += [(f'texts[{i}].cell（文字 cell = "{x.area.ref}"）', x.area, x.anchor) for i, x in enumerate(spec.texts)]
    for what, area, anchor in items:
        for r, c in area.cells():
            rc = (anchor, r, c)
            if rc in taken:
                out.append((what, f"单元格 {a1(r, c)} 已用于 {taken[rc]}"))
                break
            taken[rc] = what
    return out
