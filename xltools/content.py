"""Content rules: what a 财政 reviewer checks beyond a well-formed form (issue 14).

Targets must be 完整、可衡量、与资金相匹配 (财预〔2021〕101号, 〔2015〕88号, 上海 2025 指引).
Every word the rules look for is in ``schemas/review.toml`` (:class:`xltools.profiles.VocabFile`);
thresholds are in the profile. The rules ask the spec for roles (level1 … reason) and the
vocabulary for the field keys of each kind's texts and funds, so they run on every kind that has
them. One pass over each form's rows, compiled regexes, no pandas: linear and cheap.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from .indicators import parse_target
from .read import Form
from .rules import Finding, Rule, finding
from .spec import FormSpec, get_path

_SENTENCE_END = re.compile(r"(?<=[。；;！？!?])")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _fmt(v: float) -> str:
    return f"{v:,.2f}"


def _pct(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.2f}"


class Words:
    """The vocabulary, compiled once per (vocabulary, hierarchy)."""

    def __init__(self, vocab, hierarchy):
        self.v = vocab
        self.cost = frozenset(vocab.cost)
        self.percent = frozenset(vocab.percent_units) | {k for k, v in vocab.odd_units.items() if v in
                                                          vocab.percent_units}
        self.money = dict(vocab.money_units)
        self.count_units = frozenset(hierarchy.count_units) if hierarchy else frozenset()
        self.rate_bad = frozenset(hierarchy.rate_bad_units) if hierarchy else frozenset()
        # odd units the indicator list reports already (the unit form's own list) are not repeated
        self.odd_units = {k: v for k, v in vocab.odd_units.items()
                          if not (hierarchy and k in hierarchy.odd_units)}
        goal_units = sorted(set(vocab.goal_units) | self.count_units, key=len, reverse=True)
        self.goal_re = (re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(" + "|".join(map(re.escape, goal_units)) + ")")
                        if goal_units else None)
        brackets = "".join(re.escape(b) for b in vocab.document_brackets)
        self.year_re = re.compile((rf"(?<![{brackets}\d])" if brackets else r"(?<!\d)") + r"((?:19|20)\d{2})\s*年")
        drop = "|".join(map(re.escape, sorted(vocab.near_duplicate_drop, key=len, reverse=True)))
        self.drop_re = re.compile(drop) if drop else None
        self._names: dict[str, tuple] = {}
        self.money_re = (re.compile(r"^(" + "|".join(map(re.escape, sorted(self.money, key=len, reverse=True)))
                                    + r")(" + re.escape(vocab.per) + r".+)?$") if self.money else None)

    def name_facts(self, name: str) -> tuple:
        """(normalised name, is a rate, qualitative kind, satisfaction, not-served subject), cached:
        forms repeat the same names."""
        hit = self._names.get(name)
        if hit is None:
            v = self.v
            sat = bool(v.satisfaction_word) and v.satisfaction_word in name
            hit = (self.normal_name(name), self.is_rate(name), self.qualitative_kind(name), sat,
                   next((x for x in v.not_served if x in name), None) if sat else None)
            if len(self._names) < 100_000:
                self._names[name] = hit
        return hit

    def normal_name(self, name: str) -> str:
        s = self.drop_re.sub("", name) if self.drop_re else name
        return _PUNCT.sub("", s)

    def is_rate(self, name: str) -> bool:
        return (any(name.endswith(s) for s in self.v.rate_suffixes)
                and not any(name.endswith(x) for x in self.v.rate_exceptions))

    def money_unit(self, unit: str | None) -> tuple[str, bool] | None:
        """(money word, per-something) of a money unit (元, 万元/人), else None."""
        if not unit or self.money_re is None:
            return None
        m = self.money_re.match(unit)
        return (m.group(1), bool(m.group(2))) if m else None

    def qualitative_kind(self, name: str) -> str | None:
        return next((w for suffix, w in self.v.qualitative_kinds.items() if name.endswith(suffix)), None)


_WORDS: dict[tuple[int, int], tuple] = {}


def _words(vocab, hierarchy) -> Words:
    key = (id(vocab), id(hierarchy))
    hit = _WORDS.get(key)
    if hit is None or hit[0] is not vocab or hit[1] is not hierarchy:
        hit = _WORDS[key] = (vocab, hierarchy, Words(vocab, hierarchy))
    return hit[2]


def _is_vague(text: str, words: Words) -> bool:
    return text.strip() in words.v.vague_timeliness


def _qualitative(t) -> bool:
    return t.qualitative is not None and t.parsed and not t.years and not re.search(r"\d", t.qualitative)


def check_form(form: Form, spec: FormSpec, vocab, profile) -> list[Finding]:
    """Every content rule on one form (severities as in rules.py; the profile is applied later)."""
    out: list[Finding] = []
    table = spec.indicators
    kind_words = vocab.kinds.get(spec.kind)
    if table is not None and spec.hierarchy is not None and table.target is not None:
        out += _indicator_content(form, spec, table, _words(vocab, spec.hierarchy), profile, kind_words)
        if table.by_role("actual") is not None and table.by_role("points") is not None:
            out += _selfeval_content(form, spec, table, _words(vocab, spec.hierarchy), profile, kind_words)
    if kind_words is not None:
        out += _texts_and_funds(form, spec, table, _words(vocab, spec.hierarchy), profile, kind_words)
    return out


# ---------------------------------------------------------------------------------------------
# Indicators


def _indicator_content(form: Form, spec: FormSpec, table, w: Words, profile, kind_words) -> list[Finding]:
    from .validate import labels

    out: list[Finding] = []
    add = out.append
    v = w.v
    words = labels(spec, table)
    L1, L2, L3 = (table.key_of(x) for x in ("level1", "level2", "level3"))
    T = table.target.key
    rows = form.data.get(table.key) or []
    money_unit = spec.money_unit

    def cell(r, key):
        return form.cells.get((table.key, r, key))

    named = [r for r, row in enumerate(rows) if row.get(L3) or row.get(T)]
    if not named:
        return out
    has_cost = False
    output_rows = []
    output_parts = set()
    by_value: dict[str, list[int]] = defaultdict(list)
    seen_norm: dict[tuple, int] = {}
    for r in named:
        row = rows[r]
        l1, l2, name, value = row.get(L1), row.get(L2), row.get(L3) or "", row.get(T)
        is_cost = l1 in w.cost or l2 in w.cost
        has_cost |= is_cost
        if l1 == v.output:
            output_rows.append(r)
            output_parts.add(l2)
        norm, rate, qkind, satisfaction, who = w.name_facts(name)
        # near-duplicate 三级 under one 二级 (exact duplicates are duplicate-indicator)
        if name:
            key = (l1, l2, norm)
            if key in seen_norm:
                k = seen_norm[key]
                if rows[k].get(L3) != name:
                    add(finding(Rule.INDICATOR_NEAR_DUPLICATE, form.file, form.sheet, cell(r, L3), name=name,
                                other=rows[k].get(L3), first=cell(k, L3), **words))
            else:
                seen_norm[key] = r
        # satisfaction rows
        if l2 == v.satisfaction and name and not satisfaction:
            add(finding(Rule.SATISFACTION_MISFILED, form.file, form.sheet, cell(r, L3), name=name, level2=l2,
                        **words))
        if who:
            add(finding(Rule.SATISFACTION_NOT_SERVED, form.file, form.sheet, cell(r, L3), name=name, who=who,
                        **words))
        if value is None or str(value).strip() == "":
            continue
        t = parse_target(value)
        at = cell(r, T)
        kw = dict(words, name=name, value=value)
        mu = w.money_unit(t.unit)
        if is_cost and not (t.operator in ("≤", "<") and t.number is not None and mu is not None):
            add(finding(Rule.COST_NOT_CAP, form.file, form.sheet, at, **kw))
        if mu is not None and not mu[1] and mu[0] != money_unit and money_unit in w.money:
            add(finding(Rule.MONEY_UNIT_MISMATCH, form.file, form.sheet, at, unit=t.unit, **kw))
        if satisfaction:
            if t.number is None or (t.unit not in w.percent and t.unit not in w.rate_bad):
                add(finding(Rule.SATISFACTION_UNMEASURABLE, form.file, form.sheet, at, **kw))
        elif rate and _qualitative(t):
            add(finding(Rule.RATE_QUALITATIVE, form.file, form.sheet, at, **kw))
        if l2 == v.timeliness and t.qualitative and _is_vague(t.qualitative, w):
            add(finding(Rule.TIMELINESS_VAGUE, form.file, form.sheet, at, **kw))
        if t.unit in w.percent and t.number is not None:
            if t.operator == "=" and 0 < t.number < 100:
                add(finding(Rule.RATE_EQUALS, form.file, form.sheet, at, number=_pct(t.number), **kw))
            elif t.operator in ("≥", ">") and t.number == 100:
                add(finding(Rule.RATE_GE_100, form.file, form.sheet, at, number=_pct(t.number), **kw))
        if (l2 == v.quantity and t.operator in ("≤", "<") and t.number is not None and t.number > 0
                and mu is None):
            add(finding(Rule.COUNT_CAPPED, form.file, form.sheet, at, op=t.operator, **kw))
        if t.unit is not None and not is_cost:
            if t.unit in w.odd_units:
                add(finding(Rule.UNIT_ODD, form.file, form.sheet, at, unit=t.unit, fixed=w.odd_units[t.unit], **kw))
            elif t.unit in w.count_units and qkind:
                add(finding(Rule.UNIT_KIND, form.file, form.sheet, at, unit=t.unit, what=qkind, **kw))
            if t.unit in w.count_units and t.number is not None:
                by_value[str(value).strip()].append((r, l2))
    first_named = named[0]
    if not has_cost and w.cost:
        add(finding(Rule.COST_MISSING, form.file, form.sheet, cell(first_named, L1), cost=v.cost[0],
                    output=v.output, **words))
    if output_rows and v.output_parts:
        missing = [short for l2, short in v.output_parts.items() if l2 not in output_parts]
        if missing:
            add(finding(Rule.OUTPUT_INCOMPLETE, form.file, form.sheet, cell(output_rows[0], L2), output=v.output,
                        missing="、".join(missing), **words))
    n = profile.thresholds.filler_min
    for value, hits in by_value.items():
        # a template default left in: on n rows or more, spread over more than one 二级
        # (three 数量 rows of =2(人) for two staff are what they say)
        if len(hits) >= n and len({l2 for _, l2 in hits}) > 1:
            rs = [r for r, _ in hits]
            for r in rs[2:]:
                add(finding(Rule.FILLER_VALUE, form.file, form.sheet, cell(r, T), value=value, count=len(rs),
                            first=cell(rs[0], T), **words))
    out += _cost_vs_budget(form, spec, table, w, rows, named, kind_words)
    return out


def _budget(form: Form, spec: FormSpec, vocab_kind) -> tuple[float | None, object]:
    if vocab_kind is None or not vocab_kind.budget:
        return None, None
    f = _field(spec, vocab_kind.budget)
    if f is None:
        return None, None
    return _num(get_path(form.data, f.path)), f


def _field(spec: FormSpec, key: str | None):
    if not key:
        return None
    try:
        return spec.field(key)
    except KeyError:
        return None


def _cost_vs_budget(form: Form, spec: FormSpec, table, w: Words, rows, named, kind_words) -> list[Finding]:
    """A 总成本 cap, or Σ 单位成本 × the matching 数量 target, above the year's budget."""
    budget, bf = _budget(form, spec, kind_words)
    factor = w.money.get(spec.money_unit)
    if budget is None or not factor or budget <= 0:
        return []
    L1, L2, T = table.key_of("level1"), table.key_of("level2"), table.target.key
    budget_yuan = budget * factor
    quantities: dict[str, list[float]] = defaultdict(list)
    caps = []
    for r in named:
        row = rows[r]
        t = parse_target(row.get(T))
        if t.number is None:
            continue
        if row.get(L2) == w.v.quantity and t.unit and t.operator in ("≥", "=", ">", None):
            quantities[t.unit].append(t.number)
        if (row.get(L1) in w.cost or row.get(L2) in w.cost) and t.operator in ("≤", "<"):
            mu = w.money_unit(t.unit)
            if mu is not None:
                caps.append((r, t, mu))
    out = []
    words = dict(budget_label=bf.name, budget=_fmt(budget), money_unit=spec.money_unit)
    unit_total, first = 0.0, None
    for r, t, (money, per) in caps:
        amount = t.number * w.money[money]
        if not per:
            if amount > budget_yuan + 0.005:
                out.append(finding(Rule.COST_EXCEEDS_BUDGET, form.file, form.sheet,
                                   form.cells.get((table.key, r, T)), what=f"成本上限「{rows[r].get(T)}」",
                                   cost=_fmt(amount / factor), **words))
            continue
        last = t.unit.split(w.v.per)[-1]
        qs = quantities.get(last)
        if qs and len(qs) == 1:
            unit_total += amount * qs[0]
            first = r if first is None else first
    if first is not None and unit_total > budget_yuan + 0.005:
        out.append(finding(Rule.COST_EXCEEDS_BUDGET, form.file, form.sheet, form.cells.get((table.key, first, T)),
                           what="单位成本 × 对应数量指标之和", cost=_fmt(unit_total / factor), **words))
    return out


# ---------------------------------------------------------------------------------------------
# Self-evaluation


def _selfeval_content(form: Form, spec: FormSpec, table, w: Words, profile, kind_words) -> list[Finding]:
    from .validate import labels

    out: list[Finding] = []
    add = out.append
    words = labels(spec, table)
    L1, L3, T = table.key_of("level1"), table.key_of("level3"), table.target.key
    ACTUAL, POINTS, SCORE, REASON = (table.key_of(r) for r in ("actual", "points", "score", "reason"))
    rows = form.data.get(table.key) or []
    th = profile.thresholds
    per_level1: Counter = Counter()
    for r, row in enumerate(rows):
        name = row.get(L3) or f"第 {r + 1} 行"
        points, score, actual_text = _num(row.get(POINTS)), _num(row.get(SCORE)), row.get(ACTUAL)
        if points is not None:
            l1 = row.get(L1)
            per_level1[profile.weights_with.get(l1, l1)] += points
        at_actual = form.cells.get((table.key, r, ACTUAL))
        if actual_text in profile.tiers and points and score is not None and 0 <= score <= points + 1e-9:
            lo, hi = profile.tiers[actual_text]
            ratio = score / points * 100
            if ratio < lo - 1e-9 or (ratio >= hi - 1e-9 and hi < 100):
                add(finding(Rule.TIER_SCORE, form.file, form.sheet, form.cells.get((table.key, r, SCORE)),
                            name=name, actual=actual_text, score=f"{score:.2f}", points=f"{points:.2f}",
                            ratio=_pct(round(ratio, 2)), low=_pct(lo), high=_pct(hi), **words))
        target, actual = parse_target(row.get(T)), parse_target(actual_text)
        if target.number is None or actual.number is None:
            continue
        if target.unit and actual.unit and target.unit != actual.unit:
            add(finding(Rule.ACTUAL_UNIT_MISMATCH, form.file, form.sheet, at_actual, name=name, actual=actual_text,
                        target=row.get(T), actual_unit=actual.unit, target_unit=target.unit, **words))
            continue
        if (target.operator in ("≥", ">", None) and target.number > 0
                and actual.number >= th.over_achievement * target.number - 1e-9
                and points is not None and score is not None and abs(score - points) < 1e-9 and not row.get(REASON)):
            add(finding(Rule.OVER_ACHIEVEMENT, form.file, form.sheet, at_actual, name=name, actual=actual_text,
                        target=row.get(T), times=f"{actual.number / target.number:.2f}", **words))
    # 一级 weights against the usual ones
    if profile.weights and per_level1:
        have = {k: per_level1.get(k, 0.0) for k in profile.weights}
        if any(abs(have[k] - want) > th.weights_tolerance + 1e-9 for k, want in profile.weights.items()):
            wf = spec.role("weights")

            def show(d):
                return "、".join(f"{k} {_pct(x)}" for k, x in d.items())
            add(finding(Rule.WEIGHTS_DEFAULT, form.file, form.sheet, form.cells.get(wf.path) if wf else None,
                        have=show(have), want=show(profile.weights), **words))
    # 全年预算数 against 年初预算数
    if kind_words is not None:
        fi, ff, fe = (_field(spec, k) for k in (kind_words.budget, kind_words.budget_full, kind_words.executed))
        if fi and ff:
            initial, full = _num(get_path(form.data, fi.path)), _num(get_path(form.data, ff.path))
            done = _num(get_path(form.data, fe.path)) if fe else None
            if initial and full is not None and abs(full - initial) / initial > th.budget_adjusted + 1e-9:
                def rate(base):
                    return f"{done / base * 100:.2f}" if done is not None and base else "—"
                add(finding(Rule.BUDGET_ADJUSTED, form.file, form.sheet, form.cells.get(ff.path),
                            full_label=ff.path[-1], initial_label=fi.path[-1], full=_fmt(full), initial=_fmt(initial),
                            change=_pct(round((full - initial) / initial * 100, 2)), rate_full=rate(full),
                            rate_initial=rate(initial), money_unit=spec.money_unit))
    return out


# ---------------------------------------------------------------------------------------------
# Texts and funds


def _sentences(text: str) -> list[str]:
    out = []
    for para in text.split("\n"):
        out += [s.strip() for s in _SENTENCE_END.split(para) if s.strip()]
    return out


def _texts_and_funds(form: Form, spec: FormSpec, table, w: Words | None, profile, kw) -> list[Finding]:
    out: list[Finding] = []
    add = out.append
    data = form.data
    year = spec.value(data, "year")
    th = profile.thresholds
    for key in kw.texts:
        f = _field(spec, key)
        text = get_path(data, f.path) if f else None
        if not isinstance(text, str) or not text.strip():
            continue
        counts = Counter(s for s in _sentences(text) if len(s) >= th.text_min_chars)
        repeated = [(s, n) for s, n in counts.items() if n > 1]
        if repeated:
            s, n = repeated[0]
            add(finding(Rule.TEXT_REPEATED, form.file, form.sheet, form.cells.get(f.path), label=f.name, count=n,
                        excerpt=s if len(s) <= 40 else s[:40] + "…"))
    for key in kw.goals:
        f = _field(spec, key)
        text = get_path(data, f.path) if f else None
        if not isinstance(text, str) or not text.strip() or w is None:
            continue
        if isinstance(year, int):
            years = sorted({int(y) for y in w.year_re.findall(text)} - {year})
            if years:
                add(finding(Rule.TEXT_YEAR, form.file, form.sheet, form.cells.get(f.path), label=f.name,
                            found="、".join(map(str, years)), year=year))
        found = w.goal_re.findall(text) if w.goal_re is not None else []
        if found and table is not None and table.target is not None:
            rows = data.get(table.key) or []
            L3, T = table.key_of("level3"), table.target.key
            carried = set()
            names = []
            for row in rows:
                t = parse_target(row.get(T))
                if t.number is not None:
                    carried.add((t.number, t.unit))
                    carried.add(t.number)
                names.append(_PUNCT.sub("", str(row.get(L3) or "")))
            missing = []
            for num, unit in found:
                n = float(num)
                if n in carried or any(f"{num}{unit}" in nm for nm in names):
                    continue
                item = f"{num} {unit}"
                if item not in missing:
                    missing.append(item)
            if missing:
                add(finding(Rule.GOAL_UNMATCHED, form.file, form.sheet, form.cells.get(f.path), label=f.name,
                            items="、".join(missing[:8]) + ("等" if len(missing) > 8 else "")))
    # 项目资金总额 against the year's funds
    total_f = _field(spec, kw.project_total)
    budget, bf = _budget(form, spec, kw)
    if total_f is not None and bf is not None and budget:
        total = _num(get_path(data, total_f.path))
        common = dict(label=total_f.name, year_label=bf.name, year_total=_fmt(budget), money_unit=spec.money_unit)
        if total is None:
            add(finding(Rule.FUNDS_INCOMPLETE, form.file, form.sheet, _first_input_cell(form, spec, total_f),
                        **common))
        elif total < budget - 0.005:
            add(finding(Rule.FUNDS_BELOW_YEAR, form.file, form.sheet, _first_input_cell(form, spec, total_f),
                        total=_fmt(total), **common))
    return out


def _first_input_cell(form: Form, spec: FormSpec, f) -> str | None:
    """The cell the unit must change: a typed total itself, else the first of its parts."""
    if f.is_input or not f.args:
        return form.cells.get(f.path)
    part = _field(spec, f.args[0])
    return form.cells.get(part.path) if part else form.cells.get(f.path)
