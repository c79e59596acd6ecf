"""Rules of the 绩效自评 (FORMS.md §3): funds execution, weights, scores and their reasons.

Quantitative convention (national default): a ≥ target met earns full marks, else
分值 × 实际/目标; a ≤ target met earns full marks, else 分值 × 目标/实际. Qualitative tiers:
达成指标 (100–80 %), 部分达成指标并具有一定效果 (80–60 %), 未达成指标 (60–0 %).
"""

from __future__ import annotations

from .indicators import parse_target
from .read import Form
from .rules import Finding, Rule, finding
from .spec import FormSpec, get_path

TIERS = ("达成指标", "部分达成指标并具有一定效果", "未达成指标")
TOTAL_POINTS = 100.0


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _fmt(v: float) -> str:
    return f"{v:.2f}"


def met(op: str | None, target: float, actual: float) -> bool:
    return {"≥": actual >= target, ">": actual > target, "≤": actual <= target, "<": actual < target,
            "=": abs(actual - target) < 1e-9, None: actual >= target}[op]


def suggested(op: str | None, target: float, actual: float, points: float) -> float:
    """The score the convention gives."""
    if met(op, target, actual):
        return points
    if op in ("≤", "<"):
        return round(points * target / actual, 2) if actual > 0 else 0.0
    return round(points * actual / target, 2) if target > 0 else 0.0


def check_selfeval(form: Form, spec: FormSpec) -> list[Finding]:
    """The rule group "selfeval": the roles it reads are checked at load (xltools.spec.CHECK_ROLES)."""
    from .validate import labels

    out: list[Finding] = []
    data, add = form.data, out.append
    table = spec.indicators
    words = labels(spec, table)
    L3, POINTS, SCORE, ACTUAL, REASON = (table.key_of(r) for r in ("level3", "points", "score", "actual", "reason"))

    def at(*path):
        return form.cells.get(tuple(path))

    # 全年执行数 > 全年预算数 on each funding line: the arguments of every 执行率 derivation.
    for f in spec.totals:
        if f.derive != "rate":
            continue
        done_key, budget_key = f.args
        done_f, budget_f = spec.field(done_key), spec.field(budget_key)
        if not done_f.is_input:
            continue
        done, budget = _num(get_path(data, done_f.path)), _num(get_path(data, budget_f.path))
        if done is not None and budget is not None and done > budget + 1e-9:
            add(finding(Rule.EXEC_OVER_BUDGET, form.file, form.sheet, form.cells.get(done_f.path),
                        label=done_f.path[-2], done=_fmt(done), budget=_fmt(budget), done_label=done_f.path[-1],
                        budget_label=budget_f.path[-1], **words))
    # Σ 分值 + funds 分数 = 100.
    funds = sum(_num(f.value) or 0 for f in spec.constants)  # the 分数 of 预算执行率 (10)
    rows = data.get(table.key) or []
    weights_total = round(sum(_num(r.get(POINTS)) or 0 for r in rows), 2)
    if abs(weights_total + funds - TOTAL_POINTS) > 0.005:
        add(finding(Rule.WEIGHTS_SUM, form.file, form.sheet, form.cells.get(spec.role("weights").path),
                    indicators=_fmt(weights_total), funds=_fmt(funds), total=_fmt(weights_total + funds), **words))
    target_key = table.target.key
    for i, row in enumerate(rows):
        name = row.get(L3) or f"第 {i + 1} 行"
        points, score = _num(row.get(POINTS)), _num(row.get(SCORE))
        reason = row.get(REASON)
        if points is None or score is None:
            continue
        if score < 0 or score > points + 1e-9:
            add(finding(Rule.SCORE_RANGE, form.file, form.sheet, at(table.key, i, SCORE), name=name,
                        score=_fmt(score), points=_fmt(points), **words))
            continue
        if score < points - 1e-9 and not reason:
            add(finding(Rule.REASON_MISSING, form.file, form.sheet, at(table.key, i, REASON), name=name,
                        score=_fmt(score), points=_fmt(points), **words))
        elif abs(score - points) < 1e-9 and reason:
            add(finding(Rule.REASON_UNNEEDED, form.file, form.sheet, at(table.key, i, REASON), name=name, **words))
        target, actual_text = parse_target(row.get(target_key)), row.get(ACTUAL)
        actual = parse_target(actual_text)
        if target.number is None:
            if actual_text and actual_text not in TIERS and actual.number is None:
                add(finding(Rule.QUALITATIVE_TIER, form.file, form.sheet, at(table.key, i, ACTUAL), name=name,
                            actual=actual_text, **words))
            continue
        if actual.number is None or (target.unit and actual.unit and target.unit != actual.unit):
            continue
        is_met = met(target.operator, target.number, actual.number)
        want = suggested(target.operator, target.number, actual.number, points)
        if (is_met and score < points - 1e-9) or (not is_met and abs(score - points) < 1e-9):
            hint = ""
            if target.operator in ("≤", "<") and is_met and actual.number < target.number:
                alt = suggested("≥", target.number, actual.number, points)
                hint = f"若本意为 ≥（常见的填写错误），则应得 {_fmt(alt)}，请同时更正年度指标值。"
            add(finding(Rule.SCORE_CONVENTION, form.file, form.sheet, at(table.key, i, SCORE), name=name,
                        target=row.get(target_key), actual=actual_text, verdict="已达成" if is_met else "未达成",
                        suggested=_fmt(want), score=_fmt(score), hint=hint, **words))
    return out
