"""Validator: every rule of the catalogue over every form, all at once, then one report.

Cell-level rules run as pandera schemas built from the spec — one DataFrame of all forms'
fields and one of all their indicator rows, validated lazily in one pass — and their failure
cases are mapped back to the input cells. Rules across cells, rows and files (totals, dates,
hierarchy layouts, duplicates) follow in plain Python over the same forms.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .celltypes import TYPES
from .errors import UnreadableFile
from .indicators import ASCII_OPERATORS, OPERATORS, is_rate, parse_target
from .progress import as_progress
from .read import Form, ReadResult, default_jobs, expand_paths, read_paths
from .rules import BY_CODE, ERROR, INFO, WARNING, Finding, Rule, finding
from .spec import FormSpec, a1, column_arg, get_path, load_spec, parse_cell

_STRING_DATE = "%Y-%m-%d"


@dataclass(repr=False)
class Report:
    """What `xltools validate` prints: every finding, and what was read.

    ``to_frame()`` gives the findings as a table; ``repr()`` only counts them.

    ``forms``: every form read, in file order. From a batch (``BATCH_MIN`` = 16 files on, as the
    CLI reads a folder) they are *slim* (:func:`slim`), so that 100,000 forms never sit in one
    process: ``file``, ``sheet``, ``kind``, ``variant``, ``spec`` and ``identity()`` work, and so do
    ``spec.value(form.data, role)`` for the identity, ``group_by`` and role fields (项目名称,
    实施单位, 年度 …) and the cells of those fields; the rest of ``data`` (amounts, indicator
    values, cell maps) is not kept — read a form with :func:`xltools.read_workbook` for all of
    it. A few files (and a run with ``against``) keep whole forms. ``validate_forms(forms)``
    works on whole forms only.
    """

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    unreadable: list[UnreadableFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (file, why): found, not read as input
    ignored: list[str] = field(default_factory=list)               # lock files passed over
    profile: object = None   # the xltools.profiles.Profile the severities and conclusions come from

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def infos(self) -> list[Finding]:
        """Findings of severity info (提示): shown and counted, never change the exit code."""
        return [f for f in self.findings if f.severity == INFO]

    def summaries(self) -> list[dict]:
        """One dict per form (and per unreadable file): file, sheet, name, the counts of errors,
        warnings and infos, and its 审核结论 (grade, meaning) by the profile's conclusion rule.
        A finding of the whole file (no sheet) counts for each form in it."""
        from .profiles import load_profile

        profile = self.profile if self.profile is not None else load_profile()
        counts: dict[tuple, list[int]] = {}
        order: list[tuple] = []
        names: dict[tuple, object] = {}
        for form in self.forms:
            key = (form.file, form.sheet)
            if key not in counts:
                counts[key] = [0, 0, 0]
                order.append(key)
                names[key] = form.spec.value(form.data, "name") if form.spec.identity else None
        for exc in self.unreadable:
            key = (exc.path, None)
            counts.setdefault(key, [0, 0, 0])
            order.append(key)
        slot = {ERROR: 0, WARNING: 1, INFO: 2}
        sheets_of: dict[str, list[tuple]] = defaultdict(list)
        for key in order:
            sheets_of[key[0]].append(key)
        for f in self.findings:
            i = slot.get(f.severity)
            if i is None:
                continue
            keys = [(f.file, f.sheet)] if (f.file, f.sheet) in counts else sheets_of.get(f.file, [])
            for key in keys:
                counts[key][i] += 1
        out = []
        for key in order:
            e, w, n = counts[key]
            grade = profile.conclude(e, w, n)
            out.append({"file": key[0], "sheet": key[1], "name": names.get(key), "errors": e, "warnings": w,
                        "infos": n, "conclusion": grade.grade, "meaning": grade.meaning})
        return out

    @property
    def exit_code(self) -> int:
        if self.unreadable or not self.forms:
            return 2   # a file could not be read, or there was no form at all: never a pass
        return 1 if self.errors else 0

    def files_with_errors(self) -> set[str]:
        return {f.file for f in self.errors}

    FRAME_COLUMNS = ("file", "sheet", "cell", "severity", "rule", "message")

    def to_frame(self):
        """The findings as a :class:`pandas.DataFrame`, one row each, in report order, with the
        columns file, sheet, cell, severity, rule, message (the fields of :class:`Finding`)."""
        import pandas as pd

        return pd.DataFrame({c: [getattr(f, c) for f in self.findings] for c in self.FRAME_COLUMNS},
                            columns=list(self.FRAME_COLUMNS), dtype=object)

    def __repr__(self) -> str:
        # Counts only: the full dataclass repr of a real report runs to tens of kilobytes.
        extra = (f", 无法读取 {len(self.unreadable)}" if self.unreadable else "") + (
            f", 跳过 {len(self.skipped)}" if self.skipped else "")
        infos = f", 提示 {len(self.infos)}" if self.infos else ""
        return (f"<Report {len(self.files)} 个文件, {len(self.forms)} 个表单, "
                f"错误 {len(self.errors)}, 警告 {len(self.warnings)}{infos}{extra}>")


# ---------------------------------------------------------------------------------------------
# Small predicates (vectorised with Series.map)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_iso_date(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        dt.date.fromisoformat(v)
        return len(v) == 10
    except ValueError:
        return False


def _fmt_money(v) -> str:
    return f"{v:,.2f}" if _is_number(v) else str(v)


# ---------------------------------------------------------------------------------------------
# Pandera schemas from the spec


def _type_checks(pa, typ: str, allowed=None) -> list:
    """The pandera checks of a cell type (:mod:`xltools.celltypes`), named by their rule codes."""
    checks = []
    for code in TYPES[typ].checks:
        if code == Rule.NOT_IN_LIST.code:
            if allowed is not None:
                checks.append(pa.Check(lambda s, a=frozenset(allowed): s.isin(a), name=code))
        elif code in (Rule.MONEY_INVALID.code, Rule.NUMBER_INVALID.code):
            checks.append(pa.Check(lambda s: s.map(_is_number), name=code))
        elif code in (Rule.MONEY_NEGATIVE.code, Rule.NUMBER_NEGATIVE.code):
            checks.append(pa.Check(lambda s: s.map(lambda v: not _is_number(v) or v >= 0), name=code))
        elif code == Rule.COUNT_INVALID.code:
            checks.append(pa.Check(lambda s: s.map(lambda v: _is_number(v) and v >= 0 and float(v).is_integer()),
                                   name=code))
        elif code == Rule.DATE_INVALID.code:
            checks.append(pa.Check(lambda s: s.map(_is_iso_date), name=code))
        elif code == Rule.YEAR_INVALID.code:
            checks.append(pa.Check(lambda s: s.map(lambda v: isinstance(v, int) and 2000 <= v <= 2100), name=code))
    return checks


def _field_schema(spec: FormSpec):
    import pandera.pandas as pa

    columns = {}
    for f in spec.inputs:
        allowed = spec.choices(f.list) if f.type == "choice" and f.list else None
        columns[f.key] = pa.Column(object, checks=_type_checks(pa, f.type, allowed), nullable=not f.required,
                                   coerce=False)
    return pa.DataFrameSchema(columns, name=spec.kind)


def _allowed(spec: FormSpec, c) -> tuple | None:
    if c.type != "choice" or c.cascade_from:
        return None
    return spec.choices(c.list) if c.list else None


def _table_schema(spec: FormSpec, table):
    """Every table: each column's type checks and required cells; for the indicator table
    also the hierarchy and the 指标值 rules (DataFrame-wide checks over the parsed parts)."""
    import pandas as pd
    import pandera.pandas as pa

    # A pre-printed row's open cells are optional: required columns are checked by `_required`.
    columns = {c.key: pa.Column(object, nullable=True, checks=_type_checks(pa, c.type, _allowed(spec, c)))
               for c in table.columns}
    required = [c.key for c in table.columns if c.required]

    def col(d, key) -> list:
        return d[key].tolist()

    def required_cells(key):
        def check(d):
            return pd.Series([v is not None or pre for v, pre in zip(col(d, key), col(d, "_pre"))],
                             index=d.index, dtype=bool)
        return check

    checks = [pa.Check(required_cells(k), name=f"required:{k}") for k in required]
    h = spec.hierarchy
    if table.role == "indicators" and table.target is not None and h is not None:
        L1, L2, L3 = (table.key_of(r) for r in ("level1", "level2", "level3"))
        level1 = set(h.level1)
        pairs = {(l1, l2) for l1 in level1 for l2 in h.level2(l1)}
        counts, bad_rate_units, odd = h.count_units, h.rate_bad_units, h.odd_units
        columns[L1] = pa.Column(object, nullable=True, checks=[
            pa.Check(lambda s: s.isin(level1) | s.isna(), name=Rule.NOT_IN_LIST.code)])

        def hierarchy(d):
            return [not (a in level1 and b is not None) or (a, b) in pairs for a, b in zip(col(d, L1), col(d, L2))]

        def percent(d):
            return [not (u == "%" and _is_number(n) and n > 100) for u, n in zip(col(d, "单位"), col(d, "数值"))]

        def rate_unit(d):
            return [not (is_rate(name) and u in bad_rate_units) for name, u in zip(col(d, L3), col(d, "单位"))]

        def odd_unit(d):
            return [u not in odd for u in col(d, "单位")]

        def count(d):
            return [not (u in counts and _is_number(n) and (n < 0 or (op in ("<", "≤") and n <= 0)))
                    for u, n, op in zip(col(d, "单位"), col(d, "数值"), col(d, "运算符"))]

        def ascii_op(d):
            return [op not in ASCII_OPERATORS for op in col(d, "_raw_op")]

        def unparseable(d):
            return col(d, "_parsed")

        def no_operator(d):
            return [not (_is_number(n) and op is None) for n, op in zip(col(d, "数值"), col(d, "运算符"))]

        def date_year(d):
            return [not any(y != year for y in ys) or not isinstance(year, int)
                    for ys, year in zip(col(d, "_years"), col(d, "_year"))]

        wide = [(hierarchy, Rule.HIERARCHY), (percent, Rule.PERCENT_OVER_100), (rate_unit, Rule.RATE_UNIT),
                (odd_unit, Rule.UNIT_ODD), (count, Rule.COUNT_NONPOSITIVE), (ascii_op, Rule.ASCII_OPERATOR),
                (unparseable, Rule.VALUE_UNPARSEABLE), (no_operator, Rule.VALUE_NO_OPERATOR),
                (date_year, Rule.DATE_TARGET_YEAR)]
        checks += [pa.Check(lambda d, fn=fn: pd.Series(fn(d), index=d.index, dtype=bool), name=rule.code)
                   for fn, rule in wide]
    return pa.DataFrameSchema(columns, checks=checks, name=f"{spec.kind}:{table.key}", strict=False)


def _failures(schema, df) -> list[tuple[str, str | None, int]]:
    """(check name, column, index) of every failure, collected lazily in one pass."""
    import pandera.pandas as pa

    if df.empty:
        return []
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        seen: dict[tuple, None] = {}
        for ctx, ch, col, ix in zip(fc["schema_context"], fc["check"], fc["column"], fc["index"]):
            if ix is None or ix != ix:  # NaN: a schema-level failure without a row
                continue
            # A DataFrame-level (wide) check is reported once per column: keep one.
            column = None if ctx == "DataFrameSchema" or col is None else str(col)
            seen.setdefault((str(ch), column, int(ix)), None)
        return list(seen)
    return []


# ---------------------------------------------------------------------------------------------
# Validation of many forms


def validate_forms(forms: list[Form], profile=None) -> list[Finding]:
    """All findings for these forms (cell rules batched per layout — a kind, or a variant of
    it, each with the schemas of its own spec — then cross-field rules, then the reviewer's
    content rules of :mod:`xltools.content` and :mod:`xltools.batchrules`), at the severities
    of ``profile`` (a :class:`~xltools.profiles.Profile`, a name or a path; default
    ``national``)."""
    if not forms:
        return []  # nothing was readable: no need to import pandas (0.6 s)
    from .profiles import load_profile

    profile = load_profile(profile)
    return profile.apply(form_findings(forms, profile) + batch_findings(forms, profile))


def form_findings(forms: list[Form], profile) -> list[Finding]:
    """The findings of each form on its own (pandera schemas, cross-field and content rules),
    not yet at the profile's severities; what a reading worker computes for its chunk."""
    if not forms:
        return []
    import pandas as pd

    from .content import check_form
    from .profiles import load_vocab

    vocab = load_vocab()
    out: list[Finding] = []
    by_layout: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for i, form in enumerate(forms):
        by_layout[(form.kind, form.variant)].append(i)
    for (kind, variant), idx in by_layout.items():
        spec = load_spec(kind, variant)
        # --- one frame of all forms' fields
        rows = [{f.key: get_path(forms[i].data, f.path) for f in spec.inputs} for i in idx]
        df = pd.DataFrame(rows, index=idx, columns=[f.key for f in spec.inputs], dtype=object)
        for check, column, i in _failures(_field_schema(spec), df):
            out.append(_field_finding(forms[i], spec, check, column))
        # --- one frame per table of all forms' rows (every table: types and required cells)
        for table in spec.tables:
            parse = table.role == "indicators" and table.target is not None
            records, where = [], []
            for i in idx:
                year = spec.value(forms[i].data, "year")
                for r, row in enumerate(forms[i].data.get(table.key) or []):
                    rec = {c.key: row.get(c.key) for c in table.columns}
                    rec["_pre"] = r < len(table.preprinted)
                    if parse:
                        t = parse_target(row.get(table.target.key))
                        rec.update(t.parts())
                        rec.update(_raw_op=t.raw_operator, _parsed=t.parsed, _years=t.years, _year=year)
                    records.append(rec)
                    where.append((i, r))
            if not records:
                continue
            tf = pd.DataFrame(records, dtype=object)
            for check, column, k in _failures(_table_schema(spec, table), tf):
                i, r = where[k]
                out.append(_row_finding(forms[i], spec, table, r, check, column))
        for i in idx:
            out.extend(_cross_field(forms[i], spec))
            out.extend(check_form(forms[i], spec, vocab, profile))
    return out


def batch_findings(forms: list[Form], profile) -> list[Finding]:
    """The rules across forms (duplicates, near-duplicates, name variants): they need only what
    :func:`slim` keeps of each form."""
    from .batchrules import check_batch
    from .profiles import load_vocab

    return duplicate_projects(forms) + check_batch(forms, load_vocab(), profile)


def slim(form: Form, vocab=None) -> Form:
    """What a report keeps of a form read in a batch: its file, sheet, kind and variant, the
    values (and cells) of its identity, ``group_by`` and role fields and of the budget field
    the batch rules compare, and of its tables only the columns those rules read (三级指标 and
    指标值; a sub-project's name). Enough for :meth:`Report.summaries`, the rules across forms
    and grouping in merge; not for writing the form again."""
    from .read import _set

    if vocab is None:
        from .profiles import load_vocab

        vocab = load_vocab()
    spec = form.spec
    src = form.data
    data: dict = {}
    cells: dict = {}
    paths = [tuple(k.split(".")) for k in (*spec.identity, *spec.group_by)]
    paths += [f.path for f in spec.fields if f.role]
    kw = vocab.kinds.get(form.kind)
    if kw is not None and kw.budget:
        try:
            paths.append(spec.field(kw.budget).path)
        except KeyError:
            pass
    for p in dict.fromkeys(paths):
        _set(data, p, get_path(src, p))
        if p in form.cells:
            cells[p] = form.cells[p]
    columns: dict[str, list[str]] = defaultdict(list)
    table = spec.indicators
    if table is not None and table.target is not None:
        columns[table.key] += [table.key_of("level3"), table.target.key]
    if kw is not None and kw.subprojects and kw.subproject_name:
        columns[kw.subprojects].append(kw.subproject_name)
    for key, cols in columns.items():
        rows = src.get(key)
        if not isinstance(rows, list):
            data[key] = rows
            continue
        data[key] = [{c: row.get(c) for c in cols} if isinstance(row, dict) else row for row in rows]
        for r in range(len(rows)):
            for c in cols:
                cell = form.cells.get((key, r, c))
                if cell is not None:
                    cells[(key, r, c)] = cell
    return Form(form.kind, data, form.file, form.sheet, cells=cells, variant=form.variant)


def labels(spec: FormSpec, table=None) -> dict:
    """The words of a kind that messages use: its column names by role, its table, its unit."""
    table = table if table is not None else spec.indicators
    kw = {"money_unit": spec.money_unit, "kind": spec.short_name}
    if table is not None:
        kw["table"] = table.label
        for role in ("level1", "level2", "level3", "target", "actual", "points", "score", "reason"):
            c = table.by_role(role)
            kw[f"{role}_label"] = c.name if c else role
    return kw


def _field_finding(form: Form, spec: FormSpec, check: str, column: str | None) -> Finding:
    f = spec.field(column)
    value = get_path(form.data, f.path)
    cell = form.cells.get(f.path)
    label = f.name
    if check == "not_nullable":
        return finding(Rule.REQUIRED, form.file, form.sheet, cell, label=label)
    rule = BY_CODE[check]
    return finding(rule, form.file, form.sheet, cell, label=label, value=_fmt_money(value)
                   if rule is Rule.MONEY_NEGATIVE else value, unit=spec.money_unit,
                   choices="、".join(spec.choices(f.list)) if f.list else "")


def _row_finding(form: Form, spec: FormSpec, table, r: int, check: str, column: str | None) -> Finding:
    row = form.data[table.key][r]
    L1, L2, L3 = (table.key_of(x) for x in ("level1", "level2", "level3"))
    name = (row.get(L3) if L3 else None) or ""
    target = table.target
    value = row.get(target.key) if target else None
    words = labels(spec, table)
    if check.startswith("required:"):
        key = check.split(":", 1)[1]
        cell = form.cells[(table.key, r, key)]
        rule = Rule.VALUE_EMPTY if target is not None and key == target.key else Rule.TABLE_REQUIRED
        return finding(rule, form.file, form.sheet, cell, n=r + 1, label=table.column(key).name, name=name,
                       **words)
    if column is not None and check in {code for c in table.columns for code in TYPES[c.type].checks}:
        c = table.column(column)
        rule = BY_CODE[check]
        return finding(rule, form.file, form.sheet, form.cells[(table.key, r, column)], label=c.name,
                       value=row.get(column), unit=spec.money_unit, n=r + 1,
                       choices="、".join(_allowed(spec, c) or ()), **words)
    t = parse_target(value)
    if check == Rule.NOT_IN_LIST.code:
        target_col = column
    elif check == Rule.HIERARCHY.code:
        target_col = L2
    else:
        target_col = target.key
    cell = form.cells[(table.key, r, target_col)]
    rule = BY_CODE[check]
    kw = dict(words, name=name, value=value, unit=t.unit, level1=row.get(L1), level2=row.get(L2),
              label=table.column(target_col).name, year=spec.value(form.data, "year"))
    if rule is Rule.NOT_IN_LIST:
        kw.update(value=row.get(column), choices="、".join(spec.hierarchy.level1))
    elif rule is Rule.HIERARCHY:
        kw.update(choices="、".join(spec.hierarchy.level2(row.get(L1))))
    elif rule is Rule.COUNT_NONPOSITIVE:
        kw.update(ge="等于" if t.operator == "≤" else "")
    elif rule is Rule.ASCII_OPERATOR:
        kw.update(op=t.raw_operator, fixed=OPERATORS[t.raw_operator])
    elif rule is Rule.DATE_TARGET_YEAR:
        kw.update(found="、".join(str(y) for y in t.years if y != kw["year"]))
    elif rule is Rule.UNIT_ODD:
        kw.update(fixed=spec.hierarchy.odd_units.get(t.unit, ""))
    return finding(rule, form.file, form.sheet, cell, **kw)


# ---------------------------------------------------------------------------------------------
# Rules across cells and rows


def _cross_field(form: Form, spec: FormSpec) -> list[Finding]:
    out: list[Finding] = []
    data = form.data
    add = out.append
    # Computed values: what the file holds (if anything) against the recomputation.
    for f in spec.totals:
        stored, computed = form.stored.get(f.key), form.computed.get(f.key)
        cell, label = form.cells[f.path], f.name
        if stored is None:
            continue
        if f.derive == "grade":
            if computed is not None and stored != computed:
                add(finding(Rule.GRADE_MISMATCH, form.file, form.sheet, cell, stored=stored,
                            score=_fmt_money(form.computed.get(f.args[0])), grade=computed))
            continue
        differs = (not _is_number(stored)) or computed is None or abs(stored - computed) > 0.005
        if not differs:
            continue
        if f.type == "total":  # a sum of amounts typed in this form: the total is wrong
            add(finding(Rule.TOTAL_MISMATCH, form.file, form.sheet, cell, label=label,
                        actual=_fmt_money(stored), expected=_fmt_money(computed if computed is not None else 0)))
        else:
            add(finding(Rule.STALE_CACHE, form.file, form.sheet, cell, label=label, stored=_fmt_money(stored),
                        computed=_fmt_money(computed) if computed is not None else "空"))
    # Sums that must agree (资金来源 = 资金结构; a table column's total = a field, 资金构成 = 年度资金).
    for name, sides in spec.balances:
        sums = []
        for side in sides:
            values = [v for k in side for v in _side_values(spec, data, k)]
            # an empty or unreadable part is reported by its own rule; the sums are compared when whole
            sums.append(round(sum(values), 2) if all(_is_number(v) for v in values) else None)
        if any(v is None for v in sums) or max(sums) - min(sums) <= 0.005:
            continue
        column = next(((i, tc) for i, side in enumerate(sides) if (tc := column_arg(spec, side[0]))), None)
        if column is not None:
            add(_composition_finding(form, spec, name, sides, sums, *column))
            continue
        parts = ["＋".join(spec.field(k).name for k in side) + f" = {_fmt_money(v)}" for side, v in zip(sides, sums)]
        first = spec.field(sides[-1][0])
        add(finding(Rule.BUDGET_UNBALANCED, form.file, form.sheet, form.cells.get(first.path), name=name,
                    sums="，".join(parts), unit=spec.money_unit))
    for group in spec.checks:
        out.extend(CHECKS[group](form, spec))
    return out


def _side_values(spec: FormSpec, data: dict, key: str) -> list:
    """The amounts one side of a balance adds up: a field's value (empty counts as missing), or
    every row of a table column (``"<table>.<column>"``; no rows add up to 0)."""
    tc = column_arg(spec, key)
    if tc is None:
        return [get_path(data, spec.field(key).path)]
    return [row.get(tc[1].key) for row in data.get(tc[0].key) or []]


def _composition_finding(form: Form, spec: FormSpec, name: str, sides, sums, i: int, tc) -> Finding:
    """A table column's total (资金构成 · 预算金额) against the fields it must equal (年度资金申请总额):
    at the column's first data cell, where the amounts are typed (below the table's header when
    it has no row)."""
    table, column = tc
    others = [k for j, side in enumerate(sides) if j != i for k in side]
    rows = form.data.get(table.key) or []
    cell = form.cells.get((table.key, 0, column.key))
    if cell is None and form.next_row.get(table.key):
        r, c = parse_cell(form.next_row[table.key])
        cell = a1(r, c - table.columns[0].col + column.col)
    total = next(v for j, v in enumerate(sums) if j != i)
    return finding(Rule.COMPOSITION_UNBALANCED, form.file, form.sheet, cell, name=name, column=column.name,
                   composed=_fmt_money(sums[i]), note="" if rows else "（未填写任何一行）",
                   total_label="＋".join(f"「{spec.field(k).name}」" for k in others), total=_fmt_money(total),
                   unit=spec.money_unit)


def _period(form: Form, spec: FormSpec) -> list[Finding]:
    """The planned period: start ≤ end, both inside the form's year."""
    out: list[Finding] = []
    data = form.data
    start_f, end_f, year = spec.role("start"), spec.role("end"), spec.value(data, "year")
    start, end = get_path(data, start_f.path), get_path(data, end_f.path)
    if _is_iso_date(start) and _is_iso_date(end) and start > end:
        out.append(finding(Rule.DATE_ORDER, form.file, form.sheet, form.cells[start_f.path], start=start, end=end,
                           start_label=start_f.name, end_label=end_f.name))
    if isinstance(year, int):
        for f in (start_f, end_f):
            v = get_path(data, f.path)
            if _is_iso_date(v) and int(v[:4]) != year:
                out.append(finding(Rule.DATE_OUTSIDE_YEAR, form.file, form.sheet, form.cells[f.path], label=f.name,
                                   value=v, year=year))
    return out


def _check_selfeval(form: Form, spec: FormSpec) -> list[Finding]:
    from .scoring import check_selfeval

    return check_selfeval(form, spec)


def _indicator_rules(form: Form, spec: FormSpec) -> list[Finding]:
    out: list[Finding] = []
    table = spec.indicators
    rows = form.data.get(table.key) or []
    h = spec.hierarchy
    words = labels(spec, table)
    L1, L2, L3 = (table.key_of(x) for x in ("level1", "level2", "level3"))
    where = form.next_row.get(table.key)
    filled = [r for i, r in enumerate(rows) if i >= len(table.preprinted) or r.get(L3) or r.get(table.target.key)]
    if not filled:
        if table.required:
            out.append(finding(Rule.NO_INDICATORS, form.file, form.sheet, where, **words))
        return out
    # Both indicator layouts in one form (a warning on each row of the minority layout).
    layouts = [h.layouts_of(r.get(L1), r.get(L2)) for r in rows]  # cached per pair
    decisive = [ls for ls in layouts if len(ls) == 1]
    if decisive:
        votes: dict[str, int] = defaultdict(int)
        for ls in decisive:
            votes[next(iter(ls))] += 1
        if len(votes) > 1:
            major = max(votes, key=lambda k: (votes[k], k))
            for r, ls in enumerate(layouts):
                if len(ls) == 1 and major not in ls:
                    row = rows[r]
                    out.append(finding(Rule.LAYOUT_MIXED, form.file, form.sheet, form.cells[(table.key, r, L2)],
                                       level1=row.get(L1), level2=row.get(L2),
                                       other=f"按「{h.layout_names[major]}」填写", **words))
    # The same 三级 twice: under one 二级 an error, under two 二级 a warning.
    seen: dict[tuple, int] = {}
    seen_name: dict[str, int] = {}
    for r, row in enumerate(rows):
        name = row.get(L3)
        if not name:
            continue
        key = (row.get(L1), row.get(L2), name)
        cell = form.cells[(table.key, r, L3)]
        if key in seen:
            first = form.cells[(table.key, seen[key], L3)]
            out.append(finding(Rule.DUPLICATE_INDICATOR, form.file, form.sheet, cell, name=name,
                               level2=row.get(L2), first=first, **words))
        elif name in seen_name:
            k = seen_name[name]
            out.append(finding(Rule.DUPLICATE_ACROSS, form.file, form.sheet, cell, name=name,
                               level2=row.get(L2), first_level2=rows[k].get(L2),
                               first=form.cells[(table.key, k, L3)], **words))
        seen.setdefault(key, r)
        seen_name.setdefault(name, r)
    # Each of 产出 / 效益 / 满意度 needs at least one indicator.
    present = {r.get(L1) for r in filled}
    for l1 in h.required_level1:
        if l1 not in present:
            out.append(finding(Rule.CATEGORY_MISSING, form.file, form.sheet, where, level1=l1, **words))
    return out


# Rule groups a spec enables with `checks = [...]` (the roles each needs: xltools.spec.CHECK_ROLES).
CHECKS = {"indicators": _indicator_rules, "period": _period, "selfeval": _check_selfeval}


def identity_words(spec: FormSpec, data: dict) -> dict:
    """``name``: the first identity value (项目名称, 单位名称); ``rest``: the others in words."""
    values = [get_path(data, tuple(k.split("."))) for k in spec.identity]
    rest = []
    for k, v in zip(spec.identity[1:], values[1:]):
        rest.append(f"{v} 年度" if spec.field(k).role == "year" and v is not None else str(v if v is not None else "未填"))
    return {"name": values[0], "rest": "，".join(rest), "kind": spec.short_name}


def duplicate_projects(forms: list[Form]) -> list[Finding]:
    """The same form (its spec's ``identity``, e.g. 项目名称 + 实施单位 + 年度) in two places:
    an error on the later one."""
    out = []
    first: dict[tuple, Form] = {}
    for form in forms:
        ident = form.identity()
        if any(v is None for v in ident):
            continue
        key = (form.kind, ident)
        if key in first:
            other = first[key]
            where = other.file if other.file != form.file else f"工作表「{other.sheet}」"
            name_path = tuple(form.spec.identity[0].split("."))
            out.append(finding(Rule.DUPLICATE_PROJECT, form.file, form.sheet, form.cells.get(name_path),
                               other=where, **identity_words(form.spec, form.data)))
        else:
            first[key] = form
    return out


# ---------------------------------------------------------------------------------------------
# Files


def unreadable_finding(exc: UnreadableFile) -> Finding:
    return Finding(exc.path, None, None, ERROR, exc.rule, exc.message)


def sort_findings(findings: Iterable[Finding], order: list[str]) -> list[Finding]:
    rank = {f: i for i, f in enumerate(order)}

    def key(f: Finding):
        if not f.cell:
            rc: tuple = (-1, -1)
        else:
            try:
                rc = parse_cell(f.cell)
            except Exception:   # a place in a text or PDF (第38行, 第2页第5行): by its numbers
                rc = tuple(int(n) for n in re.findall(r"\d+", f.cell)) or (-1, -1)
        return rank.get(f.file, len(rank)), f.sheet or "", rc, f.rule

    return sorted(findings, key=key)


def collect(results: Iterable[ReadResult | UnreadableFile]) -> Report:
    report = Report()
    for res in results:
        if isinstance(res, UnreadableFile):
            report.unreadable.append(res)
            report.files.append(res.path)
            report.findings.append(unreadable_finding(res))
        elif res.skipped:
            report.skipped.append((res.file, res.skipped))
        else:
            report.files.append(res.file)
            report.forms.extend(res.forms)
            report.findings.extend(res.findings)
    return report


def validate_paths(paths, progress=None, against: Iterable[str | Path] = (), profile=None) -> Report:
    """Read and validate every file (a path, or an iterable of files and folders, searched
    recursively); never raises for a file. A path that does not exist raises
    :class:`~xltools.errors.MissingPath` before anything is read.

    ``against``: the forms these were carried from (e.g. the 申报表 of 自评表); differences
    from them are reported too (not their own findings).

    ``profile``: the review profile (``national`` by default, ``shanghai``, or a .toml path) that
    decides which rules run, their severity and the 审核结论 of each form (:meth:`Report.summaries`).

    A batch (from ``BATCH_MIN`` files on, without ``against``) is validated where it is read, a
    chunk at a time, and ``Report.forms`` holds slim forms (:func:`slim`); see :class:`Report`.
    """
    return validate_inputs(paths, progress=progress, against=against, profile=profile)


BATCH_MIN = 16                 # from this many files on: validated per chunk, slim forms kept
CHUNK_MIN, CHUNK_MAX = 32, 256


def chunk_size(n_files: int, jobs: int) -> int:
    """Files a reading worker reads and validates at once: about four chunks per worker, 32–256
    (a chunk's pandera pass has a fixed cost of a few ms; a large chunk idles the other worker
    at the end)."""
    return max(CHUNK_MIN, min(CHUNK_MAX, -(-n_files // (max(1, jobs) * 4))))


def validate_inputs(paths, progress=None, against: Iterable[str | Path] = (), profile=None, *,
                    full: bool = False, spool=None) -> Report:
    """:func:`validate_paths`, with the internal choices: ``full`` keeps every form whole (as a
    few files always are); ``spool(form, blob)`` is called in file order with each slim form and
    its pickled (kind, variant, file, sheet, data) — how merge writes groups it never holds."""
    from .profiles import load_profile

    profile = load_profile(profile)   # a bad profile stops here, before anything is read
    progress = as_progress(progress)
    against = list(against)
    if against:
        expand_paths(against)   # a typo there is found before anything is read
    inputs = expand_paths(paths)
    batched = (spool is not None or len(inputs) >= BATCH_MIN) and not against and not full
    if not batched:
        results = _preloading(read_paths(inputs), pooled=default_jobs(len(inputs)) > 1)
        report = collect(progress.track(results, "读取", len(inputs)))
        report.ignored = list(inputs.ignored)
        report.profile = profile
        with progress.phase(f"审核 {len(report.forms):,} 个表单"):
            report.findings.extend(validate_forms(report.forms, profile))
            if against:
                report.findings.extend(_against(report, against))
        if spool is not None:
            import pickle

            for form in report.forms:
                spool(form, pickle.dumps(_spooled(form), protocol=pickle.HIGHEST_PROTOCOL))
    else:
        per_form: list[Finding] = []
        results = _validated(inputs.items, profile, per_form, spool)
        report = collect(progress.track(results, "读取并审核", len(inputs)))
        report.ignored = list(inputs.ignored)
        report.profile = profile
        with progress.phase(f"跨表审核 {len(report.forms):,} 个表单"):
            report.findings.extend(per_form)
            report.findings.extend(batch_findings(report.forms, profile))
    report.findings = profile.apply(report.findings)
    report.findings = sort_findings(report.findings, report.files)
    return report


def _spooled(form: Form) -> tuple:
    return (form.kind, form.variant, form.file, form.sheet, form.data)


def unspool(blob: bytes) -> Form:
    """A form :func:`validate_inputs` spooled (its data, for writing it again)."""
    import pickle

    kind, variant, file, sheet, data = pickle.loads(blob)
    return Form(kind, data, file, sheet, variant=variant)


def _validate_chunk(args) -> tuple[list, list[Finding]]:
    """Read and validate a chunk of files in a worker: per file its result (slim forms, with
    their pickled whole data when ``spooling``), and the chunk's findings."""
    import pickle

    from .profiles import load_vocab
    from .read import read_one

    items, profile, spooling = args
    results, forms = [], []
    for item in items:
        res = read_one(*item)
        results.append(res)
        if isinstance(res, ReadResult):
            forms.extend(res.forms)
    findings = form_findings(forms, profile)
    vocab = load_vocab()
    out = []
    for res in results:
        if isinstance(res, ReadResult) and res.forms:
            blobs = ([pickle.dumps(_spooled(f), protocol=pickle.HIGHEST_PROTOCOL) for f in res.forms]
                     if spooling else None)
            res.forms = [slim(f, vocab) for f in res.forms]
            out.append((res, blobs))
        else:
            out.append((res, None))
    return out, findings


def _validated(items: list, profile, per_form: list[Finding], spool):
    """Each file's result (slim forms) in order, read and validated a chunk at a time — in
    worker processes for a batch; the chunks' findings go to ``per_form``. A worker that dies on
    a file costs only that file (the chunk is read again, one file per process)."""
    jobs = default_jobs(len(items))
    size = chunk_size(len(items), jobs)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    spooling = spool is not None

    def emit(out, findings):
        per_form.extend(findings)
        for res, blobs in out:
            if blobs is not None:
                for form, blob in zip(res.forms, blobs):
                    spool(form, blob)
            yield res

    if jobs <= 1:
        for chunk in chunks:
            yield from emit(*_validate_chunk((chunk, profile, spooling)))
        return
    from concurrent.futures.process import BrokenProcessPool

    from .pool import context, executor

    ctx = context()
    done = 0
    try:
        with executor(min(jobs, len(chunks)), ctx) as pool:
            for got in pool.map(_validate_chunk, [(c, profile, spooling) for c in chunks]):
                done += 1
                yield from emit(*got)
        return
    except BrokenProcessPool:
        pass
    for chunk in chunks[done:]:
        try:
            with executor(1, ctx) as pool:
                got = pool.submit(_validate_chunk, (chunk, profile, spooling)).result()
            yield from emit(*got)
            continue
        except BrokenProcessPool:
            pass
        for item in chunk:   # the culprit is in this chunk: one file per process
            try:
                with executor(1, ctx) as pool:
                    got = pool.submit(_validate_chunk, ([item], profile, spooling)).result()
                yield from emit(*got)
            except BrokenProcessPool:
                yield UnreadableFile(item[0], Rule.FILE_UNREADABLE.code,
                                     Rule.FILE_UNREADABLE.format(reason="读取时解析程序异常终止，文件可能已损坏或被恶意构造"))


def _import_validation_libraries() -> None:
    import pandas  # noqa: F401
    import pandera.pandas  # noqa: F401


def _preloading(results, pooled: bool):
    """Pass results through; while worker processes read, import pandas/pandera (~0.8 s) in a
    thread of this otherwise idle process. Started after the first result, when the workers
    are forked already (forking while another thread imports could deadlock the children)."""
    import threading

    thread = None
    for res in results:
        if thread is None and pooled:
            thread = threading.Thread(target=_import_validation_libraries, daemon=True)
            thread.start()
        yield res
    if thread is not None:
        thread.join()


def _against(report: Report, paths: list) -> list[Finding]:
    from .carry import compare

    sources: dict[tuple, Form] = {}
    for res in read_paths(paths):
        if isinstance(res, UnreadableFile):
            report.unreadable.append(res)
            report.files.append(res.path)
            report.findings.append(unreadable_finding(res))
            continue
        for form in res.forms:
            sources.setdefault((form.kind, form.identity()), form)
    out = []
    names = "、".join(str(p) for p in paths)
    for form in report.forms:
        carries = form.spec.carry
        match = next((sources[(k, form.identity())] for k in carries if (k, form.identity()) in sources), None)
        if match is None:
            words = identity_words(form.spec, form.data)
            words["source"] = "、".join(load_spec(k).short_name for k in carries)
            out.append(finding(Rule.AGAINST_MISSING, form.file, form.sheet, form.cells.get((form.spec.identity[0],)),
                               other=names, **words))
            continue
        out.extend(compare(form, match))
    return out
