"""The 报送台账 (issue 15, part 4): ``xltools status PATH... --expected 单位清单.csv``.

The roster is the CSV that ``template --batch`` reads (:func:`xltools.template.read_units_csv`,
columns :func:`~xltools.template.roster_columns`: the fields with the roles unit and dept, and
name where the kind has one). Every form read (and validated, as ``validate`` does) is matched to a
roster row by its unit and, where the row names one, its name — both compared normalised: spaces
dropped, full-width letters and brackets as half-width, quotes alike, and the suffixes the batch
rules know (``(汇总)``, ``schemas/review.toml`` ``name_suffixes``) dropped. Each row gets one status:

- 未报送: no form;
- 已报送·通过 / 已报送·有警告 / 已报送·退回: by the findings of its forms (accepted ones, which
  are not in ``report.findings``, never count);
- 重复报送: two or more forms of one project (or of one unit, for a unit-level kind), the files named;

and every form that matches no row is listed as 不在清单, every file that cannot be read as
无法读取. A roster row without a name (a roster of units only) takes all the forms of its unit.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MissingPath, UsageError
from .rules import ERROR, INFO, WARNING, Rule

MISSING, PASSED, WARNED, RETURNED = "未报送", "已报送·通过", "已报送·有警告", "已报送·退回"
DUPLICATE, UNLISTED, UNREADABLE = "重复报送", "不在清单", "无法读取"
STATUS_SEVERITY = {MISSING: ERROR, RETURNED: ERROR, UNREADABLE: ERROR, DUPLICATE: WARNING, WARNED: WARNING,
                   UNLISTED: INFO}
MAX_ROSTER = 20 * 1024 * 1024


@dataclass
class Entry:
    """One row of the 台账: a roster row (``line`` its line in the CSV), a form not on the list,
    or a file that could not be read."""

    unit: str = ""
    name: str = ""
    status: str = MISSING
    line: int | None = None
    files: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    conclusion: str = ""
    verdict: str = ""        # 通过 / 有警告 / 退回 of what was reported (a duplicate's too)
    note: str = ""


@dataclass
class StatusResult:
    spec: object                     # the FormSpec of the kind checked
    roster: Path
    entries: list[Entry]
    report: object                   # the validate Report of the forms read
    other_kinds: list[tuple[str, str]] = field(default_factory=list)   # (file, kind name) not checked
    notices: list[str] = field(default_factory=list)

    def of(self, *statuses: str) -> list[Entry]:
        return [e for e in self.entries if e.status in statuses]

    @property
    def expected(self) -> list[Entry]:
        return [e for e in self.entries if e.line is not None]

    @property
    def counts(self) -> dict[str, int]:
        listed = self.expected
        reported = [e for e in listed if e.status != MISSING]
        return {"应报": len(listed), "已报": len(reported),
                "通过": sum(e.verdict == PASSED for e in reported),
                "有警告": sum(e.verdict == WARNED for e in reported),
                "退回": sum(e.verdict == RETURNED for e in reported),
                "未报": len(listed) - len(reported), "重复": sum(e.status == DUPLICATE for e in listed),
                "不在清单": len(self.of(UNLISTED)), "无法读取": len(self.of(UNREADABLE))}

    def closing_line(self) -> str:
        """应报 40，已报 35（通过 28，有警告 4，退回 3），未报 5，重复 1，不在清单 2"""
        c = self.counts
        line = (f"应报 {c['应报']:,}，已报 {c['已报']:,}（通过 {c['通过']:,}，有警告 {c['有警告']:,}，退回 {c['退回']:,}），"
                f"未报 {c['未报']:,}，重复 {c['重复']:,}，不在清单 {c['不在清单']:,}")
        return line + (f"，无法读取 {c['无法读取']:,}" if c["无法读取"] else "")

    @property
    def exit_code(self) -> int:
        """0 when every row reported and none returned; 1 when some are missing, returned or sent
        twice; 2 when a file could not be read (as validate)."""
        if self.of(UNREADABLE):
            return 2
        c = self.counts
        return 1 if c["未报"] or c["退回"] or c["重复"] else 0


# ---------------------------------------------------------------------------------------------
# Names compared as the batch rules compare them


def _suffix_re():
    from .profiles import load_vocab

    suffixes = load_vocab().name_suffixes
    return re.compile(r"\((?:" + "|".join(map(re.escape, suffixes)) + r")\)$") if suffixes else None


def normal(text, suffix_re=None) -> str:
    """A unit's or project's name for matching: full-width as half-width (NFKC), no spaces,
    quotes alike, a known suffix such as (汇总) dropped (as xltools.batchrules compares them)."""
    from .batchrules import _normal

    if text in (None, ""):
        return ""
    return _normal(unicodedata.normalize("NFKC", str(text)), suffix_re)


# ---------------------------------------------------------------------------------------------
# The roster


def _sniff(path: Path) -> str | None:
    """What a file that is not a CSV is, from its first bytes (None: it may be one)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"%PDF"):
        return "PDF 文件"
    if head.startswith(b"PK\x03\x04"):
        return "Excel 工作簿（.xlsx）或压缩文件"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "旧版 Excel（.xls）或 Word 文件"
    if b"\x00" in head:
        return "二进制文件"
    return None


def load_roster(path: str | Path, spec) -> list[tuple[int, dict]]:
    """The rows of a roster CSV as (row number among its unit rows, field key → value). Raises
    UsageError (exit 2) with a Chinese message: not a CSV (a PDF, a workbook), a column missing,
    an empty unit, no row at all."""
    from .template import read_units_csv, roster_columns

    path = Path(path)
    if not path.exists():
        raise MissingPath([path])
    if path.is_dir():
        raise UsageError(f"单位清单应为 CSV 文件，{path} 是文件夹。")
    what = _sniff(path)
    required, optional = roster_columns(spec)
    example = ",".join(required + optional)
    if what is not None:
        raise UsageError(f"单位清单须为 CSV 文件（逗号分隔的文本），{path} 是{what}；"
                         f"请在 Excel 中“另存为” CSV UTF-8（逗号分隔），第一行为列名，如：{example}")
    if path.stat().st_size > MAX_ROSTER:
        raise UsageError(f"{path} 超过 {MAX_ROSTER // (1024 * 1024)} MB，不像是一份单位清单。")
    rows = read_units_csv(path, spec)
    return list(enumerate(rows, start=1))


# ---------------------------------------------------------------------------------------------
# Matching


def _form_counts(report, exclude: tuple[str, ...] = ()) -> dict[tuple, list[int]]:
    """(file, sheet) → [errors, warnings, infos] of its findings (a finding of the whole file
    counts for each form in it), without the rules in ``exclude``."""
    keys = [(f.file, f.sheet) for f in report.forms]
    out = {k: [0, 0, 0] for k in keys}
    by_file: dict[str, list] = defaultdict(list)
    for k in keys:
        by_file[k[0]].append(k)
    slot = {ERROR: 0, WARNING: 1, INFO: 2}
    for f in report.findings:
        if f.rule in exclude or f.severity not in slot:
            continue
        for k in [(f.file, f.sheet)] if (f.file, f.sheet) in out else by_file.get(f.file, []):
            out[k][slot[f.severity]] += 1
    return out


def _verdict(errors: int, warnings: int) -> str:
    return RETURNED if errors else WARNED if warnings else PASSED


def _fill(entry: Entry, forms: list, counts: dict, profile) -> None:
    """Counts, verdict and 审核结论 of what ``forms`` reported (the worst of them)."""
    per = [counts[(f.file, f.sheet)] for f in forms]
    entry.errors, entry.warnings, entry.infos = (sum(c[i] for c in per) for i in range(3))
    entry.verdict = max((_verdict(e, w) for e, w, _ in per), key=[PASSED, WARNED, RETURNED].index)
    rank = {g.grade: i for i, g in enumerate(profile.grades)}
    grades = [profile.conclude(*c).grade for c in per]
    entry.conclusion = min(grades, key=lambda g: rank.get(g, len(rank)))   # the first (worst) grade reached
    entry.files = list(dict.fromkeys(f.file for f in forms))


def _where(form) -> str:
    return form.file if not form.sheet else f"{form.file}（{form.sheet}）"


def match(spec, roster: list[tuple[int, dict]], report) -> tuple[list[Entry], list[str]]:
    """The 台账 entries of ``roster`` against the forms of ``report`` that are of ``spec``'s kind."""
    from .profiles import load_profile

    profile = report.profile if report.profile is not None else load_profile()
    suffix_re = _suffix_re()
    unit_f, name_f = spec.role("unit"), spec.role("name")
    notices: list[str] = []
    entries: list[Entry] = []
    named: dict[tuple[str, str], Entry] = {}
    unnamed: dict[str, Entry] = {}
    for line, row in roster:
        unit = row.get(unit_f.key, "") if unit_f else ""
        name = row.get(name_f.key, "") if name_f else ""
        key = (normal(unit, suffix_re), normal(name, suffix_re))
        seen = named.get(key) if key[1] else unnamed.get(key[0])
        if seen is not None:
            what = "、".join(v for v in (unit, name) if v)
            notices.append(f"单位清单的第 {line} 项（{what}）与第 {seen.line} 项相同，按一项计。")
            continue
        entry = Entry(unit=unit, name=name, line=line)
        entries.append(entry)
        if key[1]:
            named[key] = entry
        else:
            unnamed[key[0]] = entry
    got: dict[int, list] = defaultdict(list)
    unlisted: list[tuple[object, str]] = []
    listed_units = {u for u, _ in named} | set(unnamed)
    for form in report.forms:
        if form.kind != spec.kind:
            continue
        unit = normal(form.spec.value(form.data, "unit") if unit_f else "", suffix_re)
        name = normal(form.spec.value(form.data, "name") if name_f else "", suffix_re)
        entry = named.get((unit, name)) if name else None
        entry = entry or unnamed.get(unit)
        if entry is None:
            why = ""
            if unit in listed_units and name_f is not None:
                why = f"{unit_f.name}在清单上，{name_f.name}「{form.spec.value(form.data, 'name') or ''}」不在清单上"
            unlisted.append((form, why))
        else:
            got[id(entry)].append(form)
    counts = _form_counts(report)
    without_dup = _form_counts(report, exclude=(Rule.DUPLICATE_PROJECT.code,))
    for entry in entries:
        forms = got.get(id(entry), [])
        if not forms:
            continue
        groups: dict[tuple, list] = defaultdict(list)   # one project (name and year) sent more than once
        for f in forms:
            groups[(normal(f.spec.value(f.data, "name") if name_f else "", suffix_re),
                    f.spec.value(f.data, "year"))].append(f)
        twice = [g for g in groups.values() if len(g) > 1]
        if twice:
            _fill(entry, forms, without_dup, profile)
            entry.status = DUPLICATE
            entry.note = "；".join(
                (f"同一{spec.short_name} {len(g)} 份" if entry.name or name_f is None else
                 f"「{g[0].spec.value(g[0].data, 'name') or ''}」{len(g)} 份") + "（见文件）" for g in twice)
            if len({f.file for f in forms}) < len(forms):   # sheets of one workbook (a 汇总表): name them
                entry.files = list(dict.fromkeys(_where(f) for f in forms))
        else:
            _fill(entry, forms, counts, profile)
            entry.status = entry.verdict
            if len(forms) > 1:
                entry.note = f"收到 {len(forms)} 份"
    for form, why in unlisted:
        e = Entry(unit=(form.spec.value(form.data, "unit") or "") if unit_f else "",
                  name=(form.spec.value(form.data, "name") or "") if name_f else "", status=UNLISTED, note=why)
        _fill(e, [form], counts, profile)
        entries.append(e)
    for bad in report.unreadable:
        entries.append(Entry(status=UNREADABLE, files=[bad.path], errors=1, conclusion=profile.conclude(1, 0, 0).grade,
                             note=bad.message))
    return entries, notices


def _kind_of(report, kind: str | None):
    from .spec import load_spec

    if kind is not None:
        return load_spec(kind)
    present = list(dict.fromkeys(f.kind for f in report.forms))
    if len(present) == 1:
        return load_spec(present[0])
    if not present:
        raise UsageError("没有读到任何表单，无法判断表单类型；请用 --kind 指明，如 --kind project-target。")
    names = "、".join(f"{k}（{load_spec(k).name}）" for k in present)
    raise UsageError(f"收到的表有多种类型：{names}；请用 --kind 指明要按单位清单核对哪一种。")


def status_paths(paths, expected: str | Path, *, kind: str | None = None, profile=None,
                 progress=None, accepted=None) -> StatusResult:
    """Read and validate the forms under ``paths`` and match them to the roster ``expected``.
    ``kind``: which kind's forms and roster columns (default: the one kind among the forms).
    ``accepted``: an :class:`xltools.accepted.AcceptedList`; a form whose warnings are all
    accepted counts as 通过. Raises UsageError for a bad roster or an ambiguous kind."""
    from .fsutil import same_file
    from .read import expand_paths
    from .spec import load_spec
    from .validate import validate_paths

    expected = Path(expected)
    roster = load_roster(expected, load_spec(kind)) if kind is not None else None
    if roster is None and not expected.exists():
        raise MissingPath([expected])
    inputs = expand_paths(paths)
    inputs.items = [it for it in inputs.items if not same_file(it[1], expected)]   # the roster in the inbox
    report = validate_paths(inputs, progress=progress, profile=profile, accepted=accepted)
    spec = _kind_of(report, kind)
    if roster is None:
        roster = load_roster(expected, spec)
    entries, notices = match(spec, roster, report)
    others = [(f.file, f.spec.name) for f in report.forms if f.kind != spec.kind]
    return StatusResult(spec, expected, entries, report, others, notices)


def to_chase(result: StatusResult) -> StatusResult:
    """Only the rows someone must act on: not reported, returned, sent twice, unreadable."""
    from dataclasses import replace

    return replace(result, entries=[e for e in result.entries if e.status in (MISSING, RETURNED, DUPLICATE, UNREADABLE)])


# ---------------------------------------------------------------------------------------------
# Output: the table as rows, as plain text, on a terminal (rich), as a workbook


def table_columns(spec) -> list[str]:
    heads = ["序号"] + [f.name for r in ("unit", "name") if (f := spec.role(r))]
    return heads + ["状态", "审核结论", "错误", "警告", "提示", "说明", "文件"]


def table_rows(result: StatusResult) -> list[list]:
    has_name = result.spec.role("name") is not None
    out = []
    for i, e in enumerate(result.entries, start=1):
        row = [i, e.unit] + ([e.name] if has_name else [])
        reported = e.status not in (MISSING,)
        row += [e.status, e.conclusion, *((e.errors, e.warnings, e.infos) if reported else ("", "", "")),
                e.note, "\n".join(e.files)]
        out.append(row)
    return out


def plain_table(result: StatusResult) -> str:
    """The 台账 as aligned plain text (CJK counts double); the files unpadded at the end."""
    from .layout import display_width

    heads = table_columns(result.spec)
    rows = [[str(v).replace("\n", "、") for v in r] for r in table_rows(result)]
    pad_cols = len(heads) - 1
    widths = [max(display_width(x) for x in [heads[c]] + [r[c] for r in rows]) for c in range(pad_cols)]

    def line(cells: list[str]) -> str:
        parts = [c + " " * int(widths[i] - display_width(c)) if i < pad_cols else c for i, c in enumerate(cells)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(heads)] + [line(r) for r in rows])


def rich_table(result: StatusResult):
    """The 台账 as a rich Table, the status cells in the severity colours."""
    from rich.table import Table

    from .termcolour import rich_style

    status_col = table_columns(result.spec).index("状态")
    table = Table(show_lines=False, header_style="bold")
    short = ("序号", "错误", "警告", "提示", "状态", "审核结论")   # never wrapped; the texts wrap instead
    for h in table_columns(result.spec):
        table.add_column(h, justify="right" if h in ("序号", "错误", "警告", "提示") else "left",
                         no_wrap=h in short, overflow="fold")
    for e, row in zip(result.entries, table_rows(result)):
        cells = [str(v) for v in row]
        sev = STATUS_SEVERITY.get(e.status)
        if sev:
            from rich.text import Text

            cells[status_col] = Text(cells[status_col], style=rich_style(sev))
        table.add_row(*cells)
    return table


def write_status_report(result: StatusResult, path: str | Path) -> Path:
    from .audit import Column, Table, write_tables

    heads = table_columns(result.spec)
    caps = {"序号": 5, "状态": 12, "审核结论": 8, "文件": 40, "说明": 30}
    cols = [Column(h, "count" if h in ("序号", "错误", "警告", "提示") else "text", cap=caps.get(h, 30)) for h in heads]
    table = Table("报送台账", cols, table_rows(result))
    status_col = heads.index("状态")
    for i, e in enumerate(result.entries):
        if e.status in STATUS_SEVERITY:
            table.colours[(i, status_col)] = STATUS_SEVERITY[e.status]
    p = result.report.profile
    note = "；".join([f"审核规则：{p.label}" if p is not None else "审核规则：默认", f"表单类型：{result.spec.name}",
                     f"单位清单：{result.roster}", result.closing_line(), _now()])
    return write_tables(path, [table], "报送台账", note)


def _now() -> str:
    import datetime as dt

    return f"生成于 {dt.datetime.now():%Y-%m-%d %H:%M}"
