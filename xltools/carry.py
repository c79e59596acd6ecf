"""Carrying a form's values into another kind, and checking them later.

A spec's ``[carry."<other kind>"]`` section says which of its inputs come from a form of the
other kind (fields, scaled when money changes unit, and table columns). ``carry_values``
builds the pre-filled (and locked) values of a new template; ``compare`` reports where a
filled form no longer agrees with the form it was carried from (``validate --against``).
"""

from __future__ import annotations

from .read import Form
from .rules import Finding, Rule, finding
from .spec import FormSpec, get_path, load_spec, set_path


def carry_spec(to: FormSpec, source_kind: str) -> dict:
    try:
        return to.carry[source_kind]
    except KeyError:
        names = "、".join(to.carry) or "无"
        raise ValueError(f"{to.name}不能由 {source_kind} 生成（可用：{names}）") from None


def _scaled(to: FormSpec, src: FormSpec, to_key: str, from_key: str, value, scale: float):
    if value is None or not isinstance(value, (int, float)):
        return value
    if to.field(to_key).type == "money" and src.field(from_key).type == "money":
        return round(value * scale, 6)
    return value


def carry_values(source: Form, to_kind: str) -> tuple[dict, frozenset[str]]:
    """Values for a ``to_kind`` template pre-filled from ``source``, and the keys to lock."""
    to, src = load_spec(to_kind), source.spec
    rule = carry_spec(to, src.kind)
    scale = float(rule.get("scale", 1))
    values: dict = {}
    locked: set[str] = set()
    for to_key, from_key in rule.get("fields", {}).items():
        v = _scaled(to, src, to_key, from_key, get_path(source.data, src.field(from_key).path), scale)
        set_path(values, to.field(to_key).path, v)
        locked.add(to_key)
    for to_table, t in rule.get("tables", {}).items():
        rows = source.data.get(t["from"]) or []
        values[to_table] = [{tk: row.get(fk) for tk, fk in t["columns"].items()} for row in rows]
        locked |= {f"{to_table}.{tk}" for tk in t["columns"]}
    return values, frozenset(locked)


def missing_carried(source: Form, to_kind: str) -> list[Finding]:
    """What ``source`` lacks that a ``to_kind`` template would carry (and lock): a value the new
    form requires, every amount, or every row of a carried table. Errors at the source's cells:
    a template carrying nothing there could not be completed by its unit."""
    to, src = load_spec(to_kind), source.spec
    rule = carry_spec(to, src.kind)
    out: list[Finding] = []
    money = []
    for to_key, from_key in rule.get("fields", {}).items():
        f, g = to.field(to_key), src.field(from_key)
        value = get_path(source.data, g.path)
        if f.type == "money" and g.type == "money":
            money.append((g, value))
        elif f.required and value in (None, ""):
            out.append(finding(Rule.CARRY_MISSING, source.file, source.sheet, source.cells.get(g.path),
                               label=g.name, kind=to.short_name))
    if money and all(v in (None, "") for _, v in money):
        g = money[0][0]
        out.append(finding(Rule.CARRY_MISSING, source.file, source.sheet, source.cells.get(g.path),
                           label="、".join(x.name for x, _ in money), kind=to.short_name))
    for t in rule.get("tables", {}).values():
        if not source.data.get(t["from"]):
            table = src.table(t["from"])
            out.append(finding(Rule.CARRY_MISSING, source.file, source.sheet, source.next_row.get(table.key),
                               label=table.label, kind=to.short_name))
    return out


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v - round(v, 2)) < 1e-9 else f"{v:,.6g}"
    return "空" if v is None else str(v)


def compare(form: Form, source: Form) -> list[Finding]:
    """Where ``form`` departs from what was carried from ``source`` (errors, at form's cells)."""
    to, src = form.spec, source.spec
    rule = carry_spec(to, src.kind)
    scale = float(rule.get("scale", 1))
    out: list[Finding] = []
    words = {"source": src.short_name, "kind": to.short_name}
    for to_key, from_key in rule.get("fields", {}).items():
        f = to.field(to_key)
        want = _scaled(to, src, to_key, from_key, get_path(source.data, src.field(from_key).path), scale)
        have = get_path(form.data, f.path)
        same = (abs(have - want) < 0.005 if isinstance(have, (int, float)) and isinstance(want, (int, float))
                else (have or None) == (want or None))
        if not same:
            out.append(finding(Rule.AGAINST_FIELD, form.file, form.sheet, form.cells.get(f.path),
                               label=f.name, have=_fmt(have), want=_fmt(want), other=source.file, **words))
    for to_table, t in rule.get("tables", {}).items():
        match = t.get("match", [])
        cols = t["columns"]
        mine = form.data.get(to_table) or []
        theirs = source.data.get(t["from"]) or []

        def key_of(row, names):
            return tuple(row.get(n) for n in names)

        their_rows = {key_of(r, [cols[m] for m in match]): r for r in theirs}
        my_keys = set()
        for i, row in enumerate(mine):
            k = key_of(row, match)
            my_keys.add(k)
            other = their_rows.get(k)
            name = "／".join(str(x) for x in k)
            if other is None:
                out.append(finding(Rule.AGAINST_ADDED, form.file, form.sheet,
                                   form.cells.get((to_table, i, match[-1])), name=name, other=source.file, **words))
                continue
            for tk, fk in cols.items():
                if tk in match:
                    continue
                if (row.get(tk) or None) != (other.get(fk) or None):
                    out.append(finding(Rule.AGAINST_CHANGED, form.file, form.sheet,
                                       form.cells.get((to_table, i, tk)), name=name, label=tk,
                                       have=_fmt(row.get(tk)), want=_fmt(other.get(fk)), other=source.file,
                                       **words))
        for k in their_rows:
            if k not in my_keys:
                out.append(finding(Rule.AGAINST_DROPPED, form.file, form.sheet, form.next_row.get(to_table),
                                   name="／".join(str(x) for x in k), other=source.file, **words))
    return out
