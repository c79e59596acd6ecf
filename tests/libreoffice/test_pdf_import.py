"""LibreOffice prints our filled workbooks to PDF; xltools.pdfin reads the PDF back.

A 申报表, a 自评表 and a 单位整体 form, filled by the template writer, are printed by LibreOffice
Calc (the "convert" op with calc_pdf_Export, as a unit's "打印 → PDF" would) and then:

* the grid of the PDF has the cells of the print (hand-written expectation for the 申报表);
* the grid read with the reader's printed-layout rules gives exactly the data of the workbook;
* ``read_workbook(pdf)`` (the dispatch of read.py to load_pdf, branch locate) gives it too.

The texts are short enough to fit their cells: today's print keeps fixed row heights, and a
value that wraps beyond its row is cut on paper while its glyphs spill into the neighbouring
cells of the text layer (issue 13 fixes the print heights). So 主管部门 is a short name, and the
自评表 carries no 满意度 row: 「服务对象满意度指标」 does not fit the 二级 column of its print. One
LibreOffice batch for the module.
"""

from __future__ import annotations

import copy
import json

import pytest
from lo_util import xltools

from xltools.pdfin import load_pdf
from xltools.read import _locate, extract, read_workbook
from xltools.spec import load_spec
from xltools.template import template_bytes

pytestmark = pytest.mark.libreoffice

TARGET = {
    "年度": 2026, "项目名称": "党群综合服务", "项目性质": "其他经常性项目", "项目类别": "特定目标类",
    "主管部门": "九里亭街道办", "实施单位": "上海市松江区九里亭街道社区党群服务中心",
    "计划开始日期": "2026-01-01", "计划完成日期": "2026-12-31",
    "项目资金": {"财政资金": 11442320.0, "其他资金": 0.0},
    "年度资金": {"当年财政拨款": 5721160.0, "上年结转资金": 12000.5, "其他资金": 0.0},
    "项目总目标": "两年内建成四个片区党群阵地。",
    "年度总体目标": "完成区域内两新组织党建工作，做好流动党员管理服务。\n提升社区体育水平，丰富精神文化生活。",
    "绩效指标": [
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "体育赛事活动次数", "指标值": "≥4.00(次)"},
        {"一级指标": "产出指标", "二级指标": "质量指标", "三级指标": "器材验收合格率", "指标值": "=100.00(%)"},
        {"一级指标": "产出指标", "二级指标": "时效指标", "三级指标": "补贴发放及时性", "指标值": "及时"},
        {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "社区体育水平", "指标值": "提升"},
        {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "社区居民满意度", "指标值": "≥90.00(%)"},
    ],
}
SELFEVAL = {
    "年度": 2024, "项目名称": "党群综合服务", "主管部门": "中山街道办事处",
    "实施单位": "上海市松江区中山街道社区党群服务中心",
    "项目资金": {
        "当年财政拨款": {"年初预算数": 698.0, "全年预算数": 504.92, "全年执行数": 480.0},
        "上年结转资金": {"年初预算数": 0.0, "全年预算数": 0.0, "全年执行数": 0.0},
        "其他资金": {"年初预算数": 0.0, "全年预算数": 0.0, "全年执行数": 0.0},
    },
    "预期目标": "按项目实施计划推进各项工作按期有效完成。",
    "实际完成情况": "本年度开展党建活动 64 场。\n年底大部分工作按期完成。",
    "绩效指标": [
        {"一级指标": "成本指标", "二级指标": "经济成本指标", "三级指标": "物业管理项目成本", "年度指标值": "≤54166.67(元/月)",
         "实际完成值": "54166.67(元/月)", "分值": 30.0, "得分": 30.0, "偏差原因分析及改进措施": None},
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "党建工作覆盖居民区", "年度指标值": "=22.00(个)",
         "实际完成值": "22.00(个)", "分值": 30.0, "得分": 30.0, "偏差原因分析及改进措施": None},
        {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "服务群众工作有实效", "年度指标值": "有效",
         "实际完成值": "达成指标", "分值": 30.0, "得分": 27.5, "偏差原因分析及改进措施": "服务项目需进一步丰富"},
    ],
}
_UNIT_PRE = ["预算编审管理", "预算执行管理", "预算绩效管理", "资产管理", "预算透明度", "内部控制管理", "预算信息化"]
UNIT = {
    "年度": 2026, "单位名称": "上海市闵行区江川路街道社区党群服务中心", "财政资金拨款方式": "全额",
    "单位职责": "(一) 贯彻落实新时代党的组织路线。\n(二) 负责社区党建工作。",
    "年度履职目标": "按计划及时完成“两新”组织党建工作。",
    "年度重点任务": [
        {"任务名称": "品牌提升", "主要内容": "继续做好两大品牌活动。"},
        {"任务名称": "体育场地普查", "主要内容": "全面开展社区体育场地普查。"},
    ],
    "预算情况": {"财政拨款": 92787331.0, "其他资金": 0.0, "基本支出": 50839284.87, "项目支出": 41948046.13},
    "年末在职人数": 12, "内设机构数": 3,
    "绩效指标": [{"一级目标": "投入管理指标", "二级目标": l2, "三级目标": "按规定设置" if i == 0 else None,
                  "指标目标值": None} for i, l2 in enumerate(_UNIT_PRE)] + [
        {"一级目标": "产出指标", "二级目标": "数量指标", "三级目标": "器材购置更新完成数", "指标目标值": "≥200.00(个)"},
        {"一级目标": "产出指标", "二级目标": "质量指标", "三级目标": "活动开展主题契合度", "指标目标值": "=100.00(%)"},
        {"一级目标": "成本指标", "二级目标": "经济成本指标", "三级目标": "单场课程人均预算", "指标目标值": "≤80.00(元)"},
        {"一级目标": "效益指标", "二级目标": "社会效益指标", "三级目标": "居民文化获得感", "指标目标值": "提升"},
        {"一级目标": "满意度指标", "二级目标": "服务对象满意度指标", "三级目标": "居民满意度", "指标目标值": "≥90.00(%)"},
    ],
}
FORMS = {"project-target": TARGET, "project-selfeval": SELFEVAL, "unit-target": UNIT}


@pytest.fixture(scope="module")
def prints(libreoffice, tmp_path_factory):
    work = tmp_path_factory.mktemp("pdf-import")
    ops, out = [], {}
    for kind, form in FORMS.items():
        xlsx, pdf = work / f"{kind}.xlsx", work / f"{kind}.pdf"
        xlsx.write_bytes(template_bytes(load_spec(kind), copy.deepcopy(form))[0])
        ops.append({"op": "convert", "src": str(xlsx), "out": str(pdf), "filter": "calc_pdf_Export"})
        out[kind] = (xlsx, pdf)
    for op, res in zip(ops, libreoffice.run(ops)):
        assert res["ok"], (op["out"], res)
    return out


def test_grid_of_the_print(prints):
    """The 申报表's print as cells (written out by hand from the form above and the printed
    layout: A1 the title, row 2 ( 2026 年度) around the bordered year cell, money as printed)."""
    grid = load_pdf(prints["project-target"][1])[0].grid
    assert grid[0][0] == "财政项目支出绩效目标申报表"
    assert grid[1][2:5] == ["(", "2026", "年度)"]
    assert grid[2] == ["项目名称", "党群综合服务", "项目性质", "其他经常性项目", "项目类别", "特定目标类"]
    assert grid[3][:4] == ["主管部门", "九里亭街道办", "实施单位", "上海市松江区九里亭街道社区党群服务中心"]
    assert grid[4][:4] == ["计划开始日期", "2026-01-01", "计划完成日期", "2026-12-31"]
    assert grid[5][:5] == ["项目资金(元)", "项目资金总额:", "11,442,320.00", "年度资金申请总额:", "5,733,160.50"]
    assert grid[6][0] is None                      # the merged 项目资金(元) label: top-left only
    assert grid[7][3:5] == ["上年结转资金", "12,000.50"]
    assert grid[10][3] == "完成区域内两新组织党建工作，做好流动党员管理服务。\n提升社区体育水平，丰富精神文化生活。"
    assert grid[11][1:5] == ["一级指标", "二级指标", "三级指标", "年度(/项目)指标值"]
    assert grid[12][1:5] == ["产出指标", "数量指标", "体育赛事活动次数", "≥4.00(次)"]
    assert grid[16][1:5] == ["满意度指标", "服务对象满意度指标", "社区居民满意度", "≥90.00(%)"]




def test_two_pages_make_one_grid(prints):
    """The 单位整体 form prints on two pages: one grid, the title once (the rows LibreOffice
    repeats on page 2 dropped), no page numbers, the indicator table continuing."""
    import pdfplumber

    xlsx, pdf = prints["unit-target"]
    with pdfplumber.open(pdf) as doc:
        assert len(doc.pages) >= 2
    grid = load_pdf(pdf)[0].grid
    texts = [v for row in grid for v in row if v]
    assert texts.count("单位整体支出绩效目标申报表") == 1
    assert not [t for t in texts if "页" in t and "第" in t]
    assert [row[1:5] for row in grid if row[2] == "服务对象满意度指标"] == [
        ["满意度指标", "服务对象满意度指标", "居民满意度", "≥90.00(%)"]]


# The unit form prints on two pages, and LibreOffice draws the text of a label cell merged over
# the page break (预算情况) beside the rows of another table: the positional rules of our own
# layout then read it as a row. read() of the PDF (the label-based reader) is exact:
# test_read_pdf_equals_read_workbook.
MERGED_LABEL = pytest.mark.xfail(strict=False, reason="positional rules on a two-page PDF grid: a merged label drawn by another table")


@pytest.mark.parametrize("kind", [pytest.param(k, marks=MERGED_LABEL) if k == "unit-target" else k for k in FORMS])
def test_grid_reads_as_the_workbook(prints, kind):
    """The PDF's grid, read with the printed layout of the spec (the reader's positional rules),
    is the workbook's data, field by field."""
    xlsx, pdf = prints[kind]
    sheet = load_pdf(pdf)[0]
    spec = load_spec(kind)
    shift = _locate(sheet, spec)
    assert shift == (0, 0)
    got = extract(sheet, spec, str(pdf), shift).data
    want = read_workbook(xlsx).forms[0].data
    for key in want:
        assert got[key] == want[key], key


@pytest.mark.parametrize("kind", list(FORMS))
def test_read_pdf_equals_read_workbook(prints, kind):
    xlsx, pdf = prints[kind]
    assert [f.data for f in read_workbook(pdf).forms] == [f.data for f in read_workbook(xlsx).forms]


def test_cli_read_pdf(prints):
    xlsx, pdf = prints["project-target"]
    run = xltools("read", str(pdf))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == json.loads(xltools("read", str(xlsx)).stdout)


@pytest.mark.parametrize("kind", list(FORMS))
def test_findings_on_a_pdf_name_its_page_and_row(prints, kind):
    """Validating the PDF finds what validating the workbook finds (the same rules), each named
    by its printed place (第P页第R行), not by a cell of the internal grid; in page and row order."""
    import re

    from xltools.validate import validate_paths

    xlsx, pdf = prints[kind]
    on_pdf = validate_paths([pdf]).findings
    on_xlsx = validate_paths([xlsx]).findings
    assert sorted(f.rule for f in on_pdf) == sorted(f.rule for f in on_xlsx)
    places = [tuple(map(int, re.fullmatch(r"第(\d+)页第(\d+)行", f.cell).groups())) for f in on_pdf if f.cell]
    assert places and places == sorted(places)
