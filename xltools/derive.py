"""Derived values: one definition, two renderings.

Each derivation named in a spec (``derive = "rate"``) has a Python function — the reader
recomputes every derived value from the inputs and never trusts a cached formula result — and
an Excel formula, so the sheet shows the same value live while staff type.
Arguments are values (Python) or cell references / ranges (Excel), in the order of ``args``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# 评分等级 thresholds (FORMS.md §3): 优 ≥ 90; 良 80–<90; 中 60–<80; 差 < 60.
GRADES = ((90.0, "优"), (80.0, "良"), (60.0, "中"), (float("-inf"), "差"))


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _flat(values) -> list:
    out = []
    for v in values:
        out.extend(v if isinstance(v, list) else [v])
    return out


def total(*values) -> float | None:
    """The sum of the non-empty numeric values; None when all are empty."""
    nums = [n for n in map(_num, _flat(values)) if n is not None]
    return round(sum(nums), 2) if nums else None


def rate(done, budget) -> float | None:
    """执行率 in percent, two decimals; 0 when the budget is 0."""
    d, b = _num(done), _num(budget)
    if d is None or b is None:
        return None
    return 0.0 if b == 0 else round(d / b * 100, 2)


def funds_score(rate_pct, points) -> float | None:
    """预算执行率得分 = 分数 × min(执行率, 100%)."""
    r, p = _num(rate_pct), _num(points)
    if r is None or p is None:
        return None
    return round(p * min(max(r, 0.0), 100.0) / 100, 2)


def grade(score) -> str | None:
    s = _num(score)
    if s is None:
        return None
    return next(name for floor, name in GRADES if s >= floor)


@dataclass(frozen=True)
class Derivation:
    python: Callable
    excel: Callable[..., str]


def _sum_formula(*refs: str) -> str:
    joined = ",".join(refs)
    return f'=IF(COUNT({joined})=0,"",ROUND(SUM({joined}),2))'


def _rate_formula(done: str, budget: str) -> str:
    return f'=IF(AND(ISNUMBER({done}),ISNUMBER({budget})),IF({budget}=0,0,ROUND({done}/{budget}*100,2)),"")'


def _score_formula(rate_ref: str, points: str) -> str:
    return f'=IF(AND(ISNUMBER({rate_ref}),ISNUMBER({points})),ROUND({points}*MIN(MAX({rate_ref},0),100)/100,2),"")'


def _grade_formula(score: str) -> str:
    (a, ga), (b, gb), (c, gc), (_, gd) = GRADES
    return (f'=IF(ISNUMBER({score}),IF({score}>={a:g},"{ga}",IF({score}>={b:g},"{gb}",'
            f'IF({score}>={c:g},"{gc}","{gd}"))),"")')


DERIVATIONS: dict[str, Derivation] = {
    "sum": Derivation(total, _sum_formula),
    "rate": Derivation(rate, _rate_formula),
    "funds_score": Derivation(funds_score, _score_formula),
    "grade": Derivation(grade, _grade_formula),
}
