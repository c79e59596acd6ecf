"""`xltools diff OLD NEW`: what changed between two versions of the same forms.

Every expectation is written out by hand: the edits made to a copy (openpyxl on a filled
template, as a person edits it), the changes of the real resubmission samples/jiangchuan-2026
(原表 → 修改后, from the two files' `read` output), the findings counted from `validate`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import ROOT, SPEC, valid_form, write_filled

from xltools.diff import diff_json, diff_paths, format_diff, match_rows, show_change, write_report
from xltools.spec import load_spec

JIANGCHUAN = ROOT / "samples" / "jiangchuan-2026"
ZHONGSHAN = ROOT / "samples" / "zhongshan-2024" / "自评表"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd)


def edit(src: Path, dst: Path, spec=SPEC, fields: dict | None = None, rows: list[dict] | None = None,
         cells: dict | None = None) -> Path:
    """A copy of ``src`` edited as a person does in Excel: field values, the whole indicator
    table rewritten (rows moved, added, deleted), or single table cells {(row index, column): value}."""
    wb = openpyxl.load_workbook(src)
    ws = wb[spec.sheet]
    table = spec.indicators

    def put(ref: str, value) -> None:
        ws[ref].value = value
        if isinstance(value, str):
            ws[ref].data_type = "s"   # typed text, "=100.00(%)" included (not a formula)

    for key, value in (fields or {}).items():
        put(spec.field(key).ref, value)
    if rows is not None:
        for i in range(40):
            for c in table.columns:
                put(table.cell(i, c.key), rows[i].get(c.key) if i < len(rows) else None)
    for (i, key), value in (cells or {}).items():
        put(table.cell(i, key), value)
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def by_key(items: list, key: str = "key") -> dict:
    return {x[key]: x for x in items}


# --- each kind of change on a hand-edited copy -----------------------------------------------------


@pytest.fixture
def versions(tmp_path):
    """上次/a.xlsx (valid_form) and 本次/a.xlsx: the edits below, nothing else."""
    (tmp_path / "上次").mkdir()
    old = write_filled(tmp_path / "上次" / "a.xlsx", valid_form())
    rows = valid_form()["绩效指标"]
    moved = [rows[4], rows[0], rows[1], rows[3], rows[5]]           # 完成时限 first; 服务能力 (rows[2]) deleted
    moved = [dict(r) for r in moved]
    moved[1]["指标值"] = "≥6.00(次)"                                  # 活动次数 ≥4.00(次) → ≥6.00(次)
    moved.append({"一级指标": "产出指标", "二级指标": "质量指标", "三级指标": "宣传覆盖率", "指标值": "≥80.00(%)"})
    new = edit(old, tmp_path / "本次" / "a.xlsx",
               fields={"项目性质": "一次性项目", "项目总目标": "三年内建成服务网络。",
                       "年度资金.当年财政拨款": 120000.0, "年度资金.其他资金": None},
               rows=moved)
    return old, new


def test_each_kind_of_change(versions):
    old, new = versions
    result = diff_paths(old, new, validate=False)
    assert result.mode == "resubmission" and result.exit_code == 0
    [d] = diff_json(result)["forms"]
    assert d["status"] == "changed" and d["kind"] == "project-target"
    assert d["identity"] == {"项目名称": "测试项目", "实施单位": "上海市松江区九里亭街道社区党群服务中心", "年度": 2026}
    fields = by_key(d["fields"])
    assert set(fields) == {"项目性质", "项目总目标"}
    assert (fields["项目性质"]["change"], fields["项目性质"]["old"], fields["项目性质"]["new"]) == (
        "changed", "经常性项目", "一次性项目")
    assert (fields["项目总目标"]["change"], fields["项目总目标"]["old"]) == ("added", None)
    amounts = by_key(d["amounts"])
    assert set(amounts) == {"年度资金.当年财政拨款", "年度资金.年度资金申请总额", "年度资金.其他资金"}
    grant = amounts["年度资金.当年财政拨款"]
    assert (grant["label"], grant["old"], grant["new"], grant["difference"], grant["percent"], grant["unit"]) == (
        "当年财政拨款", 100000.0, 120000.0, 20000.0, 20.0, "元")
    total = amounts["年度资金.年度资金申请总额"]
    assert (total["old"], total["new"], total["percent"]) == (100000.0, 120000.0, 20.0)
    assert amounts["年度资金.其他资金"]["change"] == "removed"
    [table] = d["tables"]
    assert (table["key"], table["changed"], table["added"], table["removed"]) == ("绩效指标", 1, 1, 1)
    rows = {(r["change"], r["row"]): r for r in table["rows"]}
    assert set(rows) == {("changed", "产出指标/数量指标/活动次数"), ("added", "产出指标/质量指标/宣传覆盖率"),
                         ("removed", "效益指标/社会效益指标/服务能力")}
    changed = rows[("changed", "产出指标/数量指标/活动次数")]
    # matched by its names, not its position: row 1 before, row 2 now; only the 指标值 changed
    assert (changed["old_row"], changed["new_row"]) == (1, 2)
    assert changed["columns"] == [{"key": "指标值", "label": "指标值", "old": "≥4.00(次)", "new": "≥6.00(次)"}]
    assert rows[("removed", "效益指标/社会效益指标/服务能力")]["old_row"] == 3


def test_the_text_listing(versions):
    old, new = versions
    text = format_diff(diff_paths(old, new, validate=False))
    assert "~ 项目支出绩效目标申报表「测试项目」（上海市松江区九里亭街道社区党群服务中心，2026）" in text
    assert "    项目性质：经常性项目 → 一次性项目" in text
    assert "    当年财政拨款（元）：100,000.00 → 120,000.00（+20,000.00，+20.00%）" in text
    assert "    其他资金（元）：0.00 → （空）" in text
    assert "    绩效指标：修改 1 行，新增 1 行，删除 1 行" in text
    assert "      ~ 产出指标/数量指标/活动次数：指标值 ≥4.00(次) → ≥6.00(次)" in text
    assert "      + 产出指标/质量指标/宣传覆盖率：" in text
    assert "      - 效益指标/社会效益指标/服务能力：" in text
    assert text.splitlines()[-1] == "比较 1 份表单：修改 1，未变 0；新增 0，删除 0。"


def test_nothing_changed_and_forms_added_or_removed(tmp_path):
    a = write_filled(tmp_path / "a.xlsx", valid_form())
    b = write_filled(tmp_path / "b.xlsx", valid_form(项目名称="另一个项目"))
    same = diff_paths(a, a, validate=False)
    assert [d.status for d in same.forms] == ["unchanged"] and same.exit_code == 0
    assert format_diff(same).splitlines() == ["比较 1 份表单：修改 0，未变 1；新增 0，删除 0。"]
    other = diff_json(diff_paths(a, b, validate=False))
    assert [(d["status"], d["identity"]["项目名称"]) for d in other["forms"]] == [
        ("added", "另一个项目"), ("removed", "测试项目")]
    assert other["summary"] == {"compared": 0, "changed": 0, "unchanged": 0, "added": 1, "removed": 1,
                                "findings": None}


def test_a_summary_workbook_reads_as_its_forms(tmp_path):
    from xltools.merge import merge_workbooks

    folder = tmp_path / "收回"
    folder.mkdir()
    for name in ("甲项目", "乙项目"):
        write_filled(folder / f"{name}.xlsx", valid_form(项目名称=name))
    merged = tmp_path / "汇总表.xlsx"
    merge_workbooks([folder], merged)
    result = diff_paths(merged, folder, validate=False)
    assert sorted(d.status for d in result.forms) == ["unchanged", "unchanged"]


def test_rows_are_matched_by_names_in_stages():
    keys = ["一级", "二级", "三级"]
    old = [{"一级": "A", "二级": "x", "三级": "n1"}, {"一级": "A", "二级": None, "三级": "n2"},
           {"一级": "B", "二级": "y", "三级": None}, {"一级": "A", "二级": "x", "三级": "n1"}]
    new = [{"一级": "A", "二级": "x", "三级": "n1"}, {"一级": "B", "二级": "y", "三级": "filled"},
           {"一级": "A", "二级": "z", "三级": "n2"}, {"一级": "C", "二级": "w", "三级": "new"}]
    pairs = match_rows(old, new, keys)
    # the same names pair in their order (the second n1 has no partner); n2 by its 三级 alone; the
    # pre-printed row (三级 empty) with the row whose 三级 was filled in
    assert sorted(pairs, key=str) == sorted([(0, 0), (1, 2), (2, 1), (3, None), (None, 3)], key=str)
    # a plain table by its first text column; without key columns by position
    assert match_rows([{"名": "a"}, {"名": "b"}], [{"名": "b"}], ["名"]) == [(1, 0), (0, None)]
    assert match_rows([{"v": 1}], [{"v": 2}, {"v": 3}], []) == [(0, 0), (None, 1)]


def test_the_amount_compared_across_years():
    from xltools.diff import headline_amount

    assert [headline_amount(load_spec(k, v)).key for k, v in (
        ("project-target", None), ("project-target", "2023"), ("project-selfeval", None), ("unit-target", None))] == [
        "年度资金.年度资金申请总额", "年度资金.年度资金申请总额", "项目资金.年度资金总额.全年执行数",
        "预算情况.部门整体预算总额"]


def test_a_selfeval_score_changed(tmp_path):
    spec = load_spec("project-selfeval")
    src = ZHONGSHAN / "01_党群综合服务.xlsx"
    old = tmp_path / "上次" / src.name
    old.parent.mkdir()
    shutil.copy(src, old)
    # 服务群众工作有实效 (社会效益指标, row 22): 得分 2.00 → 3.00, its 偏差原因 cleared
    new = edit(src, tmp_path / "本次" / src.name, spec=spec,
               cells={(21, "得分"): 3.0, (21, "偏差原因分析及改进措施"): None})
    d = diff_json(diff_paths(old, new, validate=False))["forms"][0]
    assert by_key(d["fields"])["总分"] == {"key": "总分", "label": "总分", "change": "changed", "old": 96.5,
                                               "new": 97.5}
    [table] = d["tables"]
    [row] = table["rows"]
    assert row["row"] == "效益指标/社会效益指标/服务群众工作有实效"
    assert row["columns"] == [
        {"key": "得分", "label": "得分", "old": 2.0, "new": 3.0},
        {"key": "偏差原因分析及改进措施", "label": "偏差原因分析及改进措施", "old": "服务群众项目需进一步丰富完善",
         "new": None}]
    # the same 三级 under 可持续影响指标 (row 26) is another indicator: unchanged
    assert d["amounts"] == []


# --- the real resubmission: 江川路街道 原表 → 修改后 -------------------------------------------------


def test_the_jiangchuan_resubmission():
    result = diff_paths(JIANGCHUAN / "原表", JIANGCHUAN / "修改后")
    [d] = diff_json(result)["forms"]
    assert d["kind"] == "unit-target" and d["fields"] == [] and d["amounts"] == []
    [table] = d["tables"]
    assert (table["key"], table["changed"], table["added"], table["removed"]) == ("绩效指标", 24, 0, 0)
    rows = {r["row"]: r["columns"] for r in table["rows"]}
    assert rows["产出指标/时效指标/文献购置及时性"] == [
        {"key": "指标目标值", "label": "指标目标值", "old": "2024年底", "new": "2026年底"}]
    # the four 成本指标 rows got their 二级目标: matched by the 三级 name, the 二级 is the change
    for name in ("党群服务单场课程人均预算控制数", "文化馆成本预算控制数", "体育器材维护预算控制数",
                 "图书馆运营人员人均单价控制数"):
        assert rows[f"成本指标/经济成本指标/{name}"] == [
            {"key": "二级目标", "label": "二级目标", "old": None, "new": "经济成本指标"}]
    assert rows["效益指标/社会效益指标/场地设施设备安全事故发生率"] == [
        {"key": "指标目标值", "label": "指标目标值", "old": "<0.00(次)", "new": "=0.00(%)"}]
    # validate: 原表 6 errors + 26 warnings + 6 infos; 修改后 5 warnings + 6 infos, all of them there before
    f = d["findings"]
    assert (f["before"], f["fixed"], f["new"], f["remaining"], f["after"]) == (38, 27, 0, 11, 11)
    fixed = [x for x in f["items"] if x["status"] == "fixed"]
    assert {x["rule"] for x in fixed if x["severity"] == "error"} == {"table-required", "count-nonpositive"}
    assert ("count-nonpositive", "E78") in {(x["rule"], x["old_cell"]) for x in fixed}
    assert "审核：上次 38 条，已改 27 条，新增 0 条（本次 11 条）" in format_diff(result)


# --- findings: fixed, new and still there, matched by what they concern --------------------------------


@pytest.fixture
def flagged(tmp_path):
    """上次: 居民满意度 满意 (satisfaction-unmeasurable, E16) and 完成时限 及时 (timeliness-vague,
    E17). 本次: 居民满意度 ≥90.00(%) (fixed), 完成时限 moved to the first row (E13, still 及时), and
    验收合格率 =95.00(%) (rate-equals: new)."""
    rows = valid_form()["绩效指标"]
    rows[3]["指标值"] = "满意"
    rows[4]["指标值"] = "及时"
    (tmp_path / "上次").mkdir()
    old = write_filled(tmp_path / "上次" / "a.xlsx", valid_form(绩效指标=rows))
    now = [dict(r) for r in (rows[4], rows[0], rows[1], rows[2], rows[3], rows[5])]
    now[4]["指标值"] = "≥90.00(%)"
    now[2]["指标值"] = "=95.00(%)"
    new = edit(old, tmp_path / "本次" / "a.xlsx", rows=now)
    return old, new


def _counts(d: dict) -> tuple:
    f = d["findings"]
    return f["before"], f["fixed"], f["new"], f["remaining"]


def test_findings_fixed_and_new_when_both_are_validated(flagged):
    old, new = flagged
    result = diff_paths(old.parent, new.parent)
    [d] = diff_json(result)["forms"]
    assert _counts(d) == (2, 1, 1, 1)
    items = {(x["status"], x["rule"]): x for x in d["findings"]["items"]}
    assert set(items) == {("fixed", "satisfaction-unmeasurable"), ("new", "rate-equals"),
                          ("remaining", "timeliness-vague")}
    assert (items[("fixed", "satisfaction-unmeasurable")]["old_cell"], items[("new", "rate-equals")]["new_cell"]) == (
        "E16", "E15")
    # the same finding on a row that moved: E17 then, E13 now
    still = items[("remaining", "timeliness-vague")]
    assert (still["old_cell"], still["new_cell"]) == ("E17", "E13")
    text = format_diff(result)
    assert "    审核：上次 2 条，已改 1 条，新增 1 条（本次 2 条）" in text
    assert ("      新增 [警告] E15  指标值「=95.00(%)」对比率「验收合格率」要求恰好等于 95%，通常应为「≥95%」，请确认。"
            "  (rate-equals)") in text


def test_findings_from_an_earlier_json(flagged, tmp_path):
    old, new = flagged
    saved = tmp_path / "上次审核.json"
    got = run("validate", old.parent, "--format", "json")
    assert got.returncode == 0, got.stderr
    saved.write_text(got.stdout, "utf-8")
    # the earlier folder was moved away since: findings are placed by file name
    moved = tmp_path / "存档"
    shutil.move(old.parent, moved)
    result = diff_paths(moved, new.parent, findings=saved)
    assert result.findings_from == str(saved) and result.unmatched_findings == 0
    assert _counts(diff_json(result)["forms"][0]) == (2, 1, 1, 1)


def test_a_bad_findings_file_is_refused(flagged, tmp_path):
    old, new = flagged
    bad = tmp_path / "bad.json"
    bad.write_text("不是 JSON", "utf-8")
    got = run("diff", old, new, "--findings", bad)
    assert got.returncode == 2 and "不是 JSON 审核结果" in got.stderr and "Traceback" not in got.stderr
    bad.write_text(json.dumps({"forms": []}), "utf-8")
    got = run("diff", old, new, "--findings", bad)
    assert got.returncode == 2 and "没有审核结果" in got.stderr


# --- year over year: 2025 汇总表 → 2026 folder ----------------------------------------------------------


def _year(year: int, **over) -> dict:
    rows = [dict(r) for r in valid_form()["绩效指标"]]
    for r in rows:
        if r["三级指标"] == "完成时限":
            r["指标值"] = f"{year}年12月31日前"
    form = valid_form(年度=year, 计划开始日期=f"{year}-01-01", 计划完成日期=f"{year}-12-31", 绩效指标=rows)
    form.update(over)
    return form


@pytest.fixture
def years(tmp_path):
    from xltools.merge import merge_workbooks

    y25, y26 = tmp_path / "2025", tmp_path / "2026"
    y25.mkdir()
    y26.mkdir()
    write_filled(y25 / "党群.xlsx", _year(2025, 项目名称="党群服务"))
    write_filled(y25 / "停办.xlsx", _year(2025, 项目名称="停办项目"))
    same = valid_form()["绩效指标"]   # the same indicators both years
    write_filled(y25 / "常规.xlsx", _year(2025, 项目名称="常规项目", 绩效指标=same))
    write_filled(y26 / "常规.xlsx", _year(2026, 项目名称="常规项目", 绩效指标=same))
    rows = [r for r in _year(2026)["绩效指标"] if r["三级指标"] != "服务能力"]
    rows.append({"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "居民参与率", "指标值": "≥60.00(%)"})
    write_filled(y26 / "党群.xlsx", _year(2026, 项目名称="党群服务", 绩效指标=rows, 计划完成日期="2026-06-30",
                                         年度资金={"当年财政拨款": 125000.0, "上年结转资金": 0.0, "其他资金": 5000.0}))
    write_filled(y26 / "新办.xlsx", _year(2026, 项目名称="新办项目"))
    merged = tmp_path / "2025汇总表.xlsx"
    merge_workbooks([y25], merged)
    return merged, y26


def test_year_over_year(years):
    merged, y26 = years
    result = diff_paths(merged, y26)
    assert result.mode == "year-over-year" and result.findings_from is None   # not a resubmission
    out = diff_json(result)
    assert out["years"] == {"old": [2025], "new": [2026]}
    by_name = {d["identity"]["项目名称"]: d for d in out["forms"]}
    assert {k: d["status"] for k, d in by_name.items()} == {"党群服务": "changed", "新办项目": "added",
                                                           "停办项目": "removed", "常规项目": "unchanged"}
    y = by_name["党群服务"]["year_over_year"]
    # 年度资金申请总额 100,000.00 → 130,000.00: +30%
    assert y["amount"] == {"key": "年度资金.年度资金申请总额", "label": "年度资金申请总额", "unit": "元",
                           "old": 100000.0, "new": 130000.0, "difference": 30000.0, "percent": 30.0}
    assert (y["old_year"], y["new_year"]) == (2025, 2026)
    assert y["dropped"] == ["效益指标/社会效益指标/服务能力"]
    assert y["added"] == ["效益指标/社会效益指标/居民参与率"]
    assert y["changed"] == 1   # 完成时限 2025年12月31日前 → 2026年12月31日前
    # a new year is no change: 年度 and 计划开始日期 2025-01-01 → 2026-01-01 are not listed, a
    # 计划完成日期 moved by half a year is
    assert [(c["key"], c["old"], c["new"]) for c in by_name["党群服务"]["fields"]] == [
        ("计划完成日期", "2025-12-31", "2026-06-30")]
    text = format_diff(result)
    assert text.splitlines()[0].startswith("与上年比对：2025 年 → 2026 年")
    assert "    上年比：年度资金申请总额 100,000.00 → 130,000.00（+30,000.00，+30.00%）" in text
    assert "+ 本年新增：项目支出绩效目标申报表「新办项目」" in text
    assert "      + 效益指标/社会效益指标/居民参与率：指标值 ≥60.00(%)" in text   # its names are its label
    assert "- 本年未报：项目支出绩效目标申报表「停办项目」" in text
    # 常规项目: the same but for the year: unchanged, and still listed with its 与上年比对
    assert by_name["常规项目"]["year_over_year"]["amount"]["percent"] == 0.0
    assert "= 项目支出绩效目标申报表「常规项目」（上海市松江区九里亭街道社区党群服务中心，2025 → 2026）" in text
    assert "    上年比：年度资金申请总额 100,000.00 → 100,000.00（+0.00，+0.00%）" in text
    assert text.splitlines()[-1] == "比较 2 份表单：修改 1，未变 1；本年新增 1，本年未报 1。"


# --- the 变更.xlsx report and the command line -------------------------------------------------------------


def test_the_report_workbook(flagged, years, tmp_path):
    old, new = flagged
    target = tmp_path / "变更.xlsx"
    assert write_report(diff_paths(old, new), target) == ["变更", "审核对比"]
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames == ["变更", "审核对比"]
    ws = wb["变更"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$1"
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, (c.value for c in r))) for r in ws.iter_rows(min_row=2)]
    assert {(r["变化"], r["项目"], r["栏目"], r["原值"], r["新值"]) for r in rows} == {
        ("修改", "产出指标/质量指标/验收合格率", "指标值", "=100.00(%)", "=95.00(%)"),
        ("修改", "满意度指标/服务对象满意度指标/居民满意度", "指标值", "满意", "≥90.00(%)")}
    ws = wb["审核对比"]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, (c.value for c in r))) for r in ws.iter_rows(min_row=2)]
    assert {(r["状态"], r["级别"], r["规则"], r["原单元格"], r["现单元格"]) for r in rows} == {
        ("仍有", "提示", "timeliness-vague", "E17", "E13"), ("新增", "警告", "rate-equals", None, "E15"),
        ("已改", "警告", "satisfaction-unmeasurable", "E16", None)}

    merged, y26 = years
    target = tmp_path / "与上年.xlsx"
    write_report(diff_paths(merged, y26), target)
    wb = openpyxl.load_workbook(target)
    assert "与上年比对" in wb.sheetnames and "审核对比" not in wb.sheetnames
    ws = wb["与上年比对"]
    head = [c.value for c in ws[1]]
    rows = {r["名称"]: r for r in (dict(zip(head, (c.value for c in x))) for x in ws.iter_rows(min_row=2))}
    assert (rows["党群服务"]["状态"], rows["党群服务"]["上年金额"], rows["党群服务"]["本年金额"],
            rows["党群服务"]["增减(%)"], rows["党群服务"]["减少的指标"], rows["党群服务"]["新增的指标"]) == (
        "比对", 100000, 130000, 30, "效益指标/社会效益指标/服务能力", "效益指标/社会效益指标/居民参与率")
    assert (rows["新办项目"]["状态"], rows["停办项目"]["状态"]) == ("本年新增", "本年未报")


@pytest.mark.slow
def test_the_command(flagged, tmp_path):
    old, new = flagged
    report = tmp_path / "变更.xlsx"
    got = run("diff", old.parent, new.parent, "--report", report)
    assert got.returncode == 0, got.stderr   # differences are not errors
    assert "审核：上次 2 条，已改 1 条，新增 1 条（本次 2 条）" in got.stdout
    assert got.stderr.strip().splitlines()[-1].startswith("比较 1 份表单：修改 1")
    assert report.is_file()
    again = run("diff", old.parent, new.parent, "--report", report)
    assert again.returncode == 2 and "已存在" in again.stderr          # nothing replaced without --force
    assert run("diff", old.parent, new.parent, "--report", report, "--force").returncode == 0
    js = run("diff", old, new, "-f", "json")
    assert js.returncode == 0
    data = json.loads(js.stdout)
    assert set(data) == {"old", "new", "mode", "years", "profile", "findings_from", "summary", "forms",
                         "unreadable", "skipped"}
    assert data["summary"]["findings"] == {"before": 2, "after": 2, "fixed": 1, "new": 1, "remaining": 1}
    assert set(data["forms"][0]) == {"status", "kind", "form", "identity", "old", "new", "fields", "amounts",
                                     "tables", "findings", "year_over_year"}


def test_bad_input_exits_2(flagged, tmp_path):
    old, new = flagged
    missing = run("diff", tmp_path / "没有", new)
    assert missing.returncode == 2 and "找不到" in missing.stderr and "Traceback" not in missing.stderr
    assert run("diff", old, new, "--report", tmp_path / "变更.csv").returncode == 2
    empty = tmp_path / "空"
    empty.mkdir()
    got = run("diff", empty, new)
    assert got.returncode == 2 and "原版本中没有找到可读取的表单" in got.stderr
    pdf = tmp_path / "x.xlsx"
    pdf.write_bytes(b"not a workbook")
    got = run("diff", pdf, new)
    assert got.returncode == 2 and "x.xlsx" in got.stderr


def test_a_long_text_is_shown_around_its_first_difference():
    old = "一、开展党建活动。" * 6 + "二、全年服务 800 人次。"
    new = "一、开展党建活动。" * 6 + "二、全年服务 1000 人次。"
    # 8 characters before the first difference, 6 after the last
    assert show_change(old, new) == "…。二、全年服务 800 人次。 → …。二、全年服务 1000 人次。（原 68 字，现 69 字）"
    # one character changed mid-text: 8 before, the one, 6 after
    assert show_change("甲" * 50, "甲" * 20 + "乙" + "甲" * 29) == (
        "…" + "甲" * 15 + "… → …" + "甲" * 8 + "乙" + "甲" * 6 + "…（原 50 字，现 50 字）")
    assert show_change("经常性项目", "一次性项目") == "经常性项目 → 一次性项目"
    assert show_change(100000.0, None, "money") == "100,000.00 → （空）"


def test_a_unit_form_amounts_counts_and_its_task_table(tmp_path):
    """修改后 edited again: 财政拨款 92,787,331.00 → 90,000,000.00 and 其他资金 0 → 2,787,331.00 (the
    total stays 92,787,331.00), 年末在职人数 0 → 35, the first two tasks swapped (not a change),
    the 主要内容 of task (八) rewritten."""
    from xltools.read import read_workbook

    [src] = (JIANGCHUAN / "修改后").glob("*.xlsx")
    old = tmp_path / "上次" / src.name
    old.parent.mkdir()
    shutil.copy(src, old)
    form = read_workbook(src).forms[0]
    cell = form.cells
    wb = openpyxl.load_workbook(src)
    ws = wb[form.sheet]
    ws[cell[("预算情况", "财政拨款")]] = 90000000.0
    ws[cell[("预算情况", "其他资金")]] = 2787331.0
    ws[cell[("年末在职人数",)]] = 35
    for key in ("任务名称", "主要内容"):
        a, b = cell[("年度重点任务", 0, key)], cell[("年度重点任务", 1, key)]
        ws[a].value, ws[b].value = ws[b].value, ws[a].value
    ws[cell[("年度重点任务", 7, "主要内容")]] = "完成全年国民体质监测。"
    new = tmp_path / "本次" / src.name
    new.parent.mkdir()
    wb.save(new)
    d = diff_json(diff_paths(old, new, validate=False))["forms"][0]
    assert [(c["key"], c["old"], c["new"]) for c in d["fields"]] == [("年末在职人数", 0, 35)]
    amounts = by_key(d["amounts"])
    assert set(amounts) == {"预算情况.财政拨款", "预算情况.其他资金"}
    assert (amounts["预算情况.财政拨款"]["difference"], amounts["预算情况.财政拨款"]["percent"]) == (-2787331.0, -3.0)
    assert (amounts["预算情况.其他资金"]["difference"], amounts["预算情况.其他资金"]["percent"]) == (2787331.0, None)
    [tasks] = d["tables"]
    assert tasks["key"] == "年度重点任务"
    [row] = tasks["rows"]
    assert (row["change"], row["row"], row["old_row"], row["new_row"]) == ("changed", "(八) 国民体质监测工作", 8, 8)
    assert [(c["key"], c["new"]) for c in row["columns"]] == [("主要内容", "完成全年国民体质监测。")]


@pytest.mark.slow
def test_findings_of_another_profile_are_noticed(flagged, tmp_path):
    old, new = flagged
    saved = tmp_path / "上次审核.json"
    saved.write_text(run("validate", old, "--format", "json", "--profile", "shanghai").stdout, "utf-8")
    got = run("diff", old, new, "--findings", saved)
    assert got.returncode == 0
    assert "是按审核规则 shanghai 审核的，本次按 national" in got.stderr
    assert "是按审核规则" not in run("diff", old, new, "--findings", saved, "--profile", "shanghai").stderr


def test_a_published_text_against_its_workbooks():
    """The seed texts and the samples imported from them hold the same forms: nothing changed and
    every finding is still there — on a text a line holds a whole row (or several fields), and a
    汇总 text holds several forms on one sheet, so findings are placed by their cells' forms and,
    where a line names no single input, matched by rule and message."""
    source = ROOT / "samples" / "source"
    one = diff_json(diff_paths(source / "003_jiangchuan_2026.txt", JIANGCHUAN / "原表"))
    assert [d["status"] for d in one["forms"]] == ["unchanged"]
    # 原表: 6 errors + 26 warnings + 6 infos, on the text as in the workbook
    assert one["summary"]["findings"] == {"before": 38, "after": 38, "fixed": 0, "new": 0, "remaining": 38}
    three = diff_json(diff_paths(source / "000_jiuliting_2026.txt", ROOT / "samples" / "jiuliting-2026"))
    assert [d["status"] for d in three["forms"]] == ["unchanged"] * 3
    f = three["summary"]["findings"]
    assert (f["fixed"], f["new"]) == (0, 0) and f["before"] == f["after"] > 0
