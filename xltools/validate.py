"""Validator: every rule of the catalogue over every form, all at once, then one report.

Cell-level rules run as pandera schemas built from the spec — one DataFrame of all forms'
fields and one of all their indicator rows, validated lazily in one pass — and their failure
cases are mapped back to the input cells. Rules across cells, rows and files (totals, dates,
hierarchy layouts, duplicates) follow in plain Python over the same forms.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UnreadableFile
from .indicators import ASCII_OPERATORS, OPERATORS, is_rate, parse_target
from .progress import as_progress
from .read import Form, ReadResult, default_jobs, expand_paths, read_paths
from .rules import BY_CODE, ERROR, Finding, Rule, finding
from .spec import FormSpec, get_path, load_spec, parse_cell

_STRING_DATE = "%Y-%m-%d"


@dataclass(repr=False)
class Report:
    """What `xltools validate` prints: every finding, and what was read.

    ``to_frame()`` gives the findings as a table; ``repr()`` only counts them.
    """

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    unreadable: list[UnreadableFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (file, why): found, not read as input
    ignored: list[str] = field(default_factory=list)               # lock files passed over

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != ERROR]

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
        return (f"<Report {len(self.files)} 个文件, {len(self.forms)} 个表单, "
                f"错误 {len(self.errors)}, 警告 {len(self.warnings)}{extra}>")


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


def _field_schema(spec: FormSpec):
    import pandera.pandas as pa

    columns = {}
    for f in spec.inputs:
        checks = []
        if f.type == "choice":
            allowed = set(spec.choices(f.list))
            checks.append(pa.Check(lambda s, a=allowed: s.isin(a), name=Rule.NOT_IN_LIST.code))
        elif f.type == "money":
            checks.append(pa.Check(lambda s: s.map(_is_number), name=Rule.MONEY_INVALID.code))
            checks.append(pa.Check(lambda s: s.map(lambda v: not _is_number(v) or v >= 0),
                                   name=Rule.MONEY_NEGATIVE.code))
        elif f.type == "date":
            checks.append(pa.Check(lambda s: s.map(_is_iso_date), name=Rule.DATE_INVALID.code))
        elif f.type == "year":
            checks.append(pa.Check(lambda s: s.map(lambda v: isinstance(v, int) and 2000 <= v <= 2100),
                                   name=Rule.YEAR_INVALID.code))
        columns[f.key] = pa.Column(object, checks=checks, nullable=not f.required, coerce=False)
    return pa.DataFrameSchema(columns, name=spec.kind)


def _indicator_schema(spec: FormSpec, table):
    import pandera.pandas as pa

    h = spec.hierarchy
    level1 = set(h.level1)
    pairs = {(l1, l2) for l1 in level1 for l2 in h.level2(l1)}
    counts, bad_rate_units = h.count_units, h.rate_bad_units
    def numeric(c):
        checks = [pa.Check(lambda s: s.map(_is_number), name=Rule.NUMBER_INVALID.code)]
        checks.append(pa.Check(lambda s: s.map(lambda v: not _is_number(v) or v >= 0), name=Rule.NUMBER_NEGATIVE.code))
        return checks

    columns = {c.key: pa.Column(object, nullable=not c.required,
                                checks=numeric(c) if c.type in ("money", "number") else [])
               for c in table.columns}
    one = table.columns[0].key
    columns[one] = pa.Column(object, nullable=False,
                             checks=[pa.Check(lambda s: s.isin(level1), name=Rule.NOT_IN_LIST.code)])

    def col(d, key) -> list:
        return d[key].tolist()

    def hierarchy(d):
        return [not (a in level1 and b is not None) or (a, b) in pairs
                for a, b in zip(col(d, "一级指标"), col(d, "二级指标"))]

    def percent(d):
        return [not (u == "%" and _is_number(n) and n > 100) for u, n in zip(col(d, "单位"), col(d, "数值"))]

    def rate_unit(d):
        return [not (is_rate(name) and u in bad_rate_units) for name, u in zip(col(d, "三级指标"), col(d, "单位"))]

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
            (count, Rule.COUNT_NONPOSITIVE), (ascii_op, Rule.ASCII_OPERATOR),
            (unparseable, Rule.VALUE_UNPARSEABLE), (no_operator, Rule.VALUE_NO_OPERATOR),
            (date_year, Rule.DATE_TARGET_YEAR)]
    import pandas as pd

    checks = [pa.Check(lambda d, fn=fn: pd.Series(fn(d), index=d.index, dtype=bool), name=rule.code)
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


_WIDE_TARGET_COLUMN = {Rule.HIERARCHY.code: "二级指标"}


def validate_forms(forms: list[Form]) -> list[Finding]:
    """All findings for these forms (cell rules batched per kind, then cross-field rules)."""
    if not forms:
        return []  # nothing was readable: no need to import pandas (0.6 s)
    import pandas as pd

    out: list[Finding] = []
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, form in enumerate(forms):
        by_kind[form.kind].append(i)
    for kind, idx in by_kind.items():
        spec = load_spec(kind)
        # --- one frame of all forms' fields
        rows = [{f.key: get_path(forms[i].data, f.path) for f in spec.inputs} for i in idx]
        df = pd.DataFrame(rows, index=idx, columns=[f.key for f in spec.inputs], dtype=object)
        for check, column, i in _failures(_field_schema(spec), df):
            out.append(_field_finding(forms[i], spec, check, column))
        # --- one frame of all indicator rows
        for table in spec.tables:
            if not table.hierarchy or table.target is None:
                continue
            records, where = [], []
            for i in idx:
                year = forms[i].data.get("年度")
                for r, row in enumerate(forms[i].data.get(table.key) or []):
                    t = parse_target(row.get(table.target.key))
                    rec = {c.key: row.get(c.key) for c in table.columns}
                    rec.update(t.parts())
                    rec.update(_raw_op=t.raw_operator, _parsed=t.parsed, _years=t.years, _year=year)
                    records.append(rec)
                    where.append((i, r))
            if not records:
                continue
            tf = pd.DataFrame(records, dtype=object)
            for check, column, k in _failures(_indicator_schema(spec, table), tf):
                i, r = where[k]
                out.append(_row_finding(forms[i], spec, table, r, check, column))
        for i in idx:
            out.extend(_cross_field(forms[i], spec))
    out.extend(duplicate_projects(forms))
    return out


def _field_finding(form: Form, spec: FormSpec, check: str, column: str | None) -> Finding:
    f = spec.field(column)
    value = get_path(form.data, f.path)
    cell = form.cells.get(f.path)
    label = f.label.rstrip(":：").replace("其中: ", "")
    if check == "not_nullable":
        return finding(Rule.REQUIRED, form.file, form.sheet, cell, label=label)
    rule = BY_CODE[check]
    return finding(rule, form.file, form.sheet, cell, label=label, value=_fmt_money(value)
                   if rule is Rule.MONEY_NEGATIVE else value, unit=spec.money_unit,
                   choices="、".join(spec.choices(f.list)) if f.list else "")


def _row_finding(form: Form, spec: FormSpec, table, r: int, check: str, column: str | None) -> Finding:
    row = form.data[table.key][r]
    name = row.get("三级指标") or ""
    value = row.get(table.target.key)
    t = parse_target(value)
    if check == "not_nullable":
        rule = Rule.VALUE_EMPTY if column == table.target.key else Rule.TABLE_REQUIRED
        cell = form.cells[(table.key, r, column)]
        return finding(rule, form.file, form.sheet, cell, n=r + 1, label=table.column(column).label, name=name)
    if check in (Rule.NUMBER_INVALID.code, Rule.NUMBER_NEGATIVE.code):
        return finding(BY_CODE[check], form.file, form.sheet, form.cells[(table.key, r, column)],
                       label=table.column(column).label, value=row.get(column))
    target_col = column if check == Rule.NOT_IN_LIST.code else _WIDE_TARGET_COLUMN.get(check, table.target.key)
    cell = form.cells[(table.key, r, target_col)]
    rule = BY_CODE[check]
    kw = dict(name=name, value=value, unit=t.unit, level1=row.get("一级指标"), level2=row.get("二级指标"),
              label=table.column(target_col).label, year=form.data.get("年度"))
    if rule is Rule.NOT_IN_LIST:
        kw.update(value=row.get(column), choices="、".join(spec.hierarchy.level1))
    elif rule is Rule.HIERARCHY:
        kw.update(choices="、".join(spec.hierarchy.level2(row.get("一级指标"))))
    elif rule is Rule.COUNT_NONPOSITIVE:
        kw.update(ge="等于" if t.operator == "≤" else "")
    elif rule is Rule.ASCII_OPERATOR:
        kw.update(op=t.raw_operator, fixed=OPERATORS[t.raw_operator])
    elif rule is Rule.DATE_TARGET_YEAR:
        kw.update(found="、".join(str(y) for y in t.years if y != form.data.get("年度")))
    elif rule is Rule.VALUE_NO_OPERATOR:
        kw.update(value=value)
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
        cell, label = form.cells[f.path], f.label.rstrip(":")
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
    # The planned period: start ≤ end, both inside the form's year.
    if len(spec.period) == 2:
        (start_key, end_key), year = spec.period, data.get("年度")
        start, end = data.get(start_key), data.get(end_key)
        if _is_iso_date(start) and _is_iso_date(end) and start > end:
            add(finding(Rule.DATE_ORDER, form.file, form.sheet, form.cells[(start_key,)], start=start, end=end))
        if isinstance(year, int):
            for key in spec.period:
                v = data.get(key)
                if _is_iso_date(v) and int(v[:4]) != year:
                    add(finding(Rule.DATE_OUTSIDE_YEAR, form.file, form.sheet, form.cells[(key,)], label=key,
                                value=v, year=year))
    for table in spec.tables:
        if table.hierarchy:
            out.extend(_indicator_rules(form, spec, table))
    for name in spec.checks:
        out.extend(CHECKS[name](form, spec))
    return out


def _check_selfeval(form: Form, spec: FormSpec) -> list[Finding]:
    from .scoring import check_selfeval

    return check_selfeval(form, spec)


# Rule groups a spec can ask for with `checks = [...]`.
CHECKS = {"selfeval": _check_selfeval}


def _indicator_rules(form: Form, spec: FormSpec, table) -> list[Finding]:
    out: list[Finding] = []
    rows = form.data.get(table.key) or []
    h = spec.hierarchy
    where = form.next_row.get(table.key)
    if not rows:
        if table.required:
            out.append(finding(Rule.NO_INDICATORS, form.file, form.sheet, where))
        return out
    # Both indicator layouts in one form (a warning on each row of the minority layout).
    layouts = [h.layouts_of(r.get("一级指标"), r.get("二级指标")) for r in rows]  # cached per pair
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
                    add_cell = form.cells[(table.key, r, "二级指标")]
                    out.append(finding(Rule.LAYOUT_MIXED, form.file, form.sheet, add_cell,
                                       level1=row.get("一级指标"), level2=row.get("二级指标"),
                                       other=f"按「{h.layout_names[major]}」填写"))
    # The same 三级 twice: under one 二级 an error, under two 二级 a warning.
    seen: dict[tuple, int] = {}
    seen_name: dict[str, int] = {}
    for r, row in enumerate(rows):
        name = row.get("三级指标")
        if not name:
            continue
        key = (row.get("一级指标"), row.get("二级指标"), name)
        cell = form.cells[(table.key, r, "三级指标")]
        if key in seen:
            first = form.cells[(table.key, seen[key], "三级指标")]
            out.append(finding(Rule.DUPLICATE_INDICATOR, form.file, form.sheet, cell, name=name,
                               level2=row.get("二级指标"), first=first))
        elif name in seen_name:
            k = seen_name[name]
            out.append(finding(Rule.DUPLICATE_ACROSS, form.file, form.sheet, cell, name=name,
                               level2=row.get("二级指标"), first_level2=rows[k].get("二级指标"),
                               first=form.cells[(table.key, k, "三级指标")]))
        seen.setdefault(key, r)
        seen_name.setdefault(name, r)
    # Each of 产出 / 效益 / 满意度 needs at least one indicator.
    present = {r.get("一级指标") for r in rows}
    for l1 in h.required_level1:
        if l1 not in present:
            out.append(finding(Rule.CATEGORY_MISSING, form.file, form.sheet, where, level1=l1))
    return out


def duplicate_projects(forms: list[Form]) -> list[Finding]:
    """The same project (项目名称 + 实施单位 + 年度) in two places: an error on the later one."""
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
            name_path = (form.spec.identity[0],)  # 项目名称
            out.append(finding(Rule.DUPLICATE_PROJECT, form.file, form.sheet, form.cells.get(name_path),
                               name=ident[0], unit=ident[1], year=ident[2], other=where))
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
        try:
            rc = parse_cell(f.cell) if f.cell else (-1, -1)
        except Exception:
            rc = (-1, -1)
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


def validate_paths(paths, progress=None, against: Iterable[str | Path] = ()) -> Report:
    """Read and validate every file (a path, or an iterable of files and folders, searched
    recursively); never raises for a file. A path that does not exist raises
    :class:`~xltools.errors.MissingPath` before anything is read.

    ``against``: the forms these were carried from (e.g. the 申报表 of 自评表); differences
    from them are reported too (not their own findings).
    """
    progress = as_progress(progress)
    against = list(against)
    if against:
        expand_paths(against)   # a typo there is found before anything is read
    inputs = expand_paths(paths)
    results = _preloading(read_paths(inputs), pooled=default_jobs(len(inputs)) > 1)
    report = collect(progress.track(results, "读取", len(inputs)))
    report.ignored = list(inputs.ignored)
    with progress.phase(f"审核 {len(report.forms):,} 个表单"):
        report.findings.extend(validate_forms(report.forms))
        if against:
            report.findings.extend(_against(report, against))
    report.findings = sort_findings(report.findings, report.files)
    return report


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
            ident = form.identity()
            out.append(finding(Rule.AGAINST_MISSING, form.file, form.sheet, form.cells.get((form.spec.identity[0],)),
                               name=ident[0], unit=ident[1], year=ident[2], other=names))
            continue
        out.extend(compare(form, match))
    return out
