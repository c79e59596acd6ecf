"""Acceptance tests for the label-based reader (issue 12): workbooks in the printed layout that
xltools did not make.

Units send back forms they typed into their own copy of the printed form, or 汇总表 exported
from another system: the labels are the printed ones, but the form starts in another column,
the grid is wider, there is an empty column between a label and its value, cells are merged
(the value only in the top-left cell), labels carry ``:``/``：`` or not, brackets are
full-width ``（元）`` or spaced ``项目资金 (元)``, a blank row is added, and the indicator
table writes 一级/二级 once per group (merged, or just left blank below) or on every row.

Each foreign workbook is printed here with xlsxwriter from a hand-written form (no xltools
code builds it; :class:`Printer` below knows only rows of cells). The expectation is the same
form typed into OUR template (blank template + the person-like filler of tests/helpers.py, or
the writer's pre-fill) and read back; for the first case it is also written out in full by
hand. Findings on a foreign file name the cells of THAT file (addresses written by hand).

The reader is xltools/locate.py, dispatched from read.py.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
import xlsxwriter
from helpers import fill_like_person

from xltools.read import read_workbook
from xltools.spec import load_spec
from xltools.template import template_bytes
from xltools.validate import validate_paths

# --------------------------------------------------------------------------------------------
# Hand-written forms (short texts; figures in the style of seeds 000, 003, 004)

TARGET_A = {
    "年度": 2026, "项目名称": "党群综合服务", "项目性质": "其他经常性项目", "项目类别": "特定目标类",
    "主管部门": "上海市松江区人民政府九里亭街道办事处", "实施单位": "上海市松江区九里亭街道社区党群服务中心",
    "计划开始日期": "2026-01-01", "计划完成日期": "2026-12-31",
    "项目资金": {"财政资金": 11442320.0, "其他资金": 0.0},
    "年度资金": {"当年财政拨款": 5721160.0, "上年结转资金": 0.0, "其他资金": 0.0},
    "项目总目标": "两年内建成四个片区党群阵地。",
    "年度总体目标": "完成区域内两新组织党建工作，做好流动党员管理服务。\n提升社区体育水平，丰富精神文化生活。",
    "绩效指标": [
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "体育赛事活动次数", "指标值": "≥4.00(次)"},
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "党群服务阵地建设", "指标值": "≥2.00(个)"},
        {"一级指标": "产出指标", "二级指标": "质量指标", "三级指标": "器材验收合格率", "指标值": "=100.00(%)"},
        {"一级指标": "产出指标", "二级指标": "时效指标", "三级指标": "补贴发放及时性", "指标值": "及时"},
        {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "社区体育水平", "指标值": "提升"},
        {"一级指标": "效益指标", "二级指标": "可持续影响指标", "三级指标": "长效管理机制", "指标值": "健全"},
        {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "社区居民满意度", "指标值": "≥90.00(%)"},
    ],
}

TARGET_B = {
    "年度": 2026, "项目名称": "编外人员工作经费", "项目性质": "其他经常性项目", "项目类别": "特定目标类",
    "主管部门": "上海市松江区人民政府九里亭街道办事处", "实施单位": "上海市松江区九里亭街道社区党群服务中心",
    "计划开始日期": "2026-01-01", "计划完成日期": "2026-12-31",
    "项目资金": {"财政资金": None, "其他资金": None},
    "年度资金": {"当年财政拨款": 36118005.0, "上年结转资金": 0.0, "其他资金": 0.0},
    "项目总目标": None,
    "年度总体目标": "协助政府及有关部门做好与社区利益相关的公共服务、公共管理、公共安全等事务。",
    "绩效指标": [
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "聘用社工人数", "指标值": "≥236.00(人)"},
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "亭编书记人数", "指标值": "≥10.00(人)"},
        {"一级指标": "产出指标", "二级指标": "质量指标", "三级指标": "工资发放准确率", "指标值": "=100.00(%)"},
        {"一级指标": "产出指标", "二级指标": "时效指标", "三级指标": "工资发放及时性", "指标值": "及时"},
        {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "社区公共服务能力", "指标值": "提升"},
        {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "居民满意度", "指标值": "满意"},
    ],
}

TARGET_C = {
    "年度": 2026, "项目名称": "社区自治管理", "项目性质": "经常性项目", "项目类别": "特定目标类",
    "主管部门": "上海市松江区人民政府九里亭街道办事处", "实施单位": "上海市松江区九里亭街道社区党群服务中心",
    "计划开始日期": "2026-03-01", "计划完成日期": "2026-11-30",
    "项目资金": {"财政资金": None, "其他资金": None},
    "年度资金": {"当年财政拨款": 2975000.0, "上年结转资金": 0.0, "其他资金": 0.0},
    "项目总目标": None,
    "年度总体目标": "推进居民区自治项目，提升居民参与度。",
    "绩效指标": [
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "自治项目数", "指标值": "≥22.00(个)"},
        {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "居民参与度", "指标值": "提高"},
        {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "居民满意度", "指标值": "≥90.00(%)"},
    ],
}

SELFEVAL = {
    "年度": 2024, "项目名称": "党群综合服务",
    "主管部门": "上海市松江区人民政府中山街道办事处", "实施单位": "上海市松江区中山街道社区党群服务中心",
    "项目资金": {
        "当年财政拨款": {"年初预算数": 698.0, "全年预算数": 504.92, "全年执行数": 504.92},
        "上年结转资金": {"年初预算数": 0.0, "全年预算数": 0.0, "全年执行数": 0.0},
        "其他资金": {"年初预算数": 0.0, "全年预算数": 0.0, "全年执行数": 0.0},
    },
    "预期目标": "按项目实施计划推进各项工作按期有效完成。",
    "实际完成情况": "本年度各党群阵地开展相关党建活动共计 64 场。\n年底大部分工作按期有效完成。",
    "绩效指标": [
        {"一级指标": "成本指标", "二级指标": "经济成本指标", "三级指标": "物业管理项目成本", "年度指标值": "≤54166.67(元/月)",
         "实际完成值": "54166.67(元/月)", "分值": 20.0, "得分": 20.0, "偏差原因分析及改进措施": None},
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "居民区党组织党建工作", "年度指标值": "=22.00(个)",
         "实际完成值": "22.00(个)", "分值": 20.0, "得分": 20.0, "偏差原因分析及改进措施": None},
        {"一级指标": "产出指标", "二级指标": "质量指标", "三级指标": "党建活动有序开展", "年度指标值": "良好",
         "实际完成值": "达成指标", "分值": 10.0, "得分": 10.0, "偏差原因分析及改进措施": None},
        {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "服务群众工作有实效", "年度指标值": "有效",
         "实际完成值": "部分达成指标并具有一定效果", "分值": 20.0, "得分": 16.5,
         "偏差原因分析及改进措施": "服务群众项目需进一步丰富完善"},
        {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "服务群众的满意度", "年度指标值": "满意",
         "实际完成值": "达成指标", "分值": 20.0, "得分": 20.0, "偏差原因分析及改进措施": None},
    ],
}
SELFEVAL_TOTAL, SELFEVAL_GRADE = "96.50", "优"   # 10 + 20 + 20 + 10 + 16.5 + 20

UNIT = {
    "年度": 2026, "单位名称": "上海市闵行区江川路街道社区党群服务中心", "财政资金拨款方式": "全额",
    "单位职责": "(一) 贯彻落实新时代党的组织路线。\n(二) 负责社区党建工作。",
    "年度履职目标": "按计划及时完成“两新”组织党建工作。",
    "年度重点任务": [
        {"任务名称": "(一) 聚焦品牌提升，增强文化辐射力。", "主要内容": "继续做好两大品牌活动。"},
        {"任务名称": "(二) 体育场地普查", "主要内容": "2026年全面开展社区体育场地普查工作。"},
    ],
    "预算情况": {"财政拨款": 92787331.0, "其他资金": 0.0, "基本支出": 50839284.87, "项目支出": 41948046.13},
    "年末在职人数": 12, "内设机构数": 3,
    "绩效指标": [
        {"一级目标": "投入管理指标", "二级目标": "预算编审管理", "三级目标": "根据沪财绩【2022】13号文设置", "指标目标值": None},
        {"一级目标": "投入管理指标", "二级目标": "预算执行管理", "三级目标": None, "指标目标值": None},
        {"一级目标": "投入管理指标", "二级目标": "预算绩效管理", "三级目标": None, "指标目标值": None},
        {"一级目标": "投入管理指标", "二级目标": "资产管理", "三级目标": None, "指标目标值": None},
        {"一级目标": "投入管理指标", "二级目标": "预算透明度", "三级目标": None, "指标目标值": None},
        {"一级目标": "投入管理指标", "二级目标": "内部控制管理", "三级目标": None, "指标目标值": None},
        {"一级目标": "投入管理指标", "二级目标": "预算信息化", "三级目标": None, "指标目标值": None},
        {"一级目标": "产出指标", "二级目标": "数量指标", "三级目标": "器材购置更新完成数", "指标目标值": "≥200.00(个)"},
        {"一级目标": "产出指标", "二级目标": "数量指标", "三级目标": "书籍购置完成量", "指标目标值": "≥15000.00(本)"},
        {"一级目标": "产出指标", "二级目标": "质量指标", "三级目标": "活动开展主题契合度", "指标目标值": "=100.00(%)"},
        {"一级目标": "产出指标", "二级目标": "时效指标", "三级目标": "场地维护及时性", "指标目标值": "及时"},
        {"一级目标": "成本指标", "二级目标": "经济成本指标", "三级目标": "单场课程人均预算控制数", "指标目标值": "≤80.00(元)"},
        {"一级目标": "效益指标", "二级目标": "社会效益指标", "三级目标": "居民文化获得感", "指标目标值": "提升"},
        {"一级目标": "满意度指标", "二级目标": "服务对象满意度指标", "三级目标": "居民满意度", "指标目标值": "≥90.00(%)"},
    ],
}

# --------------------------------------------------------------------------------------------
# A printer of foreign workbooks: rows of cells, nothing else


@dataclass
class Span:
    """A cell merged over ``w`` columns and ``h`` rows; its value in the top-left only."""

    v: object
    w: int = 1
    h: int = 1


class Printer:
    """Writes rows of cells into one worksheet from (row0, col0). A cell is a value, ``None``
    (nothing written: empty, or covered by a merge from above) or a :class:`Span`."""

    def __init__(self, wb, ws, row0: int = 0, col0: int = 0):
        self.ws, self.r, self.c0 = ws, row0, col0
        self.fmt = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        self.date = wb.add_format({"border": 1, "num_format": "yyyy-mm-dd"})

    def _write(self, r: int, c: int, v) -> None:
        if isinstance(v, dt.date):
            self.ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), self.date)
        elif isinstance(v, str):
            self.ws.write_string(r, c, v, self.fmt)   # "=100.00(%)" is text, not a formula
        elif v is not None:
            self.ws.write_number(r, c, v, self.fmt)

    def row(self, *cells) -> None:
        c = self.c0
        for cell in cells:
            s = cell if isinstance(cell, Span) else Span(cell)
            if s.w > 1 or s.h > 1:
                self.ws.merge_range(self.r, c, self.r + s.h - 1, c + s.w - 1, None, self.fmt)
            self._write(self.r, c, s.v)
            c += s.w
        self.r += 1

    def blank(self, n: int = 1) -> None:
        self.r += n


@dataclass
class Style:
    """How a foreign print differs from ours."""

    row0: int = 0
    col0: int = 0
    gap: bool = False            # an empty column between each label and its value
    colon: str = ""              # after field labels: "", ":" or "："
    brackets: str = "()"         # "()", "（）" or " ()" (a space before)
    blank_rows: bool = False     # a blank row after the year line and before the indicator table
    groups: str = "every"        # 一级/二级: "every" row, "merged" once per group, "first" once, blank below
    money_text: bool = False     # amounts printed as text "5,721,160.00"
    dates: str = "date"          # "date" (a date cell) or "text" ("2026-01-01")
    wide: bool = False           # wider table: 三级 and 指标值 each span two columns
    year: str = "({year} 年度)"  # the year line


def _unit(label: str, unit: str, style: Style) -> str:
    """``项目资金(元)`` as this print writes it."""
    if style.brackets == "（）":
        return f"{label}（{unit}）"
    if style.brackets == " ()":
        return f"{label} ({unit})"
    return f"{label}({unit})"


def _money(v, style: Style):
    if v is None:
        return None
    return f"{v:,.2f}" if style.money_text else v


def _date(v: str | None, style: Style):
    if v is None:
        return None
    return v if style.dates == "text" else dt.date.fromisoformat(v)


def _lv(style: Style, rows: list[dict], i: int, key: str, parent: str | None):
    """一级/二级 cell of row ``i``: every row, once per group (merged) or once (blank below)."""
    if style.groups == "every":
        return rows[i][key]

    def same(j: int) -> bool:
        return rows[j][key] == rows[i][key] and (parent is None or rows[j][parent] == rows[i][parent])

    if i > 0 and same(i - 1):
        return None
    n = 1
    while i + n < len(rows) and same(i + n):
        n += 1
    return Span(rows[i][key], 1, n) if style.groups == "merged" and n > 1 else rows[i][key]


def print_target(p: Printer, form: dict, style: Style) -> None:
    """项目支出绩效目标申报表 in the printed layout (FORMS.md §1)."""
    k = style.colon
    g = [None] if style.gap else []
    w = 9 if style.gap else 6
    val2 = 3 if style.gap else 2           # the right-hand value of the funds block spans these
    fund, year = form["项目资金"], form["年度资金"]
    p.row(Span("财政项目支出绩效目标申报表", w))
    p.row(Span(style.year.format(year=form["年度"]), w))
    if style.blank_rows:
        p.blank()
    p.row("项目名称" + k, *g, form["项目名称"], "项目性质" + k, *g, form["项目性质"], "项目类别" + k, *g, form["项目类别"])
    p.row("主管部门" + k, *g, form["主管部门"], "实施单位" + k, *g, Span(form["实施单位"], w - (5 if style.gap else 3)))
    p.row("计划开始日期" + k, *g, _date(form["计划开始日期"], style), "计划完成日期" + k, *g,
          _date(form["计划完成日期"], style))
    parts = [v for v in fund.values() if v is not None]
    project_total = sum(parts) if parts else None
    p.row(Span(_unit("项目资金", "元", style), 1, 4), "项目资金总额:", *g, _money(project_total, style),
          "年度资金申请总额:", *g, Span(_money(sum(year.values()), style), val2))
    p.row(None, "其中: 财政资金", *g, _money(fund["财政资金"], style),
          "其中: 当年财政拨款", *g, Span(_money(year["当年财政拨款"], style), val2))
    p.row(None, None, *g, None, "上年结转资金", *g, Span(_money(year["上年结转资金"], style), val2))
    p.row(None, "其他资金", *g, _money(fund["其他资金"], style), "其他资金", *g, Span(_money(year["其他资金"], style), val2))
    left = 3 if style.gap else 2
    p.row(Span("项目绩效目标", 1, 2), Span("项目总目标", left), Span("年度总体目标", w - 1 - left))
    p.row(None, Span(form["项目总目标"], left), Span(form["年度总体目标"], w - 1 - left))
    if style.blank_rows:
        p.blank()
    rows = form["绩效指标"]
    t = 2 if style.wide else 1
    p.row(Span("绩效指标", 1, len(rows) + 1), "一级指标", "二级指标", Span("三级指标", t), Span("年度(/项目)指标值", t))
    for i, r in enumerate(rows):
        p.row(None, _lv(style, rows, i, "一级指标", None), _lv(style, rows, i, "二级指标", "一级指标"),
              Span(r["三级指标"], t), Span(r["指标值"], t))


def print_selfeval(p: Printer, form: dict, style: Style, total: str, grade: str) -> None:
    """项目支出绩效自评表 in the printed layout (FORMS.md §3), figures as printed (cached)."""
    k = style.colon
    g = [None] if style.gap else []
    w = 9 if style.gap else 8
    funds = form["项目资金"]
    sums = {c: sum(funds[r][c] for r in funds) for c in ("年初预算数", "全年预算数", "全年执行数")}

    def rate(row: dict) -> str | None:
        return f"{row['全年执行数'] / row['全年预算数'] * 100:.2f}" if row["全年预算数"] else "0.00"

    p.row(Span("财政项目支出绩效自评表", w))
    p.row(Span(style.year.format(year=form["年度"]), w))
    if style.blank_rows:
        p.blank()
    p.row("项目名称" + k, *g, Span(form["项目名称"], w - 1 - len(g)))
    p.row("主管部门" + k, *g, Span(form["主管部门"], 3), "实施单位" + k, Span(form["实施单位"], w - 5 - len(g)))
    p.row(Span(_unit("项目资金", "万元", style), 1, 5), Span(None, 1 + len(g)), "年初预算数", "全年预算数", "全年执行数",
          "分数", "执行率(%)", "得分")
    p.row(None, Span("年度资金总额:", 1 + len(g)), *(_money(sums[c], style) for c in sums), "10.00",
          rate(sums), f"{10 * min(sums['全年执行数'] / sums['全年预算数'], 1):.2f}")
    for label, key in (("其中: 当年财政拨款", "当年财政拨款"), ("上年结转资金", "上年结转资金"), ("其他资金", "其他资金")):
        row = funds[key]
        p.row(None, Span(label, 1 + len(g)), *(_money(row[c], style) for c in sums), None, rate(row), None)
    p.row(Span("年度总体目标", 1, 2), Span("预期目标", 3 + len(g)), Span("实际完成情况", 4))
    p.row(None, Span(form["预期目标"], 3 + len(g)), Span(form["实际完成情况"], 4))
    if style.blank_rows:
        p.blank()
    rows = form["绩效指标"]
    p.row("一级指标", "二级指标", Span("三级指标", 1 + len(g)), "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施")
    for i, r in enumerate(rows):
        p.row(_lv(style, rows, i, "一级指标", None), _lv(style, rows, i, "二级指标", "一级指标"),
              Span(r["三级指标"], 1 + len(g)), r["年度指标值"], r["实际完成值"], f"{r['分值']:.2f}", f"{r['得分']:.2f}",
              r["偏差原因分析及改进措施"])
    p.row(Span("总分", 5 + len(g)), "100.00", total, None)
    p.row("评分等级" + k, Span(grade, w - 1))


def print_unit(p: Printer, form: dict, style: Style) -> None:
    """单位整体支出绩效目标申报表 in the printed layout (FORMS.md §2)."""
    k = style.colon
    g = [None] if style.gap else []
    w = 6 if style.gap else 5
    b = form["预算情况"]
    p.row(Span("单位整体支出绩效目标申报表", w))
    p.row(Span(style.year.format(year=form["年度"]), w))
    if style.blank_rows:
        p.blank()
    for key in ("单位名称", "财政资金拨款方式", "单位职责", "年度履职目标"):
        p.row(key + k, *g, Span(form[key], w - 1 - len(g)))
    tasks = form["年度重点任务"]
    p.row(Span("年度重点任务", 1, len(tasks) + 1), *g, "任务名称", Span("主要内容（重点工作计划）", 3))
    for t in tasks:
        p.row(None, *g, t["任务名称"], Span(t["主要内容"], 3))
    p.row(Span("预算情况", 1, 7), *g, "内容", Span("预算情况", 3))
    total = b["财政拨款"] + b["其他资金"]
    p.row(None, *g, _unit("部门整体预算总额", "元", style), Span(_money(total, style), 3))
    p.row(None, *g, "1、资金来源：(1) 财政拨款", Span(_money(b["财政拨款"], style), 3))
    p.row(None, *g, "(2) 其他资金", Span(_money(b["其他资金"], style), 3))
    p.row(None, *g, "2、资金结构：(1) 基本支出", Span(_money(b["基本支出"], style), 3))
    p.row(None, *g, "(2) 项目支出", Span(_money(b["项目支出"], style), 3))
    p.row(None, *g, "年末在职人数" + k, form["年末在职人数"], "内设机构数" + k, form["内设机构数"])
    if style.blank_rows:
        p.blank()
    rows = form["绩效指标"]
    p.row(Span("绩效指标", 1, len(rows) + 1), *g, "一级目标", "二级目标", "三级目标", "指标目标值")
    for i, r in enumerate(rows):
        p.row(None, *g, _lv(style, rows, i, "一级目标", None), _lv(style, rows, i, "二级目标", "一级目标"),
              r["三级目标"], r["指标目标值"])


def foreign(path: Path, sheet: str, forms: list[tuple], title: str | None = None, row0=0, col0=0) -> Path:
    """One sheet holding each (printer, form, style, *extra) in turn; an optional 汇总 title
    first; a blank row between forms (seed 000's layout)."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(sheet)
    p = Printer(wb, ws, row0, col0)
    if title:
        p.row(Span(title, 6))
        p.blank()
    for i, (printer, form, style, *extra) in enumerate(forms):
        if i:
            p.blank()
        printer(p, form, style, *extra)
    wb.close()
    return path


# --------------------------------------------------------------------------------------------
# The same content in OUR template


def ours(tmp: Path, kind: str, form: dict) -> list[dict]:
    """``form`` in our template, read back. project-target: typed into the blank template by
    the person-like filler; the others: pre-filled by the template writer."""
    spec = load_spec(kind)
    out = tmp / f"ours_{kind}_{form.get('项目名称') or form.get('单位名称')}.xlsx"
    if kind == "project-target":
        blank, _, _ = template_bytes(spec, None, rows=max(40, len(form["绩效指标"])))
        fill_like_person(blank, form, out)
    else:
        data, _, _ = template_bytes(spec, copy.deepcopy(form))
        out.write_bytes(data)
    return [f.data for f in read_workbook(out).forms]


def assert_same(got: dict, want: dict) -> None:
    """Field by field, so a failure names the field."""
    assert list(got) == list(want)
    for key in want:
        if isinstance(want[key], list):
            assert len(got[key]) == len(want[key]), key
            for i, (g, w) in enumerate(zip(got[key], want[key], strict=True)):
                assert g == w, f"{key}[{i}]"
        else:
            assert got[key] == want[key], key


# The hand-written expectation of TARGET_A (independent of xltools: totals summed by hand,
# parsed parts of each 指标值 written out).
def _ind(l1, l2, l3, v, op=None, num=None, unit=None, q=None):
    return {"一级指标": l1, "二级指标": l2, "三级指标": l3, "指标值": v, "运算符": op, "数值": num, "单位": unit, "定性": q}


TARGET_A_READ = {
    "表单": "project-target", "年度": 2026, "项目名称": "党群综合服务", "项目性质": "其他经常性项目",
    "项目类别": "特定目标类", "主管部门": "上海市松江区人民政府九里亭街道办事处",
    "实施单位": "上海市松江区九里亭街道社区党群服务中心", "计划开始日期": "2026-01-01", "计划完成日期": "2026-12-31",
    "项目资金": {"项目资金总额": 11442320.0, "财政资金": 11442320.0, "其他资金": 0.0},
    "年度资金": {"年度资金申请总额": 5721160.0, "当年财政拨款": 5721160.0, "上年结转资金": 0.0, "其他资金": 0.0},
    "项目总目标": "两年内建成四个片区党群阵地。",
    "年度总体目标": "完成区域内两新组织党建工作，做好流动党员管理服务。\n提升社区体育水平，丰富精神文化生活。",
    "绩效指标": [
        _ind("产出指标", "数量指标", "体育赛事活动次数", "≥4.00(次)", "≥", 4.0, "次"),
        _ind("产出指标", "数量指标", "党群服务阵地建设", "≥2.00(个)", "≥", 2.0, "个"),
        _ind("产出指标", "质量指标", "器材验收合格率", "=100.00(%)", "=", 100.0, "%"),
        _ind("产出指标", "时效指标", "补贴发放及时性", "及时", q="及时"),
        _ind("效益指标", "社会效益指标", "社区体育水平", "提升", q="提升"),
        _ind("效益指标", "可持续影响指标", "长效管理机制", "健全", q="健全"),
        _ind("满意度指标", "服务对象满意度指标", "社区居民满意度", "≥90.00(%)", "≥", 90.0, "%"),
    ],
    "资金构成": [],
}

PLAIN = Style()
SHIFTED = Style(row0=3, col0=2, gap=True, colon="：", brackets="（）", groups="merged", money_text=True,
                dates="text", wide=True, year="（{year}年度）")
SPACED = Style(col0=1, colon=":", brackets=" ()", blank_rows=True, groups="first", year="({year} 年度)")
STYLES = {"plain": PLAIN, "shifted": SHIFTED, "spaced": SPACED}


# --------------------------------------------------------------------------------------------
# Tests


def test_hand_written_expectation_is_what_our_template_reads(tmp_path):
    """The independence check of the expectation itself (passes without the locate reader)."""
    assert_same(ours(tmp_path, "project-target", TARGET_A)[0], TARGET_A_READ)


@pytest.mark.parametrize("name", list(STYLES))
def test_project_target_foreign(tmp_path, name):
    path = foreign(tmp_path / f"{name}.xlsx", "Sheet1", [(print_target, TARGET_A, STYLES[name])])
    result = read_workbook(path)
    assert len(result.forms) == 1
    got = result.forms[0]
    assert got.kind == "project-target"
    assert_same(got.data, TARGET_A_READ)
    assert_same(got.data, ours(tmp_path, "project-target", TARGET_A)[0])


@pytest.mark.parametrize("name", list(STYLES))
def test_project_selfeval_foreign(tmp_path, name):
    path = foreign(tmp_path / f"{name}.xlsx", "自评", [(print_selfeval, SELFEVAL, STYLES[name], SELFEVAL_TOTAL,
                                                        SELFEVAL_GRADE)])
    result = read_workbook(path)
    assert [f.kind for f in result.forms] == ["project-selfeval"]
    got, want = result.forms[0].data, ours(tmp_path, "project-selfeval", SELFEVAL)[0]
    assert_same(got, want)
    # a few figures by hand: the total row summed, the 执行率 and scores recomputed
    assert got["项目资金"]["年度资金总额"]["年初预算数"] == 698.0
    assert got["项目资金"]["年度资金总额"]["执行率"] == 100.0
    assert got["总分"] == 96.5 and got["评分等级"] == "优"


@pytest.mark.parametrize("name", list(STYLES))
def test_unit_target_foreign(tmp_path, name):
    path = foreign(tmp_path / f"{name}.xlsx", "单位整体", [(print_unit, UNIT, STYLES[name])])
    result = read_workbook(path)
    assert [f.kind for f in result.forms] == ["unit-target"]
    got, want = result.forms[0].data, ours(tmp_path, "unit-target", UNIT)[0]
    assert_same(got, want)
    assert got["预算情况"]["部门整体预算总额"] == 92787331.0
    assert got["年末在职人数"] == 12 and got["内设机构数"] == 3
    assert [r["任务名称"] for r in got["年度重点任务"]] == ["(一) 聚焦品牌提升，增强文化辐射力。", "(二) 体育场地普查"]


@pytest.mark.parametrize("name", ["plain", "shifted"])
def test_summary_on_one_sheet(tmp_path, name):
    """A 汇总 published as one sheet (seed 000): its title, then each 申报表 in turn → one form
    per form title, in order."""
    style = STYLES[name]
    forms = [TARGET_B, TARGET_A, TARGET_C]
    path = foreign(tmp_path / "汇总.xlsx", "汇总", [(print_target, f, style) for f in forms],
                   title="上海市松江区九里亭街道社区党群服务中心 2026 年度项目绩效目标汇总表",
                   row0=style.row0, col0=style.col0)
    result = read_workbook(path)
    assert [f.data["项目名称"] for f in result.forms] == ["编外人员工作经费", "党群综合服务", "社区自治管理"]
    for got, form in zip(result.forms, forms, strict=True):
        assert_same(got.data, ours(tmp_path, "project-target", form)[0])
    assert result.forms[1].data == TARGET_A_READ
    # seed 000's total of these three is not the point; the sum of what was read is:
    assert sum(f.data["年度资金"]["年度资金申请总额"] for f in result.forms) == 36118005.0 + 5721160.0 + 2975000.0


def test_findings_name_the_foreign_cells(tmp_path):
    """SHIFTED starts at C4 with an empty column after each label: title row 4, year row 5,
    项目名称 row 6, 主管部门 row 7, the dates row 8 (计划开始日期 C8, value E8; 计划完成日期 F8,
    value H8). The indicator header is row 8 + 4 funds rows + 2 goal rows + 1 = row 15, its
    rows from 16 (一级 D, 二级 E, 三级 F:G, 指标值 H:I); the 3rd row is row 18."""
    form = copy.deepcopy(TARGET_A)
    form["计划完成日期"] = None
    form["绩效指标"][2]["指标值"] = None
    path = foreign(tmp_path / "退回.xlsx", "申报表（定稿）", [(print_target, form, SHIFTED)],
                   row0=SHIFTED.row0, col0=SHIFTED.col0)   # from C4, as said above
    report = validate_paths([path])
    got = sorted((f.rule, f.sheet, f.cell) for f in report.findings if f.is_error)
    assert got == [("required", "申报表（定稿）", "H8"), ("value-empty", "申报表（定稿）", "H18")]


def test_findings_in_a_summary_sheet_name_each_forms_cells(tmp_path):
    """In the one-sheet 汇总 (PLAIN, from A1): title row 1, blank row 2, the first form from
    row 3 (TARGET_B: 6 indicators → its header row 3+11 = 14, rows 15–20), a blank row 21, the
    second form from row 22: its dates row 22+4 = 26 (计划完成日期 value D26)."""
    second = copy.deepcopy(TARGET_A)
    second["计划完成日期"] = None
    path = foreign(tmp_path / "汇总.xlsx", "汇总", [(print_target, f, PLAIN) for f in (TARGET_B, second)],
                   title="上海市松江区九里亭街道社区党群服务中心 2026 年度项目绩效目标汇总表")
    report = validate_paths([path])
    got = [(f.rule, f.cell) for f in report.findings if f.is_error]
    assert got == [("required", "D26")]
