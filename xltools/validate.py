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
from .errors import SpecError, UnreadableFile
from .indicators import ASCII_OPERATORS, OPERATORS, parse_target
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
    accepted: list = field(default_factory=list)   # xltools.accepted.Accepted: shown as 已说明, never counted

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
# Typed frames and the pandera schemas over them
#
# A frame has one row per form (the fields) or per table row. A column of a number type (money,
# number, count, year) is a float column (NaN where empty or not a number) with, beside it, an
# object column ``<key>#text`` of what could not be read as a number; other columns hold the
# values as read. The indicator table also gets the parsed 指标值 parts as typed columns. The
# checks are then vectorised pandas operations over whole columns, named by their rule codes.

TEXT = "#text"   # suffix of the column of what a number column could not parse
_NUMERIC_CODES = {Rule.MONEY_INVALID.code, Rule.NUMBER_INVALID.code, Rule.COUNT_INVALID.code,
                  Rule.YEAR_INVALID.code}
_ISO = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_NAN = float("nan")


def _numeric(typ: str) -> bool:
    return any(code in _NUMERIC_CODES for code in TYPES[typ].checks)


def _iso_dates(s):
    """Whether each value is an ISO date (``_is_iso_date``): the common ``YYYY-MM-DD`` vectorised,
    any other text (rare) one by one."""
    import pandas as pd

    ok = pd.Series(False, index=s.index)
    text = s.map(type).isin([str])
    if not text.any():
        return ok
    strs = s[text]
    shaped = strs.str.fullmatch(_ISO).fillna(False).astype(bool)
    if shaped.any():
        ok[shaped[shaped].index] = pd.to_datetime(strs[shaped], format="%Y-%m-%d", errors="coerce").notna()
    rest = strs[~shaped]
    if len(rest):
        ok[rest.index] = [_is_iso_date(v) for v in rest.tolist()]
    return ok


def _isin(pa, allowed: list, code: str):
    """``Series.isin`` as a whole-column check. Not pandera's builtin ``Check.isin``: under the
    lowest pandera the project allows (0.24) a builtin check imported through ``pandera.pandas``
    fails to dispatch on a Series (KeyError) and the rule silently found nothing."""
    return pa.Check(lambda s: s.isin(allowed), name=code, error=code)


def _type_checks(pa, typ: str, allowed=None) -> dict[str, list]:
    """The pandera checks of a cell type (:mod:`xltools.celltypes`), named by their rule codes,
    by the column they go on: ``""`` the column itself, ``TEXT`` its unparsed text."""
    out: dict[str, list] = {"": [], TEXT: []}
    for code in TYPES[typ].checks:
        if code == Rule.NOT_IN_LIST.code:
            if allowed is not None:
                out[""].append(_isin(pa, list(allowed), code))
        elif code in _NUMERIC_CODES:   # not a number at all
            out[TEXT].append(pa.Check(lambda s: s.isna(), name=code, ignore_na=False))
            if code == Rule.COUNT_INVALID.code:
                out[""].append(pa.Check(lambda s: (s >= 0) & (s % 1 == 0), name=code))
            elif code == Rule.YEAR_INVALID.code:
                out[""].append(pa.Check(lambda s: (s >= 2000) & (s <= 2100) & (s % 1 == 0), name=code))
        elif code in (Rule.MONEY_NEGATIVE.code, Rule.NUMBER_NEGATIVE.code):
            out[""].append(pa.Check(lambda s: s >= 0, name=code, error=code))
        elif code == Rule.DATE_INVALID.code:
            out[""].append(pa.Check(_iso_dates, name=code))
    return out


def _columns(pa, key: str, typ: str, allowed, nullable: bool) -> dict:
    checks = _type_checks(pa, typ, allowed)
    if not _numeric(typ):
        return {key: pa.Column(object, checks=checks[""], nullable=nullable, coerce=False)}
    return {key: pa.Column(float, checks=checks[""], nullable=True, coerce=False),
            key + TEXT: pa.Column(object, checks=checks[TEXT], nullable=True, coerce=False)}


def _present(d, key: str):
    """Whether a cell holds anything (a number, or text that is not one)."""
    out = d[key].notna()
    return out | d[key + TEXT].notna() if key + TEXT in d else out


def _required(pa, key: str, pre: bool = False):
    """A required cell is filled (in a table, a pre-printed row's open cells are optional)."""
    if pre:
        return pa.Check(lambda d: _present(d, key) | d["_pre"], name=f"required:{key}", ignore_na=False)
    return pa.Check(lambda d: _present(d, key), name=f"required:{key}", ignore_na=False)


_SCHEMAS: dict[tuple, tuple] = {}


def _cached(spec: FormSpec, key: str | None, build):
    got = _SCHEMAS.get((id(spec), key))
    if got is None or got[0] is not spec:
        got = _SCHEMAS[(id(spec), key)] = (spec, build())
    return got[1]


def _field_schema(spec: FormSpec):
    return _cached(spec, None, lambda: _build_field_schema(spec))


def _build_field_schema(spec: FormSpec):
    import pandera.pandas as pa

    columns, checks = {}, []
    for f in spec.inputs:
        allowed = spec.choices(f.list) if f.type == "choice" and f.list else None
        columns.update(_columns(pa, f.key, f.type, allowed, nullable=not f.required))
        if f.required and _numeric(f.type):
            checks.append(_required(pa, f.key))
    return pa.DataFrameSchema(columns, checks=checks, name=spec.kind)


def _allowed(spec: FormSpec, c) -> tuple | None:
    if c.type != "choice" or c.cascade_from:
        return None
    return spec.choices(c.list) if c.list else None


def _table_schema(spec: FormSpec, table):
    return _cached(spec, table.key, lambda: _build_table_schema(spec, table))


def _build_table_schema(spec: FormSpec, table):
    """Every table: each column's type checks and required cells; for the indicator table
    also the hierarchy and the 指标值 rules (DataFrame-wide, vectorised over the parsed parts)."""
    import pandas as pd
    import pandera.pandas as pa

    # A pre-printed row's open cells are optional: required columns are checked by `_required`.
    columns = {}
    for c in table.columns:
        columns.update(_columns(pa, c.key, c.type, _allowed(spec, c), nullable=True))
    checks = [_required(pa, c.key, pre=True) for c in table.columns if c.required]
    h = spec.hierarchy
    if table.role == "indicators" and table.target is not None and h is not None:
        L1, L2, L3 = (table.key_of(r) for r in ("level1", "level2", "level3"))
        level1 = list(h.level1)
        pairs = pd.MultiIndex.from_tuples([(l1, l2) for l1 in level1 for l2 in h.level2(l1)])
        counts, bad_rate_units, odd = list(h.count_units), list(h.rate_bad_units), list(h.odd_units)
        columns[L1] = pa.Column(object, nullable=True, checks=[_isin(pa, list(level1), Rule.NOT_IN_LIST.code)])
        rate_name = "|".join(map(re.escape, ("率", "满意度")))   # xltools.indicators.is_rate

        def hierarchy(d):
            named = d[L1].isin(level1) & d[L2].notna()
            return ~named | pd.MultiIndex.from_arrays([d[L1], d[L2]]).isin(pairs)

        def percent(d):
            return ~((d["单位"] == "%") & (d["数值"] > 100))

        def rate_unit(d):
            rate = d[L3].fillna("").astype(str).str.contains(rate_name, regex=True).fillna(False).astype(bool)
            return ~(rate & d["单位"].isin(bad_rate_units))

        def odd_unit(d):
            return ~d["单位"].isin(odd)

        def count(d):
            n, op = d["数值"], d["运算符"]
            return ~(d["单位"].isin(counts) & ((n < 0) | (op.isin(["<", "≤"]) & (n <= 0))))

        def ascii_op(d):
            return ~d["_raw_op"].isin(list(ASCII_OPERATORS))

        def unparseable(d):
            return d["_parsed"]

        def no_operator(d):
            return ~(d["数值"].notna() & d["运算符"].isna())

        def date_year(d):
            y = d["_year"]
            return y.isna() | d["_ymin"].isna() | ((d["_ymin"] == y) & (d["_ymax"] == y))

        wide = [(hierarchy, Rule.HIERARCHY), (percent, Rule.PERCENT_OVER_100), (rate_unit, Rule.RATE_UNIT),
                (odd_unit, Rule.UNIT_ODD), (count, Rule.COUNT_NONPOSITIVE), (ascii_op, Rule.ASCII_OPERATOR),
                (unparseable, Rule.VALUE_UNPARSEABLE), (no_operator, Rule.VALUE_NO_OPERATOR),
                (date_year, Rule.DATE_TARGET_YEAR)]
        checks += [pa.Check(fn, name=rule.code, ignore_na=False) for fn, rule in wide]
    return pa.DataFrameSchema(columns, checks=checks, name=f"{spec.kind}:{table.key}", strict=False)


def schema(kind: str, table: str | None = None, variant: str | None = None):
    """The pandera ``DataFrameSchema`` xltools validates a kind's forms with: of its fields (one
    row per form), or with ``table`` (a table's key, e.g. 绩效指标) of that table (one row per
    table row, over all forms). Its columns are typed as :func:`frame` builds them (a number
    column is a float with ``<key>#text`` beside it for what is not a number; the indicator
    table has the parsed 指标值 parts); each check is named by its rule code::

        import xltools
        from xltools.validate import frame

        forms = [f for r in xltools.read_paths(["收回/"]) for f in getattr(r, "forms", [])]
        df = frame(forms, table)          # table: a table's key, e.g. the indicator table's
        xltools.schema(kind, table).validate(df, lazy=True)
    """
    spec = load_spec(kind, variant)
    if table is None:
        return _field_schema(spec)
    return _table_schema(spec, spec.table(table))


def frame(forms: list[Form], table: str | None = None):
    """The typed frame :func:`schema` validates, of these forms (one layout): the fields (one row
    per form) or the rows of ``table``."""
    spec = forms[0].spec if forms else None
    if spec is None:
        import pandas as pd

        return pd.DataFrame()
    idx = list(range(len(forms)))
    if table is None:
        return _field_frame(spec, forms, idx)
    return _table_frame(spec, spec.table(table), forms, idx)[0]


class _Builder:
    """Columns of a typed frame, appended to value by value."""

    def __init__(self):
        self.cols: dict[str, list] = {}
        self.floats: set[str] = set()

    def column(self, key: str, numeric: bool) -> tuple[list, list | None]:
        if numeric:
            self.floats.add(key)
            return self.cols.setdefault(key, []), self.cols.setdefault(key + TEXT, [])
        return self.cols.setdefault(key, []), None

    def frame(self, index=None):
        import numpy as np
        import pandas as pd

        data = {k: (np.array(v, dtype=float) if k in self.floats else pd.Series(v, dtype=object, index=index))
                for k, v in self.cols.items()}
        if index is not None:
            data = {k: (pd.Series(v, index=index) if k in self.floats else v) for k, v in data.items()}
        return pd.DataFrame(data, index=index)


def _put(num: list, text: list | None, v) -> None:
    if text is None:
        num.append(v)
    elif v.__class__ is float or v.__class__ is int:
        num.append(v)
        text.append(None)
    elif _is_number(v):   # an int or float subclass (never a bool)
        num.append(float(v))
        text.append(None)
    else:
        num.append(_NAN)
        text.append(v)


def _field_frame(spec: FormSpec, forms: list[Form], idx: list[int]):
    b = _Builder()
    for f in spec.inputs:
        num, text = b.column(f.key, _numeric(f.type))
        for i in idx:
            _put(num, text, get_path(forms[i].data, f.path))
    return b.frame(index=idx)


def _table_frame(spec: FormSpec, table, forms: list[Form], idx: list[int]):
    """The typed frame of a table over these forms, and where each of its rows is (form, row)."""
    parse = table.role == "indicators" and table.target is not None
    b = _Builder()
    cols = [(c.key, *b.column(c.key, _numeric(c.type))) for c in table.columns]
    pre = b.cols.setdefault("_pre", [])
    if parse:
        op, num, unit, qual = (b.cols.setdefault(k, []) for k in ("运算符", "数值", "单位", "定性"))
        b.floats.add("数值")
        raw_op, parsed, year_, ymin, ymax = (b.cols.setdefault(k, []) for k in ("_raw_op", "_parsed", "_year",
                                                                            "_ymin", "_ymax"))
        b.floats.update(("_year", "_ymin", "_ymax"))
        target_key = table.target.key
    n_pre = len(table.preprinted)
    where = []
    for i in idx:
        data = forms[i].data
        rows = data.get(table.key) or []
        if not rows:
            continue
        if parse:
            year = spec.value(data, "year")
            y = float(year) if isinstance(year, int) else _NAN
        for r, row in enumerate(rows):
            for key, values, text in cols:
                _put(values, text, row.get(key))
            pre.append(r < n_pre)
            if parse:
                t = parse_target(row.get(target_key))
                op.append(t.operator)
                num.append(t.number if t.number is not None else _NAN)
                unit.append(t.unit)
                qual.append(t.qualitative)
                raw_op.append(t.raw_operator)
                parsed.append(t.parsed)
                year_.append(y)
                ymin.append(min(t.years) if t.years else _NAN)
                ymax.append(max(t.years) if t.years else _NAN)
            where.append((i, r))
    if not where:
        return None, where
    df = b.frame()
    df["_pre"] = df["_pre"].astype(bool)
    if parse:
        df["_parsed"] = df["_parsed"].astype(bool)
    return df, where


def _failures(schema, df) -> list[tuple[str, str | None, int]]:
    """(check name, column, index) of every failure, collected lazily in one pass; a number
    column's ``#text`` beside it counts as the column."""
    import pandera.pandas as pa

    if df is None or df.empty:
        return []
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        for err in getattr(exc, "schema_errors", None) or []:
            # A check that could not run would otherwise vanish as a "schema-level failure
            # without a row", and its rule would silently find nothing: say so, loudly.
            if "CHECK_ERROR" in str(getattr(err, "reason_code", "")):
                raise RuntimeError(f"pandera 无法执行检查 {getattr(err, 'check', '')}: {str(err)[:300]}") from None
        fc = exc.failure_cases
        seen: dict[tuple, None] = {}
        for ctx, ch, col, ix in zip(fc["schema_context"].tolist(), fc["check"].tolist(), fc["column"].tolist(),
                                    fc["index"].tolist()):
            if ix is None or ix != ix:  # NaN: a schema-level failure without a row
                continue
            # A DataFrame-level (wide) check is reported once per column: keep one.
            column = None if ctx == "DataFrameSchema" or col is None else str(col).removesuffix(TEXT)
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

    from .content import check_form
    from .profiles import load_vocab

    vocab = load_vocab()
    out: list[Finding] = []
    by_layout: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for i, form in enumerate(forms):
        by_layout[(form.kind, form.variant)].append(i)
    for (kind, variant), idx in by_layout.items():
        spec = load_spec(kind, variant)
        # --- one typed frame of all forms' fields
        for check, column, i in _failures(_field_schema(spec), _field_frame(spec, forms, idx)):
            out.append(_field_finding(forms[i], spec, check, column))
        # --- one typed frame per table of all forms' rows (every table: types and required cells)
        for table in spec.tables:
            tf, where = _table_frame(spec, table, forms, idx)
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
    the batch rules compare, a sub-project's name, and the digests of its (三级指标, 指标值) pairs
    (``indicator_pairs``) instead of its indicator rows. Enough for :meth:`Report.summaries`, the rules across forms
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
    out = Form(form.kind, data, form.file, form.sheet, cells=cells, variant=form.variant)
    table = spec.indicators
    if table is not None and table.target is not None:
        out.indicator_pairs = indicator_pairs(src.get(table.key), table.key_of("level3"), table.target.key)
    return out


def indicator_pairs(rows, level3: str, target: str) -> bytes:
    """The (三级指标, 指标值) pairs of a form's indicator rows, as sorted 8-byte digests: what the
    near-duplicate rule compares (:mod:`xltools.batchrules`), in ~200 bytes instead of the rows."""
    import hashlib

    digests = {hashlib.blake2b(repr((r.get(level3), r.get(target))).encode("utf-8"), digest_size=8).digest()
               for r in rows or [] if isinstance(r, dict) and r.get(level3)}
    return b"".join(sorted(digests))


_LABELS: dict[tuple, tuple] = {}


def labels(spec: FormSpec, table=None) -> dict:
    """The words of a kind that messages use: its column names by role, its table, its unit."""
    table = table if table is not None else spec.indicators
    key = (id(spec), None if table is None else table.key)
    got = _LABELS.get(key)
    if got is None or got[0] is not spec:
        got = _LABELS[key] = (spec, _labels(spec, table))
    return dict(got[1])


def _labels(spec: FormSpec, table) -> dict:
    kw = {"money_unit": spec.money_unit, "kind": spec.short_name}
    if table is not None:
        kw["table"] = table.label
        for role in ("level1", "level2", "level3", "target", "actual", "points", "score", "reason"):
            c = table.by_role(role)
            kw[f"{role}_label"] = c.name if c else role
    return kw


def _field_finding(form: Form, spec: FormSpec, check: str, column: str | None) -> Finding:
    if check.startswith("required:"):   # a number field: neither a number nor text
        f = spec.field(check.split(":", 1)[1])
        return finding(Rule.REQUIRED, form.file, form.sheet, form.cells.get(f.path), label=f.name)
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


_COLUMN_CODES: dict[int, tuple] = {}


def _column_codes(table) -> frozenset:
    got = _COLUMN_CODES.get(id(table))
    if got is None or got[0] is not table:
        got = _COLUMN_CODES[id(table)] = (table, frozenset(code for c in table.columns for code in TYPES[c.type].checks))
    return got[1]


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
    if column is not None and check in _column_codes(table):
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
    after = form.next_row.get(table.key)
    if cell is None and after:
        try:
            r, c = parse_cell(after)
        except SpecError:     # a text or a PDF names its lines (第32行), not cells: that line
            cell = after
        else:
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


def validate_paths(paths, progress=None, against: Iterable[str | Path] = (), profile=None, accepted=None) -> Report:
    """Read and validate every file (a path, or an iterable of files and folders, searched
    recursively); never raises for a file. A path that does not exist raises
    :class:`~xltools.errors.MissingPath` before anything is read.

    ``against``: the forms these were carried from (e.g. the 申报表 of 自评表); differences
    from them are reported too (not their own findings).

    ``profile``: the review profile (``national`` by default, ``shanghai``, or a .toml path) that
    decides which rules run, their severity and the 审核结论 of each form (:meth:`Report.summaries`).

    ``accepted``: the coordinator's 已确认.csv (a path, or :func:`xltools.accepted.load_accepted`'s
    list, which then holds the notices): the warnings it lists move to ``Report.accepted``.

    A batch (from ``BATCH_MIN`` files on, without ``against``) is validated where it is read, a
    chunk at a time, and ``Report.forms`` holds slim forms (:func:`slim`); see :class:`Report`.
    """
    return validate_inputs(paths, progress=progress, against=against, profile=profile, accepted=accepted)


BATCH_MIN = 16                 # from this many files on: validated per chunk, slim forms kept
CHUNK_MIN, CHUNK_MAX = 32, 256


def chunk_size(n_files: int, jobs: int) -> int:
    """Files a reading worker reads and validates at once: about four chunks per worker, 32–256
    (a chunk's pandera pass has a fixed cost of a few ms; a large chunk idles the other worker
    at the end)."""
    return max(CHUNK_MIN, min(CHUNK_MAX, -(-n_files // (max(1, jobs) * 4))))


def validate_inputs(paths, progress=None, against: Iterable[str | Path] = (), profile=None, *,
                    full: bool = False, spool=None, accepted=None) -> Report:
    """:func:`validate_paths`, with the internal choices: ``full`` keeps every form whole (as a
    few files always are); ``spool(form, blob)`` is called in file order with each slim form and
    its pickled (kind, variant, file, sheet, data) — how merge writes groups it never holds."""
    from .accepted import apply_accepted, as_accepted
    from .profiles import load_profile

    profile = load_profile(profile)   # a bad profile stops here, before anything is read
    accepted = as_accepted(accepted)  # so does a bad 已确认.csv
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
        report = collect(progress.track(results, "读取", len(inputs)))
        report.ignored = list(inputs.ignored)
        report.profile = profile
        with progress.phase(f"审核 {len(report.forms):,} 个表单"):
            report.findings.extend(per_form)
            report.findings.extend(batch_findings(report.forms, profile))
    report.findings = profile.apply(report.findings)
    report.findings = sort_findings(report.findings, report.files)
    apply_accepted(report, accepted)
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


def _shared(findings: list[Finding], cache: dict) -> list[Finding]:
    """The findings with equal messages, cells and (name, value) pairs made one object each
    (the same indicator's warning in 10,000 forms: one message): a batch of 100,000 forms holds
    about a million findings in this process."""
    out = []
    get = cache.setdefault
    for f in findings:
        try:
            params = tuple([get(p, p) for p in f.params])
        except TypeError:   # an unhashable value: kept as it is
            params = f.params
        out.append(Finding(get(f.file, f.file), f.sheet, get(f.cell, f.cell), f.severity, f.rule,
                           get(f.message, f.message), params))
    return out


def _validated(items: list, profile, per_form: list[Finding], spool):
    """Each file's result (slim forms) in order, read and validated a chunk at a time — in
    worker processes for a batch; the chunks' findings go to ``per_form``. A worker that dies on
    a file costs only that file (the chunk is read again, one file per process)."""
    jobs = default_jobs(len(items))
    size = chunk_size(len(items), jobs)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    spooling = spool is not None

    shared: dict = {}

    def emit(out, findings):
        per_form.extend(_shared(findings, shared))
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
