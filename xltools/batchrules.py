"""Rules across the forms of one run (issue 14): near-duplicate projects, sub-projects counted
twice, and 主管部门/实施单位 spelled differently. Linear in the number of forms (near-duplicates
are compared only inside a group of the same kind, unit and amount).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from .read import Form
from .rules import Finding, Rule, finding
from .spec import get_path

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "「": '"', "」": '"',
                         "（": "(", "）": ")", "　": " "})


_MAX_EARLIER = 50


def _where(form: Form, other: Form) -> str:
    return other.file if other.file != form.file else f"工作表「{other.sheet}」"


def _indicators(form: Form) -> set:
    pairs = getattr(form, "indicator_pairs", None)   # a slim form of a batch: the pairs' digests
    if pairs is not None:
        return {pairs[i:i + 8] for i in range(0, len(pairs), 8)}
    table = form.spec.indicators
    if table is None or table.target is None:
        return set()
    L3, T = table.key_of("level3"), table.target.key
    return {(r.get(L3), r.get(T)) for r in form.data.get(table.key) or [] if r.get(L3)}


def _amount(form: Form, vocab):
    kw = vocab.kinds.get(form.kind)
    if kw is None or not kw.budget:
        return None
    try:
        f = form.spec.field(kw.budget)
    except KeyError:
        return None
    v = get_path(form.data, f.path)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def check_batch(forms: list[Form], vocab, profile) -> list[Finding]:
    out: list[Finding] = []
    out += _near_duplicates(forms, vocab, profile)
    out += _double_counted(forms, vocab)
    out += _name_variants(forms, vocab)
    return out


def _near_duplicates(forms, vocab, profile) -> list[Finding]:
    out = []
    share_min = profile.thresholds.near_duplicate_share
    groups: dict[tuple, list[Form]] = defaultdict(list)
    for form in forms:
        unit, amount = form.spec.value(form.data, "unit"), _amount(form, vocab)
        if unit and amount:
            groups[(form.kind, unit, round(amount, 2))].append(form)
    for (_kind, _unit, amount), group in groups.items():
        if len(group) < 2:
            continue
        # Each form against the earlier projects of its group (one per identity, at most
        # _MAX_EARLIER of them): linear however many copies a batch holds.
        earlier: list[tuple[Form, set]] = []
        identities: set = set()
        for form in group:
            b = _indicators(form)
            ident = form.identity()
            for other, a in earlier:
                if other.identity() == ident:
                    continue   # the same project twice: duplicate-project says so
                if not a or not b:
                    continue
                share = len(a & b) / max(len(a), len(b))
                if share >= share_min - 1e-9:
                    name_f = form.spec.role("name")
                    out.append(finding(Rule.PROJECT_NEAR_DUPLICATE, form.file, form.sheet,
                                       form.cells.get(name_f.path) if name_f else None,
                                       name=form.spec.value(form.data, "name"), other=_where(form, other),
                                       other_name=other.spec.value(other.data, "name"),
                                       amount=f"{amount:,.2f} {form.spec.money_unit}", share=f"{share * 100:.0f}"))
                    break
            if ident not in identities and len(earlier) < _MAX_EARLIER:
                identities.add(ident)
                earlier.append((form, b))
    return out


def _double_counted(forms, vocab) -> list[Finding]:
    out = []
    names: dict[str, Form] = {}
    for form in forms:
        n = form.spec.value(form.data, "name")
        if n:
            names.setdefault(str(n).strip(), form)
    for form in forms:
        kw = vocab.kinds.get(form.kind)
        if kw is None or not kw.subprojects or not kw.subproject_name:
            continue
        own = form.spec.value(form.data, "name")
        for r, row in enumerate(form.data.get(kw.subprojects) or []):
            sub = row.get(kw.subproject_name) if isinstance(row, dict) else None
            if not sub:
                continue
            other = names.get(str(sub).strip())
            if other is not None and other is not form and str(sub).strip() != own:
                out.append(finding(Rule.DOUBLE_COUNTED, form.file, form.sheet,
                                   form.cells.get((kw.subprojects, r, kw.subproject_name)), name=sub,
                                   other=_where(form, other)))
    return out


def _normal(name: str, suffix_re) -> str:
    s = str(name).translate(_QUOTES)
    s = re.sub(r"\s+", "", s)
    if suffix_re is not None:
        s = suffix_re.sub("", s)
    return s.replace('"', "").replace("'", "")


def _name_variants(forms, vocab) -> list[Finding]:
    out = []
    suffix_re = (re.compile(r"\((?:" + "|".join(map(re.escape, vocab.name_suffixes)) + r")\)$")
                 if vocab.name_suffixes else None)
    for role in ("dept", "unit"):
        spellings: dict[str, Counter] = defaultdict(Counter)
        for form in forms:
            v = form.spec.value(form.data, role)
            if isinstance(v, str) and v.strip():
                spellings[_normal(v, suffix_re)][v] += 1
        variants = {k: c for k, c in spellings.items() if len(c) > 1}
        if not variants:
            continue
        for form in forms:
            f = form.spec.role(role)
            v = form.spec.value(form.data, role)
            if f is None or not isinstance(v, str):
                continue
            c = variants.get(_normal(v, suffix_re))
            if c is None:
                continue
            common = max(c, key=lambda s: (c[s], -len(s)))
            if v == common:
                continue
            shown = "、".join(f"「{s}」（{n} 份）" for s, n in c.most_common())
            out.append(finding(Rule.NAME_VARIANT, form.file, form.sheet, form.cells.get(f.path), label=f.name,
                               variants=shown, value=v))
    return out
