"""Issue 14: the reviewer's content rules, profiles, the info severity and the 审核结论.

Every rule: a finding at the exact cell the unit must change, and a case where it stays silent.
The base form (helpers.valid_form) is clean under both profiles; its indicator rows sit on sheet
rows 13.. (一级 B, 二级 C, 三级 D, 指标值 E); 年度总体目标 is D11, 财政资金 C7.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from helpers import ROOT, valid_form, write_filled

from xltools.errors import ConfigError
from xltools.profiles import load_profile
from xltools.rules import BY_CODE
from xltools.validate import validate_paths

BASE = valid_form()["绩效指标"]
JIULITING = ROOT / "samples" / "jiuliting-2026"
ZHONGSHAN = ROOT / "samples" / "zhongshan-2024"
HONGQIAO = ROOT / "samples" / "hongqiao-2026"

NEW_RULES = ["cost-missing", "cost-not-cap", "output-incomplete", "satisfaction-unmeasurable", "timeliness-vague",
             "rate-qualitative", "rate-equals", "rate-ge-100", "count-capped", "unit-odd", "money-unit-mismatch",
             "indicator-near-duplicate", "satisfaction-misfiled", "satisfaction-not-served", "filler-value",
             "text-repeated", "text-year", "goal-unmatched", "funds-incomplete", "cost-exceeds-budget", "tier-score",
             "over-achievement", "budget-adjusted", "actual-unit-mismatch", "weights-default",
             "project-near-duplicate", "double-counted", "name-variant"]


def row(l1, l2, l3, value):
    return {"一级指标": l1, "二级指标": l2, "三级指标": l3, "指标值": value}


def with_value(i, value, rows=BASE):
    rows = copy.deepcopy(rows)
    rows[i]["指标值"] = value
    return rows


def without(i, rows=BASE):
    return [r for k, r in enumerate(rows) if k != i]


def findings(tmp_path, form, profile=None, name="f.xlsx"):
    write_filled(tmp_path / name, form)
    report = validate_paths([tmp_path / name], profile=profile)
    return report, {(f.cell, f.rule, f.severity) for f in report.findings}


def test_every_new_code_is_in_the_catalogue_and_both_profiles():
    for code in NEW_RULES:
        assert code in BY_CODE
    for name in ("national", "shanghai"):
        p = load_profile(name)
        # funds-incomplete keeps its two severities (empty: warning; below the year's funds: error)
        assert set(NEW_RULES) - {"funds-incomplete"} <= set(p.rules), name


def test_the_base_form_is_clean_under_both_profiles(tmp_path):
    for profile in ("national", "shanghai"):
        report, got = findings(tmp_path, valid_form(), profile)
        assert got == set() and report.summaries()[0]["conclusion"] == "优", (profile, got)


INDICATOR_CASES = [
    # rule, the rows, the cell, national severity
    ("cost-missing", without(5), "B13", "warning"),
    ("cost-not-cap", with_value(5, "有效"), "E18", "warning"),
    ("cost-not-cap", with_value(5, "=100.00(个)"), "E18", "warning"),
    ("cost-not-cap", with_value(5, "≥80.00(元/人)"), "E18", "warning"),
    ("output-incomplete", without(4), "C13", "warning"),
    ("satisfaction-unmeasurable", with_value(3, "满意"), "E16", "warning"),
    ("timeliness-vague", with_value(4, "及时"), "E17", "info"),
    ("timeliness-vague", with_value(4, "按时"), "E17", "info"),
    ("rate-qualitative", with_value(1, "高"), "E14", "warning"),
    ("rate-equals", with_value(1, "=95.00(%)"), "E14", "warning"),
    ("rate-ge-100", with_value(1, "≥100.00(%)"), "E14", "warning"),
    ("count-capped", with_value(0, "≤20.00(次)"), "E13", "warning"),
    ("unit-odd", BASE + [row("产出指标", "质量指标", "经费使用合规性", "=100.00(个)")], "E19", "warning"),
    ("unit-odd", with_value(1, "=100.00(百分比)"), "E14", "warning"),
    ("money-unit-mismatch", with_value(5, "≤8.00(万元)"), "E18", "warning"),
    ("indicator-near-duplicate", BASE + [row("产出指标", "数量指标", "活动的次数", "≥5.00(次)")], "D19", "warning"),
    ("satisfaction-misfiled", BASE + [row("满意度指标", "服务对象满意度指标", "活动上座率", "≥90.00(%)")], "D19",
     "warning"),
    ("satisfaction-not-served", BASE + [row("满意度指标", "服务对象满意度指标", "主管单位满意度", "≥90.00(%)")], "D19",
     "info"),
    ("filler-value", BASE + [row("产出指标", "质量指标", "工作规范", "=100.00(个)"),
                             row("产出指标", "时效指标", "按期完成", "=100.00(个)"),
                             row("效益指标", "社会效益指标", "影响范围", "=100.00(个)")], "E21", "warning"),
    ("cost-exceeds-budget", with_value(5, "≤200000.00(元)"), "E18", "warning"),
    ("cost-exceeds-budget", BASE + [row("产出指标", "数量指标", "服务人数", "≥2000.00(人)")], "E18", "warning"),
]


@pytest.mark.parametrize(("rule", "rows", "cell", "severity"), INDICATOR_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(INDICATOR_CASES)])
def test_indicator_rule_at_its_cell(tmp_path, rule, rows, cell, severity):
    _, got = findings(tmp_path, valid_form(绩效指标=rows))
    assert (cell, rule, severity) in got, got
    assert [g for g in got if g[1] == rule] == [(cell, rule, severity)]


SILENT_CASES = [
    ("cost-not-cap", with_value(5, "≤2435.90(元/年/点位)")),
    ("cost-not-cap", with_value(5, "<80.00(元)")),
    ("satisfaction-unmeasurable", with_value(3, "≥95.00(%)")),
    ("timeliness-vague", with_value(4, "6月30日前")),
    ("timeliness-vague", with_value(4, "≥95.00(%)")),
    ("rate-qualitative", with_value(2, "增强")),                       # 服务能力 is not a rate
    ("rate-equals", with_value(1, "≥95.00(%)")),
    ("rate-equals", BASE),                                            # =100.00(%) is what is meant
    ("rate-equals", with_value(1, "=0.00(%)")),                       # =0 %: none at all (an accident rate)
    ("rate-ge-100", with_value(1, "≥95.00(%)")),
    ("count-capped", with_value(0, "=4.00(次)")),
    ("count-capped", BASE),                                           # ≤80.00(元/人) is a cost, not a count
    ("unit-odd", BASE + [row("产出指标", "质量指标", "经费使用合规性", "合规")]),
    ("money-unit-mismatch", with_value(5, "≤8.00(万元/人)")),         # a unit price may be in 万元
    ("indicator-near-duplicate", BASE + [row("产出指标", "质量指标", "活动的次数", "≥5.00(次)")]),
    ("satisfaction-misfiled", BASE),
    ("satisfaction-not-served", with_value(3, "≥90.00(%)")),
    # three =2(人) for two staff, all 数量: what they say, not a default left in
    ("filler-value", BASE + [row("产出指标", "数量指标", f"人数{i}", "=2.00(人)") for i in range(3)]),
    ("cost-exceeds-budget", BASE + [row("产出指标", "数量指标", "服务人数", "≥1000.00(人)")]),   # 80 × 1000 ≤ 100000
]


@pytest.mark.parametrize(("rule", "rows"), SILENT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(SILENT_CASES)])
def test_indicator_rule_stays_silent(tmp_path, rule, rows):
    _, got = findings(tmp_path, valid_form(绩效指标=rows))
    assert not [g for g in got if g[1] == rule], got


TEXT_CASES = [
    ("text-repeated", {"年度总体目标": "完成全年党建活动十二场次并做好宣传。\n完成全年党建活动十二场次并做好宣传。"}, "D11", "warning"),
    ("text-year", {"年度总体目标": "延续 2024 年的做法，完成全年工作。"}, "D11", "warning"),
    ("goal-unmatched", {"年度总体目标": "全年服务居民 800 人。"}, "D11", "info"),
    ("funds-incomplete", {"项目资金": {"财政资金": None, "其他资金": None}}, "C7", "warning"),
    ("funds-incomplete", {"项目资金": {"财政资金": 50000.0, "其他资金": 0.0}}, "C7", "error"),
]


@pytest.mark.parametrize(("rule", "over", "cell", "severity"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_text_and_funds_rules_at_their_cells(tmp_path, rule, over, cell, severity):
    _, got = findings(tmp_path, valid_form(**over))
    assert [g for g in got if g[1] == rule] == [(cell, rule, severity)], got


@pytest.mark.parametrize(("rule", "over"), [
    ("text-year", {"年度总体目标": "按照沪财绩〔2024〕2号文件和【2022】13号的要求，完成 2026 年工作。"}),
    ("text-repeated", {"年度总体目标": "完成全年党建活动十二场次。做好宣传。做好宣传。"}),   # a short phrase twice
    ("goal-unmatched", {"年度总体目标": "全年开展活动 4 次。"}),                        # ≥4.00(次) carries it
    ("funds-incomplete", {"项目资金": {"财政资金": 120000.0, "其他资金": 0.0}}),
])
def test_text_and_funds_rules_stay_silent(tmp_path, rule, over):
    _, got = findings(tmp_path, valid_form(**over))
    assert not [g for g in got if g[1] == rule], got


# --- profiles, info, conclusions ---------------------------------------------------------------


def test_shanghai_makes_the_cost_rules_errors(tmp_path):
    form = valid_form(绩效指标=without(5))
    nat, got = findings(tmp_path, form, "national")
    assert ("B13", "cost-missing", "warning") in got and nat.exit_code == 0
    sh, got = findings(tmp_path, form, "shanghai")
    assert ("B13", "cost-missing", "error") in got and sh.exit_code == 1
    assert sh.summaries()[0]["conclusion"] == "差" and nat.summaries()[0]["conclusion"] == "良"
    _, got = findings(tmp_path, valid_form(绩效指标=with_value(5, "有效")), "shanghai")
    assert ("E18", "cost-not-cap", "error") in got


def test_a_users_profile_turns_rules_off_and_changes_thresholds(tmp_path):
    text = (ROOT / "schemas" / "profiles" / "national.toml").read_text("utf-8")
    text = text.replace('"cost-missing" = "warning"', '"cost-missing" = "off"')
    text = text.replace('"rate-equals" = "warning"', '"rate-equals" = "error"')
    path = tmp_path / "我的规则.toml"
    path.write_text(text.replace('name = "national"', 'name = "mine"'), "utf-8")
    rows = with_value(1, "=95.00(%)", without(5))
    report, got = findings(tmp_path, valid_form(绩效指标=rows), str(path))
    assert ("E14", "rate-equals", "error") in got and not [g for g in got if g[1] == "cost-missing"]
    assert report.profile.name == "mine" and report.exit_code == 1


def test_info_is_shown_and_counted_but_never_changes_the_exit_code(tmp_path):
    write_filled(tmp_path / "f.xlsx", valid_form(绩效指标=with_value(4, "及时")))
    proc = subprocess.run([sys.executable, "-m", "xltools", "validate", str(tmp_path / "f.xlsx")],
                          capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    assert f"√ {tmp_path / 'f.xlsx'}：通过，提示 1 条 · 审核结论 优" in proc.stdout
    assert "  [提示] 申报表!E17  " in proc.stdout and "(timeliness-vague)" in proc.stdout
    assert "提示 1 条" in proc.stdout and "审核规则：national（" in proc.stdout
    assert "1 份：通过 1，有警告 0，退回 0。" in proc.stderr


def test_conclusion_rule_of_the_profile(tmp_path):
    cases = [(valid_form(), "优"),
             (valid_form(绩效指标=with_value(1, "=95.00(%)")), "良"),     # one warning
             (valid_form(绩效指标=BASE + [row("产出指标", "质量指标", f"合格率{i}", "=9{i}.00(%)") for i in range(5)]),
              "中"),                                                   # five warnings
             (valid_form(项目资金={"财政资金": 1.0, "其他资金": 0.0}), "差")]   # an error
    for i, (form, grade) in enumerate(cases):
        report, _ = findings(tmp_path, form, name=f"f{i}.xlsx")
        assert report.summaries()[0]["conclusion"] == grade, (i, report.findings)


def test_json_report_names_the_profile_and_grades_each_form(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "xltools", "validate", str(JIULITING), "--format", "json",
                           "--profile", "shanghai"], capture_output=True, text=True, encoding="utf-8")
    data = json.loads(proc.stdout)
    assert data["profile"]["name"] == "shanghai" and proc.returncode == 1
    assert [(f["name"], f["conclusion"], f["errors"]) for f in data["forms"]] == [
        ("编外人员工作经费", "差", 1), ("党群综合服务", "差", 1), ("社区自治管理", "差", 1)]
    assert {f["rule"] for f in data["findings"] if f["severity"] == "error"} == {"cost-missing"}
    assert set(data["findings"][0]) == {"file", "sheet", "cell", "severity", "rule", "message"}


def test_a_bad_profile_is_said_once_in_chinese_with_exit_2(tmp_path):
    bad = tmp_path / "坏.toml"
    bad.write_text('name = "x"\n[rules]\n"cost-missing" = "fatal"\n"no-such-rule" = "off"\n', "utf-8")
    with pytest.raises(ConfigError):
        load_profile(str(bad))
    for arg in (str(bad), "nosuch"):
        proc = subprocess.run([sys.executable, "-m", "xltools", "validate", str(JIULITING), "--profile", arg],
                              capture_output=True, text=True, encoding="utf-8")
        assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
        assert proc.stderr.startswith("错误：") and ("审核规则" in proc.stderr)


def test_merge_refuses_by_the_profile(tmp_path):
    from xltools.merge import merge_workbooks

    ok = merge_workbooks([JIULITING], tmp_path / "a.xlsx", profile="national")
    assert not ok.refused and len(ok.merged) == 3
    refused = merge_workbooks([JIULITING], tmp_path / "b.xlsx", profile="shanghai")
    assert refused.refused and not (tmp_path / "b.xlsx").exists()


# --- the seeds ---------------------------------------------------------------------------------


def by_file(report):
    out: dict[str, set] = {}
    for f in report.findings:
        out.setdefault(f.file.rsplit("/", 1)[-1], set()).add((f.cell, f.rule))
    return out


def test_jiuliting_no_longer_passes_clean_and_the_reviewers_findings_are_there():
    report = validate_paths([JIULITING])
    got = by_file(report)
    assert all(got.get(n) for n in ("01_编外人员工作经费.xlsx", "02_党群综合服务.xlsx", "03_社区自治管理.xlsx"))
    form2 = got["02_党群综合服务.xlsx"]
    # NOTES.md: no 成本指标; 满意度 as 满意; 时效 as 及时; =95.00(%); ≤20.00(场); 提高/高 on rates;
    # the near-duplicate 及时性; the first paragraph of 年度总体目标 printed twice
    for want in [("B13", "cost-missing"), ("E44", "satisfaction-unmeasurable"), ("E27", "timeliness-vague"),
                 ("E20", "rate-equals"), ("E18", "count-capped"), ("E36", "rate-qualitative"),
                 ("E42", "rate-qualitative"), ("D29", "indicator-near-duplicate"), ("D11", "text-repeated"),
                 ("C7", "funds-incomplete")]:
        assert want in form2, want
    assert report.exit_code == 0   # national: warnings only
    assert [s["conclusion"] for s in report.summaries()] == ["良", "中", "良"]
    assert validate_paths([JIULITING], profile="shanghai").exit_code == 1


def test_hongqiao_filler_and_odd_units_as_in_the_notes():
    got = by_file(validate_paths([HONGQIAO]))
    form1 = got["02_区域化党建.xlsx"]
    assert ("E13", "cost-not-cap") in form1          # 成本控制有效性 =100.00(个)
    assert ("E18", "unit-odd") in form1              # 工作经费使用合规性 =100.00(个)
    fillers = sorted(c for c, r in form1 if r == "filler-value")
    assert len(fillers) == 4                         # six =100.00(个) (NOTES: [0] [5] [7] [12] [14] [16]): 3rd to 6th
    assert not [r for c, r in got["04_制度外用工经费.xlsx"] if r == "filler-value"]   # =2(人) for two staff
    assert ("D11", "text-year") in got["03_党群服务站.xlsx"]   # 完成 2023 年万象城…运营工作
    assert any(r == "satisfaction-not-served" for _, r in got["04_制度外用工经费.xlsx"] | got["09_综合党委制度外用工经费.xlsx"])


def test_zhongshan_selfeval_rules():
    got = by_file(validate_paths([ZHONGSHAN / "自评表"]))
    f1, f2, f3 = (got[n] for n in ("01_党群综合服务.xlsx", "02_文体事务管理.xlsx", "03_社区自治管理.xlsx"))
    # 部分达成 scores of seed 004 are all inside 60–80 %: no tier-score
    assert not [r for s in (f1, f2, f3) for _, r in s if r == "tier-score"]
    assert ("D6", "budget-adjusted") in f1 and ("D6", "budget-adjusted") in f2   # 698 → 504.92; 391.95 → 188.97
    assert not [r for _, r in f3 if r == "budget-adjusted"]                      # 6881.38 → 6479.36 (−5.8 %)
    assert ("F44", "weights-default") in f1


# --- self-evaluation cells ---------------------------------------------------------------------


def _selfeval(tmp_path, k, change, name="s.xlsx"):
    from test_selfeval import SOURCE, inputs_of, write_self

    values = inputs_of(SOURCE[k])
    change(values["绩效指标"])
    write_self(tmp_path / name, values)
    report = validate_paths([tmp_path / name])
    return {(f.cell, f.rule) for f in report.findings}


def test_tier_score_when_the_score_leaves_the_tier(tmp_path):
    # seed 004 form 3, row 4: 部分达成指标并具有一定效果, 4.00 of 6.00; full marks are 达成's range
    def change(rows):
        assert rows[4]["实际完成值"] == "部分达成指标并具有一定效果"
        rows[4]["得分"] = rows[4]["分值"]
        rows[4]["偏差原因分析及改进措施"] = None
    assert ("G17", "tier-score") in _selfeval(tmp_path, 2, change)

    def silent(rows):
        rows[4]["得分"] = 3.6                       # 60 %: the tier's floor (含)
    assert not [r for _, r in _selfeval(tmp_path, 2, silent, "t.xlsx") if r == "tier-score"]


def test_over_achievement(tmp_path):
    # seed 004 form 3, row 2: ≥22.00(次), full marks; 44 done with no 偏差原因: the target was set low
    def change(rows):
        assert rows[2]["年度指标值"] == "≥22.00(次)" and rows[2]["得分"] == rows[2]["分值"]
        rows[2]["实际完成值"] = "44.00(次)"
    assert ("E15", "over-achievement") in _selfeval(tmp_path, 2, change)

    def silent(rows):
        rows[2]["实际完成值"] = "26.00(次)"          # 1.18 ×: below the profile's 1.2
    assert not [r for _, r in _selfeval(tmp_path, 2, silent, "t.xlsx") if r == "over-achievement"]


def test_actual_unit_mismatch(tmp_path):
    # seed 004 form 2, row 7: ≥90.00(%) done 100.00(%); typed as 100.00(次) it cannot be scored
    def change(rows):
        assert rows[7]["年度指标值"] == "≥90.00(%)"
        rows[7]["实际完成值"] = "100.00(次)"
    assert ("E20", "actual-unit-mismatch") in _selfeval(tmp_path, 1, change)


def test_seed_selfeval_has_no_over_achievement_or_unit_mismatch():
    got = by_file(validate_paths([ZHONGSHAN / "自评表"]))
    assert not [r for s in got.values() for _, r in s if r in ("over-achievement", "actual-unit-mismatch")]


# --- across the files of one run ---------------------------------------------------------------


def test_project_near_duplicate_and_name_variant(tmp_path):
    a = valid_form(项目名称="党建活动")
    b = valid_form(项目名称="党建活动经费", 主管部门=a["主管部门"] + "(汇总)")
    write_filled(tmp_path / "a.xlsx", a)
    write_filled(tmp_path / "b.xlsx", b)
    report = validate_paths([tmp_path])
    got = {(f.file.rsplit("/", 1)[-1], f.cell, f.rule) for f in report.findings}
    assert ("b.xlsx", "B3", "project-near-duplicate") in got
    assert ("b.xlsx", "B4", "name-variant") in got or ("a.xlsx", "B4", "name-variant") in got
    assert len([g for g in got if g[2] == "name-variant"]) == 1
    msg = next(f.message for f in report.findings if f.rule == "project-near-duplicate")
    assert str(tmp_path / "a.xlsx") in msg


def test_different_projects_of_one_unit_are_not_near_duplicates(tmp_path):
    write_filled(tmp_path / "a.xlsx", valid_form(项目名称="党建活动"))
    write_filled(tmp_path / "b.xlsx", valid_form(项目名称="文体活动",
                                                 年度资金={"当年财政拨款": 90000.0, "上年结转资金": 0.0, "其他资金": 0.0},
                                                 项目资金={"财政资金": 90000.0, "其他资金": 0.0}))
    report = validate_paths([tmp_path])
    assert not [f for f in report.findings if f.rule in ("project-near-duplicate", "name-variant")]


def test_double_counted_sub_project():
    from xltools.batchrules import check_batch
    from xltools.profiles import load_vocab
    from xltools.read import read_workbook

    forms = [read_workbook(p).forms[0] for p in sorted(JIULITING.glob("*.xlsx"))]
    assert not [f for f in check_batch(forms, load_vocab(), load_profile()) if f.rule == "double-counted"]
    forms[0].data["资金构成"] = [{"年度": 2026, "子项目名称": "党群综合服务", "预算金额": 1.0},
                              {"年度": 2026, "子项目名称": "其他子项目", "预算金额": 1.0}]
    forms[0].cells[("资金构成", 0, "子项目名称")] = "B40"
    got = [f for f in check_batch(forms, load_vocab(), load_profile()) if f.rule == "double-counted"]
    assert [(f.file, f.cell) for f in got] == [(forms[0].file, "B40")] and forms[1].file in got[0].message
