"""Merger: validated forms → one 汇总表 workbook per (实施单位, 年度).

A 汇总表 has an overview (one row per project, a 合计 row), one sheet per project in the
printed form layout (written by the same :class:`~xltools.template.SheetWriter` as the
templates, so `xltools read` reads it back form by form) and a flat 指标明细. Every string is
written as a string: text typed as ``=HYPERLINK(...)`` stays text. Files are written
atomically; inputs are never opened for writing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .celltypes import TYPES
from .derive import DERIVATIONS
from .errors import UsageError
from .fsutil import atomic_path, check_out_folder, check_targets, safe_filename, same_file, unique_name
from .progress import SILENT, as_progress
from .read import Form, default_jobs, expand_paths
from .spec import FormSpec, col_letter, get_path, load_spec
from .template import SheetWriter, Styles, new_workbook, write_meta, write_typed
from .validate import Report, validate_paths

SUMMARY_SHEET = "汇总"
DETAIL_SHEET = "指标明细"
DETAIL_PARTS = ("运算符", "数值", "单位", "定性")


@dataclass
class MergeResult:
    report: Report
    outputs: list[Path] = field(default_factory=list)
    merged: list[Form] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (file or file!sheet, why)
    refused: str | None = None                                     # why nothing was written

    @property
    def exit_code(self) -> int:
        if self.report.unreadable:
            return 2
        if self.refused:
            return 1
        return 0


def _sheet_name(i: int, name: str | None, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\：？／＊［］＼]", "_", f"{i:02d} {name or '未命名项目'}").strip("'")
    out = base[:31]
    n = 2
    while out in taken:
        suffix = f"~{n}"
        out = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(out)
    return out


def group_key(form: Form) -> tuple:
    """Forms that go into one 汇总表: the same kind (whatever their layouts) and the same
    ``group_by`` values."""
    return (form.kind,) + tuple(form.data.get(k) for k in load_spec(form.kind).group_by)


def output_name(spec: FormSpec, key: tuple) -> str:
    head, tail = spec.summary_stem(key[1:])
    return safe_filename(head, tail=tail) + ".xlsx"


def _describe(key: tuple) -> str:
    spec = load_spec(key[0])
    return f"{spec.name}（{'，'.join(spec.group_words(key[1:]))}）"


def plan(paths, out: str | Path, *, skip_invalid: bool = False, progress=None, profile=None) -> MergeResult:
    """Read, validate (at the severities of ``profile``: its errors are what is refused) and
    decide what goes where; writes nothing."""
    report = validate_paths(paths, progress=progress, profile=profile)
    result = MergeResult(report)
    result.skipped.extend(report.skipped)
    bad_forms = {(f.file, f.sheet) for f in report.errors if f.sheet is not None}
    bad_files = {f.file for f in report.errors if f.sheet is None}
    for exc in report.unreadable:
        result.skipped.append((exc.path, exc.message))
    keep = []
    for form in report.forms:
        if (form.file, form.sheet) in bad_forms or form.file in bad_files:
            result.skipped.append((f"{form.file}!{form.sheet}", "有错误"))
        else:
            keep.append(form)
    if (report.errors or report.unreadable) and not skip_invalid:
        result.refused = "输入文件有错误，未生成汇总表。请退回修改，或使用 --skip-invalid 只汇总无错误的表单。"
        result.skipped = list(report.skipped)
        return result
    if not keep:
        result.refused = "没有可汇总的表单。"
        return result
    result.merged = keep
    groups = sorted({group_key(f) for f in keep}, key=str)
    if str(out).lower().endswith(".xlsx") and len(groups) > 1:
        names = "；".join(_describe(k) for k in groups)
        result.refused = (f"输入包含 {len(groups)} 组表单（{names}），不能汇总到一个文件；"
                          "请把 -o 改为一个文件夹，每组生成一个汇总表。")
    return result


def merge_workbooks(paths, out: str | Path, *, skip_invalid: bool = False, force: bool = False,
                    progress=None, profile=None) -> MergeResult:
    """Validate ``paths`` and write the 汇总表: one per (kind, ``group_by`` values) — an .xlsx
    ``out`` when there is one group, else one file per group in the folder ``out``.

    Never writes over an input file; never replaces an existing file unless ``force``
    (raises :class:`~xltools.errors.OutputError` before writing anything)."""
    out = Path(out)
    to_file = str(out).lower().endswith(".xlsx")
    if to_file and out.is_dir():
        raise UsageError(f"{out} 是一个文件夹，不能作为汇总表文件。")
    if not to_file:
        check_out_folder(out)
    inputs = expand_paths(paths)
    if to_file:  # what can be known before reading: refuse at once
        check_targets([out], [p for _, p, found in inputs.items if not (found and _earlier_output(p, out))],
                      force=force)
    progress = as_progress(progress)
    result = plan(inputs, out, skip_invalid=skip_invalid, progress=progress, profile=profile)
    if result.refused:
        return result
    groups: dict[tuple, list[Form]] = defaultdict(list)
    for form in result.merged:
        groups[group_key(form)].append(form)
    if to_file:
        targets = {key: out for key in groups}
    else:
        taken: set[str] = set()
        targets = {key: out / unique_name(output_name(load_spec(key[0]), key)[:-5], taken)
                   for key, forms in groups.items()}
    # Never over an input (a 汇总表 found in the input folder and skipped is not one).
    skipped = {file for file, _ in result.report.skipped}
    read = [p for display, p, _ in inputs.items if display not in skipped]
    check_targets(targets.values(), read, force=force)
    jobs = default_jobs(len(result.merged)) if len(groups) > 1 else 1
    _write_all([(targets[key], forms) for key, forms in groups.items()], jobs, progress)
    result.outputs.extend(targets[key] for key in groups)
    return result


def _earlier_output(path: Path, out: Path) -> bool:
    """Whether ``path``, found in an input folder, is ``out`` and a 汇总表 made by merge (which
    the merge will skip, not read): then replacing it with --force writes over no input."""
    from .read import read_one

    return same_file(path, out) and read_one(str(path), path, True).skipped is not None


_JOBS: list[tuple[Path, list[Form]]] = []


def _write_job(i: int) -> Path:
    write_summary(*_JOBS[i])
    return _JOBS[i][0]


def _write_given(job: tuple[Path, list[Form]]) -> Path:
    write_summary(*job)
    return job[0]


def _write_all(jobs: list[tuple[Path, list[Form]]], workers: int, progress=SILENT) -> None:
    """Write each 汇总表; several at once in worker processes. Forked workers share the forms
    unpickled (copy-on-write); spawned ones (Windows, macOS) are sent their group."""
    what = "写出汇总表"
    if workers <= 1:
        for _ in progress.track((_write_given(job) for job in jobs), what, len(jobs)):
            pass
        return
    from .pool import context, executor, forking

    ctx = context()
    workers = min(workers, len(jobs))
    if not forking(ctx):
        with executor(workers, ctx) as pool:
            for _ in progress.track(pool.map(_write_given, jobs), what, len(jobs)):
                pass
        return
    import gc

    global _JOBS
    _JOBS = jobs
    for _, forms in jobs:  # writing needs only the data: drop the cell maps before forking
        for form in forms:
            form.cells, form.stored, form.computed, form.next_row = {}, {}, {}, {}
    gc.collect()
    gc.freeze()  # the forked writers then share these objects instead of copying them page by page
    try:
        with executor(workers, ctx) as pool:
            for _ in progress.track(pool.map(_write_job, range(len(jobs))), what, len(jobs)):
                pass
    finally:
        _JOBS = []
        gc.unfreeze()


# ---------------------------------------------------------------------------------------------
# Writing one 汇总表


def write_summary(target: Path, forms: list[Form]) -> None:
    """One 汇总表 of forms of one kind: the overview and 指标明细 in the kind's own layout, each
    project sheet in its form's layout (a variant's sheets are listed in the metadata)."""
    spec = load_spec(forms[0].kind)
    with atomic_path(target) as tmp:
        wb = new_workbook(str(tmp))
        styles = Styles(wb, editable=False)
        fmt = _formats(wb)
        overview = wb.add_worksheet(SUMMARY_SHEET)
        taken = {SUMMARY_SHEET, DETAIL_SHEET}
        name_key = spec.identity[0]  # 项目名称
        names = [_sheet_name(i, f.data.get(name_key), taken) for i, f in enumerate(forms, start=1)]
        _write_overview(overview, spec, forms, names, fmt)
        writers: dict[str | None, SheetWriter] = {}
        for form, name in zip(forms, names):
            if form.variant not in writers:
                writers[form.variant] = SheetWriter(wb, form.spec, editable=False, styles=styles)
            writers[form.variant].write(wb.add_worksheet(name), form.data)
        if spec.indicators is not None:
            _write_details(wb.add_worksheet(DETAIL_SHEET), spec, forms, names, fmt)
        first = forms[0].data
        layouts = {name: form.variant for form, name in zip(forms, names) if form.variant}
        write_meta(wb, {"kind": spec.kind, "version": spec.version, "role": "summary",
                        **{k: first.get(k) or "" for k in spec.group_by}, "forms": names,
                        **({"variants": layouts} if layouts else {})})
        overview.activate()
        wb.close()


def _formats(wb) -> dict:
    base = {"font_name": "宋体", "font_size": 10, "border": 1, "valign": "vcenter", "text_wrap": True}
    return {
        "title": wb.add_format({"font_name": "黑体", "font_size": 14, "bold": True, "align": "center",
                                "valign": "vcenter"}),
        "header": wb.add_format(dict(base, bold=True, align="center", bg_color="#DDEBF7")),
        "text": wb.add_format(dict(base, num_format="@")),
        "money": wb.add_format(dict(base, num_format="#,##0.00")),
        "number": wb.add_format(dict(base, num_format="General")),
        "date": wb.add_format(dict(base, num_format="yyyy-mm-dd", align="center")),
        "total_label": wb.add_format(dict(base, bold=True, align="center", bg_color="#F2F2F2")),
        "total": wb.add_format(dict(base, bold=True, num_format="#,##0.00", bg_color="#F2F2F2")),
    }


def _label(spec: FormSpec, key: str) -> str:
    return spec.field(key).name


def _summary_kind(f) -> str:
    """The overview format of a field, from its type (xltools.celltypes): money, number, date or text."""
    kind = TYPES[f.type].summary
    if kind == "derived":
        return "text" if f.derive == "grade" else "money"
    return {"count": "number"}.get(kind, kind)


def _write_overview(ws, spec: FormSpec, forms: list[Form], names: list[str], fmt: dict) -> None:
    cols = list(spec.summary_columns)
    fields = [spec.field(k) for k in cols]
    first = forms[0].data
    title = spec.summary_title.format(**{k: first.get(k) or "" for k in spec.group_by})
    table = spec.indicators or (spec.tables[0] if spec.tables else None)
    headers = ["序号"] + [_label(spec, k) for k in cols] + [f"{table.label}数" if table else "行数", "工作表"]
    ws.merge_range(0, 0, 0, len(headers) - 1, "", fmt["title"])
    ws.write_string(0, 0, title, fmt["title"])
    ws.set_row(0, 28)
    for c, h in enumerate(headers):
        ws.write_string(1, c, h, fmt["header"])

    kinds = [_summary_kind(f) for f in fields]
    for r, (form, name) in enumerate(zip(forms, names), start=2):
        ws.write_number(r, 0, r - 1, fmt["number"])
        for c, (f, kind) in enumerate(zip(fields, kinds), start=1):
            write_typed(ws, r, c, get_path(form.data, f.path), kind, fmt[kind])
        ws.write_number(r, len(cols) + 1, len(form.data.get(table.key) or []) if table else 0, fmt["number"])
        ws.write_string(r, len(cols) + 2, name, fmt["text"])
    last = len(forms) + 1
    total_row = last + 1
    ws.write_string(total_row, 0, "合计", fmt["total_label"])
    # The unit's total row: sums of amounts; a derived column (e.g. 执行率) over the totals.
    total_cells = {}
    for c, f in enumerate(fields, start=1):
        if TYPES[f.type].summary == "money":
            values = [get_path(x.data, f.path) for x in forms]
            total = round(sum(v for v in values if isinstance(v, (int, float))), 2)
            ws.write_formula(total_row, c, f"=SUM({col_letter(c)}3:{col_letter(c)}{last + 1})", fmt["total"], total)
            total_cells[f.key] = (f"{col_letter(c)}{total_row + 1}", total)
    for c, f in enumerate(fields, start=1):
        if f.key in total_cells:
            continue
        if f.type == "derived" and f.derive != "sum" and all(a in total_cells for a in f.args):
            d = DERIVATIONS[f.derive]
            value = d.python(*[total_cells[a][1] for a in f.args])
            ws.write_formula(total_row, c, d.excel(*[total_cells[a][0] for a in f.args]), fmt["total"],
                             "" if value is None else value)
        else:
            ws.write_blank(total_row, c, None, fmt["total"])
    n_rows = sum(len(x.data.get(table.key) or []) for x in forms) if table else 0
    ws.write_number(total_row, len(cols) + 1, n_rows, fmt["total"])
    ws.write_blank(total_row, len(cols) + 2, None, fmt["total"])
    widths = [6] + [28 if i == 0 else (22 if k == "text" else 16) for i, k in enumerate(kinds)] + [8, 24]
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    ws.freeze_panes(2, 2)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, 1)


def _write_details(ws, spec: FormSpec, forms: list[Form], names: list[str], fmt: dict) -> None:
    table = spec.indicators
    parts = DETAIL_PARTS if table.parse_target else ()
    name_key = spec.identity[0]  # the first identity field: 项目名称, 单位名称
    headers = ["序号", name_key] + [c.label for c in table.columns] + list(parts) + ["工作表"]
    types = [("number" if TYPES[c.type].cell == "number" else "text") for c in table.columns]
    types += ["number" if k == "数值" else "text" for k in parts]
    keys = [c.key for c in table.columns] + list(parts)
    for c, h in enumerate(headers):
        ws.write_string(0, c, h, fmt["header"])
    r = 1
    for form, name in zip(forms, names):
        for row in form.data.get(table.key) or []:
            ws.write_number(r, 0, r, fmt["number"])
            write_typed(ws, r, 1, form.data.get(name_key), "text", fmt["text"])
            for c, (k, t) in enumerate(zip(keys, types), start=2):
                write_typed(ws, r, c, row.get(k), t, fmt[t])
            ws.write_string(r, 2 + len(keys), name, fmt["text"])
            r += 1
    widths = [6, 26] + [30 if c.type == "text" else 14 for c in table.columns]
    widths += [8] * len(parts) + [22]
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(r - 1, 1), len(headers) - 1)
