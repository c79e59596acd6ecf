"""The 审核报告 (issue 15, part 2): `validate … --report 审核报告.xlsx`, and coloured severities on
a terminal (part 6). Expected counts come from the JSON report of the same run, counted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from types import SimpleNamespace

import openpyxl
import pytest
from helpers import ROOT, valid_form, write_filled
from helpers import cli_env as env
from helpers import run_cli as run

from xltools.rules import SEVERITY_COLOURS, SEVERITY_NAMES

SAMPLES = ROOT / "samples"
JIULITING = SAMPLES / "jiuliting-2026"
HONGQIAO = SAMPLES / "hongqiao-2026"
JIANGCHUAN = SAMPLES / "jiangchuan-2026"
ZHONGSHAN = SAMPLES / "zhongshan-2024" / "自评表"
ALL_KINDS = (JIULITING, HONGQIAO, JIANGCHUAN, ZHONGSHAN)   # 申报表, 单位整体申报表, 自评表
HEAD = 3   # the header row: title, profile line, header


def rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(min_row=HEAD + 1, values_only=True)]


def header(ws) -> list[str]:
    return [c.value for c in ws[HEAD]]


def by_header(ws) -> list[dict]:
    h = header(ws)
    return [dict(zip(h, r)) for r in rows(ws)]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One run over every kind: the JSON report on stdout, the 审核报告 beside it."""
    out = tmp_path_factory.mktemp("audit") / "审核报告.xlsx"
    proc = run("validate", *ALL_KINDS, "--format", "json", "--report", out)
    assert proc.returncode == 1, proc.stderr          # hongqiao and the 原表 have errors
    assert f"已写出审核报告 {out}" in proc.stderr
    return json.loads(proc.stdout), openpyxl.load_workbook(out)


def test_sheets_headers_freeze_autofilter_print_setup(made):
    data, wb = made
    assert wb.sheetnames == ["汇总", "明细", "规则统计"]
    assert header(wb["汇总"]) == ["序号", "文件", "工作表", "实施单位／单位名称", "项目名称", "表单类型", "状态",
                                 "审核结论", "结论说明", "错误", "警告", "提示"]
    assert header(wb["明细"]) == ["序号", "文件", "工作表", "单元格", "级别", "规则", "审核意见"]
    assert header(wb["规则统计"]) == ["规则", "规则说明", "级别", "条数", "文件数"]
    for ws in wb:
        n = ws.max_row
        assert ws["A1"].value == "审核报告"
        assert ws["A2"].value.startswith("审核规则：national（全国通用")   # the profile, named at the top
        assert ws.freeze_panes == f"A{HEAD + 1}"
        assert ws.auto_filter.ref == f"A{HEAD}:{openpyxl.utils.get_column_letter(ws.max_column)}{n}"
        assert ws.print_title_rows == f"${HEAD}:${HEAD}"
        assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
        assert all(ws.column_dimensions[c].width > 4 for c in "ABCDE")
    assert wb["明细"].column_dimensions["G"].width >= 40    # the message column is wide, and wraps
    assert wb["明细"]["G4"].alignment.wrap_text


def test_summary_counts_equal_the_findings(made):
    data, wb = made
    counted: Counter = Counter()
    for f in data["findings"]:
        counted[(f["file"], f["sheet"], f["severity"])] += 1
    table = by_header(wb["汇总"])
    assert [(r["文件"], r["工作表"] or None) for r in table] == [(s["file"], s["sheet"]) for s in data["forms"]]
    assert len(table) == 3 + 9 + 2 + 3
    for r in table:
        key = (r["文件"], r["工作表"])
        assert (r["错误"], r["警告"], r["提示"]) == (counted[(*key, "error")], counted[(*key, "warning")],
                                                    counted[(*key, "info")]), key
        want = "退回" if r["错误"] else "有警告" if r["警告"] else "通过"
        assert r["状态"] == want
    assert sum(r["错误"] for r in table) == sum(1 for f in data["findings"] if f["severity"] == "error")
    # the identity of each form comes from its fields with the roles unit and name
    jiuliting = next(r for r in table if r["文件"].endswith("02_党群综合服务.xlsx") and "jiuliting" in r["文件"])
    assert (jiuliting["实施单位／单位名称"], jiuliting["项目名称"], jiuliting["表单类型"]) == (
        "上海市松江区九里亭街道社区党群服务中心", "党群综合服务", "项目支出绩效目标申报表")
    assert (jiuliting["警告"], jiuliting["提示"], jiuliting["审核结论"]) == (9, 7, "中")   # as README's example
    unit = next(r for r in table if "原表" in r["文件"])
    assert (unit["实施单位／单位名称"], unit["项目名称"], unit["表单类型"], unit["状态"], unit["审核结论"]) == (
        "上海市闵行区江川路街道社区党群服务中心", "", "单位整体支出绩效目标申报表", "退回", "差")
    selfeval = [r for r in table if "自评表" in r["文件"]]
    assert {r["表单类型"] for r in selfeval} == {"项目支出绩效自评表"} and len(selfeval) == 3


def test_details_list_every_finding_in_order(made):
    data, wb = made
    got = [(r["文件"], r["工作表"] or None, r["单元格"] or None, r["级别"], r["规则"], r["审核意见"])
           for r in by_header(wb["明细"])]
    want = [(f["file"], f["sheet"], f["cell"], SEVERITY_NAMES[f["severity"]], f["rule"], f["message"])
            for f in data["findings"]]
    assert got == want
    ws = wb["明细"]
    for i, f in enumerate(data["findings"]):
        cell = ws.cell(HEAD + 1 + i, 5)
        fill, font = SEVERITY_COLOURS[f["severity"]]
        assert cell.fill.fgColor.rgb == "FF" + fill[1:] and cell.font.color.rgb == "FF" + font[1:]


def test_rule_counts(made):
    data, wb = made
    want = Counter((f["rule"], SEVERITY_NAMES[f["severity"]]) for f in data["findings"])
    files: dict = {}
    for f in data["findings"]:
        files.setdefault((f["rule"], SEVERITY_NAMES[f["severity"]]), set()).add(f["file"])
    table = by_header(wb["规则统计"])
    assert {(r["规则"], r["级别"]): r["条数"] for r in table} == dict(want)
    assert {(r["规则"], r["级别"]): r["文件数"] for r in table} == {k: len(v) for k, v in files.items()}
    sev = [r["级别"] for r in table]
    assert sev == sorted(sev, key=["错误", "警告", "提示"].index)    # errors first
    titles = {r["规则"]: r["规则说明"] for r in table}
    assert titles["value-empty"] == "三级指标「…」的指标值为空"
    assert titles["duplicate-indicator"] == "三级指标「…」在二级指标「…」下重复出现"   # labels from the finding
    assert titles["cost-missing"] == "本表没有成本指标"


def test_unreadable_file_and_text_that_looks_like_a_formula(tmp_path):
    inbox = tmp_path / "收回"
    inbox.mkdir()
    write_filled(inbox / "a.xlsx", valid_form(项目名称="=HYPERLINK(\"http://x\",\"点我\")"))
    (inbox / "b.xlsx").write_bytes(b"not a workbook at all")
    out = tmp_path / "报告.xlsx"
    proc = run("validate", inbox, "--report", out, "--quiet")
    assert proc.returncode == 2, proc.stderr
    ws = openpyxl.load_workbook(out)["汇总"]
    table = by_header(ws)
    assert [(r["文件"].rsplit("/", 1)[-1], r["状态"]) for r in table] == [("a.xlsx", "通过"), ("b.xlsx", "无法读取")]
    assert (table[1]["错误"], table[1]["审核结论"]) == (1, "差")
    assert "Excel (.xlsx)" in table[1]["结论说明"]      # why it could not be read, in place of the meaning
    name = ws.cell(HEAD + 1, header(ws).index("项目名称") + 1)
    assert name.value == "=HYPERLINK(\"http://x\",\"点我\")" and name.data_type == "s"   # text, not a formula
    status = ws.cell(HEAD + 2, header(ws).index("状态") + 1)
    assert status.fill.fgColor.rgb == "FF" + SEVERITY_COLOURS["error"][0][1:]


def test_nothing_replaced_without_force_and_never_inside_an_input_folder(tmp_path):
    out = tmp_path / "审核报告.xlsx"
    out.write_bytes(b"earlier")
    proc = run("validate", JIULITING, "--report", out)
    assert proc.returncode == 2 and "已存在" in proc.stderr and "--force" in proc.stderr
    assert out.read_bytes() == b"earlier" and proc.stdout == ""      # stopped before any work
    proc = run("validate", JIULITING, "--report", out, "--force", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert openpyxl.load_workbook(out).sheetnames == ["汇总", "明细", "规则统计"]
    inbox = tmp_path / "收回"
    inbox.mkdir()
    write_filled(inbox / "a.xlsx", valid_form())
    proc = run("validate", inbox, "--report", inbox / "审核报告.xlsx")
    assert proc.returncode == 2 and "不能写在要审核的文件夹" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in inbox.iterdir()) == ["a.xlsx"]
    proc = run("validate", inbox, "--report", tmp_path / "报告.txt")
    assert proc.returncode == 2 and ".xlsx" in proc.stderr


def test_accepted_findings_are_listed_never_counted(tmp_path):
    """A run with accepted warnings (explain's `report.accepted`: objects with .finding, .note)."""
    from xltools.audit import write_audit_report
    from xltools.validate import validate_paths

    report = validate_paths([JIULITING])
    first = next(f for f in report.findings if f.rule == "cost-missing" and f.file.endswith("01_编外人员工作经费.xlsx"))
    report.findings.remove(first)
    report.accepted = [SimpleNamespace(finding=first, note="本项目为人员经费，不设成本指标")]
    out = write_audit_report(report, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(out)
    table = by_header(wb["汇总"])
    assert header(wb["汇总"])[-1] == "已说明"
    assert [(r["警告"], r["提示"], r["已说明"]) for r in table] == [(2, 1, 1), (9, 7, 0), (3, 1, 0)]   # 3 − 1 warnings
    assert table[0]["审核结论"] == "良"
    details = by_header(wb["明细"])
    assert len(details) == len(report.findings) + 1
    marked = [r for r in details if r["处理"] == "已说明"]
    assert [(r["单元格"], r["规则"], r["级别"], r["说明"]) for r in marked] == [
        ("B13", "cost-missing", "警告", "本项目为人员经费，不设成本指标")]
    assert details.index(marked[0]) == 1              # in its place in the file's findings (C7, B13, E17 …)
    i = details.index(marked[0])
    assert wb["明细"].cell(HEAD + 1 + i, 5).fill.fgColor.rgb in (None, "00000000")   # not marked as counted
    rules = {r["规则"]: r["条数"] for r in by_header(wb["规则统计"])}
    assert rules["cost-missing"] == 2                 # of 3: the accepted one is not counted
    assert "已说明 1 条（不计入）" in wb["汇总"]["A2"].value


# --- part 6: colours on a terminal, plain text elsewhere ---------------------------------------


def test_redirected_report_has_no_colour():
    proc = run("validate", HONGQIAO)
    assert "\x1b" not in proc.stdout and "\x1b" not in proc.stderr
    assert "  [错误] 申报表!E14" in proc.stdout


def test_paint_uses_the_severity_colours(monkeypatch):
    from xltools.termcolour import paint, paint_report

    monkeypatch.setenv("COLORTERM", "truecolor")
    text = "× a.xlsx：错误 1 条\n  [错误] 申报表!E14  空  (value-empty)\n  [提示] 申报表!E15  及时  (timeliness-vague)\n"
    painted = paint_report(text)
    assert "\x1b[38;2;156;0;6;48;2;255;199;206m[错误]\x1b[0m" in painted        # font #9C0006 on fill #FFC7CE
    assert "\x1b[38;2;31;56;100;48;2;217;225;242m[提示]\x1b[0m" in painted
    assert painted.startswith("\x1b[38;2;156;0;6;48;2;255;199;206m×\x1b[0m a.xlsx")
    monkeypatch.delenv("COLORTERM")
    monkeypatch.delenv("WT_SESSION", raising=False)
    assert paint("x", "warning").startswith("\x1b[38;5;") and paint("x", "warning", on=False) == "x"
    assert paint("x", "unknown") == "x"


def _on_a_terminal(*args, **extra) -> str:
    """Run xltools with stdout on a pseudo-terminal; what the terminal showed."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "xltools", *map(str, args)], stdout=slave,
                            stderr=subprocess.DEVNULL, env=env(COLORTERM="truecolor", **extra))
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=180)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
def test_terminal_shows_coloured_severities_unless_no_color():
    shown = _on_a_terminal("validate", HONGQIAO / "01_综合党委_两企三新_党建.xlsx")
    assert "\x1b[38;2;156;0;6;48;2;255;199;206m[错误]\x1b[0m 申报表!E14" in shown
    plain = _on_a_terminal("validate", HONGQIAO / "01_综合党委_两企三新_党建.xlsx", NO_COLOR="1")
    assert "\x1b[" not in plain and "[错误] 申报表!E14" in plain


def test_same_bytes_as_before_when_redirected(tmp_path):
    """Without a terminal, the text report is exactly format_report's text (nothing painted)."""
    from xltools.cli import format_report
    from xltools.validate import validate_paths

    proc = subprocess.run([sys.executable, "-m", "xltools", "validate", str(JIULITING)], capture_output=True,
                          env=env(COLORTERM="truecolor"), timeout=180)
    report = validate_paths([JIULITING])
    assert proc.stdout == (format_report(report) + "\n").encode("utf-8")
