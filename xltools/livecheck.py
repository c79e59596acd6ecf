"""The live 自查 of a template: the rules that can be spreadsheet formulas, as formulas (issue 16).

``schemas/selfcheck.toml`` gives, per rule code of :mod:`xltools.rules`, a formula over the cells
that rule reads (one definition beside the Python check, as :mod:`xltools.derive` does for totals).
:func:`plan` renders it on every cell the rule would name — a field, or each row of a table
column — as one *instance*; :func:`render` writes them into the template:

* on the hidden list sheet (the reader never reads it): one flag cell (1/0) per instance; one row
  per *group* — a check on one field, or on one table column — with its rule, severity, how many of
  its cells are flagged and its message at the first of them; the per-row helpers of each table
  (the 一级/二级 a row continues, the parsed 指标值); the word lists the formulas look up;
* on the form sheet: a conditional format per group on the cells it names (red for an error,
  yellow for a warning: :data:`xltools.rules.SEVERITY_COLOURS`), and the 自查 block in the column
  right of the form, at the top (outside the print area; the counts in the title row, the messages
  merged down to the first table, so the label reader finds no new text right of any label):
  ``本表自查：错误 2 处，警告 3 处`` and the first messages, recomputed live.

Nothing here refuses input: data validation stays for types and lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from .errors import ConfigError, SpecError
from .rules import BY_CODE, ERROR, SEVERITY_COLOURS, WARNING
from .spec import LEVEL1_LIST, LISTS_SHEET, FormSpec, Table, a1, col_letter

SELFCHECK_FILE = "selfcheck.toml"
# The columns of the group list on the list sheet (row 1 holds these names).
GROUP_COLUMNS = ("rule", "severity", "count", "run", "message")
BLOCK_NAMES = ("errors", "warnings", "total", "more", "note")
FIRST = 2   # 0-based row of the first instance / helper row (row 1 stays blank: "the row above" of the first)
SHOWN = (ERROR, WARNING)   # severities the block counts and the formats mark

_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([^{}]+))?\}")


# ---------------------------------------------------------------------------------------------
# The file


def _models():
    from .specschema import Name, Names, _Model

    class CheckModel(_Model):
        rule: Name
        on: Literal["field", "column", "start"]
        formula: Name
        message: Name
        required: bool | None = None
        types: Names = []
        roles: Names = []
        not_roles: Names = []
        listed: bool = False
        hierarchy: bool = False
        parse: bool = False
        open_rows: bool = False
        group: str | None = None

    class BlockModel(_Model):
        counts: Name
        clean: Name
        more: Name
        also: Name
        note: Name

    class HelpersModel(_Model):
        all: dict[str, Name] = {}
        indicators: dict[str, Name] = {}

    class SelfcheckFile(_Model):
        width: float = 46
        shown: int = 5
        block: BlockModel
        expressions: dict[str, Name] = {}
        helpers: HelpersModel = HelpersModel()
        checks: list[CheckModel] = []

    return SelfcheckFile


def selfcheck_path() -> Path:
    from .spec import packaged_schemas_dir, schemas_dir

    for d in (schemas_dir(), packaged_schemas_dir()):
        if (d / SELFCHECK_FILE).is_file():
            return (d / SELFCHECK_FILE).resolve()
    return packaged_schemas_dir() / SELFCHECK_FILE


def load_selfcheck():
    """The checks of ``schemas/selfcheck.toml`` (a ``--schemas`` folder's copy first), validated:
    every rule code is in the catalogue (:class:`ConfigError` otherwise)."""
    return _load(selfcheck_path())


@cache
def _load(path: Path):
    from .spec import _parse
    from .specschema import validate

    m, problems = validate(_models(), _parse(path))
    if not problems:
        problems = [(f"checks[{i}].rule", f"规则代码「{c.rule}」不在 xltools/rules.py 中")
                    for i, c in enumerate(m.checks) if c.rule not in BY_CODE]
    if problems:
        lines = [f"自查公式文件有误：{path}"] + [f"  {w}：{msg}" for w, msg in problems[:10]]
        raise ConfigError("\n".join(lines), file=str(path), keys=tuple(w for w, _ in problems))
    return m


def rendered_codes() -> tuple[str, ...]:
    """The rule codes the templates check live, in file order."""
    return tuple(dict.fromkeys(c.rule for c in load_selfcheck().checks))


# ---------------------------------------------------------------------------------------------
# The plan: every helper cell, instance and format, as data


def quoted(sheet: str) -> str:
    """``sheet!`` for a reference, in quotes only where Excel needs them (``申报表!``, ``_lists!``)."""
    if (re.fullmatch(r"[^\W\d]\w*", sheet) and not re.search(r"\d", sheet)
            and sheet.upper() not in ("R", "C", "TRUE", "FALSE")):
        return sheet + "!"
    return "'" + sheet.replace("'", "''") + "'!"


def absolute(row: int, col: int) -> str:
    return f"${col_letter(col)}${row + 1}"


def local(row: int, col: int) -> str:
    """A reference written in a cell's own formula (never copied): the shortest form. The list
    sheet holds a thousand formulas per template; every byte is read by the safety pre-check."""
    return f"{col_letter(col)}{row + 1}"


@dataclass(frozen=True)
class Instance:
    rule: str
    severity: str
    cell: str            # A1 on the form sheet: the cell the finding names
    message: str         # its group's message; {ref} and {n} (the first flagged cell, its row) left open
    condition: str       # the formula (no leading "="), true when the rule is broken
    check: int           # index of the check in selfcheck.toml
    row: int = -1        # 0-based form row and column (for the formats)
    col: int = -1
    index: int = 0       # the table row (0-based) of a table column's cell
    table: str | None = None   # … and its table


@dataclass
class Plan:
    """What :func:`render` writes: ``cells`` on the list sheet ((row, col) → formula with "=" or a
    value), the instances (errors first, then in file and cell order; instance k's flag is in
    row ``FIRST + k`` of ``flag_col``), their groups, and the block's cells."""

    spec: FormSpec
    base: int                                   # first list-sheet column of the live check
    cells: dict = field(default_factory=dict)
    instances: list[Instance] = field(default_factory=list)
    block: dict = field(default_factory=dict)   # name → list-sheet reference
    messages: list[str] = field(default_factory=list)   # references of the shown messages
    groups: list[tuple[int, int]] = field(default_factory=list)   # instances per format and message
    flag_col: int = 0

    def flagged(self, values) -> list[Instance]:
        """The instances whose flag is 1 in ``values`` (the list sheet's computed values as an
        openpyxl worksheet, e.g. after LibreOffice recalculated and saved the file)."""
        col = col_letter(self.flag_col)
        return [x for k, x in enumerate(self.instances) if values[f"{col}{FIRST + k + 1}"].value == 1]

    def flag_ref(self, k: int, relative_row: bool = False) -> str:
        col = col_letter(self.flag_col)
        row = FIRST + k + 1
        return quoted(LISTS_SHEET) + (f"${col}{row}" if relative_row else f"${col}${row}")


class _Renderer:
    def __init__(self, spec: FormSpec, n: dict, placed: dict, areas, lists: dict, base: int):
        from .profiles import load_profile, load_vocab

        self.spec, self.n, self.placed, self.areas, self.lists = spec, n, placed, areas, lists
        self.conf = load_selfcheck()
        self.profile = load_profile()
        self.vocab = load_vocab()
        self.plan = Plan(spec, base)
        self.form = quoted(spec.sheet)
        self.lsheet = quoted(LISTS_SHEET)
        self.next_col = base
        self.helpers: dict[str, dict[str, int]] = {}   # table key → helper name → list-sheet column
        self.words: dict[str, str] = {}

    # -- list-sheet columns --------------------------------------------------------------------

    def column(self, header: str) -> int:
        c = self.next_col
        self.next_col += 1
        self.plan.cells[(0, c)] = header
        return c

    def _words(self) -> None:
        h = self.spec.hierarchy
        lists = {"count_units": sorted(h.count_units) if h else [], "rate_bad_units": sorted(h.rate_bad_units) if h else [],
                 "cost": list(self.vocab.cost),
                 "pairs": [f"{a}|{b}" for a in h.level1 for b in h.level2(a)] if h else []}
        self.word_lists = lists
        for name, values in lists.items():
            c = self.column(name)
            for r, v in enumerate(values):
                self.plan.cells[(FIRST + r, c)] = v
            last = FIRST + max(len(values), 1) - 1
            self.words[name] = f"{local(FIRST, c)}:{local(last, c)}"

    # -- placeholders --------------------------------------------------------------------------

    def sub(self, text: str, ctx: dict) -> str:
        def one(m):
            name, arg = m.group(1), m.group(2)
            key = f"{name}:{arg}" if arg else name
            if key in ctx:
                return str(ctx[key])
            fn = getattr(self, f"_p_{name}", None)
            if fn is None:
                raise SpecError(f"{SELFCHECK_FILE}：未知的占位符 {{{key}}}")
            return str(fn(arg, ctx))
        return _PLACEHOLDER.sub(one, text)

    def _p_cell(self, arg, ctx):
        return ctx["_cell"]

    def _p_number(self, arg, ctx):
        return self.sub(self.conf.expressions["number"], ctx)

    def _p_year(self, arg, ctx):
        return self.sub(self.conf.expressions["year"], ctx)

    def _p_f(self, arg, ctx):
        f = self.spec.role(arg) or self.spec.field(arg)
        a = self.areas(f)
        return self.form + local(a.row, a.col)

    def _p_name(self, arg, ctx):
        return (self.spec.role(arg) or self.spec.field(arg)).name

    def _table(self, ctx) -> Table:
        t = ctx.get("_table")
        if t is None and self.spec.indicators is not None:   # a field's check: the indicator table
            t = self.placed[self.spec.indicators.key]
        if t is None:
            raise SpecError(f"{SELFCHECK_FILE}：表格占位符只能用于有表格的表单")
        return t

    def _col(self, t: Table, arg):
        c = t.by_role(arg)
        return c if c is not None else t.column(arg)

    def _p_c(self, arg, ctx):
        t = self._table(ctx)
        return self.form + local(ctx["_row"], self._col(t, arg).col)

    def _p_col(self, arg, ctx):
        return self._col(self._table(ctx), arg).name

    def _p_row(self, arg, ctx):
        t = self._table(ctx)
        cols = [c.col for c in t.columns] + [c.last for c in t.columns if c.last is not None]
        return f"{self.form}{local(ctx['_row'], min(cols))}:{local(ctx['_row'], max(cols))}"

    def _p_open(self, arg, ctx):
        return 1 if ctx["_i"] >= len(self._table(ctx).preprinted) else 0

    def _helper(self, ctx, arg) -> int:
        cols = self.helpers.get(self._table(ctx).key, {})
        if arg not in cols:
            raise SpecError(f"{SELFCHECK_FILE}：表格「{self._table(ctx).key}」没有辅助列 {arg}")
        return cols[arg]

    def _p_h(self, arg, ctx):
        return local(FIRST + ctx["_i"], self._helper(ctx, arg))

    def _p_prev(self, arg, ctx):
        return local(FIRST + ctx["_i"] - 1, self._helper(ctx, arg))

    def _p_all(self, arg, ctx):
        c = self._helper(ctx, arg)
        n = self.n[self._table(ctx).key]
        return f"{local(FIRST, c)}:{local(FIRST + n - 1, c)}"

    def _p_upto(self, arg, ctx):
        c = self._helper(ctx, arg)
        return f"{local(FIRST, c)}:{local(FIRST + ctx['_i'], c)}"

    def _p_table(self, arg, ctx):
        t = self._table(ctx)
        c = self._col(t, arg)
        n = self.n[t.key]
        return f"{self.form}{local(t.row(0), c.col)}:{local(t.row(n - 1), c.col)}"

    def _p_list(self, arg, ctx):
        name = LEVEL1_LIST if arg == "level1" else (arg or ctx.get("_list"))
        ref = self.lists.get(name)
        if ref is None:
            raise SpecError(f"{SELFCHECK_FILE}：没有下拉列表「{name}」")
        return ref.lstrip("=").split("!", 1)[-1].replace("$", "")   # on the list sheet itself

    def _p_words(self, arg, ctx):
        return self.words[arg]

    def _p_funds(self, arg, ctx):
        return f"{sum(f.value or 0 for f in self.spec.constants):g}"

    # -- helpers per table row -----------------------------------------------------------------

    def _table_helpers(self) -> None:
        conf = self.conf.helpers
        for t in self.spec.tables:
            t = self.placed[t.key]
            groups = [conf.all]
            if t.role == "indicators" and t.hierarchy and t.target is not None:
                groups.append(conf.indicators)
            names = [k for g in groups for k in g]
            self.helpers[t.key] = {k: self.column(f"{t.key}:{k}") for k in names}
            formulas = {k: v for g in groups for k, v in g.items()}
            for i in range(self.n[t.key]):
                ctx = {"_table": t, "_i": i, "_row": t.row(i)}
                for k in names:
                    self.plan.cells[(FIRST + i, self.helpers[t.key][k])] = "=" + self.sub(formulas[k], ctx)

    # -- instances -----------------------------------------------------------------------------

    def _applies(self, check, spec_checks) -> bool:
        if check.group and check.group not in spec_checks:
            return False
        return self.profile.severity(check.rule, BY_CODE[check.rule].severity) in SHOWN

    def _instances(self) -> list[Instance]:
        spec, out = self.spec, []
        for k, check in enumerate(self.conf.checks):
            if not self._applies(check, spec.checks):
                continue
            if any(not self.word_lists[w] for w in re.findall(r"\{words:([a-z_]+)\}", check.formula)):
                continue   # an empty word list (no cost words in review.toml): nothing to look up
            severity = self.profile.severity(check.rule, BY_CODE[check.rule].severity)
            if check.on == "field":
                for f in spec.fields:
                    if check.roles and f.role not in check.roles:
                        continue
                    if not check.roles and not f.is_input:
                        continue
                    if check.required is not None and f.required != check.required:
                        continue
                    if check.types and f.type not in check.types:
                        continue
                    if check.listed and not f.list:
                        continue
                    a = self.areas(f)
                    ctx = {"_cell": self.form + local(a.row, a.col), "_list": f.list}
                    words = {"ref": "{ref}", "n": "{n}", "label": f.name}
                    out.append(Instance(check.rule, severity, a1(a.row, a.col), self.sub(check.message, words),
                                        self.sub(check.formula, ctx), k, a.row, a.col))
                continue
            for t in spec.tables:
                t = self.placed[t.key]
                if check.hierarchy and not (t.role == "indicators" and t.hierarchy):
                    continue
                if check.parse and not (t.role == "indicators" and t.hierarchy and t.target is not None):
                    continue
                if check.on == "start":
                    if t.role != "indicators" or (check.required is not None and t.required != check.required):
                        continue
                    i = len(t.preprinted)
                    if i >= self.n[t.key]:
                        continue
                    c = t.columns[0]
                    ctx = {"_table": t, "_i": i, "_row": t.row(i), "_cell": self.form + local(t.row(i), c.col)}
                    words = {"ref": "{ref}", "n": "{n}", "table": t.label}
                    out.append(Instance(check.rule, severity, a1(t.row(i), c.col), self.sub(check.message, words),
                                        self.sub(check.formula, ctx), k, t.row(i), c.col, i, t.key))
                    continue
                for c in t.columns:
                    if check.roles and c.role not in check.roles:
                        continue
                    if check.not_roles and c.role in check.not_roles:
                        continue
                    if check.required is not None and c.required != check.required:
                        continue
                    if check.types and c.type not in check.types:
                        continue
                    if check.listed and (not c.list or c.cascade_from):
                        continue
                    start = len(t.preprinted) if check.open_rows else 0
                    for i in range(start, self.n[t.key]):
                        r = t.row(i)
                        ctx = {"_table": t, "_i": i, "_row": r, "_cell": self.form + local(r, c.col),
                               "_list": c.list}
                        words = {"ref": "{ref}", "n": "{n}", "label": c.name, "_table": t}
                        out.append(Instance(check.rule, severity, a1(r, c.col), self.sub(check.message, words),
                                            self.sub(check.formula, ctx), k, r, c.col, i, t.key))
        order = {s: i for i, s in enumerate(SHOWN)}
        return sorted(out, key=lambda x: order[x.severity])   # stable: file order, then cell order

    def run(self) -> Plan:
        plan = self.plan
        self._words()
        self._table_helpers()
        plan.instances = self._instances()
        plan.flag_col = flags = self.column("flag")
        for k, x in enumerate(plan.instances):
            plan.cells[(FIRST + k, flags)] = f"=IFERROR(IF({x.condition},1,0),0)"
        plan.groups = _groups(plan.instances)
        # One row per group (a check on one field, or on one table column): how many of its cells
        # are flagged, and its message at the first of them (with how many more).
        cols = {name: self.column(name) for name in GROUP_COLUMNS}
        also = self.conf.block.also
        for g, (a, b) in enumerate(plan.groups):
            r, x = FIRST + g, plan.instances[a]
            span = f"{local(FIRST + a, flags)}:{local(FIRST + b, flags)}"
            count = local(r, cols["count"])
            plan.cells[(r, cols["rule"])] = x.rule
            plan.cells[(r, cols["severity"])] = x.severity
            plan.cells[(r, cols["count"])] = f"=SUM({span})"
            plan.cells[(r, cols["run"])] = f"=N({local(r - 1, cols['run'])})+IF({count}>0,1,0)"
            # {n}: the row's number as validate counts it (filled rows only: helper "k")
            k = self.helpers.get(x.table, {}).get("k") if x.table else None
            y = plan.instances[b]
            rows = f"{local(FIRST + x.index, k)}:{local(FIRST + y.index, k)}" if k is not None else None
            if a == b:
                refs = {"ref": f'"{x.cell}"', "n": local(FIRST + x.index, k) if k is not None else str(x.index + 1)}
            else:
                first = f"MATCH(1,{span},0)"
                refs = {"ref": f'"{col_letter(x.col)}"&({x.row}+{first})',
                        "n": f"INDEX({rows},{first})" if rows else f"({x.index}+{first})"}
            text = _pieces(x.message, refs) + f'&IF({count}>1,{_pieces(also, {"n": count})},"")'
            plan.cells[(r, cols["message"])] = f'=IF({count}=0,"",{text})'
        last = FIRST + max(len(plan.groups), 1) - 1

        def rng(name):
            return f"{local(FIRST, cols[name])}:{local(last, cols[name])}"

        names, values = self.column("block"), self.column("value")
        conf = self.conf
        rows = {}
        for j, name in enumerate(BLOCK_NAMES + tuple(f"m{i + 1}" for i in range(conf.shown))):
            rows[name] = FIRST + j
            plan.cells[(FIRST + j, names)] = name
            plan.block[name] = self.lsheet + absolute(FIRST + j, values)
        here = {name: local(r, values) for name, r in rows.items()}
        plan.cells[(rows["errors"], values)] = f'=SUMIF({rng("severity")},"{ERROR}",{rng("count")})'
        plan.cells[(rows["warnings"], values)] = f'=SUMIF({rng("severity")},"{WARNING}",{rng("count")})'
        plan.cells[(rows["total"], values)] = f"={here['errors']}+{here['warnings']}"
        plan.cells[(rows["more"], values)] = (
            f'={here["total"]}-SUMIF({rng("run")},"<={conf.shown}",{rng("count")})')
        plan.cells[(rows["note"], values)] = conf.block.note
        for i in range(conf.shown):
            plan.cells[(rows[f"m{i + 1}"], values)] = (
                f"=IFERROR(INDEX({rng('message')},MATCH({i + 1},{rng('run')},0)),\"\")")
            plan.messages.append(plan.block[f"m{i + 1}"])
        return plan


def _groups(items: list[Instance]) -> list[tuple[int, int]]:
    """Runs of instances of one check on one table column, on consecutive rows: (first, last)
    index. A field is a group of its own (its message names it)."""
    out, k = [], 0
    while k < len(items):
        x, j = items[k], k
        while (j + 1 < len(items) and x.table is not None and items[j + 1].table == x.table
               and items[j + 1].check == x.check and items[j + 1].col == x.col
               and items[j + 1].row == items[j].row + 1):
            j += 1
        out.append((k, j))
        k = j + 1
    return out


_PLANS: dict[tuple, Plan] = {}


def plan(spec: FormSpec, n: dict, placed: dict, areas, lists: dict, base: int) -> Plan:
    """The live check of one form sheet: ``n`` rows and ``placed`` tables per table key (as the
    writer lays them out), ``areas(field)`` a field's area, ``lists`` the dropdown ranges by
    list name, ``base`` the first free column of the list sheet. The same layout gives the same
    plan: a batch of templates renders it once."""
    key = (spec.source, spec.kind, spec.variant, tuple(sorted(n.items())), tuple(sorted(lists.items())), base,
           selfcheck_path())
    got = _PLANS.get(key)
    if got is None:
        if len(_PLANS) > 16:
            _PLANS.clear()
        got = _PLANS[key] = _Renderer(spec, n, placed, areas, lists, base).run()
    return got


def plan_for(spec: FormSpec, values: dict | None = None, rows: int | None = None, carried=frozenset()) -> Plan:
    """The plan of the template :func:`xltools.template.template_bytes` writes for these
    arguments (which cell each flag of the list sheet stands for)."""
    import io

    from .template import ListSheet, SheetWriter, new_workbook

    wb = new_workbook(io.BytesIO())
    ws = wb.add_worksheet(spec.sheet)
    writer = SheetWriter(wb, spec, editable=True, lists=ListSheet(wb, spec))
    writer.write(ws, values, rows, carried)
    return writer.live


def _pieces(template: str, refs: dict) -> str:
    """A message template with {name} placeholders as a formula concatenation."""
    parts = []
    for i, piece in enumerate(re.split(r"\{([a-z_]+)\}", template)):
        if i % 2:
            parts.append(refs[piece])
        elif piece:
            parts.append('"' + piece.replace('"', '""') + '"')
    return "&".join(parts) or '""'


def block_formulas(p: Plan) -> tuple[str, str]:
    """The formulas of the block's two cells: the counts line, and the messages with the note."""
    conf = load_selfcheck()
    b = p.block
    counts = (f"=IF({b['total']}=0,{_pieces(conf.block.clean, {})},"
              f"{_pieces(conf.block.counts, {'errors': b['errors'], 'warnings': b['warnings']})})")
    lines = [p.messages[0]] + [f'IF({m}="","",CHAR(10)&{m})' for m in p.messages[1:]]
    more = f'IF({b["more"]}>0,CHAR(10)&{_pieces(conf.block.more, {"n": b["more"]})},"")'
    text = "=" + "&".join(lines + [more, f'IF({p.messages[0]}="","",CHAR(10))', b["note"]])
    return counts, text


def block_area(spec: FormSpec) -> tuple[int, int, int]:
    """(column, first message row, last message row), 0-based: the column right of the form; the
    counts in the title row, the messages merged down to the row above the first table."""
    col = len(spec.columns)
    top_tables = [t.header_row for t in spec.tables if not t.anchor]
    last = (min(top_tables) - 1) if top_tables else 10
    return col, 1, max(last, 2)


# ---------------------------------------------------------------------------------------------
# Writing


def _as_written(formula: str, expand_future_functions: bool = False) -> str:
    return formula[1:] if formula.startswith("=") else formula


def render(writer, ws) -> Plan:
    """Write the live check of the form ``writer`` (a template's :class:`~xltools.template.SheetWriter`,
    after its cells) has just laid out on ``ws``."""
    lists = writer.lists
    spec = writer.spec
    p = plan(spec, writer.n, writer.placed, writer._area, lists.ranges, lists.width + 1)
    wb, lws = writer.wb, lists.ws
    # Every formula here uses only the functions of tests/test_livecheck.py's list (no "future"
    # function needs xlsxwriter's _xlfn. prefix): skip its ~30 regex passes per formula on this
    # sheet, which holds only the lists and these cells (a tenth of a second per template).
    lws._prepare_formula = _as_written
    for (r, c), v in sorted(p.cells.items()):
        if isinstance(v, str) and v.startswith("="):
            lws.write_formula(r, c, v, None, "")   # no cached result: every client computes it on load
        elif isinstance(v, (int, float)):
            lws.write_number(r, c, v)
        else:
            lws.write_string(r, c, v)
    fmts = {s: wb.add_format({"bg_color": SEVERITY_COLOURS[s][0], "font_color": SEVERITY_COLOURS[s][1]})
            for s in SHOWN}
    for a, b in p.groups:   # one format per group: a check on one field, or on one table column
        x, y = p.instances[a], p.instances[b]
        ws.conditional_format(x.row, x.col, y.row, x.col, {
            "type": "formula", "criteria": f"={p.flag_ref(a, relative_row=True)}=1", "format": fmts[x.severity]})
    col, top, bottom = block_area(spec)
    conf = load_selfcheck()
    ws.set_column(col, col, conf.width)
    counts, text = block_formulas(p)
    bold = wb.add_format({"bold": True, "font_size": 11, "valign": "vcenter", "text_wrap": True, "border": 1})
    body = wb.add_format({"font_size": 9, "valign": "top", "text_wrap": True, "border": 1})
    ws.write_formula(0, col, counts, bold, "")
    ws.merge_range(top, col, bottom, col, "", body)
    ws.write_formula(top, col, text, body, "")
    for s in SHOWN:
        ws.conditional_format(0, col, 0, col, {"type": "formula", "format": fmts[s],
                                               "criteria": f"={p.block[s + 's']}>0"})
    return p
