"""The 指标值 grammar (FORMS.md §4).

A value is quantitative — an optional operator, a number and a unit (``≥236.00(人)``,
``=100%``, ``>=16次``, ``0 起``) — or qualitative (``及时``, ``每月一次``, ``10月底前``).
:func:`parse_target` returns the parts the reader adds next to the text as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Every spelling seen (or likely) mapped to the canonical operator.
OPERATORS = {
    "≥": "≥", "≧": "≥", ">=": "≥", "＞＝": "≥", "＞=": "≥", ">＝": "≥", "=>": "≥",
    "≤": "≤", "≦": "≤", "<=": "≤", "＜＝": "≤", "＜=": "≤", "<＝": "≤", "=<": "≤",
    "=": "=", "＝": "=", "==": "=",
    ">": ">", "＞": ">",
    "<": "<", "＜": "<",
}
ASCII_OPERATORS = {">=", "<=", "=>", "=<"}

_OP_RE = "|".join(sorted((re.escape(k) for k in OPERATORS), key=len, reverse=True))
_QUANT = re.compile(
    rf"^(?P<op>{_OP_RE})?\s*(?P<num>[+-]?(?:\d{{1,3}}(?:,\d{{3}})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+))\s*"
    r"(?:[(（]\s*(?P<punit>[^()（）]*?)\s*[)）]|(?P<unit>[^\d\s()（）.][^()（）]*?))?\s*$"
)
# Date-looking targets are qualitative ("10月底前", "2026年6月30日前", "2026-06-30 前").
_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})\s*年|(?<![\d.])((?:19|20)\d{2})(?:[-/]\d{1,2}|\.\d{1,2}\.\d{1,2})")
_DATE_TARGET = re.compile(_YEAR.pattern + r"|^\d{1,2}\s*月")
_DIGITS = re.compile(r"[0-9０-９]")


@dataclass(frozen=True)
class Target:
    """The parsed parts of one 指标值."""

    operator: str | None = None   # ≥ ≤ = > <
    number: float | None = None
    unit: str | None = None
    qualitative: str | None = None
    raw_operator: str | None = None   # as typed, for the ASCII-operator warning
    parsed: bool = True               # False: looks quantitative but does not fit the grammar
    years: tuple[int, ...] = ()       # years named in a date-looking target

    def parts(self) -> dict:
        """The four keys `xltools read` adds to each indicator."""
        return {"运算符": self.operator, "数值": self.number, "单位": self.unit, "定性": self.qualitative}


EMPTY = Target()


_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}


def _half_width(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII, leaving ≥ ≤ and CJK alone."""
    return text.translate(_FOLD)


@lru_cache(maxsize=8192)
def parse_target(text: str | None) -> Target:
    """The parts of one 指标值 (cached: forms repeat the same few hundred values)."""
    if text is None:
        return EMPTY
    raw = str(text).strip()
    if not raw:
        return EMPTY
    norm = _half_width(raw).replace("\u3000", " ")
    if _DATE_TARGET.search(norm):
        years = tuple(int(a or b) for a, b in _YEAR.findall(norm))
        return Target(qualitative=raw, years=years)
    m = _QUANT.match(norm)
    if m:
        unit = m.group("punit") if m.group("punit") is not None else m.group("unit")
        unit = re.sub(r"\s+", "", unit) if unit else None
        # The operator as the user typed it (before full-width folding).
        raw_op = _raw_operator(raw) if m.group("op") else None
        return Target(
            operator=OPERATORS[m.group("op")] if m.group("op") else None,
            number=float(m.group("num").replace(",", "")),
            unit=unit or None,
            raw_operator=raw_op,
        )
    looks_quantitative = bool(re.match(rf"^\s*(?:{_OP_RE})", norm)) or bool(re.match(r"^\s*[+-]?\d", norm))
    return Target(qualitative=raw, parsed=not looks_quantitative)


def _raw_operator(raw: str) -> str | None:
    for op in sorted(OPERATORS, key=len, reverse=True):
        if raw.startswith(op):
            return op
    return None


def is_rate(name: str | None) -> bool:
    """A rate (…率) or a satisfaction (满意度) indicator."""
    return bool(name) and ("率" in name or "满意度" in name)


def has_digits(text: str) -> bool:
    return bool(_DIGITS.search(text))
