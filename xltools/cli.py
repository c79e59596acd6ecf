"""The `xltools` command line: a thin typer layer over the Python API.

Exit codes: 0 success (warnings allowed), 1 findings of severity error / merge refused,
2 a file could not be read, an output exists, or the command was used wrongly.
What a command produces (the report, the JSON, the names of the files written) goes to
stdout and can be redirected to a file; progress, notices and the closing summary line go to
stderr. Output never fails on a console's encoding (a Chinese Windows console is GBK): text
is written with replacement for what the console cannot show, and JSON is always UTF-8.
Heavy libraries are imported inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .clizh import install as install_chinese
from .errors import MissingPath, UsageError, XltoolsError
from .spec import kinds

install_chinese()  # click's and typer's own messages (usage errors, help frame) in Chinese

HELP = """\
绩效目标申报表 Excel 工具：生成模板 → 单位填报 → 审核 → 汇总。

\b
典型流程：
  1. 生成模板发给各实施单位：
     xltools template project-target -o 申报表模板.xlsx --year 2026
     xltools template project-target --batch 单位清单.csv --year 2026 -o 模板/
  2. 收回后审核（有错误的退回修改）：
     xltools validate 收回/
  3. 汇总为单位汇总表：
     xltools merge 收回/ -o 汇总表/

退出码：0 通过（可有警告）；1 有错误或拒绝汇总；2 文件无法读取、输出文件已存在或用法错误。
"""

app = typer.Typer(help=HELP, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xltools {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", "-V", help="显示版本号并退出", callback=_version,
                                          is_eager=True)] = False,
) -> None:
    """绩效目标申报表 Excel 工具。"""


class ReadFormat(str, Enum):
    json = "json"


class ReportFormat(str, Enum):
    text = "text"
    json = "json"


def _kind_help() -> str:
    try:
        return "表单类型：" + "；".join(kinds())
    except XltoolsError:  # a broken XLTOOLS_SCHEMAS folder: said once, when the command runs
        return "表单类型"


KIND_HELP = _kind_help()


def _variant_help() -> str:
    from .spec import variants

    try:
        have = [f"{k} 的 {'、'.join(v)}" for k in kinds() if (v := variants(k))]
    except XltoolsError:
        have = []
    return "表单的其他版式（印刷格式）" + (f"：{'；'.join(have)}" if have else "") + "；不加为当前版式"


VARIANT_HELP = _variant_help()


def _use_schemas(value: Path | None) -> Path | None:
    if value is not None:
        from .spec import use_schemas

        use_schemas(value)
    return value


SCHEMAS_HELP = "从这个文件夹读取表单定义和指标体系（代替安装包里的 schemas/；也可设环境变量 XLTOOLS_SCHEMAS）"
Schemas = Annotated[Path | None, typer.Option("--schemas", metavar="目录", help=SCHEMAS_HELP,
                                              callback=_use_schemas, is_eager=True)]


def _kind(value: str) -> str:
    """A kind named on the command line, checked against the specs in use now."""
    from .spec import load_spec

    names = kinds()
    if value not in names:
        choices = "、".join(f"{k}（{load_spec(k).name}）" for k in names)
        raise UsageError(f"未知的表单类型「{value}」；可用：{choices}。")
    return value


def _variant(kind: str, value: str | None) -> str | None:
    """A layout named with --variant, checked against the variants of ``kind``."""
    from .spec import layouts, load_spec, variants

    if value is None or value in variants(kind):
        return value
    others = [s for s in layouts(kind) if s.variant]
    if not others:
        raise UsageError(f"{load_spec(kind).name}（{kind}）只有一种版式，不能使用 --variant。")
    choices = "、".join(f"{s.variant}（{s.description or s.layout}）" for s in others)
    raise UsageError(f"未知的版式「{value}」；{kind} 可用的版式：{choices}（不加 --variant 为当前版式）。")


# ---------------------------------------------------------------------------------------------
# Output: stdout for what a command produces, stderr for messages


class PipeClosed(Exception):
    """stdout was closed by its reader (``xltools read … | head -1``): stop quietly, exit 0."""


def _silence_stdout() -> None:
    # Python flushes stdout at exit; with the reader gone that raises again: point it at devnull.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _out(text: str, *, utf8: bool = False) -> None:
    """Write ``text`` to stdout. ``utf8``: as UTF-8 bytes whatever the console's code page (JSON)."""
    try:
        if utf8 and hasattr(sys.stdout, "buffer"):
            sys.stdout.flush()
            sys.stdout.buffer.write(text.encode("utf-8"))
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    except BrokenPipeError as exc:
        _silence_stdout()
        raise PipeClosed from exc


def _err(message: str) -> None:
    try:
        typer.echo(message, err=True)
    except BrokenPipeError:
        pass


def _tolerant_streams() -> None:
    """Text that a console's code page cannot show is replaced, never an UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _progress(quiet: bool = False):
    """A progress display on stderr when a person watches it: a terminal, not CI, not --quiet."""
    from .progress import SILENT, TerminalProgress

    if quiet or not sys.stderr.isatty() or os.environ.get("CI"):
        return SILENT
    return TerminalProgress()


QUIET_HELP = "不显示进度和逐个文件的结果，只显示错误和最后一行汇总"


# ---------------------------------------------------------------------------------------------


FORCE_HELP = "替换已存在的输出文件（默认不替换任何已有文件；无论如何都不会写到输入文件上）"


@app.command(epilog="示例：xltools template project-target -o 申报表模板.xlsx --year 2026 --rows 50")
def template(
    kind: Annotated[str, typer.Argument(help=KIND_HELP, metavar="表单类型")],
    out: Annotated[Path, typer.Option("-o", "--out", help="输出 .xlsx 文件；与 --batch 一起用时为输出文件夹")],
    year: Annotated[int | None, typer.Option(help="预填年度，如 2026", min=2000, max=2100)] = None,
    dept: Annotated[str | None, typer.Option(help="预填主管部门")] = None,
    unit: Annotated[str | None, typer.Option(help="预填实施单位")] = None,
    name: Annotated[str | None, typer.Option(help="预填项目名称")] = None,
    rows: Annotated[int | None, typer.Option(help="绩效指标可填行数（默认并且至少为表单定义的最少行数，如申报表 40、单位整体表 60）", max=1000)] = None,
    batch: Annotated[Path | None, typer.Option(
        help="单位清单 CSV（列：实施单位,主管部门[,项目名称]），每行生成一份预填模板到 -o 文件夹；"
             "已存在的文件保留不动（可能已填写）")] = None,
    from_: Annotated[Path | None, typer.Option(
        "--from", help="由填好的申报表（或汇总表、或一个文件夹的申报表）生成自评表：项目、预算和指标带入并锁定")] = None,
    variant: Annotated[str | None, typer.Option(help=VARIANT_HELP, metavar="版式")] = None,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    schemas: Schemas = None,
) -> None:
    """生成锁定的 Excel 填报模板（只有黄色单元格可填，带下拉列表和填写提示）。

    \b
    年底自评：xltools template project-selfeval --from 申报表.xlsx -o 自评表.xlsx
              xltools template project-selfeval --from 汇总表.xlsx -o 自评表/
    """
    from .spec import load_spec
    from .template import read_units_csv, template_batch, template_workbook, templates_from

    kind = _kind(kind)
    variant = _variant(kind, variant)
    spec = load_spec(kind, variant)
    main = spec.indicators or (spec.tables[0] if spec.tables else None)   # the table --rows sizes
    floor = main.min_rows if main else 0
    if rows is not None and rows < floor:
        raise UsageError(f"--rows 至少为 {floor}（{spec.name}的「{main.label}」至少 {floor} 行）。")
    prefills = {"--year": year, "--dept": dept, "--unit": unit, "--name": name}
    if from_ is not None:
        given = [k for k, v in prefills.items() if v is not None] + (["--batch"] if batch else []) + (
            ["--variant"] if variant else [])
        if given:
            raise UsageError(f"--from 不能与 {'、'.join(given)} 同时使用：带入的内容全部来自 --from 的表。")
        made = templates_from(kind, from_, out, rows=rows, force=force, progress=_progress())
        if made.refused:
            _err(format_report(made.report))
            _err(made.refused)
            raise typer.Exit(1)
        _out("".join(f"{res.path}\n" for res in made.made))
        _err(f"已由 {from_} 生成 {len(made.made)} 份{spec.short_name}（带入的项目、预算和指标已锁定）")
        return
    if batch is None:
        if out.suffix.lower() != ".xlsx":
            raise UsageError(f"输出文件须以 .xlsx 结尾：{out}")
        res = template_workbook(kind, out, year=year, dept=dept, unit=unit, name=name, rows=rows, force=force,
                                variant=variant)
        _out(f"{res.path}\n")
        _err(f"已生成模板 {res.path}（绩效指标 {res.rows} 行）")
        return
    if unit is not None:
        raise UsageError("--unit 不能与 --batch 同时使用：每份模板的实施单位取自单位清单。")
    if out.suffix.lower() == ".xlsx" or (out.exists() and not out.is_dir()):
        raise UsageError(f"使用 --batch 时 -o 应为文件夹：{out}")
    if not batch.is_file():
        raise UsageError(f"找不到文件：{batch}")
    units = read_units_csv(batch, spec)
    made = template_batch(kind, units, out, year=year, dept=dept, name=name, rows=rows,
                          progress=_progress(), force=force, variant=variant)
    for path in made.existing:
        _err(f"已存在，跳过（未改动）：{path}")
    _out("".join(f"{res.path}\n" for res in made.made))
    tail = f"；{len(made.existing):,} 份已存在未改动（如确要重新生成，请加 --force）" if made.existing else ""
    _err(f"已生成 {len(made.made):,} 份模板到 {out}{os.sep}{tail}")


@app.command(epilog="示例：xltools read 收回/党群综合服务.xlsx > 数据.json")
def read(
    files: Annotated[list[Path], typer.Argument(metavar="文件或文件夹...", help="填好的申报表或汇总表（.xlsx），可给文件夹")],
    format: Annotated[ReadFormat, typer.Option("--format", "-f", help="输出格式")] = ReadFormat.json,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
    schemas: Schemas = None,
) -> None:
    """读取填好的表单，输出 JSON 列表（每个表单一项，键为表上印的标签；UTF-8 编码）。"""
    from .errors import UnreadableFile
    from .read import expand_paths, read_paths

    # Streamed one form at a time: 10,000 files never sit in memory as one JSON text.
    inputs = expand_paths(files)
    failed = skipped = forms = 0
    _out("[", utf8=True)
    for res in _progress(quiet).track(read_paths(inputs), "读取", len(inputs)):
        if isinstance(res, UnreadableFile):
            failed += 1
            _err(f"{res.path}: {res.message}")
            continue
        if res.skipped:
            skipped += 1
            _err(f"已跳过 {res.file}：{res.skipped}")
            continue
        for form in res.forms:
            text = json.dumps(form.data, ensure_ascii=False, indent=2)
            _out(("\n" if not forms else ",\n") + "  " + text.replace("\n", "\n  "), utf8=True)
            forms += 1
    _out("\n]\n" if forms else "]\n", utf8=True)
    parts = [f"读取 {len(inputs) - failed - skipped:,} 个文件、{forms:,} 个表单"]
    parts += [f"无法读取 {failed:,} 个"] if failed else []
    parts += [f"跳过 {skipped:,} 个"] if skipped else []
    _err("，".join(parts) + "。" + ("" if forms else "没有找到可读取的表单。"))
    if failed or not forms:
        raise typer.Exit(2)


PROFILE_HELP = ("审核规则：national（默认，全国通用）、shanghai（上海：缺少成本指标、成本指标不是金额上限为错误），"
                "或自己的规则文件（如 我的规则.toml）；决定哪些规则运行、级别和阈值，以及每份表的审核结论（优/良/中/差）")
Profile = Annotated[str | None, typer.Option("--profile", help=PROFILE_HELP, metavar="名称或文件")]


ACCEPTED_HELP = ("已确认的警告清单（CSV，列：文件或项目,单元格,规则,说明；UTF-8 或 GBK）：其中的警告和提示显示为“已说明”，"
                 "不计入条数和审核结论；错误不能确认")
AcceptedCsv = Annotated[Path | None, typer.Option("--accepted", metavar="已确认.csv", help=ACCEPTED_HELP)]


def _accepted(value: Path | None):
    """The accepted-warnings CSV, loaded before anything is read (a bad one: 错误：…, exit 2)."""
    from .accepted import load_accepted

    return load_accepted(value) if value is not None else None


def _profile(value: str | None):
    """The profile, loaded before anything is read (a bad one: 错误：…, exit 2)."""
    from .profiles import load_profile

    return load_profile(value)


ANNOTATE_HELP = ("为每个有问题的 Excel 表生成退回文件到这个文件夹（文件名同原文件，子文件夹照原样）：问题单元格标色并加批注，"
                 "第一页“审核意见”列出全部问题和下一步怎么做；原文件不改动。已有的退回文件不替换，除非加 --force")


@app.command(epilog="示例：xltools validate 收回/ --format json > 审核结果.json")
def validate(
    paths: Annotated[list[Path], typer.Argument(metavar="文件或文件夹...", help="要审核的 .xlsx 文件或文件夹（含子文件夹）")],
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="text：按文件分组的清单；json：结果列表")]
    = ReportFormat.text,
    against: Annotated[list[Path] | None, typer.Option(
        "--against", help="自评表对照的申报表或汇总表：指标增删改、年初预算数不一致均为错误")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
    profile: Profile = None,
    report_xlsx: Annotated[Path | None, typer.Option(
        "--report", metavar="审核报告.xlsx",
        help="同时写出 Excel 审核报告：汇总（每份表一行：状态、审核结论、错误/警告/提示条数）、明细（每条问题）、规则统计")] = None,
    annotate: Annotated[Path | None, typer.Option("--annotate", metavar="文件夹", help=ANNOTATE_HELP)] = None,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    schemas: Schemas = None,
    accepted: AcceptedCsv = None,
) -> None:
    """审核填好的表单：列出全部错误、警告和提示（含单元格位置和修改方法），并给出每份表的审核结论。

    \b
    审核结果写到标准输出，可保存：xltools validate 收回/ > 审核结果.txt
    自评表对照申报表：xltools validate 自评表/ --against 申报汇总表.xlsx
    上海的审核规则：xltools validate 收回/ --profile shanghai
    审核报告（Excel）：xltools validate 收回/ --report 审核报告.xlsx
    生成退回文件：xltools validate 收回/ --annotate 退回/
    单位已说明、审核员认可的警告：xltools validate 收回/ --accepted 已确认.csv
    """
    from .validate import validate_paths

    listed = _accepted(accepted)   # a bad CSV: exit 2 before reading
    if report_xlsx is not None:   # checked before anything is read: nothing replaced without --force
        from .audit import check_report_target

        check_report_target(report_xlsx, [*paths, *(against or ())], force=force)
    if annotate is not None:
        from .fsutil import check_out_folder

        check_out_folder(annotate)   # an existing file there: said before anything is read
    report = validate_paths(paths, progress=_progress(quiet), against=against or (), profile=_profile(profile),
                            accepted=listed)
    for note in listed.notices if listed is not None else ():
        _err(note)
    # Streamed in pieces (100,000 forms make ~100 MB of report): the same bytes as the whole text.
    if format is ReportFormat.json:
        for piece in _batched(report_json_pieces(report)):
            _out(piece, utf8=True)
    elif annotate is not None:   # stdout lists the 退回 copies; the report is for the person
        _err(format_report(report, quiet=quiet))
    else:
        paint = _painter()
        for piece in _batched(report_lines(report, quiet=quiet), "\n"):
            _out(paint(piece))
        _out("\n")
    if report_xlsx is not None:
        from .audit import write_audit_report

        _err(f"已写出审核报告 {write_audit_report(report, report_xlsx)}")
    if format is ReportFormat.json or quiet or not sys.stdout.isatty() or annotate is not None:
        _err(summary_line(report))   # the report went to a file or a program: the person still sees this
    if annotate is not None:
        _annotate(report, paths, annotate, force, json_out=format is ReportFormat.json)
    raise typer.Exit(report.exit_code)


def _painter():
    """How the text report is written: its severities coloured on a terminal only
    (xltools.termcolour; line by line, so the streamed pieces colour as the whole would)."""
    from .termcolour import enabled, paint_report

    return paint_report if enabled(sys.stdout) else (lambda text: text)


def _annotate(report, paths: list[Path], outdir: Path, force: bool, json_out: bool) -> None:
    """validate --annotate: the 退回 copies (listed on stdout, or on stderr after JSON), the
    inputs that got none and why, and one summary line."""
    from .annotate import annotate_report

    result = annotate_report(report, paths, outdir, force=force)
    for file, why in result.notices:
        _err(f"{file}：{why}。")
    for copy, what in result.lost:
        _err(f"注意：{copy} 的原文件含有 openpyxl 无法保留的 Excel {what}，退回文件中已缺少这部分。")
    listing = "".join(f"{target}\n" for _, target in result.made)
    if json_out:
        if listing:
            _err(listing.rstrip("\n"))
    else:
        _out(listing)
    tail = [f"{len(result.clean):,} 份没有问题，不需退回"] if result.clean else []
    tail += [f"{len(result.notices):,} 份无法生成（见上）"] if result.notices else []
    _err(f"已生成 {len(result.made):,} 份退回文件到 {outdir}{os.sep}" + (f"；{'，'.join(tail)}" if tail else "") + "。")


# Marks every Chinese code page (GBK, GB18030, Big5) has: a report printed on a Chinese Windows
# console, or redirected there into a GBK file, never fails on them.
PASS, FAIL, WARN = "√", "×", "!"


def report_json(report) -> dict:
    """The JSON report: the profile, one summary per form (its counts and 审核结论), and the
    findings (each as before: file, sheet, cell, severity, rule, message)."""
    p = report.profile
    return {"profile": {"name": p.name, "title": p.title} if p is not None else None,
            "forms": report.summaries(),
            "findings": [f.to_dict() for f in report.findings],
            "accepted": [a.to_dict() for a in getattr(report, "accepted", [])]}   # 已说明: not counted


def _indented(obj, depth: int) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * depth)


def report_json_pieces(report):
    """:func:`report_json` as ``json.dumps(..., ensure_ascii=False, indent=2) + "\\n"``, in pieces
    (the findings one by one, never the whole text in memory)."""
    p = report.profile
    yield '{\n  "profile": ' + _indented({"name": p.name, "title": p.title} if p is not None else None, 1)
    for key, items in (("forms", report.summaries()), ("findings", (f.to_dict() for f in report.findings)),
                       ("accepted", (a.to_dict() for a in getattr(report, "accepted", [])))):
        yield f',\n  "{key}": '
        first = True
        for item in items:
            yield ("[\n    " if first else ",\n    ") + _indented(item, 2)
            first = False
        yield "[]" if first else "\n  ]"
    yield "\n}\n"


def _batched(pieces, sep: str = "", size: int = 1 << 16):
    """Pieces joined (with ``sep``) into writes of about ``size`` characters."""
    buf: list[str] = []
    n = 0
    first = True
    for piece in pieces:
        if not first and sep:
            buf.append(sep)
        first = False
        buf.append(piece)
        n += len(piece)
        if n >= size:
            yield "".join(buf)
            buf, n = [], 0
    if buf:
        yield "".join(buf)


TAGS = {"error": "错误", "warning": "警告", "info": "提示"}


def summary_line(report) -> str:
    """One line for the end of a batch: 42 份：通过 35，有警告 4，退回 3."""
    errors = report.files_with_errors()
    warned = {f.file for f in report.warnings} - errors
    passed = len(report.files) - len(errors) - len(warned)
    line = f"{len(report.files):,} 份：通过 {passed:,}，有警告 {len(warned):,}，退回 {len(errors):,}"
    if report.skipped:
        line += f"；跳过 {len(report.skipped):,}"
    return line + ("。" if report.forms else "。没有找到可读取的表单。")


def _conclusions(summaries: list[dict]) -> str:
    if len(summaries) == 1:
        return f"审核结论 {summaries[0]['conclusion']}"
    return "审核结论 " + "、".join(f"{s['conclusion']}（{s['sheet'] or '整个文件'}）" for s in summaries)


def format_report(report, quiet: bool = False) -> str:
    """The text report, grouped by file, each file with its forms' 审核结论. ``quiet``: only the
    files with errors, their errors, and the summary."""
    return "\n".join(report_lines(report, quiet))


def report_lines(report, quiet: bool = False):
    """The lines of :func:`format_report`, one at a time."""
    by_file: dict[str, list] = {f: [] for f in report.files}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    explained: dict[str, list] = {}   # accepted warnings (--accepted): listed as 已说明, never counted
    for a in [] if quiet else getattr(report, "accepted", []):
        explained.setdefault(a.finding.file, []).append(a)
        by_file.setdefault(a.finding.file, [])
    summaries = report.summaries()
    by_file_summary: dict[str, list] = {}
    for s in summaries:
        by_file_summary.setdefault(s["file"], []).append(s)
    for file, items in by_file.items():
        if quiet:
            items = [f for f in items if f.is_error]
            if not items:
                continue
        grade = f" · {_conclusions(by_file_summary[file])}" if by_file_summary.get(file) else ""
        ne = sum(1 for f in items if f.severity == "error")
        nw = sum(1 for f in items if f.severity == "warning")
        ni = len(items) - ne - nw
        hint = (f"，提示 {ni} 条" if ni else "") + (f"，已说明 {len(explained[file])} 条" if explained.get(file) else "")
        if not ne and not nw:
            yield (f"{PASS} {file}：通过{hint}{grade}")
        else:
            yield (f"{FAIL} {file}：错误 {ne} 条，警告 {nw} 条{hint}{grade}" if ne else
                         f"{WARN} {file}：警告 {nw} 条{hint}{grade}")
        for f in items:
            where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "整个文件")
            yield f"  [{TAGS.get(f.severity, f.severity)}] {where}  {f.message}  ({f.rule})"
        for a in explained.get(file, ()):
            f = a.finding
            where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "整个文件")
            yield f"  [已说明] {where}  {f.message}  ({f.rule}) — 说明：{a.note or '（未写说明）'}"
    for file, why in [] if quiet else report.skipped:
        yield (f"- {file}：已跳过（{why}）")
    if report.ignored and not quiet:
        yield (f"已忽略 {len(report.ignored)} 个临时锁定文件（~$…、.~lock…#）：" + "、".join(report.ignored))
    bad = len(report.files_with_errors())
    total = len(report.files) + len(report.skipped) + len(report.ignored)
    extra = "，".join(([f"跳过 {len(report.skipped)} 个"] if report.skipped else [])
                     + ([f"忽略 {len(report.ignored)} 个临时文件"] if report.ignored else []))
    infos = f"，提示 {len(report.infos)} 条" if report.infos else ""
    infos += f"，已说明 {sum(map(len, explained.values()))} 条" if explained else ""
    yield (f"共 {total} 个文件{f'（{extra}）' if extra else ''}、{len(report.forms)} 个表单；错误 {len(report.errors)} 条，"
                 f"警告 {len(report.warnings)} 条{infos}；{bad} 个文件需要退回修改。")
    grades: dict[str, int] = {}
    for s in summaries:
        grades[s["conclusion"]] = grades.get(s["conclusion"], 0) + 1
    p = report.profile
    line = f"审核规则：{p.label}" if p is not None else ""
    if grades:
        line += ("；" if line else "") + "审核结论：" + "，".join(f"{g} {n}" for g, n in grades.items())
    if line:
        yield (line + "。")
    if not report.forms:
        yield ("没有找到可读取的表单。")


@app.command(epilog="示例：xltools merge 收回/ -o 汇总表/    （每类表、每个实施单位和年度一个汇总表）")
def merge(
    paths: Annotated[list[Path], typer.Argument(metavar="文件或文件夹...", help="审核通过的 .xlsx 文件或文件夹")],
    out: Annotated[Path, typer.Option("-o", "--out", help="以 .xlsx 结尾为一个文件（只能有一组），否则为文件夹（每组一个汇总表）")],
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="跳过有错误的表单，只汇总其余的")] = False,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
    profile: Profile = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="同时用 LibreOffice 把每个汇总表打印为 PDF（放在汇总表旁边）")] = False,
    schemas: Schemas = None,
) -> None:
    """把填好的表单汇总为单位汇总表（总览 + 公开版 + 每个项目一张表 + 指标明细）。

    \b
    按表单类型、实施单位和年度分组，每组一个汇总表，文件名如
    <实施单位>_<年度>_申报汇总表.xlsx、<实施单位>_<年度>_自评汇总表.xlsx。
    输入文件夹里由 xltools 生成的汇总表会被跳过，不会重复汇总。
    """
    from .merge import merge_workbooks

    if pdf:
        _pdf_precheck([out] if str(out).lower().endswith(".xlsx") else [], force)
    result = merge_workbooks(paths, out, skip_invalid=skip_invalid, force=force, progress=_progress(quiet),
                             profile=_profile(profile))
    report = result.report
    if result.refused and (report.errors or report.unreadable) and not skip_invalid:
        _err(format_report(report, quiet=quiet))
    for what, why in [] if quiet else result.skipped:
        _err(f"已跳过 {what}：{why}")
    if result.refused:
        _err(result.refused)
        raise typer.Exit(max(result.exit_code, 1))
    _out("".join(f"{path}\n" for path in result.outputs))
    skipped = f"，跳过 {len(result.skipped):,} 个" if result.skipped else ""
    _err(f"已生成 {len(result.outputs):,} 个汇总表，共 {len(result.merged):,} 个表单{skipped}。")
    if pdf and result.outputs:
        code = _print_pdfs(result.outputs, force)
        raise typer.Exit(max(result.exit_code, code))
    raise typer.Exit(result.exit_code)


STATUS_EPILOG = "示例：xltools status 收回/ --expected 单位清单.csv --report 报送台账.xlsx"


@app.command(epilog=STATUS_EPILOG)
def status(
    paths: Annotated[list[Path], typer.Argument(metavar="文件或文件夹...", help="收回的 .xlsx 文件或文件夹（含子文件夹）")],
    expected: Annotated[Path, typer.Option(
        "--expected", metavar="单位清单.csv",
        help="应报送的单位清单，即 template --batch 用的 CSV（如 实施单位,主管部门[,项目名称]；UTF-8 或 GBK）")],
    kind: Annotated[str | None, typer.Option(
        "--kind", metavar="表单类型", help="按哪一种表核对（默认：收到的表只有一种类型时即为该类型）；" + KIND_HELP)] = None,
    report_xlsx: Annotated[Path | None, typer.Option(
        "--report", metavar="台账.xlsx", help="同时把报送台账写成 Excel（打印设置同审核报告）")] = None,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="不显示进度；表中只列需要催报或退回的行")] = False,
    profile: Profile = None,
    accepted: AcceptedCsv = None,
    schemas: Schemas = None,
) -> None:
    """报送台账（催报清单）：按单位清单核对谁已报送、审核是否通过、谁还没报。

    \b
    每个应报的单位（或项目）一行：未报送、已报送·通过、已报送·有警告、已报送·退回、重复报送；
    清单以外收到的表列为“不在清单”。单位名称比较时忽略空格、全角/半角和“(汇总)”等写法差异。
    退出码：0 全部报送且没有退回；1 有未报送、退回或重复报送；2 单位清单有误或有文件无法读取。
    """
    from .status import plain_table, rich_table, status_paths, to_chase
    from .termcolour import enabled

    kind = _kind(kind) if kind is not None else None
    if report_xlsx is not None:
        from .audit import check_report_target

        check_report_target(report_xlsx, [*paths, expected], force=force)
    listed = _accepted(accepted)
    result = status_paths(paths, expected, kind=kind, profile=_profile(profile), progress=_progress(quiet),
                          accepted=listed)
    for note in listed.notices if listed is not None else ():
        _err(note)
    skipped = [] if quiet else result.report.skipped
    for notice in result.notices + [f"已跳过 {f}：{why}" for f, why in skipped]:
        _err(notice)
    if result.other_kinds:
        names = "、".join(dict.fromkeys(n for _, n in result.other_kinds))
        _err(f"另有 {len(result.other_kinds):,} 份{names}不是{result.spec.name}，未按本清单核对。")
    shown = to_chase(result) if quiet else result
    if enabled(sys.stdout):
        from rich.console import Console

        Console(file=sys.stdout, highlight=False).print(rich_table(shown))
    else:
        _out(plain_table(shown) + "\n")
    if report_xlsx is not None:
        from .status import write_status_report

        _err(f"已写出报送台账 {write_status_report(result, report_xlsx)}")
    _err(result.closing_line() + "。")
    raise typer.Exit(result.exit_code)


@app.command("import", epilog="示例：xltools import 公开的申报表.txt 汇总表.pdf -o 导入/")
def import_(
    files: Annotated[list[Path], typer.Argument(
        metavar="文件或文件夹...", help="公开的表：PDF、其文本 (.txt)，或按印制格式自制的 Excel 表；可给文件夹")],
    out: Annotated[Path, typer.Option("-o", "--out", help="输出文件夹：每个表单一个按当前模板填好的 .xlsx")],
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
    schemas: Schemas = None,
) -> None:
    """把公开的表（PDF、PDF 的文本 .txt、别处制作的 Excel）导入为当前模板的表单文件。

    \b
    找到的每个表单写成一个填好的 .xlsx（文件名同 template --batch），可直接审核、汇总或生成自评表。
    文本中不能唯一确定的内容（列错位、分页断开）给出警告 import-ambiguous，注明行号和读取方式，请对照原表核对。
    """
    from .importer import import_forms

    result = import_forms(files, out, force=force)
    for bad in result.unreadable:
        _err(f"{bad.path}: {bad.message}")
    if not quiet:
        for f in result.findings:
            where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "整个文件")
            tag = "错误" if f.is_error else "警告"
            _err(f"[{tag}] {f.file} {where}  {f.message}  ({f.rule})")
    _out("".join(f"{item.path}\n" for item in result.imported))
    parts = [f"已导入 {len(result.imported):,} 个表单（{len(result.files):,} 个文件）"]
    parts += [f"警告 {sum(1 for f in result.findings if not f.is_error):,} 条"] if result.findings else []
    parts += [f"无法读取 {len(result.unreadable):,} 个文件"] if result.unreadable else []
    _err("，".join(parts) + "。" + ("" if result.imported else "没有找到可导入的表单。"))
    raise typer.Exit(result.exit_code)


# -- PDF (LibreOffice) -------------------------------------------------------------------------


def _pdf_precheck(workbooks: list[Path], force: bool) -> None:
    """Before any work: LibreOffice is there, and no PDF would be replaced without --force."""
    from .fsutil import check_targets
    from .pdfout import NOT_INSTALLED, find_soffice, pdf_path

    if not find_soffice():
        raise UsageError(NOT_INSTALLED)
    check_targets([pdf_path(w) for w in workbooks], force=force)


def _print_pdfs(workbooks: list[Path], force: bool) -> int:
    from .pdfout import to_pdf

    _err(f"正在用 LibreOffice 生成 {len(workbooks):,} 个 PDF……")
    result = to_pdf(workbooks, force=force)
    _out("".join(f"{p}\n" for p in result.made))
    for book, why in result.failed:
        _err(f"未能生成 PDF：{book}：{why}")
    _err(f"已生成 {len(result.made):,} 个 PDF" + (f"，失败 {len(result.failed):,} 个。" if result.failed else "。"))
    return 2 if result.failed else 0


@app.command(epilog="示例：xltools pdf 汇总表/*.xlsx    （每个工作簿旁边生成同名 .pdf）")
def pdf(
    files: Annotated[list[Path], typer.Argument(metavar="文件.xlsx...", help="要打印为 PDF 的 Excel 工作簿")],
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """用 LibreOffice（无界面）把工作簿打印为 PDF，放在每个工作簿旁边。

    \b
    需要安装 LibreOffice；每次运行使用单独的临时配置目录，不影响已打开的 LibreOffice，
    超时会停止。已有的 PDF 不替换，除非加 --force。
    """
    missing = [f for f in files if not f.exists()]
    if missing:
        raise MissingPath(missing)
    not_xlsx = [f for f in files if f.is_dir() or f.suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".ods")]
    if not_xlsx:
        raise UsageError("不是 Excel 工作簿：" + "、".join(str(f) for f in not_xlsx))
    _pdf_precheck(files, force)
    raise typer.Exit(_print_pdfs(files, force))


# -- diff: what changed (issue 15 part 5) -------------------------------------------------------


@app.command("diff", epilog="示例：xltools diff 收回/上次/ 收回/本次/ --report 变更.xlsx")
def diff_(
    old: Annotated[Path, typer.Argument(metavar="原版本", help="上次收到的表：文件或文件夹（汇总表按其中的各表单读取）")],
    new: Annotated[Path, typer.Argument(metavar="新版本", help="这次收到的表：文件或文件夹")],
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="text：逐表列出的变更；json：变更对象（UTF-8）")]
    = ReportFormat.text,
    report: Annotated[Path | None, typer.Option("--report", metavar="变更.xlsx",
                                                help="另写一个 Excel 报告（变更 / 审核对比 / 与上年比对）")] = None,
    findings: Annotated[Path | None, typer.Option(
        "--findings", metavar="上次审核.json",
        help="上次的审核结果（validate --format json 的输出）；不给时在本次运行中审核两个版本")] = None,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    profile: Profile = None,
    schemas: Schemas = None,
) -> None:
    """比较同一批表的两个版本：每份表的字段、金额和指标的新增、删除、修改，以及上次的审核问题改了几条。

    \b
    表单按类型和标识（项目名称、实施单位、年度；单位整体表为单位名称、年度）对应，指标按一级/二级/三级
    名称对应（不看行号）。两边年度不同时为“与上年比对”：同一项目上年与本年的金额增减（%）和指标增减。
    有变更不是错误：退出码 0；文件无法读取、某一边没有表单或用法错误为 2。

    \b
    对照上次的审核结果：xltools diff 上次/ 本次/ --findings 上次审核.json
    与上年比对：xltools diff 2025汇总表.xlsx 2026/
    """
    from .diff import diff_json, diff_paths, format_diff, summary_line, write_report

    if report is not None:
        if report.suffix.lower() != ".xlsx":
            raise UsageError(f"--report 须以 .xlsx 结尾：{report}")
        from .fsutil import check_targets

        check_targets([report], [p for side in (old, new) if side.exists() for p in _diff_inputs(side)], force=force)
    result = diff_paths(old, new, findings=findings, profile=_profile(profile), progress=_progress())
    for bad in result.unreadable:
        _err(f"{bad.path}: {bad.message}")
    for file, why in result.skipped:
        _err(f"已跳过 {file}：{why}")
    if result.unmatched_findings:
        _err(f"注意：{findings} 中有 {result.unmatched_findings} 条审核结果在原版本里找不到对应的表，未计入比较。")
    p = result.profile
    if result.earlier_profile and p is not None and result.earlier_profile != p.name:
        _err(f"注意：{findings} 是按审核规则 {result.earlier_profile} 审核的，本次按 {p.name}；"
             f"两次规则不同，改了几条可能不准（可加 --profile {result.earlier_profile}）。")
    if format is ReportFormat.json:
        _out(json.dumps(diff_json(result), ensure_ascii=False, indent=2) + "\n", utf8=True)
    else:
        _out(format_diff(result) + "\n")
    if report is not None:
        sheets = write_report(result, report)
        _err(f"已写出变更报告 {report}（{'、'.join(sheets)}）")
    if format is ReportFormat.json or not sys.stdout.isatty():
        _err(summary_line(result))
    raise typer.Exit(result.exit_code)


def _diff_inputs(path: Path) -> list[Path]:
    from .read import expand_paths

    return expand_paths(path).paths


def main() -> None:
    """Console entry point: no traceback ever reaches the user."""
    _tolerant_streams()
    try:
        code = app(standalone_mode=False)
    except PipeClosed:
        sys.exit(0)
    except XltoolsError as exc:
        _err(f"错误：{exc}")
        sys.exit(2)
    except (KeyboardInterrupt, EOFError):
        _err("已中断。")
        sys.exit(130)
    except Exception as exc:
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click/typer usage errors
            exc.show()
            sys.exit(2 if exc.exit_code not in (0, 1) else exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        if os.environ.get("XLTOOLS_DEBUG"):
            raise
        _err(f"内部错误：{type(exc).__name__}: {exc}。请把命令和文件发给维护者（设置 XLTOOLS_DEBUG=1 可显示详细信息）。")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
