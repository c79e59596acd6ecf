"""Accepted warnings (issue 15, 出错说明): `xltools validate … --accepted 已确认.csv`.

A unit may answer a warning instead of changing the value (the 部门决算 habit: it writes its
reason into the form's 填报说明, role "remark"). The coordinator who agrees lists the warning once
in a CSV with the columns 文件或项目, 单元格, 规则, 说明:

* 文件或项目 — the file name, with or without its folder (``收回/党群综合服务.xlsx``,
  ``党群综合服务.xlsx``), or the form's name (项目名称; on a form without one, 单位名称: the
  identity field of role "name", else "unit");
* 单元格 — the finding's cell (``G12``, ``申报表!G12``, ``第38行``), empty: every cell;
* 规则 — the rule code the report prints in brackets (``date-outside-year``);
* 说明 — why it is accepted (shown beside the finding).

:func:`apply_accepted` moves every warning or info a row matches from ``report.findings`` to
``report.accepted`` (:class:`Accepted`: the finding and the row's note), so it is shown as 已说明
and counted nowhere (summaries, 审核结论, exit code, summary line). Errors are never accepted: a
row that matches one leaves it where it is, and says so in a notice; so does a row that matches
nothing. A CSV that cannot be read (missing file or column, unknown encoding, an empty 规则) is a
:class:`~xltools.errors.UsageError` (exit code 2) raised by :func:`load_accepted` before any form is
read.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import UsageError
from .fsutil import decode_csv
from .rules import ERROR, Finding

COLUMNS = ("文件或项目", "单元格", "规则", "说明")
WHO, CELL, RULE, NOTE = COLUMNS
MAX_BYTES = 5 * 1024 * 1024   # a list of accepted warnings, not a data dump


@dataclass(frozen=True)
class Accepted:
    """A finding the coordinator accepted (shown as 已说明, never counted), and why."""

    finding: Finding
    note: str

    def to_dict(self) -> dict:
        return dict(self.finding.to_dict(), note=self.note)


@dataclass(frozen=True)
class AcceptRow:
    """One row of the CSV: ``line`` is its line number in the file (the header is line 1)."""

    line: int
    who: str
    cell: str          # "" = every cell
    rule: str
    note: str

    @property
    def sheet_and_cell(self) -> tuple[str | None, str]:
        """``申报表!G12`` → (申报表, G12); ``G12`` → (None, G12)."""
        if "!" in self.cell:
            sheet, _, cell = self.cell.rpartition("!")
            return sheet.strip().strip("'"), _cell_key(cell)
        return None, _cell_key(self.cell)


@dataclass
class AcceptedList:
    """The rows of one CSV, and the notices :func:`apply_accepted` leaves about them."""

    name: str                       # as the user gave it, for messages
    rows: list[AcceptRow]
    notices: list[str] = field(default_factory=list)


def _cell_key(cell: str) -> str:
    return cell.replace("$", "").replace(" ", "").upper()


def _path_parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", "."))


def load_accepted(path: str | Path) -> AcceptedList:
    """The CSV's rows. UTF-8 (with or without BOM) or GB18030 (Excel on a Chinese Windows saves
    CSV as GBK). Raises :class:`UsageError` (a Chinese message) when it cannot be used."""
    p = Path(path)
    name = str(path)
    try:
        if p.is_dir():
            raise UsageError(f"{name} 是文件夹，--accepted 需要一个 CSV 文件（列：{'、'.join(COLUMNS)}）。")
        if p.stat().st_size > MAX_BYTES:
            raise UsageError(f"{name} 超过 {MAX_BYTES // (1024 * 1024)} MB，不像已确认警告的清单，请检查文件。")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"找不到已确认警告的清单：{name}。请检查路径是否写错。") from None
    except OSError as exc:
        raise UsageError(f"无法读取 {name}：{exc.strerror or exc}") from None
    if b"\x00" in raw:
        raise UsageError(f"{name} 不是 CSV 文本文件（可能是 Excel 工作簿）：请在 Excel 中“另存为” CSV 后重试。")
    text = decode_csv(raw, name)
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise UsageError(f"{name}：不是有效的 CSV（{exc}）。") from None
    header = [h.strip().lstrip("\ufeff") for h in table[0]] if table else []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise UsageError(f"{name}：第一行应为列名 {','.join(COLUMNS)}，缺少列：{'、'.join(missing)}。")
    at = {c: header.index(c) for c in COLUMNS}
    rows = []
    for line, cells in enumerate(table[1:], start=2):
        values = {c: (cells[i].strip() if i < len(cells) else "") for c, i in at.items()}
        if not any(values.values()):
            continue
        for c in (WHO, RULE):
            if not values[c]:
                raise UsageError(f"{name} 第 {line} 行：「{c}」为空（每行须写明文件或项目，以及规则代码，如 date-outside-year）。")
        rows.append(AcceptRow(line, values[WHO], values[CELL], values[RULE].lower(), values[NOTE]))
    return AcceptedList(name, rows)


def as_accepted(value) -> AcceptedList | None:
    """``None``, a loaded :class:`AcceptedList`, or a path to load."""
    if value is None or isinstance(value, AcceptedList):
        return value
    return load_accepted(value)


def _names_of(report) -> dict[tuple[str, str | None], set[str]]:
    """(file, sheet) → the names a row may give for that form: its 项目名称 (role name), else
    its 单位名称 (role unit); (file, None) → the names of every form in the file."""
    out: dict[tuple[str, str | None], set[str]] = {}
    for form in getattr(report, "forms", []):
        spec = form.spec
        value = None
        for role in ("name", "unit"):
            if spec.role(role) is not None:
                value = spec.value(form.data, role)
                break
        if value in (None, ""):
            continue
        text = str(value).strip()
        out.setdefault((form.file, form.sheet), set()).add(text)
        out.setdefault((form.file, None), set()).add(text)
    return out


def _matches(row: AcceptRow, f: Finding, names: dict) -> bool:
    if f.rule.lower() != row.rule:
        return False
    sheet, cell = row.sheet_and_cell
    if cell and _cell_key(f.cell or "") != cell:
        return False
    if sheet is not None and sheet != (f.sheet or ""):
        return False
    who = _path_parts(row.who)
    mine = _path_parts(f.file)
    if who and (mine[-len(who):] == who or (len(who) == 1 and mine and PurePosixPath(mine[-1]).stem == who[0])):
        return True
    return row.who in names.get((f.file, f.sheet), ()) or (f.sheet is None and row.who in names.get((f.file, None), ()))


def _where(f: Finding) -> str:
    return f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "整个文件")


def apply_accepted(report, accepted: AcceptedList | None) -> None:
    """Move the warnings and infos the rows match from ``report.findings`` to ``report.accepted``;
    leave notices (Chinese) in ``accepted.notices`` for a row that matches an error (the error
    stays) or nothing."""
    if accepted is None:
        return
    names = _names_of(report)
    used: set[int] = set()
    keep: list[Finding] = []
    moved: list[Accepted] = list(getattr(report, "accepted", []) or [])
    refused: dict[int, list[Finding]] = {}
    for f in report.findings:
        rows = [r for r in accepted.rows if _matches(r, f, names)]
        used.update(r.line for r in rows)
        if not rows:
            keep.append(f)
        elif f.severity == ERROR:
            for r in rows:
                refused.setdefault(r.line, []).append(f)
            keep.append(f)
        else:
            moved.append(Accepted(f, rows[0].note))
    report.findings = keep
    report.accepted = moved
    csv_name = Path(accepted.name).name
    for r in accepted.rows:
        if r.line in refused:
            errs = refused[r.line]
            shown = "、".join(f"{f.file} {_where(f)}" for f in errs[:3]) + ("等" if len(errs) > 3 else "")
            accepted.notices.append(f"{csv_name} 第 {r.line} 行对应的是错误（{r.rule}：{shown}），"
                                    "错误不能以说明代替，仍须改正；该行对错误不起作用。")
        elif r.line not in used:
            where = f"，单元格 {r.cell}" if r.cell else ""
            accepted.notices.append(f"{csv_name} 第 {r.line} 行没有对应的审核结果"
                                    f"（{r.who}{where}，规则 {r.rule}）。")
