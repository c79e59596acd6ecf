"""单位整体支出绩效目标申报表 (unit-target): template → fill → read gives back what was typed.

Random forms (texts with formula-looking starts and line breaks, money in cents whose 资金来源
equals its 资金结构, head counts, 0–25 年度重点任务, the 7 pre-printed 投入管理指标 rows and up
to 70 further indicator rows drawn from schemas/unit-indicators.toml) are

* written pre-filled by the template writer and read back, and
* typed into a blank template by an openpyxl filler that refuses locked cells, and read back.

The expected output is built by hand: the cell addresses below are the printed layout, derived
once from schemas/unit-target.toml (not asked of xltools.spec), the 部门整体预算总额 is summed
here in cents; only the parsed parts of a 指标目标值 come from xltools.indicators (the grammar).
The template's structure (locks, formula, validations, cascade, protection) is checked too.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
import tomllib
from functools import lru_cache
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from xltools.indicators import parse_target
from xltools.merge import write_summary
from xltools.read import read_workbook
from xltools.spec import load_spec
from xltools.template import template_bytes

ROOT = Path(__file__).resolve().parent.parent
SPEC = load_spec("unit-target")
SHEET = "单位整体申报表"
KEY_ORDER = ["表单", "年度", "单位名称", "财政资金拨款方式", "单位职责", "年度履职目标", "年度重点任务",
             "预算情况", "年末在职人数", "内设机构数", "绩效指标", "填报说明"]
PARSED = ("运算符", "数值", "单位", "定性")
FUNDING = ["全额", "差额", "自收自支"]
# The seven pre-printed rows of the 绩效指标 table (一级目标, 二级目标), as the print has them.
PREPRINTED = [("投入管理指标", "预算编审管理"), ("投入管理指标", "预算执行管理"), ("投入管理指标", "预算绩效管理"),
              ("投入管理指标", "资产管理"), ("投入管理指标", "预算透明度"), ("投入管理指标", "内部控制管理"),
              ("投入管理指标", "预算信息化")]
LISTS = tomllib.loads((ROOT / "schemas" / "unit-indicators.toml").read_text("utf-8"))
TREES = {name: layout["tree"] for name, layout in LISTS["layouts"].items()}


# --- the printed layout, by hand ------------------------------------------------------------------
# Rows are 1-based sheet rows. Fixed part: 年度 C2, 单位名称 B3, 拨款方式 B4, 单位职责 B5, 年度履职目标 B6;
# 年度重点任务 header in row 7, its rows from row 8 (任务名称 B, 主要内容 C merged C:E). With T task
# rows the 预算情况 block starts at row 8 + T (T = 20: row 28): 内容/预算情况 header, then 部门整体
# 预算总额, 财政拨款, 其他资金, 基本支出, 项目支出 in column C, 年末在职人数 C / 内设机构数 E; the 绩效指标
# header is row 15 + T (35), its data rows from 16 + T (36), the first 7 pre-printed.

FIELDS = {"年度": "C2", "单位名称": "B3", "财政资金拨款方式": "B4", "单位职责": "B5", "年度履职目标": "B6"}
TASK_COLS = {"任务名称": "B", "主要内容": "C"}
IND_COLS = {"一级目标": "B", "二级目标": "C", "三级目标": "D", "指标目标值": "E"}
BUDGET = ("财政拨款", "其他资金", "基本支出", "项目支出")


class Layout:
    def __init__(self, task_rows: int = 20):
        self.t = task_rows
        self.base = 8 + task_rows                       # the 预算情况 header row

    def task(self, i: int, key: str) -> str:
        return f"{TASK_COLS[key]}{8 + i}"

    @property
    def total(self) -> str:                             # 部门整体预算总额
        return f"C{self.base + 1}"

    def budget(self, key: str) -> str:
        return f"C{self.base + 2 + BUDGET.index(key)}"

    @property
    def heads(self) -> dict[str, str]:
        return {"年末在职人数": f"C{self.base + 6}", "内设机构数": f"E{self.base + 6}"}

    @property
    def header(self) -> int:                            # the 绩效指标 header row
        return self.base + 7

    def ind(self, j: int, key: str) -> str:
        return f"{IND_COLS[key]}{self.header + 1 + j}"


DEFAULT = Layout(20)


def test_layout_by_hand_is_the_specs():
    """The hand-derived addresses agree with the spec (so a test failure below is about the data)."""
    assert (DEFAULT.total, DEFAULT.budget("财政拨款"), DEFAULT.budget("项目支出")) == ("C29", "C30", "C33")
    assert DEFAULT.heads == {"年末在职人数": "C34", "内设机构数": "E34"}
    assert (DEFAULT.header, DEFAULT.ind(0, "一级目标"), DEFAULT.ind(6, "指标目标值")) == (35, "B36", "E42")
    assert [SPEC.field(k).ref for k in FIELDS] == list(FIELDS.values())
    assert SPEC.key_order == tuple(KEY_ORDER)
    assert [tuple(dict(r).values()) for r in SPEC.table("绩效指标").preprinted] == PREPRINTED


# --- strategies -------------------------------------------------------------------------------------

CJK = "单位整体支出绩效目标党群服务中心社区街道居民活动管理建设文化体育满意度提升及时合规有效年度任务计划"
# no "x": openpyxl (the filler, not xltools) writes "_x0041_" unescaped and a reader decodes it
WORD = st.text(alphabet=CJK + "ABCyz0123456789()（）《》“”、，。;:-_/%#=+@", min_size=1, max_size=12)
# Text as people type it: words with single spaces; may start like a formula (must stay text).
TEXT = st.builds(lambda prefix, words: prefix + " ".join(words),
                 st.sampled_from(["", "", "", "=", "+", "-", "@", "=SUM(A1:A3)", '=HYPERLINK("http://x","y")']),
                 st.lists(WORD, min_size=1, max_size=4))
LONGTEXT = st.lists(TEXT, min_size=1, max_size=4).map("\n".join)
COUNT = st.one_of(st.integers(0, 5000), st.integers(0, 10**7), st.none())
UNITS = ["人", "个", "次", "场", "户", "%", "元", "万元", "元/人", "人次"]


@st.composite
def target(draw):
    op = draw(st.sampled_from(["≥", "≤", "=", ">", "<", ""]))
    num = draw(st.integers(0, 10**7)) / draw(st.sampled_from([1, 100]))
    unit = draw(st.sampled_from(UNITS))
    return draw(st.one_of(
        st.just(f"{op}{num:.2f}({unit})"), st.just(f"{op}{num:g}{unit}"),
        st.sampled_from(["及时", "提升", "健全有效", "10月底前", "2026年底", "=100.00(%)", "+SUM(1,2)", "=0.00(次)"]),
        TEXT))


@st.composite
def indicator(draw, tree: dict):
    l1 = draw(st.sampled_from(sorted(tree)))
    return {"一级目标": l1, "二级目标": draw(st.sampled_from(tree[l1])),
            "三级目标": draw(st.one_of(TEXT, TEXT, TEXT, st.none())),
            "指标目标值": draw(st.one_of(target(), target(), target(), st.none()))}


@st.composite
def task(draw):
    name, content = draw(st.one_of(TEXT, st.none())), draw(st.one_of(LONGTEXT, st.none()))
    if name is None and content is None:   # an empty row is no row
        name = draw(TEXT)
    return {"任务名称": name, "主要内容": content}


@st.composite
def money(draw):
    """(财政拨款, 其他资金, 基本支出, 项目支出) in cents: sources == structure."""
    a, b = draw(st.integers(0, 10**11)), draw(st.one_of(st.integers(0, 10**9), st.just(0), st.none()))
    c = draw(st.integers(0, a + (b or 0)))
    return a, b, c, a + (b or 0) - c


@st.composite
def forms(draw, max_tasks: int = 25, max_open: int = 70):
    tree = TREES[draw(st.sampled_from(sorted(TREES)))]
    cents = draw(money())
    pre = [{"一级目标": l1, "二级目标": l2, "三级目标": draw(st.one_of(st.none(), TEXT)),
            "指标目标值": draw(st.one_of(st.none(), target()))} for l1, l2 in PREPRINTED]
    return {
        "年度": draw(st.integers(2000, 2099)),
        "单位名称": draw(TEXT),
        "财政资金拨款方式": draw(st.sampled_from(FUNDING)),
        "单位职责": draw(LONGTEXT),
        "年度履职目标": draw(LONGTEXT),
        "年度重点任务": draw(st.lists(task(), min_size=0, max_size=max_tasks)),
        "预算情况": {k: (None if c is None else c / 100) for k, c in zip(BUDGET, cents)},
        "年末在职人数": draw(COUNT),
        "内设机构数": draw(COUNT),
        "绩效指标": pre + draw(st.lists(indicator(tree), min_size=0, max_size=max_open)),
    }


def same(got: dict, want: dict) -> bool:
    """Equal as JSON: key order and int/float too (a head count 0 is not 0.0, a sum 5.0 not 5)."""
    return json.dumps(got, ensure_ascii=False) == json.dumps(want, ensure_ascii=False)


def expected(form: dict) -> dict:
    """What `xltools read` gives for a typed ``form``: 表单 first, the total summed here in cents,
    the parsed parts of each 指标目标值 beside it."""
    b = form["预算情况"]
    parts = [round(b[k] * 100) for k in ("财政拨款", "其他资金") if b[k] is not None]
    total = sum(parts) / 100 if parts else None
    out = {"表单": "unit-target"}
    for k in KEY_ORDER[1:]:
        if k == "填报说明" and not form.get(k):   # an empty 填报说明 is left out
            continue
        out[k] = copy.deepcopy(form[k])
    out["预算情况"] = {"部门整体预算总额": total, **{k: b[k] for k in BUDGET}}
    out["绩效指标"] = [dict(r, **parse_target(r["指标目标值"]).parts()) for r in form["绩效指标"]]
    return out


# --- the filler: a person at a blank template ------------------------------------------------------


@lru_cache(maxsize=16)
def blank(task_rows: int, open_rows: int) -> bytes:
    """A blank template with room for ``task_rows`` tasks and ``open_rows`` indicators after the
    pre-printed ones. ``rows=`` sizes only the indicator table; the 年度重点任务 table grows only
    with values, so more than 20 task rows come from empty task rows (every cell still blank)."""
    values = {"年度重点任务": [{}] * task_rows} if task_rows > 20 else None
    data, n, _ = template_bytes(SPEC, values, rows=open_rows)
    assert n == 7 + open_rows
    return data


def fill_like_person(form: dict, out: Path, extra: dict | None = None) -> Path:
    """Type ``form`` into a blank template as staff do: only into unlocked cells (a locked cell
    raises), numbers as numbers, texts as text (a leading = included); the pre-printed 一级/二级
    are read, not typed. ``extra``: more cells to type (ref → value)."""
    tasks, rows = form["年度重点任务"], form["绩效指标"]
    lay = Layout(max(20, len(tasks)))
    wb = openpyxl.load_workbook(io.BytesIO(blank(lay.t, max(60, len(rows) - 7))))
    ws = wb[SHEET]

    def type_into(ref: str, value) -> None:
        if value is None:
            return
        cell = ws[ref]
        if cell.protection.locked:
            raise AssertionError(f"{ref} is locked: a person could not type into it")
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"   # Excel keeps text typed into a @ cell as text, "=..." included

    for key, ref in FIELDS.items():
        type_into(ref, form[key])
    for i, t in enumerate(tasks):
        for key in TASK_COLS:
            type_into(lay.task(i, key), t[key])
    for key in BUDGET:
        type_into(lay.budget(key), form["预算情况"][key])
    for key, ref in lay.heads.items():
        type_into(ref, form[key])
    for j, r in enumerate(rows):
        for key in IND_COLS:
            ref = lay.ind(j, key)
            if j < len(PREPRINTED) and key in ("一级目标", "二级目标"):
                assert ws[ref].protection.locked and ws[ref].value == r[key], (ref, ws[ref].value, r[key])
                continue
            type_into(ref, r[key])
    for ref, value in (extra or {}).items():
        type_into(ref, value)
    wb.save(out)
    return out


# --- properties ---------------------------------------------------------------------------------

PHASES = [Phase.explicit, Phase.reuse, Phase.generate]   # file IO makes shrinking slow
SETTINGS = settings(max_examples=30, deadline=None, phases=PHASES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


@SETTINGS
@given(forms())
def test_read_of_prefilled_template_is_identity(tmp_path, form):
    path = tmp_path / "pre.xlsx"
    path.write_bytes(template_bytes(SPEC, form)[0])
    got = read_workbook(path).forms[0].data
    assert got == expected(form)
    assert same(got, expected(form)) and list(got) == [k for k in KEY_ORDER if k != "填报说明"]


@SETTINGS
@given(forms())
def test_read_of_person_filled_template_is_identity(tmp_path, form):
    path = fill_like_person(form, tmp_path / "person.xlsx")
    got = read_workbook(path).forms[0].data
    assert got == expected(form)
    assert same(got, expected(form))


@settings(max_examples=8, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(st.lists(forms(max_tasks=6, max_open=12), min_size=1, max_size=3))
def test_read_of_unit_summary_is_the_forms(tmp_path, batch):
    """The 汇总表 writer (one sheet per unit) and the reader are inverse, form by form."""
    import uuid

    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    read = []
    for i, form in enumerate(batch):
        (folder / f"{i}.xlsx").write_bytes(template_bytes(SPEC, form)[0])
        read.append(read_workbook(folder / f"{i}.xlsx").forms[0])
    write_summary(folder / "out.xlsx", read)
    assert [f.data for f in read_workbook(folder / "out.xlsx").forms] == [expected(f) for f in batch]


@pytest.mark.parametrize("ref", ["C29", "B36", "C42", "A28", "B30", "D34"])
def test_the_filler_refuses_locked_cells(tmp_path, ref):
    """The filler is a fair stand-in for a person: the total, the pre-printed 一级/二级 and the
    labels cannot be typed over."""
    (seed,) = json.loads((ROOT / "samples" / "source" / "003_jiangchuan_2026_fixed.json").read_text("utf-8"))
    with pytest.raises(AssertionError, match=f"{ref} is locked"):
        fill_like_person(seed, tmp_path / "x.xlsx", extra={ref: 1})


# --- the seed through the person filler ----------------------------------------------------------


@pytest.mark.parametrize("name", ["003_jiangchuan_2026_fixed", "003_jiangchuan_2026"])
def test_seed_003_typed_by_a_person_reads_back(tmp_path, name):
    (seed,) = json.loads((ROOT / "samples" / "source" / f"{name}.json").read_text("utf-8"))
    form = {k: v for k, v in seed.items() if k != "表单"}
    form["预算情况"] = {k: v for k, v in seed["预算情况"].items() if k != "部门整体预算总额"}
    got = read_workbook(fill_like_person(form, tmp_path / "p.xlsx")).forms[0].data
    assert [{k: v for k, v in r.items() if k not in PARSED} for r in got["绩效指标"]] == seed["绩效指标"]
    assert dict(got, 绩效指标=seed["绩效指标"]) == seed
    assert same(dict(got, 绩效指标=seed["绩效指标"]), seed)   # 年末在职人数 0, 其他资金 0.0
    assert got["预算情况"]["部门整体预算总额"] == 92787331.00
    assert {k: got["绩效指标"][7][k] for k in PARSED} == {"运算符": "≥", "数值": 200.0, "单位": "个", "定性": None}


# --- the template's structure -------------------------------------------------------------------


@pytest.fixture(scope="module")
def template():
    data, rows, _ = template_bytes(SPEC)
    assert rows == 67   # 7 pre-printed + 60 open
    return openpyxl.load_workbook(io.BytesIO(data))


def _validations(ws) -> list[tuple[set[str], object]]:
    out = []
    for dv in ws.data_validations.dataValidation:
        cells = set()
        for rng in str(dv.sqref).split():
            a, _, b = rng.partition(":")
            for row in ws[f"{a}:{b or a}"]:
                cells |= {c.coordinate for c in row}
        out.append((cells, dv))
    return out


def _validation_of(ws, ref: str):
    found = [dv for cells, dv in _validations(ws) if ref in cells]
    assert len(found) == 1, (ref, found)
    return found[0]


def _resolve(wb, source: str) -> list:
    """The values of a list source such as ='_lists'!$A$2:$A$4 (or a defined name's range)."""
    sheet, _, rng = source.lstrip("=").rpartition("!")
    ws = wb[sheet.strip("'")]
    return [c.value for row in ws[rng.replace("$", "")] for c in row]


def test_preprinted_rows_locked_with_their_text_and_open_cells_beside(template):
    ws = template[SHEET]
    for j, (l1, l2) in enumerate(PREPRINTED):
        b, c, d, e = (ws[DEFAULT.ind(j, k)] for k in IND_COLS)
        assert (b.value, c.value) == (l1, l2)
        assert b.protection.locked and c.protection.locked, j
        assert (d.value, e.value) == (None, None)
        assert not d.protection.locked and not e.protection.locked, j
    assert [ws.cell(DEFAULT.header, c).value for c in range(2, 6)] == list(IND_COLS)


def test_budget_total_is_a_live_sum_of_its_two_sources(template):
    ws = template[SHEET]
    total = ws[DEFAULT.total]
    assert isinstance(total.value, str) and total.value.startswith("="), total.value
    assert "SUM(C30,C31)" in total.value.replace("$", "").replace(" ", ""), total.value
    assert total.protection.locked
    assert ws["B29"].value == "部门整体预算总额(元)"
    for key in BUDGET:
        cell = ws[DEFAULT.budget(key)]
        assert cell.value is None and not cell.protection.locked, key
        assert _validation_of(ws, cell.coordinate).type == "decimal"
    # with 25 task rows the block moves down by 5 and the formula follows
    moved = openpyxl.load_workbook(io.BytesIO(blank(25, 60)))[SHEET]
    lay = Layout(25)
    assert lay.total == "C34"
    assert "SUM(C35,C36)" in moved[lay.total].value.replace("$", "")
    assert moved[f"B{lay.base + 1}"].value == "部门整体预算总额(元)"
    assert [moved.cell(lay.header, c).value for c in range(2, 6)] == list(IND_COLS)
    assert moved[lay.ind(0, "一级目标")].value == "投入管理指标"


def test_head_counts_take_whole_numbers_from_zero(template):
    ws = template[SHEET]
    for key, ref in DEFAULT.heads.items():
        assert not ws[ref].protection.locked, key
        dv = _validation_of(ws, ref)
        assert (dv.type, dv.operator, str(dv.formula1)) == ("whole", "greaterThanOrEqual", "0"), key
    assert (ws["B34"].value, ws["D34"].value) == ("年末在职人数", "内设机构数")


def test_funding_mode_is_a_list_of_the_three_modes(template):
    ws = template[SHEET]
    dv = _validation_of(ws, "B4")
    assert dv.type == "list"
    assert _resolve(template, str(dv.formula1)) == FUNDING
    assert template["_lists"].sheet_state == "hidden"


def test_level2_cascades_from_level1(template):
    ws = template[SHEET]
    first, last = DEFAULT.header + 1, DEFAULT.header + 67
    dv = _validation_of(ws, f"C{first}")
    assert dv.type == "list" and str(dv.formula1).replace(" ", "") == f"INDIRECT($B{first})"
    assert {f"C{r}" for r in range(first, last + 1)} <= next(cells for cells, d in _validations(ws) if d is dv)
    level1 = _validation_of(ws, f"B{first + 7}")
    assert level1.type == "list"
    choices = _resolve(template, str(level1.formula1))
    assert choices == ["投入管理指标", "产出指标", "效益指标", "满意度指标", "成本指标"]
    # every 一级 is a defined name listing its 二级 (the union over both layouts)
    for l1 in choices:
        want = list(dict.fromkeys(l2 for tree in TREES.values() for l2 in tree.get(l1, [])))
        assert _resolve(template, template.defined_names[l1].attr_text) == want, l1


def test_default_template_has_the_room_the_print_promises(template):
    ws = template[SHEET]
    last = ws.max_row   # before probing: reading a cell past the end creates it

    def open_row(r: int, cols: str) -> bool:
        return all(not ws[f"{c}{r}"].protection.locked and ws[f"{c}{r}"].value is None for c in cols)

    tasks = [r for r in range(8, DEFAULT.base) if open_row(r, "BC")]
    assert tasks == list(range(8, 28)) and ws["A28"].value == "预算情况"
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert all(f"C{r}:E{r}" in merged for r in tasks)   # 主要内容 spans C:E on every row
    first_open = DEFAULT.header + 1 + len(PREPRINTED)
    rows = []
    r = first_open
    while r <= last and open_row(r, "BCDE") and ws[f"A{r}"].value is None:   # A103: the 填报说明
        rows.append(r)
        r += 1
    assert len(rows) >= 60 and rows[0] == 43
    assert rows[-1] == 102
    # then the 填报说明 (issue 15), the form's last row: label in A, the open input over B:E
    assert last == 103 and ws["A103"].value == "填报说明（对审核警告的说明，可不填）" and "B103:E103" in merged
    assert not ws["B103"].protection.locked


def test_sheet_protected_and_structure_locked(template):
    ws = template[SHEET]
    assert ws.protection.sheet is True
    assert template.security is not None and template.security.lockStructure is True
    assert template.sheetnames[0] == SHEET
    unlocked = {c.coordinate for row in ws.iter_rows(max_col=5, max_row=DEFAULT.header) for c in row
                if not c.protection.locked and c.coordinate[0] != "A"}
    # labels and the total are locked; every input (and the merged cells beside it) open
    for ref in ("A1", "A3", "A4", "A5", "A6", "B7", "C7", "B28", "C28", "B29", "C29", "B30", "B34", "D34"):
        assert ref not in unlocked, ref
    assert {"C2", "B3", "B4", "B5", "B6", "B8", "C8", "C30", "C31", "C32", "C33", "C34", "E34"} <= unlocked


# --- bugs found -----------------------------------------------------------------------------------


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=120)


def test_rows_below_the_indicator_minimum_are_refused(tmp_path):
    proc = _cli("template", "unit-target", "--rows", 30, "-o", tmp_path / "t.xlsx")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "60" in proc.stderr
    assert not (tmp_path / "t.xlsx").exists()
