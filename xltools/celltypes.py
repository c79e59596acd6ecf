"""Cell types: one registry, each type owning everything the pipeline does with its cells.

A field or table column of a spec has a ``type``; :data:`TYPES` maps it to a
:class:`CellType` that says

* how the template formats and checks the cell (number format, alignment, data validation),
* how the reader normalises what it finds there (``normalise``),
* which rules the validator checks on it (``checks``: rule codes, each a vectorised pandera
  check over a whole column, built in :mod:`xltools.validate`),
* how a 汇总表 writes it (``summary``: ``money`` is summed in the 合计 row).

Adding a type (say ``count`` for head counts) is one entry here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# Normalisation: a cell's raw value (from python-calamine) → the value `xltools read` reports


_WS = re.compile(r"[ \t\u00a0\u3000]+")
_NUM = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+0?0:00(?::00)?)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_RUNS = re.compile(r"[ \t\u3000]{2,}|[\t\u3000\n]")
EXCEL_EPOCH = dt.date(1899, 12, 30)

# Full-width ASCII variants (U+FF01–U+FF5E) to ASCII, and the ideographic space to a space.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold(text: str) -> str:
    return text.translate(_FOLD)


def number_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def clean_text(v, *, collapse: bool = True) -> str | None:
    """A cell as text: stray spaces trimmed (and collapsed unless it is a long text)."""
    if v is None:
        return None
    if v.__class__ is str:
        s = v
    elif isinstance(v, bool):
        s = "TRUE" if v else "FALSE"
    elif isinstance(v, float):
        s = number_text(v)
    elif isinstance(v, dt.datetime):
        s = v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    elif isinstance(v, dt.date):
        s = v.isoformat()
    else:
        s = str(v)
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    if "\u00a0" in s:
        s = s.replace("\u00a0", " ")
    if collapse:
        if _RUNS.search(s):
            s = _WS.sub(" ", s.replace("\n", " "))
    elif " \n" in s or "\t\n" in s or "\u3000\n" in s:
        s = "\n".join(line.rstrip() for line in s.split("\n"))
    s = s.strip(" \t\n\u3000")
    return s or None


def to_number(v):
    """A money/number cell → float; text that is not a number is returned cleaned (the
    validator reports it); empty → None."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, bool):
        return clean_text(v)
    if isinstance(v, (int, float)):
        return float(v)
    s = clean_text(v)
    if s is None:
        return None
    t = fold(s).replace(" ", "").replace(",", "").replace("，", "")
    t = re.sub(r"^[¥￥]|元$", "", t)
    if _NUM.match(t):
        return float(t)
    return s


def to_count(v):
    """A head count → int when whole; a fraction stays a float and text stays text (reported)."""
    n = to_number(v)
    if isinstance(n, float) and n.is_integer():
        return int(n)
    return n


def to_year(v):
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer():
        return int(v)
    s = clean_text(v)
    if s is None:
        return None
    t = fold(s).replace(" ", "")
    m = re.match(r"^(\d{4})(?:\.0+)?年?(?:度)?$", t)
    return int(m.group(1)) if m else s


def to_date(v):
    """A date cell → ISO text; unreadable text is returned cleaned (the validator reports it)."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 1 <= v < 2958466:  # an Excel serial number typed into a General cell
            return (EXCEL_EPOCH + dt.timedelta(days=int(v))).isoformat()
        return number_text(v)
    s = clean_text(v)
    if s is None:
        return None
    t = fold(s).strip()
    m = _DATE_TEXT.match(t) or _DATE_COMPACT.match(t)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            return s
    return s


def _long_text(v):
    return clean_text(v, collapse=False)


def _choice(v):
    return clean_text(v)


# ---------------------------------------------------------------------------------------------
# The registry


YEAR_RANGE = (2000, 2100)
DATE_RANGE = (dt.date(2000, 1, 1), dt.date(2100, 12, 31))


@dataclass(frozen=True)
class CellType:
    name: str
    num_format: str                          # Excel number format of its cells
    normalise: object                        # raw cell value → the value read
    style: dict = field(default_factory=dict)   # extra cell format (alignment) in templates and 汇总表
    checks: tuple[str, ...] = ()             # rule codes checked on every such cell (xltools.validate)
    summary: str = "text"                    # how a 汇总表 writes it: money (summed) | number | count | date | text
    #                                          | derived (a formula over the totals)
    cell: str = "text"                       # what a cell holds: number | date | text (template.write_typed)
    computed: bool = False                   # filled by a formula, never typed

    def validation(self, money_unit: str) -> dict:
        """The template's data validation for an input of this type (lists are added by the writer)."""
        if self.name == "money":
            return {"validate": "decimal", "criteria": ">=", "value": 0,
                    "error_message": f"请填写不小于 0 的金额（{money_unit}），最多两位小数，不要带单位。"}
        if self.name == "number":
            return {"validate": "decimal", "criteria": ">=", "value": 0, "error_message": "请填写不小于 0 的数字。"}
        if self.name == "count":
            return {"validate": "integer", "criteria": ">=", "value": 0, "error_message": "请填写不小于 0 的整数。"}
        if self.name == "year":
            return {"validate": "integer", "criteria": "between", "minimum": YEAR_RANGE[0],
                    "maximum": YEAR_RANGE[1], "error_message": "请填写四位年份，如 2026。"}
        if self.name == "date":
            return {"validate": "date", "criteria": "between", "minimum": DATE_RANGE[0],
                    "maximum": DATE_RANGE[1], "error_message": "请填写日期，如 2026-01-01。"}
        return {"validate": "any"}


TYPES: dict[str, CellType] = {t.name: t for t in (
    CellType("text", "@", clean_text),
    CellType("choice", "@", _choice, checks=("not-in-list",)),
    CellType("longtext", "@", _long_text, style={"valign": "top"}),
    CellType("target", "@", clean_text),   # a 指标值: text as typed; xltools.indicators parses it
    CellType("money", "#,##0.00", to_number, style={"align": "right"}, checks=("money-invalid", "money-negative"),
             summary="money", cell="number"),
    CellType("number", "0.00", to_number, style={"align": "right"}, checks=("number-invalid", "number-negative"),
             summary="number", cell="number"),
    CellType("date", "yyyy-mm-dd", to_date, style={"align": "center"}, checks=("date-invalid",), summary="date",
             cell="date"),
    CellType("year", "0", to_year, style={"align": "center"}, checks=("year-invalid",), summary="text", cell="number"),
    CellType("count", "0", to_count, style={"align": "right"}, checks=("count-invalid",), summary="count",
             cell="number"),
    CellType("total", "#,##0.00", to_number, style={"align": "right"}, summary="money", cell="number", computed=True),
    CellType("derived", "#,##0.00", to_number, style={"align": "right"}, summary="derived", cell="number",
             computed=True),
    CellType("constant", "0.00", to_number, style={"align": "right"}, summary="number", cell="number", computed=True),
)}

FIELD_TYPES = frozenset(TYPES)
COLUMN_TYPES = frozenset(t for t, c in TYPES.items() if not c.computed)
COMPUTED_TYPES = frozenset(t for t, c in TYPES.items() if c.computed)
INPUT_TYPES = COLUMN_TYPES


def normalise(value, typ: str):
    return TYPES[typ].normalise(value)
