"""The typed schema of the spec files: pydantic models mirroring the TOML of schemas/.

:func:`xltools.spec.load_spec` validates every form spec (``<kind>.toml``) against
:class:`SpecFile` and every list file it names (``indicators = "indicators"``) against
:class:`ListsFile` (and every variant, ``<kind>-<variant>.toml``, against :class:`VariantFile`)
before building its frozen dataclasses, and turns what does not fit into
Chinese messages naming the key path (``fields[3].required``) and what was expected.

This module is imported only when a spec is loaded (pydantic costs ~60 ms to import), never on
the ``xltools --help`` path. Every model forbids unknown keys and is strict: ``"false"`` is not a
bool, ``"12"`` is not a number. Checks across keys (references to missing fields, overlapping
cells) are in :func:`xltools.spec._check_consistency`.
"""

import difflib
import re
import types
import typing
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError

from .errors import SpecError
from .spec import (
    CHECK_ROLES,
    COLUMN_ROLES,
    COLUMN_TYPES,
    DEFAULT_SUMMARY_TITLE,
    FIELD_ROLES,
    FIELD_TYPES,
    TABLE_ROLES,
    TEXT_STYLES,
    Area,
)

# ---------------------------------------------------------------------------------------------
# Value types


def _name(v: str) -> str:
    if not v.strip():
        raise PydanticCustomError("xl_empty", "不能为空")
    return v


def _cell(v: str) -> str:
    try:
        area = Area.parse(v)
    except SpecError:
        raise PydanticCustomError("xl_cell", "应为单元格地址，如 \"B3\"，或合并区域，如 \"A1:F1\"") from None
    if area.first_row > area.last_row or area.first_col > area.last_col:
        raise PydanticCustomError("xl_cell", "区域应从左上角写到右下角，如 \"A1:F1\"")
    return v


_COL_RE = re.compile(r"^[A-Za-z]{1,3}$")


def _col(v: str) -> str:
    if not _COL_RE.match(v.strip()):
        raise PydanticCustomError("xl_col", "应为列字母，如 \"B\"")
    return v


_STEM_RE = re.compile(r"^[^/\\:*?\"<>|]+$")


def _stem(v: str) -> str:
    if not _STEM_RE.match(v) or v.lower().endswith(".toml"):
        raise PydanticCustomError("xl_stem", "应为同一目录中列表文件的文件名，不带 .toml，如 \"indicators\"")
    return v


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet(v: str) -> str:
    if not v.strip() or len(v) > 31 or _SHEET_BAD.search(v) or v.startswith("'"):
        raise PydanticCustomError("xl_sheet", "应为 Excel 工作表名称：1–31 个字符，不含 [ ] : * ? / \\")
    return v


Name = Annotated[str, AfterValidator(_name)]
Names = list[Name]
Labels = list[str]   # printed texts (aliases of a label)
NonEmptyNames = Annotated[list[Name], Field(min_length=1)]
Cell = Annotated[str, AfterValidator(_cell)]
Col = Annotated[str, AfterValidator(_col)]
Sheet = Annotated[str, AfterValidator(_sheet)]
Stem = Annotated[str, AfterValidator(_stem)]
FieldType = Literal[tuple(sorted(FIELD_TYPES))]
ColumnType = Literal[tuple(sorted(COLUMN_TYPES))]
Style = Literal[tuple(sorted(TEXT_STYLES))]
FieldRole = Literal[FIELD_ROLES]
ColumnRole = Literal[COLUMN_ROLES]
TableRole = Literal[TABLE_ROLES]
CheckGroup = Literal[tuple(CHECK_ROLES)]
Positive = Annotated[float, Field(gt=0)]
Width = Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0)]   # an int stays an int


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


# ---------------------------------------------------------------------------------------------
# A form spec: schemas/<kind>.toml


class TextModel(_Model):
    """``[[texts]]``: a fixed text (title, section label) at a cell or merged range."""

    cell: Cell
    text: str
    style: Style = "label"
    anchor: Name | None = None
    aliases: Labels = []          # other printed forms of the text (the label-based reader)


class FieldModel(_Model):
    """``[[fields]]``: one input or computed cell with its printed label."""

    key: Name
    label: str
    label_cell: Cell | None = None
    label_style: Style = "label"
    cell: Cell
    type: FieldType
    required: bool = False
    list: Name | None = None
    prompt: str | None = None
    sum_of: Names = []
    derive: Name | None = None
    args: Names | None = None          # default: sum_of
    value: float | None = None
    anchor: Name | None = None
    role: FieldRole | None = None
    name: Name | None = None           # the short name in messages (default: the label without 其中: and colons)
    aliases: Labels = []          # other printed forms of the label (the label-based reader)


class ColumnModel(_Model):
    """``[[tables.columns]]``."""

    key: Name
    label: str
    col: Col
    type: ColumnType
    required: bool = False
    list: Name | None = None
    cascade_from: Name | None = None
    prompt: str | None = None
    role: ColumnRole | None = None
    name: Name | None = None
    to: Col | None = None              # the last column when the column spans several (merged per row)
    aliases: Labels = []          # other printed forms of the label (the label-based reader)


class HighlightModel(_Model):
    """``[[tables.highlights]]``: a conditional-format formula per row."""

    when: Name


class TableModel(_Model):
    """``[[tables]]``: a header row, then input rows."""

    key: Name
    label: str
    label_col: Col | None = None
    header_row: Annotated[int, Field(ge=1)]
    min_rows: Annotated[int, Field(ge=1)] = 10
    required: bool = False
    hierarchy: bool = False
    columns: Annotated[list[ColumnModel], Field(min_length=1)]
    highlights: list[HighlightModel] = []
    parse_target: bool = False
    role: TableRole | None = None
    preprinted: list[dict[str, Name]] = []   # first rows, locked: column key → the printed text
    anchor: Name | None = None         # header_row counts from the first row below this table


class BalanceModel(_Model):
    """``[[balances]]``: sums of field groups that must be equal (资金来源 = 资金结构)."""

    name: Name
    sides: Annotated[list[Annotated[list[Name], Field(min_length=1)]], Field(min_length=2)]


class CarryTableModel(_Model):
    """``[carry."<kind>".tables."<table>"]``."""

    from_: Name = Field(alias="from")
    match: Names = []
    columns: Annotated[dict[str, Name], Field(min_length=1)]


class CarryModel(_Model):
    """``[carry."<kind>"]``: what a form of another kind carries into this one."""

    scale: Positive = 1.0
    fields: dict[str, Name] = {}
    tables: dict[str, CarryTableModel] = {}


class SpecFile(_Model):
    """A whole form spec, ``schemas/<kind>.toml``."""

    kind: Name
    version: Annotated[int, Field(ge=1)]
    title: str
    name: Name
    sheet: Sheet
    money_unit: str = "元"
    indicators: Stem | None = None
    columns: list[Width] = []
    key_order: NonEmptyNames
    identity: NonEmptyNames
    group_by: NonEmptyNames
    lists: dict[str, Annotated[list[Name], Field(min_length=1)]] = {}
    texts: list[TextModel] = []
    fields: list[FieldModel] = []
    tables: list[TableModel] = []
    summary_title: str = DEFAULT_SUMMARY_TITLE
    summary_columns: Names = []
    short_name: str | None = None          # default: name
    form_file: Names | None = None         # default: identity
    summary_file: Name = "汇总表"
    carry: dict[str, CarryModel] = {}
    period: Names = []
    checks: list[CheckGroup] = []
    balances: list[BalanceModel] = []


# ---------------------------------------------------------------------------------------------
# A variant: schemas/<kind>-<variant>.toml, another printed layout of a kind


def _partial(model: type[_Model], name: str, keep: tuple[str, ...] = (), omit: tuple[str, ...] = (),
             **replace) -> type[_Model]:
    """``model`` with every key optional (a change to an item of the base), except ``keep``;
    without the keys ``omit``; ``replace``: other types for some keys, or new keys. Each key
    keeps its own checks."""
    fields = {}
    for n, f in model.model_fields.items():
        if n in omit:
            continue
        if n in replace:
            fields[n] = replace[n]
            continue
        tp = Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation
        fields[n] = (tp, Field(alias=f.alias)) if n in keep else (tp | None, Field(None, alias=f.alias))
    fields.update((n, t) for n, t in replace.items() if n not in fields)
    return create_model(name, __base__=_Model, __doc__=model.__doc__, **fields)


_VARIANT_RE = re.compile(r"^[A-Za-z0-9_\u4e00-\u9fff-]{1,20}$")


def _variant_name(v: str) -> str:
    if not _VARIANT_RE.match(v):
        raise PydanticCustomError("xl_variant", "应为 1–20 个字母、数字、汉字、- 或 _，如 \"2023\"")
    return v


VariantName = Annotated[str, AfterValidator(_variant_name)]

# ``[[fields]]`` / ``[[tables]]`` of a variant: the key of a base item to change (only the keys
# given change; a table's ``columns`` are replaced as a whole), or a new item (then complete).
FieldPatch = _partial(FieldModel, "FieldPatch", keep=("key",))
TablePatch = _partial(TableModel, "TablePatch", keep=("key",))
VariantFile = _partial(
    SpecFile, "VariantFile", omit=("kind",),   # a variant's kind is the one it extends
    fields=(list[FieldPatch] | None, None), tables=(list[TablePatch] | None, None),
    extends=(Name, ...),                      # the kind whose layout this one changes
    variant=(VariantName, ...),               # its name: --variant 2023; the file is <kind>-<variant>.toml
    description=(str | None, None),           # what sets the layout apart, in words
    drop=(Names | None, None),                # fields, tables and lists of the base this layout does not have
)


# ---------------------------------------------------------------------------------------------
# A list file: schemas/indicators.toml


class LayoutModel(_Model):
    """``[layouts.<X>]``: one indicator tree, 一级 → its 二级."""

    name: str | None = None
    tree: Annotated[dict[str, Annotated[list[Name], Field(min_length=1)]], Field(min_length=1)]


class ListsFile(_Model):
    """The indicator hierarchy and unit lists, ``schemas/indicators.toml``."""

    required_level1: Names = []
    count_units: Names = []
    rate_bad_units: Names = []
    odd_units: dict[str, Name] = {}   # a "unit" that is not one (率, 百分比) → the unit meant (%)
    layouts: Annotated[dict[str, LayoutModel], Field(min_length=1)]


# ---------------------------------------------------------------------------------------------
# Validation and its messages


def validate(model: type[_Model], data: dict):
    """``(instance, [])`` when ``data`` fits ``model``, else ``(None, [(key path, message), …])``."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [(key_path(err["loc"], data), message(model, err)) for err in exc.errors(include_url=False)]


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_ITEM_NOUNS = {"fields": "字段", "tables": "表格", "columns": "列", "texts": "文字", "highlights": "条件格式"}


def key_path(loc: tuple, data) -> str:
    """``('fields', 3, 'required')`` → ``fields[3].required（字段 key = "项目类别"）``: the TOML
    key path, then which item of each ``[[array]]`` that is, by its key (or cell)."""
    out, hints, cur, parent = "", [], data, None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            cur = cur[part] if isinstance(cur, list) and 0 <= part < len(cur) else None
            if isinstance(cur, dict):
                noun = _ITEM_NOUNS.get(parent, "")
                if isinstance(cur.get("key"), str):
                    hints.append(f'{noun} key = "{cur["key"]}"'.strip())
                elif isinstance(cur.get("cell"), str):
                    hints.append(f'{noun} cell = "{cur["cell"]}"'.strip())
            continue
        part = str(part)
        shown = part if _BARE.match(part) else '"' + part.replace('"', '\\"') + '"'
        out += ("." if out else "") + shown
        parent = part
        cur = cur.get(part) if isinstance(cur, dict) else None
    return out + (f"（{'，'.join(hints)}）" if hints else "")


def _unwrap(tp):
    """The model/list/dict type inside ``Annotated[...]`` and ``X | None``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        else:
            return tp


def _model_at(model, loc: tuple):
    """The model class whose keys sit at ``loc`` (for 'unknown key' messages), or None."""
    cur = model
    for part in loc:
        cur = _unwrap(cur)
        if isinstance(cur, type) and issubclass(cur, BaseModel):
            field = next((f for n, f in cur.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return None
            cur = field.annotation
        elif typing.get_origin(cur) is list and isinstance(part, int):
            cur = typing.get_args(cur)[0]
        elif typing.get_origin(cur) is dict:
            cur = typing.get_args(cur)[1]
        else:
            return None
    cur = _unwrap(cur)
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _keys_of(model) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _shown(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        s = v if len(v) <= 40 else v[:40] + "…"
        return f'文字 "{s}"'
    if isinstance(v, int):
        return f"整数 {v}"
    if isinstance(v, float):
        return f"数字 {v:g}"
    if isinstance(v, list):
        return "列表"
    if isinstance(v, dict):
        return "表"
    return f"{type(v).__name__} {v}"


_EXPECTED = {
    "bool_type": "应为 true 或 false（不加引号）",
    "bool_parsing": "应为 true 或 false（不加引号）",
    "string_type": "应为文字（用英文双引号括起来）",
    "int_type": "应为整数（不加引号）",
    "int_from_float": "应为整数（不带小数点）",
    "float_type": "应为数字（不加引号）",
    "list_type": "应为列表，如 [\"甲\", \"乙\"]",
    "dict_type": "应为表（[表头] 下的键，或 { … }）",
    "model_type": "应为表（[表头] 下的键，或 { … }）",
    "model_attributes_type": "应为表（[表头] 下的键，或 { … }）",
}


def message(model, err: dict) -> str:
    """One pydantic error in Chinese: what was expected, and what was found."""
    typ, loc, ctx, got = err["type"], err["loc"], err.get("ctx") or {}, err.get("input")
    if typ == "missing":
        return "缺少这个键（必填）"
    if typ == "extra_forbidden":
        allowed = _keys_of(_model_at(model, loc[:-1]) or _Model)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"，是不是 {close[0]}？" if close else ""
        return f"未知的键{hint}（这里可用的键：{'、'.join(allowed)}）"
    if typ.startswith("xl_"):
        text = err["msg"]
    elif typ in _EXPECTED:
        text = _EXPECTED[typ]
    elif typ == "literal_error":
        text = "应为以下之一：" + "、".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
    elif typ == "too_short":
        text = f"至少应有 {ctx.get('min_length', 1)} 项"
    elif typ == "greater_than_equal":
        text = f"应不小于 {ctx.get('ge')}"
    elif typ == "greater_than":
        text = f"应大于 {ctx.get('gt')}"
    else:
        text = err["msg"]
    return f"{text}，实际为 {_shown(got)}"
