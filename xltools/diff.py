"""What changed between two versions of the same forms: `xltools diff OLD NEW`.

OLD and NEW are files or folders (a 汇总表 is read as its forms). Forms are matched by their
identity — the kind and the values of the spec's ``identity`` fields; when the two sides'
years do not overlap (``diff 2025汇总表.xlsx 2026/``) the year is left out of it and the diff is
the 与上年比对 (year over year). A form on one side only is 新增 or 删除.

For each matched pair: the fields added, removed or changed; the amounts (the money fields,
with the difference and the % change); every table row by row — rows are matched by their
names (the indicator table by 一级/二级/三级, another table by its first text column), never by
their position, so a moved row is not a change. Everything comes from the spec (types, roles,
column keys and names): no printed label is named here.

Findings: on a resubmission both sides are validated in the same run (or the earlier findings
are read from the JSON `validate --format json` wrote, ``--findings``) and compared per form —
上次 N 条，已改 x 条，新增 y 条. A finding is identified by its rule and what it concerns: the
field, or the table row (through the row matching, so a finding on a row that moved is the
same finding) and column — its cell address alone is not enough.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UnreadableFile, UsageError
from .progress import as_progress
from .read import Form, expand_paths, read_paths
from .rules import SEVERITY_NAMES, Finding
from .spec import Field, FormSpec, Table, get_path

CHANGED, ADDED, REMOVED, UNCHANGED = "changed", "added", "removed", "unchanged"
# How a change is named to the user.
CHANGE_WORDS = {CHANGED: "修改", ADDED: "新增", REMOVED: "删除", UNCHANGED: "未变"}
FIXED, NEW, REMAINING = "fixed", "new", "remaining"
FINDING_WORDS = {FIXED: "已改", NEW: "新增", REMAINING: "仍有"}
MODE_RESUBMISSION, MODE_YEARS = "resubmission", "year-over-year"

_EPS = 0.005   # money and scores are kept to two decimals: closer than this is equal


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class FieldChange:
    key: str
    label: str
    change: str          # changed / added (was empty) / removed (now empty)
    old: object
    new: object
    type: str = "text"

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "change": self.change, "old": self.old, "new": self.new}


@dataclass
class AmountChange(FieldChange):
    unit: str = ""

    @property
    def difference(self) -> float | None:
        return _difference(self.old, self.new)

    @property
    def percent(self) -> float | None:
        return _percent(self.old, self.new)

    def to_dict(self) -> dict:
        return dict(super().to_dict(), unit=self.unit, difference=self.difference, percent=self.percent)


@dataclass
class RowChange:
    change: str                        # changed / added / removed
    label: str                         # the row's names: 一级/二级/三级, or its first text column
    old_row: int | None                # 1-based data row on each side
    new_row: int | None
    columns: list[tuple[str, str, object, object]] = field(default_factory=list)   # (key, name, old, new)
    old: dict | None = None
    new: dict | None = None

    def to_dict(self) -> dict:
        return {"change": self.change, "row": self.label, "old_row": self.old_row, "new_row": self.new_row,
                "columns": [{"key": k, "label": n, "old": o, "new": v} for k, n, o, v in self.columns],
                "old": self.old, "new": self.new}


@dataclass
class TableDiff:
    key: str
    label: str
    rows: list[RowChange] = field(default_factory=list)
    keys: tuple[str, ...] = ()      # the columns rows are matched by (their names)

    def count(self, change: str) -> int:
        return sum(1 for r in self.rows if r.change == change)

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label,
                "changed": self.count(CHANGED), "added": self.count(ADDED), "removed": self.count(REMOVED),
                "rows": [r.to_dict() for r in self.rows]}


@dataclass
class FindingChange:
    status: str                       # fixed / new / remaining
    old: Finding | None
    new: Finding | None

    @property
    def finding(self) -> Finding:
        return self.new if self.new is not None else self.old

    def to_dict(self) -> dict:
        f = self.finding
        return {"status": self.status, "rule": f.rule, "severity": f.severity, "message": f.message,
                "old_cell": self.old.cell if self.old else None, "new_cell": self.new.cell if self.new else None}


@dataclass
class FindingsDiff:
    items: list[FindingChange] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for c in self.items if c.status == status)

    @property
    def before(self) -> int:
        return self.count(FIXED) + self.count(REMAINING)

    @property
    def after(self) -> int:
        return self.count(NEW) + self.count(REMAINING)

    def sentence(self) -> str:
        """上次 7 条，已改 5 条，新增 1 条（本次 3 条）."""
        return (f"上次 {self.before} 条，已改 {self.count(FIXED)} 条，新增 {self.count(NEW)} 条"
                f"（本次 {self.after} 条）")

    def to_dict(self) -> dict:
        return {"before": self.before, "after": self.after, "fixed": self.count(FIXED), "new": self.count(NEW),
                "remaining": self.count(REMAINING), "items": [c.to_dict() for c in self.items]}


@dataclass
class YearOverYear:
    """The 与上年比对 of one project: its headline amount, and its indicators dropped and added."""

    old_year: object
    new_year: object
    amount: AmountChange | None
    dropped: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: int = 0

    def to_dict(self) -> dict:
        a = self.amount
        return {"old_year": self.old_year, "new_year": self.new_year,
                "amount": None if a is None else {"key": a.key, "label": a.label, "unit": a.unit, "old": a.old,
                                                  "new": a.new, "difference": a.difference, "percent": a.percent},
                "dropped": self.dropped, "added": self.added, "changed": self.changed}


@dataclass
class FormDiff:
    status: str                          # changed / unchanged / added / removed
    old: Form | None
    new: Form | None
    fields: list[FieldChange] = field(default_factory=list)
    amounts: list[AmountChange] = field(default_factory=list)
    tables: list[TableDiff] = field(default_factory=list)
    findings: FindingsDiff | None = None
    years: YearOverYear | None = None

    @property
    def form(self) -> Form:
        return self.new if self.new is not None else self.old

    @property
    def spec(self) -> FormSpec:
        return self.form.spec

    def value(self, role: str):
        return self.spec.value(self.form.data, role)

    @property
    def title(self) -> str:
        """项目支出绩效目标申报表「党群综合服务」（实施单位，2026）: the kind's name, the form's name
        (its name role, else its unit) and the rest of its identity."""
        spec, data = self.spec, self.form.data
        head = self.value("name") or self.value("unit")
        rest = [str(v) for k in spec.identity if (v := data.get(k)) not in (None, "") and v != head]
        if self.old is not None and self.new is not None:
            old_year, new_year = (self.old.spec.value(self.old.data, "year"), self.new.spec.value(self.new.data, "year"))
            if old_year != new_year:
                rest = [r for r in rest if r != str(new_year)] + [f"{old_year} → {new_year}"]
        return f"{spec.name}「{head or '未填名称'}」" + (f"（{'，'.join(rest)}）" if rest else "")

    def to_dict(self) -> dict:
        spec, data = self.spec, self.form.data

        def where(form: Form | None):
            return None if form is None else {"file": form.file, "sheet": form.sheet}

        return {"status": self.status, "kind": spec.kind, "form": spec.name,
                "identity": {k: data.get(k) for k in spec.identity},
                "old": where(self.old), "new": where(self.new),
                "fields": [c.to_dict() for c in self.fields], "amounts": [c.to_dict() for c in self.amounts],
                "tables": [t.to_dict() for t in self.tables if t.rows],
                "findings": None if self.findings is None else self.findings.to_dict(),
                "year_over_year": None if self.years is None else self.years.to_dict()}


@dataclass
class DiffResult:
    old: list[str]
    new: list[str]
    mode: str
    forms: list[FormDiff] = field(default_factory=list)
    old_years: list = field(default_factory=list)
    new_years: list = field(default_factory=list)
    unreadable: list[UnreadableFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    findings_from: str | None = None     # "validate", the --findings file, or None (not compared)
    unmatched_findings: int = 0          # earlier findings whose form was not found on the OLD side
    earlier_profile: str | None = None   # the profile the --findings JSON was made with
    profile: object = None
    empty_side: str | None = None        # "old" / "new": no form could be read on that side

    @property
    def year_over_year(self) -> bool:
        return self.mode == MODE_YEARS

    def count(self, status: str) -> int:
        return sum(1 for d in self.forms if d.status == status)

    @property
    def exit_code(self) -> int:
        """0 whether or not anything changed (a difference is not an error); 2 when a file could
        not be read or a side has no form."""
        return 2 if self.unreadable or self.empty_side else 0

    def findings_total(self) -> FindingsDiff | None:
        if self.findings_from is None:
            return None
        return FindingsDiff([c for d in self.forms if d.findings for c in d.findings.items])


# ---------------------------------------------------------------------------------------------
# Comparing values


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _same(a, b) -> bool:
    if _number(a) and _number(b):
        return abs(a - b) < _EPS
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return a == b


def _empty(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or v == [] or v == {}


def _change(old, new) -> str | None:
    if _empty(old) and _empty(new):
        return None
    if _empty(old):
        return ADDED
    if _empty(new):
        return REMOVED
    return None if _same(old, new) else CHANGED


def _difference(old, new) -> float | None:
    return round(new - old, 2) if _number(old) and _number(new) else None


def _percent(old, new) -> float | None:
    if not (_number(old) and _number(new)) or abs(old) < _EPS:
        return None
    return round((new - old) / abs(old) * 100, 2)


# ---------------------------------------------------------------------------------------------
# Fields and amounts


def amount_fields(spec: FormSpec) -> list[Field]:
    """The money fields: inputs of type money and the totals of money fields."""
    money = {f.key for f in spec.fields if f.type == "money"}
    grew = True
    while grew:   # a total may come before its parts, or sum other totals
        more = {f.key for f in spec.fields if f.type == "total" and f.sum_of and all(k in money for k in f.sum_of)}
        grew = bool(more - money)
        money |= more
    return [f for f in spec.fields if f.key in money]


def headline_amount(spec: FormSpec) -> Field | None:
    """The amount a project is compared by across years: the last money total as the form prints
    them (申报表: the multi-year 项目资金总额, then the year's 年度资金申请总额; 自评表: 年初预算数,
    全年预算数, 全年执行数; 单位整体表: its one total), else the last money field."""
    amounts = amount_fields(spec)
    totals = [f for f in amounts if f.type == "total"]
    return (totals or amounts or [None])[-1]


def _fields_of(old: Form, new: Form) -> list[tuple[Field, FormSpec]]:
    """Every field of either layout, once (the new layout's first), without constants."""
    seen: set[str] = set()
    out = []
    for spec in (new.spec, old.spec):
        for f in spec.fields:
            if f.key not in seen and f.type != "constant":
                seen.add(f.key)
                out.append((f, spec))
    return out


def _shifted(a, b, years: int) -> bool:
    """Whether date ``b`` is date ``a`` moved by ``years`` years (2025-01-01 → 2026-01-01)."""
    return (isinstance(a, str) and isinstance(b, str) and a[:4].isdigit() and len(a) == len(b)
            and f"{int(a[:4]) + years:04d}{a[4:]}" == b)


def _diff_fields(old: Form, new: Form, years: int | None = None) -> tuple[list[FieldChange], list[AmountChange]]:
    """``years``: across years, the years between the two (the year itself and dates moved by
    exactly that are what a new year is, not changes)."""
    fields, amounts = [], []
    money = {f.key for spec in (old.spec, new.spec) for f in amount_fields(spec)}
    for f, spec in _fields_of(old, new):
        a, b = get_path(old.data, f.path), get_path(new.data, f.path)
        change = _change(a, b)
        if change is None:
            continue
        if years is not None and (f.role == "year" or (f.type == "date" and _shifted(a, b, years))):
            continue
        if f.key in money:
            amounts.append(AmountChange(f.key, f.name, change, a, b, f.type, unit=spec.money_unit))
        else:
            fields.append(FieldChange(f.key, f.name, change, a, b, f.type))
    return fields, amounts


# ---------------------------------------------------------------------------------------------
# Tables: rows matched by their names


def _key_columns(table: Table) -> list[str]:
    """The columns that name a row: 一级/二级/三级 (roles level1..level3) of the indicator table,
    else the first text column (e.g. a task's or a sub-project's name); none: by position."""
    levels = [table.key_of(r) for r in ("level1", "level2", "level3")]
    if levels[-1] is not None:
        return [k for k in levels if k is not None]
    first = next((c.key for c in table.columns if c.type in ("text", "longtext")), None)
    return [first] if first else []


def _norm(v):
    return " ".join(str(v).split()) if v is not None else None


def match_rows(old_rows: list[dict], new_rows: list[dict], keys: list[str]) -> list[tuple[int | None, int | None]]:
    """Pairs (old index, new index) of rows with the same names; (i, None) a removed row,
    (None, j) an added one. In stages: all key columns equal; then the last key column (the
    三级 name) alone, when filled; then the others, when one side's last key column is empty (a
    pre-printed row whose 三级 was filled in). Rows of the same names pair in their order.
    Without key columns rows pair by position."""
    if not keys:
        n = max(len(old_rows), len(new_rows))
        return [(i if i < len(old_rows) else None, i if i < len(new_rows) else None) for i in range(n)]
    left = list(range(len(old_rows)))
    right = list(range(len(new_rows)))
    pairs: list[tuple[int | None, int | None]] = []

    def stage(key_of) -> None:
        waiting: dict[tuple, list[int]] = defaultdict(list)
        for j in right:
            k = key_of(new_rows[j])
            if k is not None:
                waiting[k].append(j)
        kept = []
        for i in left:
            k = key_of(old_rows[i])
            if k is not None and waiting.get(k):
                j = waiting[k].pop(0)
                pairs.append((i, j))
                right.remove(j)
            else:
                kept.append(i)
        left[:] = kept

    def full(row):
        return tuple(_norm(row.get(k)) for k in keys)

    def last(row):
        v = _norm(row.get(keys[-1]))
        return (v,) if v else None

    def prefix(row):
        return tuple(_norm(row.get(k)) for k in keys[:-1])

    stage(full)
    if len(keys) > 1:
        stage(last)
        # a row whose last name is empty on one side: matched by the others
        empty_old = [i for i in left if not _norm(old_rows[i].get(keys[-1]))]
        empty_new = [j for j in right if not _norm(new_rows[j].get(keys[-1]))]
        if empty_old or empty_new:
            waiting: dict[tuple, list[int]] = defaultdict(list)
            for j in right:
                waiting[prefix(new_rows[j])].append(j)
            kept = []
            for i in left:
                cands = [j for j in waiting.get(prefix(old_rows[i]), []) if i in empty_old or j in empty_new]
                if cands:
                    j = cands[0]
                    waiting[prefix(old_rows[i])].remove(j)
                    pairs.append((i, j))
                    right.remove(j)
                else:
                    kept.append(i)
            left[:] = kept
    pairs += [(i, None) for i in left] + [(None, j) for j in right]
    return pairs


def _row_label(row: dict, keys: list[str], index: int) -> str:
    names = [str(_norm(row.get(k))) for k in keys if _norm(row.get(k))]
    return "/".join(names) if names else f"第 {index + 1} 行"


def _tables_of(old: Form, new: Form) -> list[Table]:
    seen: set[str] = set()
    out = []
    for spec in (new.spec, old.spec):
        for t in spec.tables:
            if t.key not in seen:
                seen.add(t.key)
                out.append(t)
    return out


def _plain(row: dict, table: Table) -> dict:
    return {c.key: row.get(c.key) for c in table.columns}


def diff_table(table: Table, old_rows: list[dict], new_rows: list[dict]) -> tuple[TableDiff, dict]:
    """The rows changed, added and removed (in the new order, removed rows last), and the
    pairing ``{("old", i) | ("new", j): pair id}`` the findings are matched through."""
    keys = _key_columns(table)
    pairs = match_rows(old_rows, new_rows, keys)
    out = TableDiff(table.key, table.label, keys=tuple(keys))
    ids: dict[tuple, object] = {}
    for n, (i, j) in enumerate(pairs):
        if i is not None:
            ids[("old", i)] = n
        if j is not None:
            ids[("new", j)] = n
    order = sorted(pairs, key=lambda p: (p[1] is None, p[1] if p[1] is not None else p[0]))
    for i, j in order:
        if i is not None and j is not None:
            a, b = old_rows[i], new_rows[j]
            cols = [(c.key, c.name, a.get(c.key), b.get(c.key)) for c in table.columns
                    if _change(a.get(c.key), b.get(c.key)) is not None]
            if cols:
                out.rows.append(RowChange(CHANGED, _row_label(b, keys, j), i + 1, j + 1, cols,
                                          _plain(a, table), _plain(b, table)))
        elif j is not None:
            b = new_rows[j]
            cols = [(c.key, c.name, None, b.get(c.key)) for c in table.columns if not _empty(b.get(c.key))]
            out.rows.append(RowChange(ADDED, _row_label(b, keys, j), None, j + 1, cols, None, _plain(b, table)))
        else:
            a = old_rows[i]
            cols = [(c.key, c.name, a.get(c.key), None) for c in table.columns if not _empty(a.get(c.key))]
            out.rows.append(RowChange(REMOVED, _row_label(a, keys, i), i + 1, None, cols, _plain(a, table), None))
    return out, ids


def _rows(form: Form, key: str) -> list[dict]:
    rows = form.data.get(key)
    return rows if isinstance(rows, list) else []


# ---------------------------------------------------------------------------------------------
# Matching forms


def _identity(form: Form, with_year: bool) -> tuple:
    spec = form.spec
    year = spec.role("year")
    keys = [k for k in spec.identity if with_year or year is None or k != year.key]
    return (form.kind,) + tuple(_norm(get_path(form.data, tuple(k.split(".")))) for k in keys)


def _years(forms: list[Form]) -> list:
    return sorted({y for f in forms if (y := f.spec.value(f.data, "year")) is not None}, key=str)


def match_forms(old: list[Form], new: list[Form], year_over_year: bool) -> list[tuple[Form | None, Form | None]]:
    """Pairs (old, new) of forms with the same identity, in the new side's order; forms only
    on the old side last. Across years the latest earlier year pairs first."""
    waiting: dict[tuple, list[Form]] = defaultdict(list)
    for f in old:
        waiting[_identity(f, not year_over_year)].append(f)
    if year_over_year:
        for forms in waiting.values():
            forms.sort(key=lambda f: str(f.spec.value(f.data, "year") or ""), reverse=True)
    pairs: list[tuple[Form | None, Form | None]] = []
    for f in new:
        got = waiting.get(_identity(f, not year_over_year))
        pairs.append((got.pop(0) if got else None, f))
    taken = {id(a) for a, _ in pairs if a is not None}
    pairs += [(f, None) for f in old if id(f) not in taken]
    return pairs


# ---------------------------------------------------------------------------------------------
# Findings: what each one concerns


def _subjects(form: Form, findings: list[Finding], row_ids: dict[str, dict], side: str) -> list[tuple | None]:
    """What each finding on ``form`` concerns, with its rule: the field, or the table row (its
    pair id from the row matching, so a row that moved is the same row) its cell belongs to.
    None where the cell names no single input: no cell, a cell of no input, or a cell naming
    several (a line of a text or PDF holds a whole row, or several fields)."""
    where: dict[str, set] = defaultdict(set)
    for path, ref in form.cells.items():
        where[ref].add(path[:2] if len(path) == 3 and isinstance(path[1], int) else tuple(path))
    out: list[tuple | None] = []
    for f in findings:
        paths = where.get(f.cell) if f.cell else None
        if not paths or len(paths) > 1:
            out.append(None)
            continue
        [path] = paths
        if len(path) == 2 and isinstance(path[1], int):   # (table, row index)
            table, i = path
            out.append((f.rule, "row", table, row_ids.get(table, {}).get((side, i), (side, i))))
        else:
            out.append((f.rule, "field", path))
    return out


def compare_findings(old: Form | None, new: Form | None, old_findings: list[Finding], new_findings: list[Finding],
                     row_ids: dict[str, dict]) -> FindingsDiff:
    """Each earlier finding fixed or still there, each current one new or still there: the same
    rule on the same field or row (several on one row pair in their order); then a finding
    whose place names no single input on either side by its rule and message."""
    a = _subjects(old, old_findings, row_ids, "old") if old is not None else []
    b = _subjects(new, new_findings, row_ids, "new") if new is not None else []
    pair: dict[int, int] = {}           # new index → old index
    waiting: dict[tuple, list[int]] = defaultdict(list)
    for i, s in enumerate(a):
        if s is not None:
            waiting[s].append(i)
    for j, s in enumerate(b):
        if s is not None and waiting.get(s):
            pair[j] = waiting[s].pop(0)
    taken = set(pair.values())
    by_text: dict[tuple, list[int]] = defaultdict(list)
    for i, f in enumerate(old_findings):
        if i not in taken:
            by_text[(f.rule, f.message)].append(i)
    for j, f in enumerate(new_findings):
        if j in pair:
            continue
        got = next((i for i in by_text.get((f.rule, f.message), []) if a[i] is None or b[j] is None), None)
        if got is not None:
            by_text[(f.rule, f.message)].remove(got)
            pair[j] = got
    taken = set(pair.values())
    items = [FindingChange(REMAINING, old_findings[pair[j]], f) if j in pair else FindingChange(NEW, None, f)
             for j, f in enumerate(new_findings)]
    items += [FindingChange(FIXED, f, None) for i, f in enumerate(old_findings) if i not in taken]
    order = {FIXED: 0, NEW: 1, REMAINING: 2}
    items.sort(key=lambda c: order[c.status])
    return FindingsDiff(items)


def findings_profile(path: str | Path) -> str | None:
    """The name of the review profile an earlier findings JSON was made with, if it says."""
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
        return str(data["profile"]["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_findings(path: str | Path) -> list[Finding]:
    """The findings of an earlier run: the JSON `xltools validate --format json` writes (an
    object with ``findings``; the older plain list is accepted too). Raises UsageError."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"找不到上次的审核结果文件：{p}")
    try:
        data = json.loads(p.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, OSError):
        raise UsageError(f"{p} 不是 JSON 审核结果：请用 xltools validate … --format json > {p.name} 生成。") from None
    items = data.get("findings") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise UsageError(f"{p} 中没有审核结果（findings）：请用 xltools validate … --format json 生成。")
    out = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("rule"), str) or not item.get("file"):
            raise UsageError(f"{p} 的第 {n} 条审核结果缺少 file 或 rule，不是 xltools validate --format json 的输出。")
        params = item.get("params")
        out.append(Finding(str(item["file"]), item.get("sheet"), item.get("cell"), str(item.get("severity") or ""),
                           item["rule"], str(item.get("message") or ""),
                           tuple(params.items()) if isinstance(params, dict) else ()))
    return out


def _assign(findings: list[Finding], forms: list[Form]) -> tuple[dict[int, list[Finding]], int]:
    """Findings by the form they are on (id of the form): the same file and sheet, else the same
    file name and sheet (the folder was moved or renamed), else — one file on each side — that
    file. Several forms on one sheet (a text or PDF 汇总表): the one holding the finding's cell.
    A finding of a whole file goes to the file's first form. Also the count not placed."""
    by_place: dict[tuple, list[Form]] = defaultdict(list)
    by_name: dict[tuple, list[Form]] = defaultdict(list)
    first_of: dict[str, Form] = {}
    for f in forms:
        by_place[(f.file, f.sheet)].append(f)
        by_name[(Path(f.file).name, f.sheet)].append(f)
        first_of.setdefault(f.file, f)
    files = {f.file for f in findings}
    only = next(iter(first_of)) if len(first_of) == 1 else None
    out: dict[int, list[Finding]] = defaultdict(list)
    lost = 0
    for x in findings:
        file = x.file
        if file not in first_of:
            names = {f.file for f in by_name.get((Path(file).name, x.sheet), [])} or {
                f.file for (n, _), fs in by_name.items() if n == Path(file).name for f in fs}
            file = next(iter(names)) if len(names) == 1 else (only if len(files) == 1 else None)
        if file is None:
            lost += 1
            continue
        here = by_place.get((file, x.sheet), []) if x.sheet else []
        form = next((f for f in here if x.cell in f.cells.values()), here[0]) if here else None
        form = form or (first_of[file] if not x.sheet or sum(1 for f in forms if f.file == file) == 1 else None)
        if form is None:
            lost += 1
            continue
        out[id(form)].append(x)
    return out, lost


# ---------------------------------------------------------------------------------------------
# Running it


def diff_forms(old: list[Form], new: list[Form], *, year_over_year: bool | None = None,
               old_findings: list[Finding] | None = None, new_findings: list[Finding] | None = None) -> list[FormDiff]:
    """Every pair of forms compared (see the module docstring). ``year_over_year``: leave the
    year out of the identity (default: when the two sides' years do not overlap). With both
    finding lists, each pair also gets its findings compared."""
    if year_over_year is None:
        year_over_year = _is_year_over_year(old, new)
    compare = old_findings is not None and new_findings is not None
    by_old = _assign(old_findings, old)[0] if compare else {}
    by_new = _assign(new_findings, new)[0] if compare else {}
    out = []
    for a, b in match_forms(old, new, year_over_year):
        if a is None or b is None:
            d = FormDiff(ADDED if a is None else REMOVED, a, b)
            if compare and b is not None:
                d.findings = compare_findings(None, b, [], by_new.get(id(b), []), {})
            out.append(d)
            continue
        d = FormDiff(UNCHANGED, a, b)
        d.fields, d.amounts = _diff_fields(a, b, _years_between(a, b) if year_over_year else None)
        row_ids: dict[str, dict] = {}
        for t in _tables_of(a, b):
            td, row_ids[t.key] = diff_table(t, _rows(a, t.key), _rows(b, t.key))
            if td.rows:
                d.tables.append(td)
        if d.fields or d.amounts or d.tables:
            d.status = CHANGED
        if compare:
            d.findings = compare_findings(a, b, by_old.get(id(a), []), by_new.get(id(b), []), row_ids)
        if year_over_year:
            d.years = _year_over_year(a, b, d)
        out.append(d)
    return out


def _years_between(a: Form, b: Form) -> int | None:
    x, y = a.spec.value(a.data, "year"), b.spec.value(b.data, "year")
    return y - x if isinstance(x, int) and isinstance(y, int) else None


def _is_year_over_year(old: list[Form], new: list[Form]) -> bool:
    a, b = set(_years(old)), set(_years(new))
    return bool(a) and bool(b) and not (a & b)


def _year_over_year(a: Form, b: Form, d: FormDiff) -> YearOverYear:
    head = headline_amount(b.spec)
    amount = None
    if head is not None:
        x, y = get_path(a.data, head.path), get_path(b.data, head.path)
        amount = AmountChange(head.key, head.name, _change(x, y) or UNCHANGED, x, y, head.type, unit=b.spec.money_unit)
    ind = b.spec.indicators
    rows = next((t.rows for t in d.tables if ind is not None and t.key == ind.key), [])
    return YearOverYear(a.spec.value(a.data, "year"), b.spec.value(b.data, "year"), amount,
                        dropped=[r.label for r in rows if r.change == REMOVED],
                        added=[r.label for r in rows if r.change == ADDED],
                        changed=sum(1 for r in rows if r.change == CHANGED))


def _read_side(paths, progress, result: DiffResult, what: str) -> list[Form]:
    inputs = expand_paths(paths)
    forms: list[Form] = []
    for res in progress.track(read_paths(inputs), f"读取{what}", len(inputs)):
        if isinstance(res, UnreadableFile):
            result.unreadable.append(res)
        elif res.skipped:
            result.skipped.append((res.file, res.skipped))
        else:
            forms.extend(res.forms)
    return forms


def diff_paths(old, new, *, findings: str | Path | None = None, validate: bool = True, profile=None,
               progress=None) -> DiffResult:
    """Compare the forms of ``old`` and ``new`` (a file or folder each, or lists of them).

    ``findings``: the earlier findings (the JSON of `validate --format json`) to compare the new
    side's findings with; otherwise, when ``validate`` and the sides are one year (a
    resubmission), both sides are validated here (separately: a form and its resubmission are
    not duplicates of each other). ``profile``: the review profile both are validated with.
    Raises MissingPath for a path that does not exist, UsageError for a bad findings file."""
    from .profiles import load_profile

    old_paths = [old] if isinstance(old, (str, Path)) else list(old)
    new_paths = [new] if isinstance(new, (str, Path)) else list(new)
    expand_paths(old_paths + new_paths)   # a typo is named before anything is read
    earlier = load_findings(findings) if findings is not None else None
    profile = load_profile(profile)
    progress = as_progress(progress)
    result = DiffResult([str(p) for p in old_paths], [str(p) for p in new_paths], MODE_RESUBMISSION,
                        profile=profile)
    a = _read_side(old_paths, progress, result, "原版本")
    b = _read_side(new_paths, progress, result, "新版本")
    result.old_years, result.new_years = _years(a), _years(b)
    yoy = _is_year_over_year(a, b)
    result.mode = MODE_YEARS if yoy else MODE_RESUBMISSION
    if not a:
        result.empty_side = "old"
    elif not b:
        result.empty_side = "new"
    old_findings = new_findings = None
    if earlier is not None or (validate and not yoy and a and b):
        from .validate import validate_paths

        new_findings = validate_paths(new_paths, progress=progress, profile=profile).findings
        if earlier is not None:
            old_findings = earlier
            result.findings_from = str(findings)
            result.unmatched_findings = _assign(earlier, a)[1]
            result.earlier_profile = findings_profile(findings)
        else:
            old_findings = validate_paths(old_paths, progress=progress, profile=profile).findings
            result.findings_from = "validate"
    result.forms = diff_forms(a, b, year_over_year=yoy, old_findings=old_findings, new_findings=new_findings)
    return result


# ---------------------------------------------------------------------------------------------
# Output: JSON


def diff_json(result: DiffResult) -> dict:
    p = result.profile
    total = result.findings_total()
    return {
        "old": result.old, "new": result.new, "mode": result.mode,
        "years": {"old": result.old_years, "new": result.new_years},
        "profile": {"name": p.name, "title": p.title} if p is not None and result.findings_from else None,
        "findings_from": result.findings_from,
        "summary": {"compared": result.count(CHANGED) + result.count(UNCHANGED), "changed": result.count(CHANGED),
                    "unchanged": result.count(UNCHANGED), "added": result.count(ADDED),
                    "removed": result.count(REMOVED),
                    "findings": None if total is None else {k: v for k, v in total.to_dict().items() if k != "items"}},
        "forms": [d.to_dict() for d in result.forms],
        "unreadable": [{"file": e.path, "rule": e.rule, "message": e.message} for e in result.unreadable],
        "skipped": [{"file": f, "why": why} for f, why in result.skipped],
    }


# ---------------------------------------------------------------------------------------------
# Output: text


def show(v, typ: str = "text", limit: int = 40) -> str:
    """A value for the terminal: money with thousands separators, a long text shortened."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return "（空）"
    if _number(v):
        return f"{v:,.2f}" if isinstance(v, float) or typ in ("money", "total") else str(v)
    s = " ".join(str(v).split())
    return s if len(s) <= limit else s[:limit] + f"…（共 {len(s)} 字）"


def show_change(old, new, typ: str = "text", limit: int = 40) -> str:
    """``old → new`` for the terminal. Two long texts are shown around their first difference
    (…前文「原来的」… → …前文「现在的」…), so an edit deep in a paragraph is seen."""
    if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > limit:
        a, b = " ".join(old.split()), " ".join(new.split())
        p = 0
        while p < min(len(a), len(b)) and a[p] == b[p]:
            p += 1
        q = 0
        while q < min(len(a), len(b)) - p and a[-1 - q] == b[-1 - q]:
            q += 1
        lead, tail = max(0, p - 8), min(q, 6)   # a little of the text before and after

        def part(t: str) -> str:
            mid = t[lead:len(t) - q + tail]
            cut = mid if len(mid) <= limit else mid[:limit] + "…"
            return ("…" if lead else "") + cut + ("…" if q > tail and len(mid) <= limit else "")

        return f"{part(a)} → {part(b)}（原 {len(a)} 字，现 {len(b)} 字）"
    return f"{show(old, typ, limit)} → {show(new, typ, limit)}"


def _signed(v: float | None, suffix: str = "") -> str:
    return "" if v is None else f"{v:+,.2f}{suffix}"


def _amount_text(c: AmountChange) -> str:
    extra = "，".join(x for x in (_signed(c.difference), _signed(c.percent, "%")) if x)
    return f"{show(c.old, 'money')} → {show(c.new, 'money')}" + (f"（{extra}）" if extra else "")


def _where(form: Form, short: bool = False) -> str:
    """Where a form is: file!sheet (``short``: the file's name only, for the report's narrow column)."""
    file = Path(form.file).name if short else form.file
    return f"{file}!{form.sheet}" if form.sheet else file


def format_diff(result: DiffResult) -> str:
    lines = []
    if result.year_over_year:
        lines.append(f"与上年比对：{'、'.join(map(str, result.old_years))} 年 → {'、'.join(map(str, result.new_years))} 年"
                     f"（按表单类型和{'、'.join(_identity_words(result))}对应，不看年度）")
    marks = {CHANGED: "~", ADDED: "+", REMOVED: "-", UNCHANGED: "="}
    for d in result.forms:
        if d.status == UNCHANGED and d.years is None and not (
                d.findings and (d.findings.count(FIXED) or d.findings.count(NEW))):
            continue   # across years every project is listed: its 与上年比对 is the point
        if d.status in (ADDED, REMOVED):
            word = "本年新增" if result.year_over_year and d.status == ADDED else (
                "本年未报" if result.year_over_year else CHANGE_WORDS[d.status])
            lines.append(f"{marks[d.status]} {word}：{d.title}  {_where(d.form)}")
            if d.findings is not None and d.findings.items:
                lines.append(f"    审核：本次 {d.findings.after} 条")
            continue
        lines.append(f"{marks[d.status]} {d.title}")
        lines.append(f"    原：{_where(d.old)}")
        lines.append(f"    现：{_where(d.new)}")
        if d.years is not None:
            y = d.years
            if y.amount is not None:
                lines.append(f"    上年比：{y.amount.label} {_amount_text(y.amount)}")
            if y.dropped or y.added:
                lines.append(f"    指标：减少 {len(y.dropped)} 个，新增 {len(y.added)} 个，修改 {y.changed} 个")
        for c in d.fields:
            lines.append(f"    {c.label}：{show_change(c.old, c.new, c.type)}")
        for c in d.amounts:
            lines.append(f"    {c.label}（{c.unit}）：{_amount_text(c)}")
        for t in d.tables:
            counts = "，".join(f"{CHANGE_WORDS[s]} {t.count(s)} 行" for s in (CHANGED, ADDED, REMOVED) if t.count(s))
            lines.append(f"    {t.label}：{counts}")
            for r in t.rows:
                cols = "；".join(f"{name} {show_change(o, n, limit=24)}" if r.change == CHANGED
                                else f"{name} {show(o if r.change == REMOVED else n, limit=24)}"
                                for key, name, o, n in r.columns
                                if r.change == CHANGED or key not in t.keys)   # the names are the label
                lines.append(f"      {marks[r.change]} {r.label}：{cols}" if cols else f"      {marks[r.change]} {r.label}")
        if d.findings is not None:
            lines.append(f"    审核：{d.findings.sentence()}")
            lines += [f"      新增 [{SEVERITY_NAMES.get(c.new.severity, c.new.severity)}] {c.new.cell or '整个表'}  "
                      f"{c.new.message}  ({c.new.rule})" for c in d.findings.items if c.status == NEW]
    lines.append(summary_line(result))
    return "\n".join(lines)


def _identity_words(result: DiffResult) -> list[str]:
    """The names of the identity fields (the year left out) of every kind compared, once each."""
    words: dict[str, None] = {}
    for spec in {d.spec.kind: d.spec for d in result.forms}.values():
        year = spec.role("year")
        words.update((spec.field(k).name, None) for k in spec.identity if year is None or k != year.key)
    return list(words)


def summary_line(result: DiffResult) -> str:
    """比较 3 份表单：修改 1，未变 2；新增 1，删除 0；审核：上次 38 条，已改 33 条，新增 0 条（本次 5 条）。"""
    compared = result.count(CHANGED) + result.count(UNCHANGED)
    added = "本年新增" if result.year_over_year else "新增"
    removed = "本年未报" if result.year_over_year else "删除"
    line = (f"比较 {compared:,} 份表单：修改 {result.count(CHANGED):,}，未变 {result.count(UNCHANGED):,}；"
            f"{added} {result.count(ADDED):,}，{removed} {result.count(REMOVED):,}")
    total = result.findings_total()
    if total is not None:
        line += f"；审核：{total.sentence()}"
    if result.unreadable:
        line += f"；无法读取 {len(result.unreadable):,} 个文件"
    if result.empty_side:
        line += f"；{'原版本' if result.empty_side == 'old' else '新版本'}中没有找到可读取的表单"
    return line + "。"


# ---------------------------------------------------------------------------------------------
# Output: the 变更.xlsx report


CHANGES_SHEET, FINDINGS_SHEET, YEARS_SHEET = "变更", "审核对比", "与上年比对"
_HEAD = ["表单", "单位", "名称", "年度"]


def _head(d: FormDiff) -> list:
    return [d.spec.name, d.value("unit"), d.value("name"), d.value("year")]


def _cell_value(v):
    if v is None or _number(v):
        return v
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def report_rows(result: DiffResult) -> dict[str, tuple[list[str], list[list]]]:
    """The sheets of the report, as (header, rows), only those that have something to say: 变更
    (one row per change), 审核对比 (one row per finding compared), 与上年比对 (one row per project)."""
    sheets: dict[str, tuple[list[str], list[list]]] = {}
    rows = []
    for d in result.forms:
        head = _head(d)
        if d.status in (ADDED, REMOVED):
            rows.append(head + [CHANGE_WORDS[d.status] + "表单", "", "", "", None, None, None, None,
                                _where(d.form, True)])
            continue
        for c in d.fields:
            rows.append(head + [CHANGE_WORDS[c.change], "字段", c.label, "", _cell_value(c.old), _cell_value(c.new),
                                None, None, _where(d.new, True)])
        for c in d.amounts:
            rows.append(head + [CHANGE_WORDS[c.change], f"金额（{c.unit}）", c.label, "", c.old, c.new,
                                c.difference, c.percent, _where(d.new, True)])
        for t in d.tables:
            for r in t.rows:
                for _, name, o, n in r.columns:
                    rows.append(head + [CHANGE_WORDS[r.change], t.label, r.label, name, _cell_value(o),
                                        _cell_value(n), _difference(o, n), None, _where(d.new, True)])
    if rows or not result.year_over_year:
        sheets[CHANGES_SHEET] = (_HEAD + ["变化", "部分", "项目", "栏目", "原值", "新值", "增减", "增减(%)", "位置"], rows)
    if result.findings_from is not None:
        rows = []
        for d in result.forms:
            for c in (d.findings.items if d.findings else []):
                f = c.finding
                rows.append(_head(d) + [FINDING_WORDS[c.status], SEVERITY_NAMES.get(f.severity, f.severity), f.rule,
                                        c.old.cell if c.old else None, c.new.cell if c.new else None, f.message])
        sheets[FINDINGS_SHEET] = (_HEAD + ["状态", "级别", "规则", "原单元格", "现单元格", "说明"], rows)
    if result.year_over_year:
        rows = []
        for d in result.forms:
            y = d.years
            if y is not None:
                a = y.amount
                rows.append(_head(d)[:3] + ["比对", y.old_year, y.new_year, a.label if a else None,
                                            a.old if a else None, a.new if a else None,
                                            a.difference if a else None, a.percent if a else None,
                                            len(y.dropped), len(y.added), y.changed,
                                            "；".join(y.dropped), "；".join(y.added)])
            else:
                year = d.value("year")
                rows.append(_head(d)[:3] + ["本年新增" if d.status == ADDED else "本年未报",
                                            None if d.status == ADDED else year, year if d.status == ADDED else None]
                            + [None] * 8 + [""])
        sheets[YEARS_SHEET] = (["表单", "单位", "名称", "状态", "上年", "本年", "金额项", "上年金额", "本年金额",
                                "增减", "增减(%)", "减少指标数", "新增指标数", "修改指标数", "减少的指标", "新增的指标"],
                               rows)
    return sheets


_WIDTHS = {"表单": 20, "单位": 24, "名称": 18, "年度": 6, "变化": 6, "状态": 8, "级别": 6, "说明": 60, "原值": 28,
           "新值": 28, "项目": 28, "位置": 24, "减少的指标": 36, "新增的指标": 36, "规则": 20}
_NUMERIC = {"增减", "增减(%)", "上年金额", "本年金额"}


def write_report(result: DiffResult, target: str | Path) -> list[str]:
    """Write the 变更.xlsx report atomically; the names of the sheets written."""
    from .fsutil import atomic_path
    from .template import new_workbook

    sheets = report_rows(result)
    with atomic_path(target) as tmp:
        wb = new_workbook(str(tmp))
        base = {"font_name": "宋体", "font_size": 10, "border": 1, "valign": "top", "text_wrap": True}
        header = wb.add_format(dict(base, bold=True, align="center", valign="vcenter", bg_color="#DDEBF7"))
        text = wb.add_format(base)
        money = wb.add_format(dict(base, num_format="#,##0.00"))
        for name, (head, rows) in sheets.items():
            ws = wb.add_worksheet(name)
            ws.write_row(0, 0, head, header)
            for r, row in enumerate(rows, start=1):
                for c, v in enumerate(row):
                    if v is None:
                        ws.write_blank(r, c, None, text)
                    elif _number(v):
                        ws.write_number(r, c, v, money if head[c] in _NUMERIC or isinstance(v, float) else text)
                    else:
                        ws.write_string(r, c, str(v), text)
            for c, h in enumerate(head):
                ws.set_column(c, c, _WIDTHS.get(h, 12))
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, max(len(rows), 1), len(head) - 1)
            ws.set_landscape()
            ws.set_paper(9)                 # A4
            ws.fit_to_pages(1, 0)           # one page wide
            ws.repeat_rows(0)
            ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
            ws.set_footer("&C第 &P 页，共 &N 页")
        wb.close()
    return list(sheets)
