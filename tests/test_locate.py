"""The label-based reader (xltools/locate.py) on hand-written grids.

Each grid is written here as rows of cells, the way a PDF's text comes out (cells that drifted
off their column, a value under its label, a text broken by a page break); ``Sheet.lines``
gives each row its line in the source, so cells are named ``第N行``. The expected values are
written by hand; test_foreign.py covers foreign workbooks, test_import_seeds.py the seeds.
"""

from __future__ import annotations

import shutil

import pytest

from xltools import spec as specmod
from xltools.locate import cell_name, find_forms
from xltools.read import Sheet
from xltools.validate import validate_forms

TARGET_HEAD = [
    ["财政项目支出绩效目标申报表"],
    ["(2026 年度)"],
    ["项目名称", "党群服务站", "项目性质", "经常性项目", "项目类别", "特定目标类"],
    ["主管部门", "某街道办事处", "实施单位", "某社区党群服务中心"],
    ["计划开始日期", "2026-01-01", "", "计划完成日期", "2026-12-31"],
    ["项目资金(元)", "项目资金总额:", "", "年度资金申请总额:", "1,000.00"],
    ["", "其中: 财政资金", "", "其中: 当年财政拨款", "1,000.00"],
    ["", "", "", "上年结转资金", "0.00"],
    ["", "其他资金", "", "其他资金", "0.00"],
    ["项目绩效目标", "项目总目标", "", "年度总体目标"],
    ["", "", "", "<p>第一段。</p>"],
    [],
    ["", "", "", "<p>第二段，跨页</p>"],
    ["", "", "", "<p>接着写完。</p>"],
    ["", "一级指标", "二级指标", "三级指标", "年度(/项目)指标值"],
]


def text_sheet(rows: list[list], first_line: int = 1) -> Sheet:
    """A grid as textin makes it: line numbers from ``first_line``."""
    return Sheet("seed", "visible", [list(r) for r in rows], list(range(first_line, first_line + len(rows))))


def test_cells_are_named_by_line_on_text_grids():
    s = text_sheet([["a"], ["b"]], first_line=7)
    assert cell_name(s, 1, 3) == "第8行"
    assert cell_name(Sheet("x", "visible", [["a"]]), 2, 3) == "D3"


def test_project_target_from_a_drifted_text_grid():
    rows = TARGET_HEAD + [
        ["绩效指标", "成本指标", "经济成本指标", "成本控制有效性", "=100.00(%)"],   # line 16: table label in col 0
        ["", "", "", "数量指标", "服务站运营数", "", "=3.00(个)"],             # 17: 二级 in the 三级 column
        ["", "课程开展数", "", "", "≥300.00(节)"],                            # 18: 三级 in the 一级 column
        ["", "时效指标", "课堂开展及时率", "100%"],                             # 19: 二级 in the 一级 column
        ["满意度指标", "服务对象满意度指标", "群众满意度", "满意"],               # 20: shifted one column left
    ]
    forms, findings = find_forms([text_sheet(rows)], "seed.txt")
    assert len(forms) == 1
    d = forms[0].data
    assert (d["年度"], d["项目名称"], d["项目性质"], d["实施单位"]) == (2026, "党群服务站", "经常性项目", "某社区党群服务中心")
    assert (d["计划开始日期"], d["计划完成日期"]) == ("2026-01-01", "2026-12-31")
    assert d["项目资金"] == {"项目资金总额": None, "财政资金": None, "其他资金": None}
    assert d["年度资金"] == {"年度资金申请总额": 1000.0, "当年财政拨款": 1000.0, "上年结转资金": 0.0, "其他资金": 0.0}
    assert d["项目总目标"] is None
    # paragraphs on their own lines; the one broken by a page break (no final 。) joined without a break
    assert d["年度总体目标"] == "第一段。\n第二段，跨页接着写完。"
    got = [(r["一级指标"], r["二级指标"], r["三级指标"], r["指标值"]) for r in d["绩效指标"]]
    assert got == [
        ("成本指标", "经济成本指标", "成本控制有效性", "=100.00(%)"),
        ("产出指标", "数量指标", "服务站运营数", "=3.00(个)"),
        ("产出指标", "数量指标", "课程开展数", "≥300.00(节)"),
        ("产出指标", "时效指标", "课堂开展及时率", "100%"),
        ("满意度指标", "服务对象满意度指标", "群众满意度", "满意"),
    ]
    # 数量指标 is not under 成本指标: its 一级 is taken from the lists, and said so at its line
    assert [(f.rule, f.severity, f.cell) for f in findings] == [("import-ambiguous", "warning", "第17行")]
    assert "产出指标" in findings[0].message and "成本指标" in findings[0].message
    cells = forms[0].cells
    assert cells[("项目名称",)] == "第3行" and cells[("绩效指标", 2, "三级指标")] == "第18行"


def test_findings_name_the_line():
    rows = [list(r) for r in TARGET_HEAD]
    rows[4] = ["计划开始日期", "2026-01-01", "", "计划完成日期", ""]
    rows += [["绩效指标", "产出指标", "数量指标", "服务站运营数", ""]]
    forms, _ = find_forms([text_sheet(rows, first_line=101)], "seed.txt")
    errors = sorted((f.rule, f.cell) for f in validate_forms(forms) if f.rule in ("required", "value-empty"))
    assert errors == [("required", "第105行"), ("value-empty", "第116行")]


def test_fewer_cells_than_columns_is_not_a_silent_guess():
    rows = TARGET_HEAD + [["", "", "", "产出指标", "数量指标", "工作队伍培训人数"]]   # no 指标值 printed
    forms, findings = find_forms([text_sheet(rows)], "seed.txt")
    r = forms[0].data["绩效指标"][0]
    assert (r["一级指标"], r["二级指标"], r["三级指标"], r["指标值"]) == ("产出指标", "数量指标", "工作队伍培训人数", None)
    assert [(f.rule, f.cell) for f in findings] == [("import-ambiguous", "第16行")]


SELFEVAL = [
    ["财政项目支出绩效自评表"],
    ["(2024 年度)"],
    ["项目名称", "", "党群综合服务"],
    ["主管部门", "", "某街道办事处", "", "实施单位", "", "某社区党群服务中心"],
    ["项目资金 (万元)", "", "年初预算数", "全年预算数", "全年执行数", "分数", "执行率(%)", "得分"],
    # one column more on every row of the grid: read in order, not by column
    ["", "年度资金总额:", "", "100.00", "80.00", "80.00", "10.00", "100.00", "10.00"],
    ["", "其中: 当年财政拨款", "", "100.00", "80.00", "80.00", "-", "100.00", "-"],
    ["", "上年结转资金", "", "0.00", "0.00", "0.00", "-", "0.00", "-"],
    ["", "其他资金", "", "0.00", "0.00", "0.00", "-", "0.00", "-"],
    ["年度 总体 目标", "预期目标", "", "", "实际完成情况"],
    ["", "<p>按计划完成。</p>", "", "", "<p>已完成。</p>"],
    ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"],
    ["产出指标", "数量指标", "活动场次", "≥10.00(场)", "12.00(场)", "50.00", "50.00"],
    # 三级 in the 一级 column, no 偏差原因 (an optional last column): in order, no warning
    ["活动开展及时", "", "及时", "达成指标", "20.00", "20.00"],
    ["满意度指标", "服务对象满意度指标", "居民满意度", "满意", "部分达成", "20.00", "18.00", "宣传不足"],
    ["总分", "", "", "", "", "100.00", "98.00"],
    ["评分等级", "优"],
]


def test_selfeval_funds_grid_and_rows_from_a_text_grid():
    forms, findings = find_forms([text_sheet(SELFEVAL)], "seed.txt")
    assert findings == []
    d = forms[0].data
    assert d["项目资金"]["当年财政拨款"]["年初预算数"] == 100.0
    assert d["项目资金"]["当年财政拨款"]["全年预算数"] == 80.0
    assert d["项目资金"]["年度资金总额"]["全年执行数"] == 80.0
    assert (d["预期目标"], d["实际完成情况"]) == ("按计划完成。", "已完成。")
    rows = [(r["一级指标"], r["二级指标"], r["三级指标"], r["年度指标值"], r["实际完成值"], r["分值"], r["得分"],
             r["偏差原因分析及改进措施"]) for r in d["绩效指标"]]
    assert rows == [
        ("产出指标", "数量指标", "活动场次", "≥10.00(场)", "12.00(场)", 50.0, 50.0, None),
        ("产出指标", "数量指标", "活动开展及时", "及时", "达成指标", 20.0, 20.0, None),
        ("满意度指标", "服务对象满意度指标", "居民满意度", "满意", "部分达成", 20.0, 18.0, "宣传不足"),
    ]
    assert d["总分"] == 98.0 and d["评分等级"] == "优"   # 10 + 50 + 20 + 18
    assert forms[0].stored["总分"] == 98.0


UNIT = [
    ["单位整体支出绩效目标申报表"],
    ["(2026 年度)"],
    ["单位名称", "某社区党群服务中心"],
    ["财政资金拨款方式", "全额"],
    ["单位职责", "<p>(一) 第一项。</p><p>(二) 第二项。</p>"],
    ["年度履职目标", "<p>完成。</p>"],
    ["年度重点任务"],
    ["任务名称", "主要内容（重点工作计划）"],
    ["(一) 品牌活动。", "继续做好两大品牌，培育"],
    [],
    ["", "多元业态。"],                       # the page break inside task (一)
    ["(二) 场地普查", "全面开展普查。"],
    ["预算情况"],
    ["内容", "预算情况"],
    ["部门整体预算总额(元)", "300.00"],
    ["1、资金来源：(1) 财政拨款", "300.00"],
    ["(2) 其他资金", "0.00"],
    ["2、资金结构：(1) 基本支出", "100.00"],
    ["(2) 项目支出", "200.00"],
    ["年末在职人数", "内设机构数"],           # a row of labels over a row of values
    ["0", "3"],
    ["绩效指标"],
    ["一级目标", "二级目标", "三级目标", "指标目标值"],
    ["投入管理指标", "预算编审管理", "根据文件设置"],
    ["", "预算执行管理"],
    ["产出指标", "数量指标", "器材购置数", "≥200.00(个)"],
]


def test_unit_target_from_a_text_grid():
    forms, findings = find_forms([text_sheet(UNIT)], "seed.txt")
    assert findings == []
    d = forms[0].data
    assert d["单位职责"] == "(一) 第一项。\n(二) 第二项。"
    assert d["年度重点任务"] == [{"任务名称": "(一) 品牌活动。", "主要内容": "继续做好两大品牌，培育多元业态。"},
                                {"任务名称": "(二) 场地普查", "主要内容": "全面开展普查。"}]
    assert d["预算情况"] == {"部门整体预算总额": 300.0, "财政拨款": 300.0, "其他资金": 0.0, "基本支出": 100.0,
                             "项目支出": 200.0}
    assert (d["年末在职人数"], d["内设机构数"]) == (0, 3)
    assert [(r["一级目标"], r["二级目标"], r["三级目标"]) for r in d["绩效指标"]] == [
        ("投入管理指标", "预算编审管理", "根据文件设置"), ("投入管理指标", "预算执行管理", None),
        ("产出指标", "数量指标", "器材购置数")]


def test_a_summary_on_one_text_grid_gives_one_form_per_title():
    one = TARGET_HEAD + [["绩效指标", "产出指标", "数量指标", "a", "≥1.00(个)"]]
    two = [list(r) for r in one]
    two[2] = ["项目名称", "第二个项目", "项目性质", "经常性项目", "项目类别", "特定目标类"]
    rows = [["某街道 2026 年度项目绩效目标汇总表"], []] + one + [[]] + two
    forms, _ = find_forms([text_sheet(rows)], "seed.txt")
    assert [f.data["项目名称"] for f in forms] == ["党群服务站", "第二个项目"]
    assert forms[1].cells[("项目名称",)] == f"第{2 + len(one) + 1 + 3}行"


def test_no_title_no_form():
    forms, findings = find_forms([text_sheet([["项目名称", "x"], ["一级指标", "二级指标"]])], "x.txt")
    assert forms == [] and findings == []


@pytest.fixture
def schemas(tmp_path, monkeypatch):
    folder = tmp_path / "schemas"
    shutil.copytree(specmod.packaged_schemas_dir(), folder)
    monkeypatch.setenv(specmod.SCHEMAS_ENV, str(folder))
    specmod.clear_caches()
    yield folder
    specmod.clear_caches()


def test_aliases_from_the_spec(schemas):
    """A printed variant the folding does not cover is listed in the spec as ``aliases``."""
    rows = [list(r) for r in TARGET_HEAD] + [["绩效指标", "产出指标", "数量指标", "a", "≥1.00(个)"]]
    rows[2] = ["项目名", "党群服务站", "项目性质", "经常性项目", "项目类别", "特定目标类"]
    forms, _ = find_forms([text_sheet(rows)], "seed.txt")
    assert forms[0].data["项目名称"] is None
    path = schemas / "project-target.toml"
    text = path.read_text("utf-8")
    old = 'label = "项目名称"\nlabel_cell = "A3"\n'
    assert text.count(old) == 1
    path.write_text(text.replace(old, old + 'aliases = ["项目名"]\n'), "utf-8")
    specmod.clear_caches()
    forms, _ = find_forms([text_sheet(rows)], "seed.txt")
    assert forms[0].data["项目名称"] == "党群服务站"


def test_year_and_colons_printed_otherwise():
    """``2026年度`` without brackets, ``其中财政资金`` without the colon, labels with ``：``."""
    rows = [list(r) for r in TARGET_HEAD] + [["绩效指标", "产出指标", "数量指标", "a", "≥1.00(个)"]]
    rows[1] = ["2026年度"]
    rows[5] = ["项目资金（元）", "项目资金总额：", "", "年度资金申请总额：", "1,000.00"]
    rows[6] = ["", "其中财政资金", "500.00", "其中当年财政拨款", "1,000.00"]
    forms, _ = find_forms([Sheet("Sheet1", "visible", rows)], "x.xlsx")
    d = forms[0].data
    assert d["年度"] == 2026
    assert d["项目资金"]["财政资金"] == 500.0 and d["年度资金"]["当年财政拨款"] == 1000.0
    assert forms[0].cells[("项目资金", "财政资金")] == "C7"


def test_header_printed_again_after_a_page_break_does_not_end_the_table():
    header = ["", "一级指标", "二级指标", "三级指标", "年度(/项目)指标值"]
    rows = TARGET_HEAD + [
        ["绩效指标", "产出指标", "数量指标", "a", "≥1.00(个)"],
        header,
        ["", "", "", "b", "≥2.00(个)"],
    ]
    forms, _ = find_forms([text_sheet(rows)], "seed.txt")
    assert [(r["二级指标"], r["三级指标"]) for r in forms[0].data["绩效指标"]] == [("数量指标", "a"), ("数量指标", "b")]


def test_a_form_typed_without_its_title():
    rows = [list(r) for r in TARGET_HEAD[2:]] + [["绩效指标", "产出指标", "数量指标", "a", "≥1.00(个)"]]
    forms, _ = find_forms([Sheet("Sheet1", "visible", rows)], "x.xlsx")
    assert [f.kind for f in forms] == ["project-target"]
    assert forms[0].data["项目名称"] == "党群服务站" and forms[0].cells[("项目名称",)] == "B1"
    # a sheet of a few stray labels is not a form
    assert find_forms([Sheet("Sheet1", "visible", [["项目名称", "x"], ["主管部门", "y"]])], "x.xlsx") == ([], [])


def test_our_template_with_a_row_inserted_is_read_by_its_labels(tmp_path):
    """Metadata says the kind, but a row was inserted (today: layout-changed): read by labels,
    the same data, its cells where they are now."""
    import openpyxl
    from helpers import valid_form, write_filled

    from xltools.read import read_workbook

    form = valid_form()
    path = write_filled(tmp_path / "ours.xlsx", form)
    want = read_workbook(path).forms[0]
    wb = openpyxl.load_workbook(path)
    ws = wb[want.sheet]
    ws.insert_rows(4)   # below 项目名称, above 主管部门
    wb.save(path)
    got = read_workbook(path).forms[0]
    assert got.data == want.data
    assert got.cells[("项目名称",)] == want.cells[("项目名称",)]
    r, c = want.cells[("主管部门",)][1:], want.cells[("主管部门",)][0]
    assert got.cells[("主管部门",)] == f"{c}{int(r) + 1}"


def test_a_summary_with_one_project_sheet_moved_reads_every_form_once(tmp_path):
    """A 汇总表 made by merge (metadata kept) where a row was inserted on one project's sheet:
    that sheet is read by its labels, the others as before; the 公开版 sheet and the overview
    are not read as forms."""
    import openpyxl
    from helpers import ROOT

    from xltools.merge import merge_workbooks
    from xltools.read import read_workbook

    folder = ROOT / "samples" / "jiuliting-2026"
    out = tmp_path / "汇总.xlsx"
    merge_workbooks(sorted(folder.glob("*.xlsx")), out)
    want = read_workbook(out)
    names = [f.data["项目名称"] for f in want.forms]
    assert len(names) == 3
    wb = openpyxl.load_workbook(out)
    wb[want.forms[1].sheet].insert_rows(4)
    wb.save(out)
    got = read_workbook(out)
    assert [f.data["项目名称"] for f in got.forms] == names
    assert [f.data for f in got.forms] == [f.data for f in want.forms]
    assert got.forms[1].cells[("主管部门",)] != want.forms[1].cells[("主管部门",)]
