"""The coordinator's loop end to end, as the README shows it (issue 15), on the 虹桥镇 samples:
a roster → prefilled templates → what came back (the samples stand in for the units' fills) →
报送台账 → 退回 copies and a 审核报告 → a unit fixes its copy in the unlocked cell and sends it
back → what changed → the 台账 again → merge. Every figure below was read off the samples by
hand (validate's text report), not computed by the code under test."""

from __future__ import annotations

import json
import shutil

import openpyxl
import pytest
from helpers import ROOT, run_cli

pytestmark = pytest.mark.slow

HONGQIAO = ROOT / "samples" / "hongqiao-2026"
UNIT = "上海市闵行区虹桥镇社区党群服务中心"
DEPT = "上海市闵行区虹桥镇人民政府"
PROJECTS = ['"综合党委""两企三新""党建"', "区域化党建", "党群服务站", "制度外用工经费", "残保金", "规范化建设",
            "人才系列计划", "街区专项经费", "综合党委制度外用工经费", "社区文化活动"]
FIRST = "01_综合党委_两企三新_党建.xlsx"


def run(cwd, *args):
    return run_cli(*args, cwd=cwd, timeout=300, CI="1")


def statuses(stdout: str) -> list[str]:
    """The 状态 column of the plain 台账 table, one per roster row (header skipped)."""
    return [line.split()[3] for line in stdout.splitlines()[1:] if line.strip()]


def test_the_loop_from_roster_to_merge(tmp_path):
    roster = tmp_path / "单位清单.csv"
    shutil.copy(ROOT / "docs" / "单位清单示例.csv", roster)     # the README's roster
    expected = "实施单位,主管部门,项目名称\n" + "".join(f"{UNIT},{DEPT},{p}\n" for p in PROJECTS)
    assert roster.read_text("utf-8") == expected
    roster.write_text(expected, encoding="gb18030")   # as Excel on a Chinese Windows saves it

    # 1. templates, one per roster row
    made = run(tmp_path, "template", "project-target", "--batch", roster, "--year", "2026", "-o", "模板")
    assert made.returncode == 0, made.stderr
    assert len(list((tmp_path / "模板").glob("*.xlsx"))) == 10

    # 2. eight came back (the samples 01–08); 09 and 社区文化活动 did not
    inbox = tmp_path / "收回"
    inbox.mkdir()
    for f in sorted(HONGQIAO.glob("0[1-8]_*.xlsx")):
        shutil.copy(f, inbox / f.name)
    (tmp_path / "上次").mkdir()
    shutil.copy(inbox / FIRST, tmp_path / "上次" / FIRST)

    # 3. the 台账: four to return (01, 02, 07, 08 have errors), four with warnings, two missing
    st = run(tmp_path, "status", "收回", "--expected", roster)
    assert st.returncode == 1, st.stderr
    assert statuses(st.stdout) == ["已报送·退回", "已报送·退回", "已报送·有警告", "已报送·有警告", "已报送·有警告",
                                   "已报送·有警告", "已报送·退回", "已报送·退回", "未报送", "未报送"]
    assert st.stderr.rstrip().endswith("应报 10，已报 8（通过 0，有警告 4，退回 4），未报 2，重复 0，不在清单 0。")

    # 4. 退回 copies and the 审核报告
    val = run(tmp_path, "validate", "收回", "--annotate", "退回", "--report", "审核报告.xlsx")
    assert val.returncode == 1, val.stderr
    copies = sorted(p.name for p in (tmp_path / "退回").glob("*.xlsx"))
    assert copies == sorted(p.name for p in inbox.glob("*.xlsx"))      # every one has a finding
    summary = openpyxl.load_workbook(tmp_path / "审核报告.xlsx", read_only=True)["汇总"]
    rows = [[c for c in r] for r in summary.iter_rows(values_only=True)]
    assert sum(1 for r in rows if "退回" in r) == 4

    # 5. the unit of 01 fixes its only error in the 退回 copy: 工作队伍培训人数 had no 指标值 (E14)
    wb = openpyxl.load_workbook(tmp_path / "退回" / FIRST)
    assert wb.sheetnames[0] == "审核意见"
    ws = wb["申报表"]
    assert ws["D14"].value == "工作队伍培训人数" and ws["E14"].value is None
    assert ws.protection.sheet and not ws["E14"].protection.locked
    assert ws["E14"].comment is not None and "value-empty" in ws["E14"].comment.text
    ws["E14"] = "≥20.00(人)"
    wb.save(inbox / FIRST)                  # sent back under its own name
    shutil.copy(HONGQIAO / "09_综合党委制度外用工经费.xlsx", inbox)   # and 09 arrives late

    again = run(tmp_path, "validate", inbox / FIRST)
    assert again.returncode == 0, again.stdout            # no error left: 4 warnings and 1 info remain
    assert "警告 4 条，提示 1 条" in again.stdout and "审核意见" not in again.stdout

    # 6. what changed since last time
    diff = run(tmp_path, "diff", "上次", inbox / FIRST)
    assert diff.returncode == 0, diff.stderr
    assert "上次 6 条，已改 1 条，新增 0 条" in diff.stdout

    # 7. the 台账 again: 01 now only warned, 09 in; 社区文化活动 still missing
    st = run(tmp_path, "status", "收回", "--expected", roster)
    assert statuses(st.stdout)[0] == "已报送·有警告" and statuses(st.stdout)[8] == "已报送·有警告"
    assert st.stderr.rstrip().endswith("应报 10，已报 9（通过 0，有警告 6，退回 3），未报 1，重复 0，不在清单 0。")

    # 8. merge what can be merged: 9 in, 3 with errors skipped
    merged = run(tmp_path, "merge", "收回", "-o", "汇总表", "--skip-invalid")
    assert merged.returncode == 0, merged.stderr     # --skip-invalid: the skipped are listed, not an error
    assert merged.stderr.rstrip().endswith("已生成 1 个汇总表，共 6 个表单，跳过 3 个。")
    (out,) = (tmp_path / "汇总表").glob("*.xlsx")
    back = json.loads(run(tmp_path, "read", out).stdout)
    assert sorted(f["项目名称"] for f in back) == sorted(['综合党委"两企三新"党建', "党群服务站", "制度外用工经费",
                                                        "残保金", "规范化建设", "综合党委制度外用工经费"])
    fixed = next(f for f in back if "两企三新" in f["项目名称"])
    assert any(row.get("三级指标") == "工作队伍培训人数" and row.get("指标值") == "≥20.00(人)" for row in fixed["绩效指标"])
