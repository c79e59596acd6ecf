"""The 审核报告 (issue 15, part 2): ``xltools validate PATH... --report 审核报告.xlsx``.

Three sheets from one :class:`~xltools.validate.Report`:

- 汇总: one row per form (and per unreadable file): the file, the form's unit and name (the
  fields of the spec's roles ``unit`` and ``name``), the kind's name, its status (通过 / 有警告 /
  退回 / 无法读取), its 审核结论 and the counts of 错误, 警告 and 提示 (and of 已说明 findings,
  when the run accepted some: they are listed, never counted);
- 明细: every finding (file, sheet, cell, severity, rule, message), the accepted ones marked
  已说明 with their note;
- 规则统计: per rule and severity, how many findings and in how many files.

Every sheet names the profile at the top, has its header frozen with an autofilter, wraps long
text with row heights to match (:mod:`xltools.layout`), and prints A4 landscape, one page wide,
the header on every page. Text is written as text (``write_string``): a value that looks like a
formula or a link stays what it is. :func:`write_tables` is shared with the 报送台账
(:mod:`xltools.status`).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .rules import BY_CODE, ERROR, INFO, SEVERITIES, SEVERITY_COLOURS, SEVERITY_NAMES, WARNING

# A form's status in the reports, from its counts (as the closing line of validate counts).
PASSED, WARNED, RETURNED, UNREADABLE = "通过", "有警告", "退回", "无法读取"
ACCEPTED = "已说明"
STATUS_SEVERITY = {RETURNED: ERROR, UNREADABLE: ERROR, WARNED: WARNING}

FONT = 10.0
CELL_FONT, TITLE_FONT = "宋体", "黑体"   # as the 汇总表 (xltools.merge)
MARGIN = 0.4           # inches, left and right
TOP, BOTTOM = 0.6, 0.6
MAX_TEXT = 32767       # Excel's longest cell text


def form_status(errors: int, warnings: int) -> str:
    return RETURNED if errors else WARNED if warnings else PASSED


# ---------------------------------------------------------------------------------------------
# A sheet as data: headers, rows and the cells to colour


@dataclass
class Column:
    header: str
    kind: str = "text"      # text | count
    cap: float = 30.0       # widest natural width (characters); longer text wraps
    floor: float = 4.0


@dataclass
class Table:
    """One sheet of a report: ``rows`` of values under ``columns``; ``colours`` maps
    (row index, column index) to the severity whose colours the cell gets."""

    name: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    colours: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def column(self, header: str) -> int:
        return self.headers.index(header)


# ---------------------------------------------------------------------------------------------
# The 审核报告's three tables


def _accepted(report) -> list:
    return list(getattr(report, "accepted", None) or [])


def _role_header(specs, role: str) -> str | None:
    names = list(dict.fromkeys(f.name for s in specs if (f := s.role(role)) is not None))
    return "／".join(names) if names else None


def form_identity(form, role: str):
    """The value of a form's field with ``role`` (unit, name, dept, year), or None."""
    v = form.spec.value(form.data, role) if form is not None else None
    return None if v in (None, "") else v


def _per_form(report, findings) -> dict[tuple, int]:
    """How many of ``findings`` fall on each (file, sheet) of the report (a finding of the whole
    file counts for each form in it, as in ``Report.summaries``)."""
    keys = {(f.file, f.sheet) for f in report.forms} | {(u.path, None) for u in report.unreadable}
    by_file: dict[str, list] = defaultdict(list)
    for k in keys:
        by_file[k[0]].append(k)
    out: Counter = Counter()
    for f in findings:
        for k in [(f.file, f.sheet)] if (f.file, f.sheet) in keys else by_file.get(f.file, []):
            out[k] += 1
    return out


def summary_table(report) -> Table:
    forms = {(f.file, f.sheet): f for f in report.forms}
    specs = list({id(f.spec): f.spec for f in report.forms}.values())
    unit_h, name_h = _role_header(specs, "unit"), _role_header(specs, "name")
    accepted = _accepted(report)
    why = {u.path: u.message for u in report.unreadable}
    cols = [Column("序号", "count"), Column("文件", cap=40), Column("工作表", cap=16)]
    cols += [Column(unit_h, cap=30)] if unit_h else []
    cols += [Column(name_h, cap=30)] if name_h else []
    cols += [Column("表单类型", cap=24), Column("状态", cap=8), Column("审核结论", cap=8),
             Column("结论说明", cap=30), Column("错误", "count"), Column("警告", "count"), Column("提示", "count")]
    cols += [Column(ACCEPTED, "count")] if accepted else []
    table = Table("汇总", cols)
    n_accepted = _per_form(report, [a.finding for a in accepted])
    for i, s in enumerate(report.summaries(), start=1):
        key = (s["file"], s["sheet"])
        form = forms.get(key)
        status = UNREADABLE if form is None and s["file"] in why else form_status(s["errors"], s["warnings"])
        row = [i, s["file"], s["sheet"] or ""]
        row += [form_identity(form, "unit") or ""] if unit_h else []
        row += [form_identity(form, "name") or ""] if name_h else []
        row += [form.spec.name if form is not None else "", status, s["conclusion"],
                why.get(s["file"], s["meaning"]) if form is None else s["meaning"],
                s["errors"], s["warnings"], s["infos"]]
        row += [n_accepted.get(key, 0)] if accepted else []
        table.rows.append(row)
        if status in STATUS_SEVERITY:
            table.colours[(len(table.rows) - 1, table.column("状态"))] = STATUS_SEVERITY[status]
    return table


def _ordered(report) -> list[tuple[object, object]]:
    """(finding, accepted note or None) for every finding and every accepted one, in report order."""
    from .validate import sort_findings

    notes = {id(a.finding): a.note for a in _accepted(report)}
    every = list(report.findings) + [a.finding for a in _accepted(report)]
    return [(f, notes.get(id(f))) for f in sort_findings(every, list(report.files))] if notes else \
        [(f, None) for f in report.findings]


def details_table(report) -> Table:
    accepted = bool(_accepted(report))
    cols = [Column("序号", "count"), Column("文件", cap=36), Column("工作表", cap=14), Column("单元格", cap=10),
            Column("级别", cap=6), Column("规则", cap=22), Column("审核意见", cap=60, floor=20)]
    cols += [Column("处理", cap=8), Column("说明", cap=30)] if accepted else []
    table = Table("明细", cols)
    sev_col = table.column("级别")
    for i, (f, note) in enumerate(_ordered(report), start=1):
        row = [i, f.file, f.sheet or "", f.cell or "", SEVERITY_NAMES.get(f.severity, f.severity), f.rule, f.message]
        row += ([ACCEPTED, note or ""] if note is not None else ["", ""]) if accepted else []
        table.rows.append(row)
        if note is None and f.severity in SEVERITY_COLOURS:
            table.colours[(len(table.rows) - 1, sev_col)] = f.severity
    return table


def rule_title(code: str, example=None) -> str:
    """A few Chinese words for a rule: the start of its message template up to the first clause
    break, its ``…_label`` placeholders filled from an example finding's parameters (the form's
    own words: 三级指标, 指标值), the other placeholders as … (duplicate-indicator →
    三级指标「…」在二级指标「…」下重复出现)."""
    rule = BY_CODE.get(code)
    params = example.parameters if example is not None else {}
    if rule is None:
        text = example.message if example is not None else code
    else:
        text = re.sub(r"\{(\w+_label)\}", lambda m: str(params.get(m.group(1)) or "{}"), rule.value.template)
    words = re.sub(r"…+", "…", re.sub(r"\{[^}]*\}", "…", text))
    head = words.strip()
    for m in re.finditer(r"[，；。：（]", words):   # the first clause break with words before it
        cut = words[:m.start()].strip()
        if len(re.sub(r"[…「」（）]", "", cut)) >= 2:
            head = cut
            break
    return head[:40] + ("…" if len(head) > 40 else "")


def rules_table(report) -> Table:
    cols = [Column("规则", cap=24), Column("规则说明", cap=40, floor=16), Column("级别", cap=6),
            Column("条数", "count"), Column("文件数", "count")]
    table = Table("规则统计", cols)
    counts: Counter = Counter()
    files: dict[tuple, set] = defaultdict(set)
    example: dict[str, object] = {}
    for f in report.findings:
        counts[(f.rule, f.severity)] += 1
        files[(f.rule, f.severity)].add(f.file)
        example.setdefault(f.rule, f)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    for (code, sev), n in sorted(counts.items(), key=lambda kv: (rank.get(kv[0][1], 9), -kv[1], kv[0][0])):
        table.rows.append([code, rule_title(code, example[code]), SEVERITY_NAMES.get(sev, sev), n,
                           len(files[(code, sev)])])
        if sev in SEVERITY_COLOURS:
            table.colours[(len(table.rows) - 1, 2)] = sev
    return table


def report_tables(report) -> list[Table]:
    return [summary_table(report), details_table(report), rules_table(report)]


def report_note(report) -> str:
    """The line under the title: the profile, what was read, the counts, when."""
    p = report.profile
    parts = [f"审核规则：{p.label}" if p is not None else "审核规则：默认"]
    parts.append(f"{len(report.files):,} 个文件、{len(report.forms):,} 个表单")
    counts = Counter(f.severity for f in report.findings)
    parts.append("，".join(f"{SEVERITY_NAMES[s]} {counts.get(s, 0):,} 条" for s in (ERROR, WARNING, INFO)))
    if _accepted(report):
        parts.append(f"{ACCEPTED} {len(_accepted(report)):,} 条（不计入）")
    parts.append(f"生成于 {dt.datetime.now():%Y-%m-%d %H:%M}")
    return "；".join(parts)


# ---------------------------------------------------------------------------------------------
# Writing


def _widths(table: Table) -> list[float]:
    """Natural widths (the longest value within each column's cap), narrowed to print landscape
    A4 one page wide at about 100 %."""
    from .layout import A4, PRINT_PX_PAD, PRINT_PX_PER_CHAR, fit_widths, natural_width

    natural, minimum = [], []
    for c, col in enumerate(table.columns):
        values = [row[c] for row in table.rows]
        if col.kind == "count":
            w = max(natural_width([col.header], 10.0), natural_width(values, 10.0), 5.0)
            natural.append(w)
            minimum.append(w)
        else:
            w = natural_width(values + [col.header], col.cap, col.floor)
            natural.append(w)
            minimum.append(min(w, max(col.floor, 8.0)))
    budget = ((A4[1] - 2 * MARGIN * 72) / 0.75 - len(natural) * PRINT_PX_PAD) / PRINT_PX_PER_CHAR
    return fit_widths(natural, minimum, budget)


def _formats(wb) -> dict:
    base = {"font_name": CELL_FONT, "font_size": FONT, "valign": "top", "border": 1}
    fmt = {"title": wb.add_format({"font_name": TITLE_FONT, "bold": True, "font_size": 14}),
           "note": wb.add_format({"font_name": CELL_FONT, "font_size": FONT, "text_wrap": True, "valign": "top"}),
           "header": wb.add_format({**base, "bold": True, "bg_color": "#D9D9D9", "text_wrap": True,
                                    "valign": "vcenter", "align": "center"}),
           "text": wb.add_format({**base, "text_wrap": True}),
           "count": wb.add_format({**base, "num_format": "0"})}
    for sev, (fill, font) in SEVERITY_COLOURS.items():
        fmt[("text", sev)] = wb.add_format({**base, "text_wrap": True, "bg_color": fill, "font_color": font,
                                            "bold": sev == ERROR})
        fmt[("count", sev)] = wb.add_format({**base, "num_format": "0", "bg_color": fill, "font_color": font})
    return fmt


def _write_table(wb, table: Table, title: str, note: str, fmt: dict) -> None:
    from .layout import CELL_PAD_PX, SAFETY, Heights, text_height, text_pixels

    ws = wb.add_worksheet(table.name)
    widths = _widths(table)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    heights = Heights(widths)
    pixels = [heights.pixels(c, c) for c in range(len(widths))]
    one_line = text_height("x", 1000.0, FONT)
    # A text surely on one line (every character as wide as a CJK one) needs no wrapping estimate;
    # the others are estimated once per (text, column): file names repeat on every row of a file.
    short = [int((p - CELL_PAD_PX) * SAFETY / text_pixels(2, FONT)) for p in pixels]
    memo: dict[tuple[str, int], float] = {}

    def need(text: str, c: int) -> float:
        if len(text) <= short[c] and "\n" not in text:
            return one_line
        key = (text, c)
        if key not in memo:
            memo[key] = text_height(text, pixels[c], FONT)
        return memo[key]

    n = len(table.columns)
    ws.merge_range(0, 0, 0, n - 1, title, fmt["title"])
    heights.at_least(0, 22)
    ws.merge_range(1, 0, 1, n - 1, note, fmt["note"])
    heights.text(1, 0, 1, n - 1, note, FONT)
    head = 2
    for c, h in enumerate(table.headers):
        ws.write_string(head, c, h, fmt["header"])
        heights.text(head, c, head, c, h, FONT)
    for i, row in enumerate(table.rows):
        r = head + 1 + i
        for c, (col, value) in enumerate(zip(table.columns, row)):
            sev = table.colours.get((i, c))
            if col.kind == "count" and isinstance(value, (int, float)) and not isinstance(value, bool):
                ws.write_number(r, c, value, fmt[("count", sev)] if sev else fmt["count"])
            else:
                text = "" if value is None else str(value)[:MAX_TEXT]
                ws.write_string(r, c, text, fmt[("text", sev)] if sev else fmt["text"])
                if text:
                    heights.at_least(r, need(text, c))
    last = head + len(table.rows)
    ws.freeze_panes(head + 1, 0)
    ws.autofilter(head, 0, max(last, head + 1), len(table.columns) - 1)
    heights.apply(ws)
    ws.set_landscape()
    ws.set_paper(9)   # A4
    ws.set_margins(left=MARGIN, right=MARGIN, top=TOP, bottom=BOTTOM)
    ws.fit_to_pages(1, 0)   # one page wide, as many long as it takes
    ws.repeat_rows(head, head)
    ws.set_footer("&C第 &P 页，共 &N 页")


def tables_bytes(tables: list[Table], title: str, note: str) -> bytes:
    """An .xlsx of ``tables``, one sheet each, with ``title`` and ``note`` on top of every sheet."""
    import xlsxwriter

    from .template import WORKBOOK_OPTIONS  # every string a string; Arial 10, as wide in Excel as in LibreOffice

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, dict(WORKBOOK_OPTIONS, in_memory=True))
    wb.set_properties({"title": title, "comments": note})
    fmt = _formats(wb)
    for table in tables:
        _write_table(wb, table, title, note, fmt)
    wb.close()
    return buf.getvalue()


def write_tables(path: str | Path, tables: list[Table], title: str, note: str) -> Path:
    """Write the workbook atomically (:mod:`xltools.fsutil`); the caller checked the target."""
    from .fsutil import atomic_write_bytes

    path = Path(path)
    atomic_write_bytes(path, tables_bytes(tables, title, note))
    return path


def check_report_target(path: str | Path, inputs, force: bool = False) -> Path:
    """Before any work: the report ends in .xlsx, is not an input, does not sit in an input folder
    (the next run would read it as a submission), and replaces nothing without ``force``."""
    from .errors import UsageError
    from .fsutil import check_targets

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise UsageError(f"报告文件须以 .xlsx 结尾：{path}")
    target = path.resolve()
    for i in inputs:
        i = Path(i)
        if i.is_dir() and i.resolve() in target.parents:
            raise UsageError(f"报告 {path} 不能写在要审核的文件夹 {i} 里（下次审核时会被当作收到的表读取），"
                             "请换一个位置。")
    check_targets([path], [i for i in map(Path, inputs) if not i.is_dir()], force=force)
    return path


def write_audit_report(report, path: str | Path) -> Path:
    """Write the 审核报告 of ``report`` to ``path`` (.xlsx)."""
    return write_tables(path, report_tables(report), "审核报告", report_note(report))
