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
from .validate import Report, unspool, validate_inputs

SUMMARY_SHEET = "汇总"
DETAIL_SHEET = "指标明细"
PUBLISHED_SHEET = "公开版"   # the 汇总表 as a 街道 publishes it (xltools.published); never read back
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


def plan(paths, out: str | Path, *, skip_invalid: bool = False, progress=None, profile=None,
         spool: Spool | None = None) -> MergeResult:
    """Read, validate (at the severities of ``profile``: its errors are what is refused) and
    decide what goes where; writes nothing (``spool``: where each form's data goes meanwhile)."""
    report = validate_inputs(paths, progress=progress, profile=profile, spool=spool.add if spool else None)
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
    with Spool() as spool:
        result = plan(inputs, out, skip_invalid=skip_invalid, progress=progress, profile=profile, spool=spool)
        if result.refused:
            return result
        keep = {(f.file, f.sheet) for f in result.merged}
        groups: dict[tuple, list[int]] = defaultdict(list)   # group → spool records of its forms to merge
        for key, records in spool.groups.items():
            for i, (file, sheet) in records:
                if (file, sheet) in keep:
                    groups[key].append(i)
        groups = {k: v for k, v in groups.items() if v}
        cap = max_forms_per_summary()
        if to_file:
            if any(len(v) > cap for v in groups.values()):
                raise UsageError(f"一个汇总表最多 {cap:,} 个表单（超过后 xltools 自己也无法安全读取）；"
                                 "请把 -o 改为一个文件夹，分为多个编号的汇总表。")
            jobs = [(out, key, records) for key, records in groups.items()]
        else:
            taken: set[str] = set()
            jobs = []
            for key, records in groups.items():
                stem = output_name(load_spec(key[0]), key)[:-5]
                if len(records) <= cap:
                    jobs.append((out / unique_name(stem, taken), key, records))
                    continue
                # Too many for one 汇总表 that reads back: numbered parts (…_汇总表-1.xlsx, -2 …)
                for k, lo in enumerate(range(0, len(records), cap), start=1):
                    jobs.append((out / unique_name(f"{stem}-{k}", taken), key, records[lo:lo + cap]))
        # Never over an input (a 汇总表 found in the input folder and skipped is not one).
        skipped = {file for file, _ in result.report.skipped}
        read = [p for display, p, _ in inputs.items if display not in skipped]
        check_targets([t for t, _, _ in jobs], read, force=force)
        workers = default_jobs(len(result.merged)) if len(jobs) > 1 else 1
        _write_all([(target, spool.path(key), records) for target, key, records in jobs], workers, progress)
        result.outputs.extend(t for t, _, _ in jobs)
    return result


def max_forms_per_summary() -> int:
    """The most forms one 汇总表 holds so that `xltools read` (its default limits, or those set
    with ``XLTOOLS_*``) reads it back: a 汇总表 has a zip part and a sheet per form, ~750 cells
    and ~30 KiB of XML per form; 500 keeps every limit at half or less (measured: a 500-form
    汇总表 has 513 parts, ~0.4 M cells, 15 MB of XML)."""
    from .safety import Limits, env_limits

    lim = env_limits(Limits)
    return max(1, min(500, (lim.max_entries - 20), lim.max_sheets - 10, lim.max_cells // 1000,
                      int(lim.max_total_mb * 1024 / 64)))


class Spool:
    """Each group's forms, pickled as the readers sent them, in a temporary file per group, so
    the process that validates a batch never holds all forms' data: a writer loads one group."""

    def __init__(self):
        import tempfile

        self._dir = tempfile.mkdtemp(prefix="xltools-merge-")
        self._files: dict[tuple, object] = {}
        self._paths: dict[tuple, str] = {}
        self.groups: dict[tuple, list[tuple[int, tuple[str, str]]]] = defaultdict(list)

    def add(self, form: Form, blob: bytes) -> None:
        import zlib

        key = group_key(form)
        fh = self._files.get(key)
        if fh is None:
            path = str(Path(self._dir) / f"{len(self._files)}.spool")
            self._paths[key] = path
            fh = self._files[key] = open(path, "wb")   # noqa: SIM115  (closed in close())
        data = zlib.compress(blob, 1)
        fh.write(len(data).to_bytes(8, "little"))
        fh.write(data)
        records = self.groups[key]
        records.append((len(records), (form.file, form.sheet)))

    def path(self, key: tuple) -> str:
        fh = self._files.get(key)
        if fh is not None and not fh.closed:
            fh.flush()
        return self._paths[key]

    def close(self) -> None:
        import shutil

        for fh in self._files.values():
            fh.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_spooled(path: str, records: list[int]) -> list[Form]:
    """The forms of these records (indices, ascending) of a group's spool file."""
    import zlib

    wanted = set(records)
    out = []
    with open(path, "rb") as fh:
        i = 0
        while True:
            head = fh.read(8)
            if len(head) < 8:
                break
            n = int.from_bytes(head, "little")
            if i in wanted:
                out.append(unspool(zlib.decompress(fh.read(n))))
            else:
                fh.seek(n, 1)
            i += 1
    return out


def _earlier_output(path: Path, out: Path) -> bool:
    """Whether ``path``, found in an input folder, is ``out`` and a 汇总表 made by merge (which
    the merge will skip, not read): then replacing it with --force writes over no input."""
    from .read import read_one

    return same_file(path, out) and read_one(str(path), path, True).skipped is not None


def _write_spooled(job: tuple[Path, str, list[int]]) -> Path:
    target, path, records = job
    write_summary(target, load_spooled(path, records))
    return target


def _write_all(jobs: list[tuple[Path, str, list[int]]], workers: int, progress=SILENT) -> None:
    """Write each 汇总表 (target, its group's spool file, the records to merge); several at once in
    worker processes, each loading one group at a time (peak memory: the largest group, per
    worker). Largest groups first, so that the last one does not run alone."""
    what = "写出汇总表"
    if workers <= 1:
        for _ in progress.track((_write_spooled(job) for job in jobs), what, len(jobs)):
            pass
        return
    import gc

    from .pool import context, executor, forking

    order = sorted(jobs, key=lambda j: -len(j[2]))
    ctx = context()
    frozen = forking(ctx)
    if frozen:   # forked writers share the parent's report instead of copying it page by page (gc)
        gc.collect()
        gc.freeze()
    try:
        with executor(min(workers, len(jobs)), ctx) as pool:
            for _ in progress.track(pool.map(_write_spooled, order), what, len(jobs)):
                pass
    finally:
        if frozen:
            gc.unfreeze()


# ---------------------------------------------------------------------------------------------
# Writing one 汇总表


def write_summary(target: Path, forms: list[Form]) -> None:
    """One 汇总表 of forms of one kind: the overview and 指标明细 in the kind's own layout, each
    project sheet (and each form on the 公开版 sheet) in its form's layout (a variant's sheets
    are listed in the metadata)."""
    from .published import write_published

    spec = load_spec(forms[0].kind)
    with atomic_path(target) as tmp:
        wb = new_workbook(str(tmp))
        styles = Styles(wb, editable=False)
        fmt = _formats(wb)
        overview = wb.add_worksheet(SUMMARY_SHEET)
        taken = {SUMMARY_SHEET, DETAIL_SHEET, PUBLISHED_SHEET}
        name_key = spec.identity[0]  # 项目名称
        names = [_sheet_name(i, f.data.get(name_key), taken) for i, f in enumerate(forms, start=1)]
        first = forms[0].data
        title = spec.summary_title.format(**{k: first.get(k) or "" for k in spec.group_by})
        _write_overview(overview, spec, forms, names, fmt)
        write_published(wb.add_worksheet(PUBLISHED_SHEET), spec, [f.data for f in forms], title, styles,
                        layouts=[f.spec for f in forms])
        writers: dict[str | None, SheetWriter] = {}
        for form, name in zip(forms, names):
            if form.variant not in writers:
                writers[form.variant] = SheetWriter(wb, form.spec, editable=False, styles=styles)
            writers[form.variant].write(wb.add_worksheet(name), form.data)
        if spec.indicators is not None:
            _write_details(wb.add_worksheet(DETAIL_SHEET), spec, forms, names, fmt)
        layouts = {name: form.variant for form, name in zip(forms, names) if form.variant}
        write_meta(wb, {"kind": spec.kind, "version": spec.version, "role": "summary",
                        **{k: first.get(k) or "" for k in spec.group_by}, "forms": names,
                        "published": PUBLISHED_SHEET, **({"variants": layouts} if layouts else {})})
        overview.activate()
        wb.close()


def _formats(wb) -> dict:
    base = {"font_name": "宋体", "font_size": FONT, "border": 1, "valign": "vcenter", "text_wrap": True}
    return {
        "title": wb.add_format({"font_name": "黑体", "font_size": 14, "bold": True, "align": "center",
                                "valign": "vcenter"}),
        "header": wb.add_format(dict(base, bold=True, align="center", bg_color="#DDEBF7")),
        "text": wb.add_format(dict(base, num_format="@")),
        "money": wb.add_format(dict(base, num_format="#,##0.00")),
        "number": wb.add_format(dict(base, num_format="General")),
        "count": wb.add_format(dict(base, num_format="0", align="right")),
        "date": wb.add_format(dict(base, num_format="yyyy-mm-dd", align="center")),
        "total_label": wb.add_format(dict(base, bold=True, align="center", bg_color="#F2F2F2")),
        "total": wb.add_format(dict(base, bold=True, num_format="#,##0.00", bg_color="#F2F2F2")),
        "total_count": wb.add_format(dict(base, bold=True, num_format="0", bg_color="#F2F2F2")),
    }


FONT = 10                 # points, overview and 指标明细
MIN_FITTED = 0.9          # their print scale: never below 90 % (10 pt → 9 pt)
LANDSCAPE_MARGIN = 0.3    # inches, left and right
TOP, BOTTOM = 0.5, 0.6    # inches
# Widths (characters) of the columns that hold numbers: they never wrap.
NUMBER_WIDTH = {"money": 15.5, "date": 11.5, "number": 9.0, "count": 7.0}


def _label(spec: FormSpec, key: str) -> str:
    return spec.field(key).name


def _header(spec: FormSpec, f) -> str:
    """An overview header: the field's name with its unit (money in the spec's unit, a rate in %)."""
    if TYPES[f.type].summary == "money":
        return f"{f.name}({spec.money_unit})"
    if f.type == "derived" and f.derive == "rate":
        return f"{f.name}(%)"
    return f.name


def _summary_kind(f) -> str:
    """The overview format of a field, from its type (xltools.celltypes): money, number, count, date or text."""
    kind = TYPES[f.type].summary
    if kind == "derived":
        return "text" if f.derive == "grade" else "money"
    return kind


def _landscape_budget(n_cols: int) -> float:
    """The sum of column widths that prints landscape A4 at ≥ MIN_FITTED."""
    from .layout import A4, PRINT_PX_PAD, PRINT_PX_PER_CHAR

    printable = A4[1] - 2 * LANDSCAPE_MARGIN * 72
    return (printable / (MIN_FITTED + 0.01) / 0.75 - n_cols * PRINT_PX_PAD) / PRINT_PX_PER_CHAR


def _plan_widths(columns: list[tuple[str, list, str]]) -> list[float]:
    """Widths for (header, values, kind) columns: numbers as wide as they print, texts as wide as
    their longest value within a cap, narrowed (wrapped) to fit the landscape budget."""
    from .layout import fit_widths, natural_width

    natural, minimum = [], []
    for header, values, kind in columns:
        if kind in NUMBER_WIDTH:
            w = max(NUMBER_WIDTH[kind], natural_width([header], 8.0) if kind != "count" else 0.0)
            natural.append(w)
            minimum.append(min(w, NUMBER_WIDTH[kind]))
        else:
            w = natural_width(values + [header], 30.0, 4.5)
            natural.append(w)
            minimum.append(min(w, 8.0))
    return fit_widths(natural, minimum, _landscape_budget(len(columns)))


def _print_setup(ws, widths: list[float], heights: dict[int, float], n_rows: int, header_rows: int) -> None:
    """Landscape A4 at one page wide (a fixed scale ≥ 90 %, so that the page breaks set here hold
    in Excel and LibreOffice alike), the header rows on every page, no last page with a lone row."""
    from .layout import A4, DEFAULT_ROW, fit_scale, pages_of

    printable_w = A4[1] - 2 * LANDSCAPE_MARGIN * 72
    scale = fit_scale(widths, printable_w)
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(left=LANDSCAPE_MARGIN, right=LANDSCAPE_MARGIN, top=TOP, bottom=BOTTOM)
    ws.set_print_scale(scale)
    ws.repeat_rows(0, header_rows - 1)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.print_area(0, 0, n_rows - 1, len(widths) - 1)
    page = (A4[0] - (TOP + BOTTOM) * 72 - 12) * 100 / scale * 0.97   # sheet points a page holds
    rows = [heights.get(r, DEFAULT_ROW) for r in range(header_rows, n_rows)]
    head = sum(heights.get(r, DEFAULT_ROW) for r in range(header_rows))
    breaks = [header_rows + i for i in pages_of(rows, page, head)]
    if breaks:
        ws.set_h_pagebreaks(breaks)


def _write_overview(ws, spec: FormSpec, forms: list[Form], names: list[str], fmt: dict) -> None:
    from .layout import Heights

    cols = list(spec.summary_columns)
    fields = [spec.field(k) for k in cols]
    first = forms[0].data
    title = spec.summary_title.format(**{k: first.get(k) or "" for k in spec.group_by})
    table = spec.indicators or (spec.tables[0] if spec.tables else None)
    count_header = f"{table.label}数" if table else "行数"
    headers = ["序号"] + [_header(spec, f) for f in fields] + [count_header]
    kinds = [_summary_kind(f) for f in fields]
    counts = [len(form.data.get(table.key) or []) if table else 0 for form in forms]
    values = [[get_path(form.data, f.path) for form in forms] for f in fields]
    widths = _plan_widths([("序号", [], "count")] + [(h, v, k) for h, v, k in zip(headers[1:], values, kinds)]
                          + [(count_header, [], "count")])
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    heights = Heights(widths)
    n = len(headers)
    ws.merge_range(0, 0, 0, n - 1, "", fmt["title"])
    ws.write_string(0, 0, title, fmt["title"])
    heights.at_least(0, 28)
    for c, h in enumerate(headers):
        ws.write_string(1, c, h, fmt["header"])
        heights.text(1, c, 1, c, h, FONT)
    for r in range(2, len(forms) + 2):
        ws.write_number(r, 0, r - 1, fmt["count"])
        for c, kind in enumerate(kinds, start=1):
            value = values[c - 1][r - 2]
            write_typed(ws, r, c, value, kind, fmt[kind])
            if kind == "text":
                heights.text(r, c, r, c, value, FONT)
        ws.write_number(r, n - 1, counts[r - 2], fmt["count"])
    last = len(forms) + 1
    total_row = last + 1
    ws.write_string(total_row, 0, "合计", fmt["total_label"])
    # The unit's total row: sums of amounts (empty where every project left it empty); a derived
    # column (e.g. 执行率) over the totals.
    total_cells = {}
    for c, f in enumerate(fields, start=1):
        if TYPES[f.type].summary == "money":
            numbers = [v for v in values[c - 1] if isinstance(v, (int, float))]
            if not numbers:
                ws.write_blank(total_row, c, None, fmt["total"])
                total_cells[f.key] = (None, None)
                continue
            total = round(sum(numbers), 2)
            ws.write_formula(total_row, c, f"=SUM({col_letter(c)}3:{col_letter(c)}{last + 1})", fmt["total"], total)
            total_cells[f.key] = (f"{col_letter(c)}{total_row + 1}", total)
    for c, f in enumerate(fields, start=1):
        if f.key in total_cells:
            continue
        args = [total_cells.get(a) for a in f.args]
        if f.type == "derived" and f.derive != "sum" and args and all(a and a[0] for a in args):
            d = DERIVATIONS[f.derive]
            value = d.python(*[a[1] for a in args])
            ws.write_formula(total_row, c, d.excel(*[a[0] for a in args]), fmt["total"],
                             "" if value is None else value)
        else:
            ws.write_blank(total_row, c, None, fmt["total"])
    ws.write_number(total_row, n - 1, sum(counts), fmt["total_count"])
    ws.freeze_panes(2, 2)
    _print_setup(ws, widths, heights.apply(ws), total_row + 1, 2)


def _write_details(ws, spec: FormSpec, forms: list[Form], names: list[str], fmt: dict) -> None:
    from .layout import Heights

    table = spec.indicators
    parts = DETAIL_PARTS if table.parse_target else ()
    name_key = spec.identity[0]  # the first identity field: 项目名称, 单位名称
    headers = ["序号", name_key] + [c.label for c in table.columns] + list(parts)
    types = [("number" if TYPES[c.type].cell == "number" else "text") for c in table.columns]
    types += ["number" if k == "数值" else "text" for k in parts]
    keys = [c.key for c in table.columns] + list(parts)
    rows = [(form.data.get(name_key), row) for form in forms for row in form.data.get(table.key) or []]
    columns = [("序号", [], "count"), (name_key, [p for p, _ in rows], "text")]
    columns += [(h, [row.get(k) for _, row in rows], t) for h, k, t in zip(headers[2:], keys, types)]
    widths = _plan_widths(columns)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    heights = Heights(widths)
    for c, h in enumerate(headers):
        ws.write_string(0, c, h, fmt["header"])
        heights.text(0, c, 0, c, h, FONT)
    r = 1
    for project, row in rows:
        ws.write_number(r, 0, r, fmt["count"])
        write_typed(ws, r, 1, project, "text", fmt["text"])
        heights.text(r, 1, r, 1, project, FONT)
        for c, (k, t) in enumerate(zip(keys, types), start=2):
            write_typed(ws, r, c, row.get(k), t, fmt[t])
            if t == "text":
                heights.text(r, c, r, c, row.get(k), FONT)
        r += 1
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(r - 1, 1), len(headers) - 1)
    _print_setup(ws, widths, heights.apply(ws), max(r, 2), 1)
