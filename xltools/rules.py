"""The catalogue of review rules: a stable code, a severity and a Chinese message template.

A :class:`Finding` is one rule broken at one place (file, sheet, cell). ``error`` blocks
merging; ``warning`` is shown but does not; ``info`` (提示) is a reviewer's hint. A profile
(:mod:`xltools.profiles`) may change a rule's severity or turn it off. Messages say what is wrong and how to fix it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from enum import Enum
from functools import cache

ERROR = "error"
WARNING = "warning"
INFO = "info"          # 提示: shown and counted, never changes the exit code
SEVERITIES = (ERROR, WARNING, INFO)
SEVERITY_NAMES = {ERROR: "错误", WARNING: "警告", INFO: "提示"}
# How a finding's cell is marked wherever staff see it (退回 copies, the templates' live 自查
# formats, reports): (fill, font colour). The warning yellow is deliberately stronger than the
# templates' pale yellow of input cells (#FFF2CC), so a marked cell is never mistaken for one.
SEVERITY_COLOURS = {ERROR: ("#FFC7CE", "#9C0006"), WARNING: ("#FFD966", "#7F6000"), INFO: ("#D9E1F2", "#1F3864")}


@dataclass(frozen=True)
class RuleDef:
    code: str
    severity: str
    template: str


class Rule(Enum):
    # --- files -----------------------------------------------------------------------------
    FILE_UNREADABLE = RuleDef("file-unreadable", ERROR, "无法读取文件：{reason}")
    FILE_EMPTY = RuleDef("file-empty", ERROR, "文件是空的（0 字节），请重新保存后再提交。")
    FILE_TOO_LARGE = RuleDef("file-too-large", ERROR,
                             "文件大小 {size} 超过上限 {limit}，表单文件不应这么大；请检查是否粘贴了图片或大量数据。")
    FILE_ENCRYPTED = RuleDef("file-encrypted", ERROR, "文件已加密，请取消密码后重新保存为 .xlsx。")
    FILE_XLS = RuleDef("file-xls", ERROR,
                       "这是旧版 Excel 97-2003 (.xls) 文件，请在 Excel/WPS 中“另存为” Excel 工作簿 (.xlsx) 后再提交。")
    FILE_NOT_XLSX = RuleDef("file-not-xlsx", ERROR,
                            "不是 Excel (.xlsx) 文件（{what}），请用下发的模板填写后保存为 .xlsx。")
    FILE_CORRUPT = RuleDef("file-corrupt", ERROR, "文件已损坏，无法解压（{reason}），请重新保存或重新发送。")
    FILE_ZIP_BOMB = RuleDef("file-zip-bomb", ERROR, "文件结构异常（{reason}），疑似恶意构造，已拒绝读取。")
    FILE_XML_DTD = RuleDef("file-xml-dtd", ERROR,
                           "文件中的 {part} 含有 DOCTYPE/ENTITY 声明，疑似恶意构造，已拒绝读取。")
    FILE_EXTENT = RuleDef("file-extent", ERROR,
                          "工作表 {part} 的单元格范围 {ref} 远超表单范围，疑似恶意构造，已拒绝读取。")
    FILE_MACRO = RuleDef("file-macro", ERROR,
                         "文件含有宏（{part}），xltools 不运行宏也不接收含宏文件；请另存为不含宏的 .xlsx 后再提交。")
    FILE_MALFORMED = RuleDef("file-malformed", ERROR,
                             "文件结构不符合 .xlsx 规范（{reason}），请用 Excel/WPS 打开后重新保存为 .xlsx 再提交。")
    PDF_LIMIT = RuleDef("pdf-limit", ERROR,
                        "PDF 文件{what} {found} 超过上限 {limit}，不是一份表单应有的规模，疑似恶意构造，已拒绝读取；请提交 Excel 表。")
    TEXT_LIMIT = RuleDef("text-limit", ERROR,
                         "文本文件{what} {found} 超过上限 {limit}，不是一份表单应有的规模，已拒绝读取；请提交 Excel 表或原 PDF。")
    TEXT_NOT_TEXT = RuleDef("text-not-text", ERROR,
                            "文件不是可以读取的文本（{what}），已拒绝读取；请提交 UTF-8 或 GB18030 编码的 .txt、Excel 表或原 PDF。")
    TABLE_TOO_LONG = RuleDef("table-too-long", ERROR,
                             "「{label}」有 {n} 行以上，超过上限 {limit} 行（模板最多 1000 行）；请检查是否误粘贴了大量数据。")
    NOT_A_FORM = RuleDef("not-a-form", ERROR,
                         "不是 xltools 可识别的表单（没有找到表单元数据，也没有找到表头标签）。xltools 可读取：{kinds}。")
    LAYOUT_CHANGED = RuleDef("layout-changed", ERROR,
                             "这是{name}，但表头标签不在原来的位置（可能删除或插入了行、列），无法可靠读取；请在原模板中重新填写。")
    UNKNOWN_KIND = RuleDef("unknown-kind", ERROR,
                           "表单元数据中的类型「{kind}」未知；xltools 可读取：{kinds}。请使用下发的模板。")
    SPEC_NEWER = RuleDef("spec-version-newer", ERROR,
                         "表单模板版本 {found} 比本程序支持的版本 {supported} 新，请升级 xltools 后再读取。")
    # --- fields ----------------------------------------------------------------------------
    REQUIRED = RuleDef("required", ERROR, "「{label}」为必填项，当前为空，请填写。")
    NOT_IN_LIST = RuleDef("not-in-list", ERROR, "「{label}」的值「{value}」不在可选范围内，请从下拉列表中选择：{choices}。")
    YEAR_INVALID = RuleDef("year-invalid", ERROR, "「{label}」的值「{value}」不是有效年份，请填写四位年份，如 2026。")
    MONEY_INVALID = RuleDef("money-invalid", ERROR,
                            "「{label}」的值「{value}」不是金额，请填写数字（单位：{unit}），如 1234.50。")
    NUMBER_INVALID = RuleDef("number-invalid", ERROR, "「{label}」的值「{value}」不是数字，请填写数字，如 6.00。")
    NUMBER_NEGATIVE = RuleDef("number-negative", ERROR, "「{label}」为负数（{value}），请更正。")
    COUNT_INVALID = RuleDef("count-invalid", ERROR, "「{label}」的值「{value}」不是不小于 0 的整数，请填写整数，如 12。")
    MONEY_NEGATIVE = RuleDef("money-negative", ERROR, "「{label}」为负数（{value}），金额不能小于 0，请更正。")
    TOTAL_MISMATCH = RuleDef("total-mismatch", ERROR,
                             "「{label}」为 {actual}，但各分项之和为 {expected}，请核对分项金额（合计应由公式自动计算）。")
    DATE_INVALID = RuleDef("date-invalid", ERROR, "「{label}」的值「{value}」不是有效日期，请按 2026-01-01 的格式填写。")
    DATE_ORDER = RuleDef("date-order", ERROR,
                         "{start_label} {start} 晚于{end_label} {end}，请检查这两个日期。")
    DATE_OUTSIDE_YEAR = RuleDef("date-outside-year", WARNING,
                                "「{label}」{value} 不在 {year} 年度内，请确认年份是否填错。")
    # --- indicators ------------------------------------------------------------------------
    NO_INDICATORS = RuleDef("no-indicators", ERROR,
                            "「{table}」为空，请至少填写一行（{level1_label}、{level2_label}、{level3_label}和{target_label}）。")
    TABLE_REQUIRED = RuleDef("table-required", ERROR, "「{table}」第 {n} 行的「{label}」为空，请填写。")
    HIERARCHY = RuleDef("hierarchy", ERROR,
                        "{level2_label}「{level2}」不属于{level1_label}「{level1}」；「{level1}」下可选：{choices}。")
    LAYOUT_MIXED = RuleDef("layout-mixed", WARNING,
                           "本表混用了两种指标体系：「{level2}」在此处放在「{level1}」下，而表中其他行{other}。请统一为一种。")
    DUPLICATE_INDICATOR = RuleDef("duplicate-indicator", ERROR,
                                  "{level3_label}「{name}」在{level2_label}「{level2}」下重复出现（首次在 {first}），请删除重复行或改名。")
    DUPLICATE_ACROSS = RuleDef("duplicate-indicator-across", WARNING,
                               "{level3_label}「{name}」同时出现在「{first_level2}」（{first}）和「{level2}」下，请确认是否重复填写。")
    CATEGORY_MISSING = RuleDef("category-missing", ERROR,
                               "「{table}」缺少{level1_label}「{level1}」，请至少填写一项「{level1}」。")
    VALUE_EMPTY = RuleDef("value-empty", ERROR,
                          "{level3_label}「{name}」的{target_label}为空，请填写，如 ≥10.00(人)、=100.00(%) 或 及时。")
    VALUE_UNPARSEABLE = RuleDef("value-unparseable", WARNING,
                                "{target_label}「{value}」无法识别：定量指标请写成 运算符+数值+(单位)，如 ≥95.00(%)；定性指标请只写文字，如 及时。")
    VALUE_NO_OPERATOR = RuleDef("value-no-operator", WARNING,
                                "{target_label}「{value}」缺少运算符，请写明 =、≥ 或 ≤，如 ={value}。")
    PERCENT_OVER_100 = RuleDef("percent-over-100", ERROR, "{target_label}「{value}」的百分比超过 100%，请更正。")
    RATE_UNIT = RuleDef("rate-unit", WARNING,
                        "「{name}」是比率或满意度指标，却以「{unit}」计量（{value}），请改用百分比，如 ≥90.00(%)。")
    COUNT_NONPOSITIVE = RuleDef("count-nonpositive", ERROR,
                                "「{name}」按「{unit}」计数，{target_label}「{value}」要求小于{ge}0，计数不可能为负；如要求为零请写 =0({unit})。")
    DATE_TARGET_YEAR = RuleDef("date-target-year", WARNING,
                               "{target_label}「{value}」中的年份 {found} 不是本表年度 {year}，请确认。")
    ASCII_OPERATOR = RuleDef("ascii-operator", WARNING,
                             "{target_label}「{value}」使用了半角运算符「{op}」，请改为「{fixed}」。")
    UNIT_ODD = RuleDef("unit-odd", WARNING,
                       "{target_label}「{value}」的「({unit})」不是计量单位，请改为 ({fixed})。")
    # --- self-evaluation: funds and scores ------------------------------------------------------------
    EXEC_OVER_BUDGET = RuleDef("exec-over-budget", WARNING,
                               "「{label}」{done_label} {done} 大于{budget_label} {budget}（{money_unit}），请核对。")
    WEIGHTS_SUM = RuleDef("weights-sum", ERROR,
                          "{points_label}合计 {indicators} 加预算执行率分数 {funds} 为 {total}，应为 100，请调整各指标的{points_label}。")
    SCORE_RANGE = RuleDef("score-range", ERROR, "「{name}」{score_label} {score} 不在 0 到{points_label} {points} 之间，请更正。")
    REASON_MISSING = RuleDef("reason-missing", ERROR,
                             "「{name}」{score_label} {score} 低于{points_label} {points}，请在「{reason_label}」中说明原因和改进措施。")
    REASON_UNNEEDED = RuleDef("reason-unneeded", WARNING,
                              "「{name}」已得满分，却填写了{reason_label}，请确认{score_label}或删除{reason_label}。")
    SCORE_CONVENTION = RuleDef("score-convention", WARNING,
                               "「{name}」目标 {target}、实际 {actual}：{verdict}，按评分规则应得 {suggested}，表中为 {score}。{hint}")
    QUALITATIVE_TIER = RuleDef("qualitative-tier", WARNING,
                               "「{name}」的{actual_label}「{actual}」不是规定的档次，定性指标请填 达成指标、部分达成指标并具有一定效果 或 未达成指标。")
    GRADE_MISMATCH = RuleDef("grade-mismatch", ERROR,
                             "评分等级「{stored}」与总分 {score} 不符，应为「{grade}」（优 ≥ 90，良 80–90，中 60–80，差 < 60）。")
    STALE_CACHE = RuleDef("stale-cache", WARNING,
                          "「{label}」在文件中为 {stored}，按表中数据重新计算为 {computed}：文件可能被不重算公式的程序修改过，请在 Excel 中打开后保存。")
    # --- validate --against ------------------------------------------------------------------
    AGAINST_MISSING = RuleDef("against-missing", ERROR,
                              "在 {other} 中找不到「{name}」（{rest}）的{source}，无法核对。")
    AGAINST_FIELD = RuleDef("against-field", ERROR,
                            "「{label}」为 {have}，与{source}（{other}）中的 {want} 不一致，请按{source}更正。")
    AGAINST_ADDED = RuleDef("against-added", ERROR, "指标「{name}」不在{source}（{other}）中，{kind}不能新增指标。")
    AGAINST_DROPPED = RuleDef("against-dropped", ERROR, "{source}（{other}）中的指标「{name}」在{kind}中缺失，请补上。")
    AGAINST_CHANGED = RuleDef("against-changed", ERROR,
                              "指标「{name}」的「{label}」为 {have}，与{source}（{other}）中的 {want} 不一致。")
    CARRY_MISSING = RuleDef("carry-missing", ERROR,
                            "「{label}」为空，无法带入{kind}（带入的内容在{kind}中锁定，单位无法补填）；请先在本表中填写。")
    # --- across files ----------------------------------------------------------------------
    DUPLICATE_PROJECT = RuleDef("duplicate-project", ERROR,
                                "「{name}」（{rest}）重复提交：{other} 中已有同一份{kind}，请删除其中一份。")
    BUDGET_UNBALANCED = RuleDef("budget-unbalanced", ERROR,
                                "「{name}」不平衡：{sums}（{unit}），应相等，请核对各项金额。")
    COMPOSITION_UNBALANCED = RuleDef("composition-unbalanced", ERROR,
                                     "「{name}」的{column}合计为 {composed}{note}，而{total_label}为 {total}（{unit}），"
                                     "两者应相等；请补填或更正「{name}」的{column}，或核对{total_label}。")

    # --- content: what a 财政 reviewer checks (issue 14; xltools.content, xltools.batchrules) ----------
    COST_MISSING = RuleDef("cost-missing", WARNING,
                           "本表没有成本指标（既没有{level1_label}「{cost}」，也没有{output}下的「{cost}」）；"
                           "成本指标应与预算金额相匹配，请按预算测算补充，如 ≤80.00(元/人)。")
    COST_NOT_CAP = RuleDef("cost-not-cap", WARNING,
                           "成本指标「{name}」的{target_label}「{value}」不是金额上限：成本指标应写成 ≤ 金额(元) 或 ≤ 单价(元/单位)，"
                           "如 ≤80.00(元/人)，并与预算金额相匹配。")
    OUTPUT_INCOMPLETE = RuleDef("output-incomplete", WARNING,
                                "「{output}」缺少{missing}，产出应从数量、质量、时效几方面设置，请补充。")
    SATISFACTION_UNMEASURABLE = RuleDef("satisfaction-unmeasurable", WARNING,
                                        "满意度指标「{name}」的{target_label}「{value}」无法衡量，请写成百分比，如 ≥90.00(%)。")
    TIMELINESS_VAGUE = RuleDef("timeliness-vague", INFO,
                               "时效指标「{name}」的{target_label}只写了「{value}」，没有完成时限或比率；"
                               "建议写明时限（如 6月30日前）或及时率（如 ≥95.00(%)）。")
    RATE_QUALITATIVE = RuleDef("rate-qualitative", WARNING,
                               "「{name}」是比率或程度指标，{target_label}却是定性的「{value}」，请写成百分比，如 ≥90.00(%)。")
    RATE_EQUALS = RuleDef("rate-equals", WARNING,
                          "{target_label}「{value}」对比率「{name}」要求恰好等于 {number}%，通常应为「≥{number}%」，请确认。")
    RATE_GE_100 = RuleDef("rate-ge-100", WARNING,
                          "{target_label}「{value}」要求比率「{name}」不低于 {number}%，比率不会超过 100%，请写成 =100.00(%)。")
    COUNT_CAPPED = RuleDef("count-capped", WARNING,
                           "数量指标「{name}」的{target_label}「{value}」是上限（{op}），产出数量通常是下限，是否应为「≥」？请确认。")
    UNIT_KIND = RuleDef("unit-odd", WARNING,
                        "「{name}」是{what}类的定性指标，{target_label}「{value}」却以「{unit}」计量，"
                        "请改为定性表述（如 合规、健全、有效、及时）或百分比（如 =100.00(%)）。")
    MONEY_UNIT_MISMATCH = RuleDef("money-unit-mismatch", WARNING,
                                  "{target_label}「{value}」以「{unit}」计，而本表金额单位为{money_unit}，请统一单位。")
    INDICATOR_NEAR_DUPLICATE = RuleDef("indicator-near-duplicate", WARNING,
                                       "{level3_label}「{name}」与 {first}「{other}」几乎相同（只差“的”、标点或空格等），请合并或改名。")
    SATISFACTION_MISFILED = RuleDef("satisfaction-misfiled", WARNING,
                                    "「{name}」放在「{level2}」下，却不是满意度指标，请移到相应的二级指标下。")
    SATISFACTION_NOT_SERVED = RuleDef("satisfaction-not-served", INFO,
                                      "「{name}」是「{who}」的满意度，满意度指标应反映服务对象或项目受益人的满意程度。")
    FILLER_VALUE = RuleDef("filler-value", WARNING,
                           "{target_label}「{value}」在本表中出现 {count} 次（首次在 {first}），疑似模板默认值未改，请按各指标实际填写。")
    TEXT_REPEATED = RuleDef("text-repeated", WARNING,
                            "「{label}」中有一段文字重复出现 {count} 次：「{excerpt}」，请删除重复部分。")
    TEXT_YEAR = RuleDef("text-year", WARNING,
                        "「{label}」中写了 {found} 年，本表年度为 {year}，请确认是否沿用了往年的文字。")
    GOAL_UNMATCHED = RuleDef("goal-unmatched", INFO,
                             "「{label}」中的「{items}」没有对应的绩效指标，建议设置相应的数量指标。")
    FUNDS_INCOMPLETE = RuleDef("funds-incomplete", WARNING,
                               "「{label}」为空，而「{year_label}」为 {year_total}（{money_unit}），请填写项目资金（财政资金、其他资金）。")
    FUNDS_BELOW_YEAR = RuleDef("funds-incomplete", ERROR,
                               "「{label}」{total} 小于「{year_label}」{year_total}（{money_unit}），项目资金总额应不小于年度资金，请核对。")
    COST_EXCEEDS_BUDGET = RuleDef("cost-exceeds-budget", WARNING,
                                  "{what} 为 {cost}，超过「{budget_label}」{budget}（{money_unit}），成本指标应与预算金额相匹配，请核对。")
    TIER_SCORE = RuleDef("tier-score", WARNING,
                         "「{name}」的{actual_label}为「{actual}」，{score_label} {score} 占{points_label} {points} 的 {ratio}%，"
                         "该档次应为{points_label}的 {low}%–{high}%，请核对{score_label}或档次。")
    OVER_ACHIEVEMENT = RuleDef("over-achievement", WARNING,
                               "「{name}」{actual_label} {actual} 达到目标 {target} 的 {times} 倍并得满分，却没有偏差原因说明："
                               "指标值可能设定偏低，请在「{reason_label}」中说明原因。")
    BUDGET_ADJUSTED = RuleDef("budget-adjusted", INFO,
                              "{full_label} {full} 与{initial_label} {initial}（{money_unit}）相差 {change}%，请说明预算调整原因；"
                              "执行率按{full_label}为 {rate_full}%，按{initial_label}为 {rate_initial}%。")
    ACTUAL_UNIT_MISMATCH = RuleDef("actual-unit-mismatch", WARNING,
                                   "「{name}」{actual_label}「{actual}」的单位「{actual_unit}」与{target_label}「{target}」的单位"
                                   "「{target_unit}」不同，无法对照评分，请统一单位。")
    WEIGHTS_DEFAULT = RuleDef("weights-default", INFO,
                              "各一级指标{points_label}为 {have}，与通行权重 {want} 相差较大，请确认权重设置。")
    PROJECT_NEAR_DUPLICATE = RuleDef("project-near-duplicate", WARNING,
                                     "「{name}」与 {other} 中的「{other_name}」实施单位和金额（{amount}）相同，"
                                     "{share}% 的指标一致，疑似重复申报，请确认。")
    DOUBLE_COUNTED = RuleDef("double-counted", WARNING,
                             "子项目「{name}」同时是 {other} 中的项目名称，汇总时可能重复计算，请确认。")
    NAME_VARIANT = RuleDef("name-variant", WARNING,
                           "「{label}」在本批表单中有不同写法：{variants}；本表为「{value}」，请统一为同一全称。")

    # --- reading printed forms (xltools/locate.py) -------------------------------------------
    IMPORT_AMBIGUOUS = RuleDef("import-ambiguous", WARNING,
                               "此处的内容不能唯一确定：{what}；已按{assumed}读取，请对照原表核对。")

    @property
    def code(self) -> str:
        return self.value.code

    @property
    def severity(self) -> str:
        return self.value.severity

    def format(self, **kw) -> str:
        return self.value.template.format(**kw)


# A code's first definition (some codes have a second wording or severity, e.g. funds-incomplete).
BY_CODE: dict[str, Rule] = {}
for _r in Rule:
    BY_CODE.setdefault(_r.code, _r)


@dataclass(frozen=True, order=True, slots=True)
class Finding:
    """One rule broken at one place. ``params``: what the message was made from (label, value,
    expected …) as (name, value) pairs, so later tools need not parse the message. (Slots: a
    batch of 100,000 forms holds about a million of them, 250 bytes less each.)"""

    file: str
    sheet: str | None
    cell: str | None
    severity: str
    rule: str
    message: str
    params: tuple = field(default=(), compare=False, repr=False)

    def with_severity(self, severity: str) -> Finding:
        return Finding(self.file, self.sheet, self.cell, severity, self.rule, self.message, self.params)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("file", "sheet", "cell", "severity", "rule", "message")}

    @property
    def parameters(self) -> dict:
        return dict(self.params)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


@cache
def _names(template: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for _, n, _, _ in string.Formatter().parse(template) if n))


# rule → (code, severity, template, the template's names): one dict look-up per finding instead
# of Enum attribute and property look-ups (a batch of 10,000 forms makes ~300,000 findings).
_TABLE: dict[Rule, tuple[str, str, str, tuple[str, ...]]] = {
    r: (r.value.code, r.value.severity, r.value.template, _names(r.value.template)) for r in Rule}


def finding(rule: Rule, file: str, sheet: str | None, cell: str | None, **kw) -> Finding:
    code, severity, template, names = _TABLE[rule]
    params = tuple([(n, kw.get(n)) for n in names])
    return Finding(file if file.__class__ is str else str(file), sheet, cell, severity, code,
                   template.format(**kw), params)
