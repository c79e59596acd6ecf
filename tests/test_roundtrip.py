"""template → fill → read gives back what was typed; merge → read gives back the forms."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import openpyxl
import pytest
from helpers import SPEC, TABLE, expected, fill_like_person, source_forms, valid_form, write_filled
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from xltools.merge import merge_workbooks, write_summary
from xltools.read import read_workbook
from xltools.template import template_bytes

TEMPLATE, _, _ = template_bytes(SPEC)

# --- strategies -------------------------------------------------------------------------------

CJK = "党群服务中心社区项目经费街道居民活动管理建设文化体育满意度提升及时合规有效"
WORD = st.text(alphabet=CJK + "ABCxyz0123456789()（）《》“”、，。;:-_/%#=+@", min_size=1, max_size=12)
# Text as people type it: words with single spaces; may start with = + - @ (must stay text).
TEXT = st.builds(lambda prefix, words: prefix + " ".join(words),
                 st.sampled_from(["", "", "", "=", "+", "-", "@", "=HYPERLINK(\"http://x\",\"y\")"]),
                 st.lists(WORD, min_size=1, max_size=4))
LONGTEXT = st.lists(TEXT, min_size=1, max_size=3).map("\n".join)
MONEY = st.one_of(st.none(), st.integers(0, 10**11).map(lambda cents: cents / 100))
H = SPEC.hierarchy


@st.composite
def indicator(draw, layout: str):
    tree = H.layouts[layout]
    l1 = draw(st.sampled_from(sorted(tree)))
    l2 = draw(st.sampled_from(tree[l1]))
    op = draw(st.sampled_from(["≥", "≤", "=", ">", "<", ">=", "＞＝", ""]))
    num = draw(st.integers(0, 99999)) / draw(st.sampled_from([1, 100]))
    unit = draw(st.sampled_from(["人", "次", "%", "元/年/点位", "个"]))
    value = draw(st.one_of(
        st.just(f"{op}{num:.2f}({unit})"), st.just(f"{op}{num:g}{unit}"),
        st.sampled_from(["及时", "提升", "满意", "合规", "每月一次", "10月底前", "=100.00(%)", "+SUM(1,2)"])))
    return {"一级指标": l1, "二级指标": l2, "三级指标": draw(TEXT), "指标值": value}


@st.composite
def forms(draw, max_rows=45):
    year = draw(st.integers(2000, 2099))
    start = dt.date(year, 1, 1) + dt.timedelta(days=draw(st.integers(0, 364)))
    end = start + dt.timedelta(days=draw(st.integers(0, 400)))
    layout = draw(st.sampled_from(sorted(H.layouts)))
    return {
        "年度": year, "项目名称": draw(TEXT), "项目性质": draw(st.sampled_from(SPEC.lists["项目性质"])),
        "项目类别": draw(st.sampled_from(SPEC.lists["项目类别"])), "主管部门": draw(TEXT), "实施单位": draw(TEXT),
        "计划开始日期": start.isoformat(), "计划完成日期": end.isoformat(),
        "项目资金": {"财政资金": draw(MONEY), "其他资金": draw(MONEY)},
        "年度资金": {"当年财政拨款": draw(MONEY), "上年结转资金": draw(MONEY), "其他资金": draw(MONEY)},
        "项目总目标": draw(st.one_of(st.none(), LONGTEXT)), "年度总体目标": draw(LONGTEXT),
        "绩效指标": draw(st.lists(indicator(layout), min_size=1, max_size=max_rows)),
        "资金构成": [],
    }


# File IO makes shrinking slow: report the first failing example as generated.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
SETTINGS = settings(max_examples=25, deadline=None, phases=PHASES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- properties ---------------------------------------------------------------------------------


@SETTINGS
@given(forms())
def test_read_of_prefilled_template_is_identity(tmp_path, form):
    path = write_filled(tmp_path / "f.xlsx", form)
    assert read_workbook(path).forms[0].data == expected(form)


@SETTINGS
@given(forms(max_rows=SPEC.tables[0].min_rows))  # the rows the blank template has to type into
def test_read_of_person_filled_template_is_identity(tmp_path, form):
    path = fill_like_person(TEMPLATE, form, tmp_path / "p.xlsx")
    assert read_workbook(path).forms[0].data == expected(form)


@settings(max_examples=10, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(forms(), min_size=1, max_size=4))
def test_read_of_summary_is_the_forms(tmp_path, batch):
    """The 汇总表 writer and the reader are inverse, form by form (validation aside)."""
    import uuid

    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    read = [read_workbook(write_filled(folder / f"{i}.xlsx", form)).forms[0] for i, form in enumerate(batch)]
    write_summary(folder / "out.xlsx", read)
    back = read_workbook(folder / "out.xlsx")
    assert [f.data for f in back.forms] == [expected(f) for f in batch]
    assert back.role == "summary" or len(batch) == 1


# --- the seeds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["000_jiuliting_2026", "002_hongqiao_2026"])
def test_seed_forms_round_trip_through_person_filler(tmp_path, name):
    for i, form in enumerate(source_forms(name)):
        path = fill_like_person(TEMPLATE, form, tmp_path / f"{i}.xlsx")
        assert read_workbook(path).forms[0].data == expected(form)


def test_seed_000_merge_total(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, form in enumerate(source_forms("000_jiuliting_2026")):
        fill_like_person(TEMPLATE, form, folder / f"{i}.xlsx")
    res = merge_workbooks([folder], tmp_path / "汇总.xlsx")
    assert res.exit_code == 0 and len(res.merged) == 3
    ws = openpyxl.load_workbook(tmp_path / "汇总.xlsx", data_only=True)["汇总"]
    total_row = next(r for r in ws.iter_rows() if r[0].value == "合计")
    header = [c.value for c in ws[2]]
    assert total_row[header.index("年度资金申请总额(元)")].value == pytest.approx(44814165.00)
    assert ws["A1"].value == "上海市松江区九里亭街道社区党群服务中心 2026 年度项目绩效目标汇总表"
    back = read_workbook(tmp_path / "汇总.xlsx")
    assert back.role == "summary"
    assert sum(f.data["年度资金"]["年度资金申请总额"] for f in back.forms) == pytest.approx(44814165.00)


# --- awkward input --------------------------------------------------------------------------------


def test_awkward_values_are_normalised(tmp_path):
    """Values typed the many ways people type them (the cells unprotected, or pasted)."""
    wb = openpyxl.load_workbook(io.BytesIO(TEMPLATE))
    ws = wb[SPEC.sheet]
    f = SPEC.field
    ws[f("年度").ref] = "２０２６年"
    ws[f("项目名称").ref] = "  编外人员\u00a0 工作经费 "
    ws[f("项目性质").ref] = " 其他 经常性项目"
    ws[f("项目类别").ref] = "特定目标类\u3000"
    ws[f("主管部门").ref] = "九里亭街道办事处"
    ws[f("实施单位").ref] = "九里亭街道社区党群服务中心"
    ws[f("计划开始日期").ref] = "2026/1/1"
    ws[f("计划完成日期").ref] = dt.datetime(2026, 12, 31, 0, 0)
    ws[f("年度资金.当年财政拨款").ref] = "36,118,005.00"
    ws[f("年度资金.上年结转资金").ref] = "０"
    ws[f("年度资金.其他资金").ref] = "￥1,000元"
    ws[f("项目资金.财政资金").ref] = 5
    ws[f("年度总体目标").ref] = "第一段。 \r\n第二段。\n"
    rows = [("产出指标", "数量指标", "聘用社工人数", "≥236.00(人)"),
            (None, None, "亭编书记人数", ">=10(人)"),
            (None, "质量指标", "工资发放准确率", "＝１００％"),
            ("效益指标", "社会效益 指标", "社区公共服务能力", 100),
            ("满意度指标", "服务对象满意度指标", "居民满意度", " 满意 ")]
    for i, row in enumerate(rows):
        for c, v in zip(TABLE.columns, row):
            ws[TABLE.cell(i, c.key)] = v
    wb.save(tmp_path / "a.xlsx")
    d = read_workbook(tmp_path / "a.xlsx").forms[0].data
    assert d["年度"] == 2026
    assert d["项目名称"] == "编外人员 工作经费"
    assert d["项目性质"] == "其他经常性项目" and d["项目类别"] == "特定目标类"
    assert (d["计划开始日期"], d["计划完成日期"]) == ("2026-01-01", "2026-12-31")
    assert d["年度资金"] == {"年度资金申请总额": 36119005.0, "当年财政拨款": 36118005.0, "上年结转资金": 0.0,
                         "其他资金": 1000.0}
    assert d["项目资金"] == {"项目资金总额": 5.0, "财政资金": 5.0, "其他资金": None}
    assert d["年度总体目标"] == "第一段。\n第二段。"
    ind = d["绩效指标"]
    assert [r["一级指标"] for r in ind] == ["产出指标", "产出指标", "产出指标", "效益指标", "满意度指标"]
    assert [r["二级指标"] for r in ind] == ["数量指标", "数量指标", "质量指标", "社会效益指标", "服务对象满意度指标"]
    assert ind[1]["指标值"] == ">=10(人)" and ind[1]["运算符"] == "≥" and ind[1]["数值"] == 10.0
    assert ind[2]["指标值"] == "＝１００％" and (ind[2]["运算符"], ind[2]["数值"], ind[2]["单位"]) == ("=", 100.0, "%")
    assert ind[3]["指标值"] == "100" and ind[3]["定性"] is None
    assert ind[4] == {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "居民满意度",
                      "指标值": "满意", "运算符": None, "数值": None, "单位": None, "定性": "满意"}


@pytest.mark.parametrize("typed,iso", [("2026-01-01", "2026-01-01"), ("2026年1月1日", "2026-01-01"),
                                       ("2026.01.01", "2026-01-01"), ("20260101", "2026-01-01"),
                                       (46023, "2026-01-01"), ("２０２６－０１－０１", "2026-01-01")])
def test_date_spellings(tmp_path, typed, iso):
    wb = openpyxl.load_workbook(io.BytesIO(TEMPLATE))
    wb[SPEC.sheet][SPEC.field("计划开始日期").ref] = typed
    wb.save(tmp_path / "d.xlsx")
    assert read_workbook(tmp_path / "d.xlsx").forms[0].data["计划开始日期"] == iso


def test_formula_looking_text_stays_text_everywhere(tmp_path):
    nasty = ["=HYPERLINK(\"http://evil\",\"x\")", "+SUM(1,2)", "-1+1", "@cmd", "\t=1+1", "=100.00(%)"]
    form = valid_form(项目名称="=HYPERLINK(\"http://evil\",\"x\")", 年度总体目标="+SUM(1,2)",
                      绩效指标=[{"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": t, "指标值": "=100.00(%)"}
                            for t in nasty[1:]] + valid_form()["绩效指标"][2:])
    fill_like_person(TEMPLATE, form, tmp_path / "in.xlsx")
    (tmp_path / "in").mkdir()
    (tmp_path / "in.xlsx").rename(tmp_path / "in" / "a.xlsx")
    res = merge_workbooks([tmp_path / "in"], tmp_path / "m.xlsx", skip_invalid=True)
    assert res.outputs
    z = zipfile.ZipFile(tmp_path / "m.xlsx")
    for name in z.namelist():
        if name.startswith("xl/worksheets/sheet"):
            xml = z.read(name).decode()
            formulas = re.findall(r"<f>(.*?)</f>", xml)
            assert all(f.startswith(("IF(COUNT(", "SUM(")) for f in formulas), (name, formulas)
    back = read_workbook(tmp_path / "m.xlsx").forms[0].data
    assert back["项目名称"] == form["项目名称"] and back["年度总体目标"] == "+SUM(1,2)"
    assert [r["三级指标"] for r in back["绩效指标"][:5]] == ["+SUM(1,2)", "-1+1", "@cmd", "=1+1", "=100.00(%)"]
