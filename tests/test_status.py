"""The 报送台账 (issue 15, part 4): `xltools status PATH... --expected 单位清单.csv`, against a
hand-made roster with units that reported (passed, warned, returned), one that sent the same file
twice, one that did not report, and a form from a unit not on the list. Expected statuses are
written out by hand below."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import openpyxl
import pytest
from helpers import ROOT, valid_form, write_filled
from helpers import cli_env as env
from helpers import run_cli as run

from xltools.rules import SEVERITY_COLOURS

SAMPLES = ROOT / "samples"
JIULITING = SAMPLES / "jiuliting-2026"
HONGQIAO = SAMPLES / "hongqiao-2026"
JIULITING_UNIT = "上海市松江区九里亭街道社区党群服务中心"
HONGQIAO_UNIT = "上海市闵行区虹桥镇社区党群服务中心"
HEAD = 3


# The roster as a coordinator types it: a trailing space, full-width letters and brackets, the
# (汇总) suffix, curly quotes where the form has straight ones — all still the same unit/project.
ROSTER = (
    "实施单位,主管部门,项目名称\n"
    f"{JIULITING_UNIT},九里亭街道办事处,编外人员工作经费\n"
    f"{JIULITING_UNIT}（汇总） ,九里亭街道办事处,党群综合服务\n"
    f"{JIULITING_UNIT},九里亭街道办事处,社区自治管理\n"
    f"{HONGQIAO_UNIT},虹桥镇人民政府,综合党委“两企三新”党建\n"
    "某某街道社区服务中心,某某街道办事处,未交的项目\n"
    "测试中心Ａ,区政府,测试 项目\n"
)

# row → (status, 审核结论, errors, warnings, infos, files): written by hand from the samples'
# validate output (jiuliting 01: 3 warnings, 1 info; 02: 9 and 7; 03: 3 and 1; hongqiao 01: 1 error).
EXPECTED = [
    ("编外人员工作经费", "已报送·有警告", "良", "0", "3", "1", ["01_编外人员工作经费.xlsx"]),
    ("党群综合服务", "已报送·有警告", "中", "0", "9", "7", ["02_党群综合服务.xlsx"]),
    ("社区自治管理", "重复报送", "良", "0", "6", "2", ["03_副本.xlsx", "03_社区自治管理.xlsx"]),
    ("综合党委“两企三新”党建", "已报送·退回", "差", "1", "4", "1", ["01_综合党委_两企三新_党建.xlsx"]),
    ("未交的项目", "未报送", "", "", "", "", []),
    ("测试 项目", "已报送·通过", "优", "0", "0", "0", ["ok.xlsx"]),
    ("清单外项目", "不在清单", "优", "0", "0", "0", ["extra.xlsx"]),
]
CLOSING = "应报 6，已报 5（通过 1，有警告 3，退回 1），未报 1，重复 1，不在清单 1。"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    base = tmp_path_factory.mktemp("status")
    box = base / "收回"
    box.mkdir()
    for p in JIULITING.glob("*.xlsx"):
        shutil.copy(p, box / p.name)
    shutil.copy(JIULITING / "03_社区自治管理.xlsx", box / "03_副本.xlsx")   # the same file sent twice
    shutil.copy(next(HONGQIAO.glob("01_*.xlsx")), box)                     # a sample with an error
    write_filled(box / "ok.xlsx", valid_form(实施单位="测试中心A", 项目名称="测试项目"))
    write_filled(box / "extra.xlsx", valid_form(实施单位="清单外中心", 项目名称="清单外项目"))
    roster = base / "单位清单.csv"
    roster.write_bytes(ROSTER.encode("gb18030"))   # as Excel on a Chinese Windows saves it
    return box, roster


def parse_plain(text: str) -> list[list[str]]:
    """The plain table's cells, cut at the display columns where the header's cells start (a
    CJK character is two columns wide); the last column runs to the end of the line."""
    import re

    from xltools.layout import char_width

    def columns(line: str) -> list[tuple[int, str]]:
        out, col = [], 0
        for ch in line:
            out.append((col, ch))
            col += int(char_width(ch))
        return out

    lines = text.rstrip("\n").split("\n")
    head = columns(lines[0])
    starts = [0] + [c for (c, ch), (_, prev) in zip(head[1:], head) if ch != " " and prev == " "]
    rows = []
    for line in lines:
        cells = [""] * len(starts)
        for c, ch in columns(line):
            i = max(k for k, s in enumerate(starts) if s <= c)
            cells[i] += ch
        rows.append([re.sub(r"\s+$", "", x).strip() for x in cells])
    return rows


def test_statuses_against_a_hand_made_roster(inbox, tmp_path):
    box, roster = inbox
    proc = run("status", box, "--expected", roster)
    assert proc.returncode == 1, proc.stderr          # missing, returned and duplicate rows
    assert proc.stderr.rstrip().endswith(CLOSING)
    table = parse_plain(proc.stdout)
    assert table[0] == ["序号", "实施单位", "项目名称", "状态", "审核结论", "错误", "警告", "提示", "说明", "文件"]
    got = []
    for row in table[1:]:
        n, unit, name, status, grade, e, w, i, note, files = row
        got.append((name, status, grade, e, w, i, sorted(os.path.basename(f) for f in files.split("、") if f)))
    assert got == EXPECTED
    units = [row[1] for row in table[1:]]
    assert units[1] == f"{JIULITING_UNIT}（汇总）"   # the roster's own spelling is shown
    assert table[3][-2] == "同一申报表 2 份（见文件）"


def test_report_workbook(inbox, tmp_path):
    box, roster = inbox
    out = tmp_path / "台账.xlsx"
    proc = run("status", box, "--expected", roster, "--report", out)
    assert proc.returncode == 1 and f"已写出报送台账 {out}" in proc.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["报送台账"]
    ws = wb["报送台账"]
    assert ws["A1"].value == "报送台账"
    assert ws["A2"].value.startswith("审核规则：national") and CLOSING.rstrip("。") in ws["A2"].value
    assert [c.value for c in ws[HEAD]] == ["序号", "实施单位", "项目名称", "状态", "审核结论", "错误", "警告", "提示",
                                           "说明", "文件"]
    rows = list(ws.iter_rows(min_row=HEAD + 1, values_only=True))
    assert [(r[2], r[3]) for r in rows] == [(e[0], e[1]) for e in EXPECTED]
    assert [r[5:8] for r in rows][:4] == [(0, 3, 1), (0, 9, 7), (0, 6, 2), (1, 4, 1)]
    assert ws.freeze_panes == f"A{HEAD + 1}" and ws.auto_filter.ref == f"A{HEAD}:J{HEAD + len(rows)}"
    assert ws.print_title_rows == f"${HEAD}:${HEAD}" and ws.page_setup.orientation == "landscape"
    assert str(ws.page_setup.paperSize) == "9" and ws.sheet_properties.pageSetUpPr.fitToPage
    colour = {r[3]: ws.cell(HEAD + 1 + i, 4).fill.fgColor.rgb for i, r in enumerate(rows)}
    assert colour["未报送"] == colour["已报送·退回"] == "FF" + SEVERITY_COLOURS["error"][0][1:]
    assert colour["重复报送"] == colour["已报送·有警告"] == "FF" + SEVERITY_COLOURS["warning"][0][1:]
    assert colour["不在清单"] == "FF" + SEVERITY_COLOURS["info"][0][1:]
    again = run("status", box, "--expected", roster, "--report", out)
    assert again.returncode == 2 and "已存在" in again.stderr and again.stdout == ""


def test_quiet_lists_what_needs_chasing(inbox):
    box, roster = inbox
    proc = run("status", box, "--expected", roster, "--quiet")
    assert proc.returncode == 1
    statuses = [row[3] for row in parse_plain(proc.stdout)[1:]]
    assert statuses == ["重复报送", "已报送·退回", "未报送"]
    assert proc.stderr.rstrip().endswith(CLOSING)     # the counts are of the whole roster


def test_all_reported_and_passed_exits_0(tmp_path):
    box = tmp_path / "收回"
    box.mkdir()
    write_filled(box / "a.xlsx", valid_form(实施单位="甲中心", 项目名称="党建经费"))
    roster = box / "单位清单.csv"        # the roster in the inbox itself is not read as a submission
    roster.write_text("实施单位,主管部门\n甲中心,区政府\n", encoding="utf-8-sig")
    proc = run("status", box, "--expected", roster)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "已报送·通过" in proc.stdout
    assert proc.stderr.rstrip().endswith("应报 1，已报 1（通过 1，有警告 0，退回 0），未报 0，重复 0，不在清单 0。")


def test_unit_level_kind_and_the_kind_asked_for(tmp_path):
    roster = tmp_path / "单位.csv"
    roster.write_text("单位名称\n上海市闵行区江川路街道社区党群服务中心\n上海市闵行区某某街道\n", encoding="utf-8")
    proc = run("status", SAMPLES / "jiangchuan-2026" / "修改后", "--expected", roster)
    assert proc.returncode == 1, proc.stderr
    table = parse_plain(proc.stdout)
    assert table[0][:4] == ["序号", "单位名称", "状态", "审核结论"]        # no project name for this kind
    assert [r[2] for r in table[1:]] == ["已报送·有警告", "未报送"]
    both = run("status", SAMPLES / "jiangchuan-2026" / "修改后", JIULITING, "--expected", roster)
    assert both.returncode == 2 and "--kind" in both.stderr and "Traceback" not in both.stderr
    asked = run("status", SAMPLES / "jiangchuan-2026" / "修改后", JIULITING, "--expected", roster,
                "--kind", "unit-target")
    assert asked.returncode == 1 and "另有 3 份项目支出绩效目标申报表" in asked.stderr
    assert [r[2] for r in parse_plain(asked.stdout)[1:]] == ["已报送·有警告", "未报送"]


def test_a_roster_for_another_kind_says_which_columns(tmp_path):
    roster = tmp_path / "单位.csv"
    roster.write_text("单位名称\n某单位\n", encoding="utf-8")
    proc = run("status", JIULITING, "--expected", roster)
    assert proc.returncode == 2 and "「实施单位」和「主管部门」" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("content, message", [
    (b"%PDF-1.7\n...", "PDF 文件"),
    (b"PK\x03\x04rest", "Excel 工作簿"),
    ("项目名称\n党建\n".encode(), "至少包含「实施单位」和「主管部门」"),
    ("实施单位,主管部门\n甲中心,区政府\n,区政府\n".encode(), "第 3 行：「实施单位」为空"),
    ("实施单位,主管部门\n".encode(), "没有任何单位行"),
])
def test_bad_roster_exit_2_in_chinese(tmp_path, content, message):
    roster = tmp_path / "单位清单.csv"
    roster.write_bytes(content)
    proc = run("status", JIULITING, "--expected", roster, "--kind", "project-target")
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_missing_roster_or_inbox(tmp_path):
    proc = run("status", JIULITING, "--expected", tmp_path / "没有.csv")
    assert proc.returncode == 2 and "找不到文件或文件夹" in proc.stderr
    roster = tmp_path / "a.csv"
    roster.write_text("实施单位,主管部门\n甲,乙\n", encoding="utf-8")
    proc = run("status", tmp_path / "没有的文件夹", "--expected", roster)
    assert proc.returncode == 2 and "找不到文件或文件夹" in proc.stderr
    proc = run("status", JIULITING)
    assert proc.returncode == 2 and "--expected" in proc.stderr


def test_the_same_roster_row_twice_counts_once(tmp_path):
    roster = tmp_path / "a.csv"
    roster.write_text(f"实施单位,主管部门,项目名称\n{JIULITING_UNIT},x,编外人员工作经费\n{JIULITING_UNIT} ,x,编外人员工作经费\n",
                      encoding="utf-8")
    proc = run("status", JIULITING / "01_编外人员工作经费.xlsx", "--expected", roster)
    assert proc.returncode == 0, proc.stderr
    assert "单位清单的第 2 项" in proc.stderr and "与第 1 项相同" in proc.stderr
    assert "应报 1，已报 1" in proc.stderr


def test_unreadable_file_is_listed(tmp_path):
    box = tmp_path / "收回"
    box.mkdir()
    write_filled(box / "a.xlsx", valid_form(实施单位="甲中心", 项目名称="党建经费"))
    (box / "b.pdf").write_bytes(b"%PDF-1.4 nothing")
    roster = tmp_path / "a.csv"
    roster.write_text("实施单位,主管部门\n甲中心,区政府\n", encoding="utf-8")
    proc = run("status", box, "--expected", roster)
    assert proc.returncode == 2
    rows = parse_plain(proc.stdout)[1:]
    assert [r[3] for r in rows] == ["已报送·通过", "无法读取"]
    assert proc.stderr.rstrip().endswith("，无法读取 1。")


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
def test_terminal_table_is_coloured(inbox):
    from test_audit import _on_a_terminal

    box, roster = inbox
    shown = _on_a_terminal("status", box, "--expected", roster, COLUMNS="200")
    assert "\x1b[38;2;156;0;6;48;2;255;199;206m未报送" in shown and "已报送·退回" in shown
    assert "\x1b[38;2;127;96;0;48;2;255;217;102m重复报送" in shown
    plain = _on_a_terminal("status", box, "--expected", roster, NO_COLOR="1")
    assert "未报送" in plain and "\x1b[3" not in plain and "\x1b[4" not in plain


def test_gbk_console(inbox):
    box, roster = inbox
    proc = subprocess.run([sys.executable, "-m", "xltools", "status", str(box), "--expected", str(roster)],
                          capture_output=True, env=env(PYTHONIOENCODING="gbk"), timeout=180)
    assert proc.returncode == 1
    text = proc.stdout.decode("gbk")
    assert "已报送·退回" in text and "重复报送" in text
    assert proc.stderr.decode("gbk").rstrip().endswith(CLOSING)


def test_one_unit_several_projects_and_years_are_not_duplicates(tmp_path):
    box = tmp_path / "收回"
    box.mkdir()
    write_filled(box / "a.xlsx", valid_form(实施单位="甲中心", 项目名称="党建经费"))
    write_filled(box / "b.xlsx", valid_form(实施单位="甲中心", 项目名称="文体经费"))
    write_filled(box / "c.xlsx", valid_form(实施单位="甲中心", 项目名称="党建经费", 年度=2025,
                                            计划开始日期="2025-01-01", 计划完成日期="2025-12-31",
                                            绩效指标=valid_form()["绩效指标"][:4]))
    roster = tmp_path / "a.csv"
    roster.write_text("实施单位,主管部门\n甲中心,区政府\n", encoding="utf-8")   # units only: all the unit's forms
    proc = run("status", box, "--expected", roster)
    rows = parse_plain(proc.stdout)[1:]
    # warned, not sent twice: b is near a (project-near-duplicate), c lacks cost and 时效 indicators
    assert [(r[3], r[8]) for r in rows] == [("已报送·有警告", "收到 3 份")], proc.stdout
    assert proc.returncode == 0
    write_filled(box / "d.xlsx", valid_form(实施单位="甲中心", 项目名称="文体经费"))   # now one project twice
    proc = run("status", box, "--expected", roster)
    rows = parse_plain(proc.stdout)[1:]
    assert [(r[3], r[8]) for r in rows] == [("重复报送", "「文体经费」2 份（见文件）")]
    assert proc.returncode == 1


def test_accepted_warnings_make_a_form_pass(tmp_path):
    """The 01 sample's three warnings and its info, all accepted by the coordinator: the form is
    通过 in the 台账 (status counts without them, as validate does); without the CSV it has warnings."""
    box = tmp_path / "收回"
    box.mkdir()
    shutil.copy(JIULITING / "01_编外人员工作经费.xlsx", box / "01.xlsx")
    roster = tmp_path / "单位清单.csv"
    roster.write_text(f"实施单位,主管部门,项目名称\n{JIULITING_UNIT},九里亭街道办事处,编外人员工作经费\n", encoding="utf-8")
    accepted = tmp_path / "已确认.csv"
    accepted.write_text("文件或项目,单元格,规则,说明\n"
                        "01.xlsx,C7,funds-incomplete,项目为年度经费，无跨年总额\n"
                        "编外人员工作经费,B13,cost-missing,人员经费按定额\n"
                        "编外人员工作经费,E17,timeliness-vague,按月发放\n"
                        "编外人员工作经费,E20,satisfaction-unmeasurable,以问卷为准\n", encoding="gb18030")
    before = run("status", box, "--expected", roster)
    assert before.returncode == 0, before.stderr
    assert "已报送·有警告" in before.stdout
    after = run("status", box, "--expected", roster, "--accepted", accepted)
    assert after.returncode == 0, after.stderr
    assert "已报送·通过" in after.stdout and "有警告" not in after.stdout
    assert after.stderr.rstrip().endswith("应报 1，已报 1（通过 1，有警告 0，退回 0），未报 0，重复 0，不在清单 0。")
