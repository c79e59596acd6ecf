"""Spec variants (issue 12 §1): the 2023 layout of the 申报表 (seed 001, 九亭镇 2023) as a variant of
project-target — its template, read, validate (seed 001's defects at their cells), merge with a
2026 form of the same unit, the metadata, and --variant on the command line."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import ROOT, valid_form, write_filled
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from xltools import spec as spec_module
from xltools.errors import ConfigError, SpecError
from xltools.merge import merge_workbooks
from xltools.profiles import load_profile
from xltools.read import read_workbook
from xltools.spec import kinds, load_spec, variants
from xltools.template import template_bytes
from xltools.validate import validate_paths as _validate_paths

V2023 = load_spec("project-target", "2023")
BASE = load_spec("project-target")
SEED = json.loads((ROOT / "samples" / "source" / "001_jiuting_2023.json").read_text("utf-8"))
SAMPLES = ROOT / "samples" / "jiuting-2023"
PARSED = ("运算符", "数值", "单位", "定性")

# The printed 2023 layout with the default 40 indicator rows (hand-written, 1-based rows):
# 绩效指标 header in row 12, its rows 13–52; the caption 项目投入资金构成： in row 53, the
# 资金构成 header in row 54, its 5 rows 55–59 (年度 A, 子项目名称 B:D, 预算金额 E:F).
CAPTION_ROW, COMPOSITION_HEADER, FIRST_PART, LAST_PART = 53, 54, 55, 59


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120, cwd=cwd)


def typed(form: dict) -> dict:
    """What staff type: the transcription without 表单, totals and the parsed parts."""
    out = copy.deepcopy({k: v for k, v in form.items() if k != "表单"})
    out["绩效指标"] = [{k: v for k, v in r.items() if k not in PARSED} for r in out["绩效指标"]]
    return out


def without_parts(data: dict) -> dict:
    out = dict(data)
    out["绩效指标"] = [{k: v for k, v in r.items() if k not in PARSED} for r in data["绩效指标"]]
    return out


def write_2023(path: Path, form: dict) -> Path:
    data, _, _ = template_bytes(V2023, typed(form))
    path.write_bytes(data)
    return path


def findings(*paths: Path) -> list[tuple[str, str, str]]:
    """The form rules' findings (the reviewer's content rules: tests/test_review.py, and below)."""
    return sorted((Path(f.file).name, f.cell, f.rule) for f in validate_paths(list(paths)).findings)


CONTENT = (set(load_profile().rules) | {"funds-incomplete"}) - {"unit-odd"}
# This file tests the form rules of the layout; the reviewer's content rules are switched off
# (they have their own tests, tests/test_review.py) except where a test asks for them.
FORM_RULES = dataclasses.replace(load_profile(), rules={code: "off" for code in CONTENT})


def validate_paths(paths, **kw):
    kw.setdefault("profile", FORM_RULES)
    return _validate_paths(paths, **kw)


# --- the spec -----------------------------------------------------------------------------------


def test_variants_are_layouts_of_a_kind_not_kinds():
    assert kinds() == ("project-selfeval", "project-target", "unit-target")
    assert variants("project-target") == ("2023",) and variants("unit-target") == ()
    assert BASE.variant is None and V2023.variant == "2023" and V2023.kind == "project-target"
    assert V2023.key_order == BASE.key_order   # the same JSON keys in both layouts
    assert "项目性质" not in {f.key for f in V2023.fields} and "项目性质" not in V2023.lists
    assert "资金构成" in {t.key for t in V2023.tables} and "资金构成" not in {t.key for t in BASE.tables}
    assert V2023.lists["项目类别"][0] == "经常性项目" and "经常性项目" not in BASE.lists["项目类别"]
    assert load_spec("project-target", "2023") is load_spec("project-target", "2023")   # cached like the kinds
    with pytest.raises(SpecError, match="没有版式「2030」；可用：2023"):
        load_spec("project-target", "2030")


# --- the template -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wb():
    data, rows, _ = template_bytes(V2023)
    assert rows == 40
    return openpyxl.load_workbook(io.BytesIO(data))


def merged(ws) -> set[str]:
    return {str(r) for r in ws.merged_cells.ranges}


def test_template_prints_the_2023_labels_at_their_cells(wb):
    ws = wb["申报表"]
    want = {"A1": "财政项目支出绩效目标申报表", "A3": "项目名称", "E3": "项目类别", "A4": "主管部门", "C4": "实施单位",
            "A5": "计划开始日期", "C5": "计划完成日期", "B10": "项目总目标 (2023年 - 2023年)", "D10": "年度总目标",
            "A12": "绩效指标", f"A{CAPTION_ROW}": "项目投入资金构成：", f"A{COMPOSITION_HEADER}": "年度",
            f"B{COMPOSITION_HEADER}": "子项目名称", f"E{COMPOSITION_HEADER}": "预算金额（元）"}
    assert {ref: ws[ref].value for ref in want} == want
    values = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "项目性质" not in values and "年度总体目标" not in values and "项目总目标" not in values
    assert {"B3:D3", f"A{CAPTION_ROW}:F{CAPTION_ROW}", f"B{COMPOSITION_HEADER}:D{COMPOSITION_HEADER}",
            f"B{FIRST_PART}:D{FIRST_PART}", f"E{LAST_PART}:F{LAST_PART}"} <= merged(ws)
    # the form ends with the 填报说明 (issue 15) right below the 资金构成: label in A, input over B:F
    assert ws[f"A{LAST_PART + 1}"].value == "填报说明（对审核警告的说明，可不填）"
    assert f"B{LAST_PART + 1}:F{LAST_PART + 1}" in merged(ws) and ws.max_row == LAST_PART + 1


def test_template_composition_rows_are_typed_inputs(wb):
    ws = wb["申报表"]
    for r in range(FIRST_PART, LAST_PART + 1):
        for ref in (f"A{r}", f"B{r}", f"E{r}"):
            assert ws[ref].protection.locked is False, ref
    assert ws[f"A{COMPOSITION_HEADER}"].protection.locked is not False
    assert ws[f"A{FIRST_PART}"].number_format == "0" and ws[f"E{FIRST_PART}"].number_format == "#,##0.00"
    assert ws[f"A{FIRST_PART}"].border.left.style is not None   # a table cell, not the subtitle's year
    rules = {str(dv.sqref): (dv.type, dv.operator, dv.formula1, dv.formula2) for dv in ws.data_validations.dataValidation}
    assert rules[f"A{FIRST_PART}:A{LAST_PART}"] == ("whole", None, "2000", "2100")   # between (the default)
    assert rules[f"E{FIRST_PART}:E{LAST_PART}"] == ("decimal", "greaterThanOrEqual", "0", None)
    assert f"B{FIRST_PART}:B{LAST_PART}" in rules
    # 项目类别 offers the 2023 list; no 项目性质 dropdown
    assert rules["F3"][0] == "list" and "D3" not in rules
    lists = wb["_lists"]
    header = [c.value for c in lists[1]]
    assert "项目性质" not in header
    col = header.index("项目类别") + 1
    assert [lists.cell(r, col).value for r in range(2, 6)] == ["经常性项目", "其他经常性项目", "一次性项目", "跨年度项目"]


def meta(wb) -> dict:
    return {r[0].value: r[1].value for r in wb["_xltools"].iter_rows() if r[0].value}


def test_metadata_records_the_variant(wb):
    assert meta(wb)["kind"] == "project-target" and meta(wb)["variant"] == "2023"
    base = openpyxl.load_workbook(io.BytesIO(template_bytes(BASE)[0]))
    assert "variant" not in meta(base)


def test_committed_template_is_the_variant():
    wb = openpyxl.load_workbook(ROOT / "templates" / "project-target-2023.xlsx")
    assert meta(wb)["variant"] == "2023" and wb["申报表"]["D10"].value == "年度总目标"


# --- read ---------------------------------------------------------------------------------------


def type_like_person(form: dict, out: Path) -> Path:
    """Type a transcription into the blank 2023 template, unlocked cells only, at the hand-written
    cells of the print (the spec is not asked where anything goes)."""
    wb = openpyxl.load_workbook(io.BytesIO(template_bytes(V2023)[0]))
    ws = wb["申报表"]

    def put(ref, value):
        if value is None:
            return
        assert ws[ref].protection.locked is False, ref
        ws[ref].value = value
        if isinstance(value, str):
            ws[ref].data_type = "s"   # Excel keeps "=100%" typed into a @ cell as text

    import datetime as dt

    put("D2", form["年度"])
    for ref, key in (("B3", "项目名称"), ("F3", "项目类别"), ("B4", "主管部门"), ("D4", "实施单位"),
                     ("B11", "项目总目标"), ("D11", "年度总体目标")):
        put(ref, form[key])
    for ref, key in (("B5", "计划开始日期"), ("D5", "计划完成日期")):
        put(ref, form[key] and dt.date.fromisoformat(form[key]))
    for ref, key in (("C7", "财政资金"), ("C9", "其他资金")):
        put(ref, form["项目资金"][key])
    for ref, key in (("E7", "当年财政拨款"), ("E8", "上年结转资金"), ("E9", "其他资金")):
        put(ref, form["年度资金"][key])
    for i, row in enumerate(form["绩效指标"]):
        for col, key in zip("BCDE", ("一级指标", "二级指标", "三级指标", "指标值")):
            put(f"{col}{13 + i}", row[key])
    for i, row in enumerate(form["资金构成"]):
        for col, key in zip("ABE", ("年度", "子项目名称", "预算金额")):
            put(f"{col}{FIRST_PART + i}", row[key])
    wb.save(out)
    return out


@pytest.mark.parametrize("k", [0, 1])
def test_read_of_typed_2023_template_is_the_transcription(tmp_path, k):
    form = read_workbook(type_like_person(SEED[k], tmp_path / "f.xlsx")).forms[0]
    assert form.variant == "2023" and form.spec == V2023
    assert without_parts(form.data) == SEED[k]
    assert list(form.data) == [k for k in BASE.key_order if k != "填报说明"]   # an empty 填报说明 is left out
    assert form.data["项目性质"] is None and len(form.data["绩效指标"]) == 10


def test_read_of_prefilled_2023_forms_and_the_samples(tmp_path):
    for k, path in enumerate(sorted(SAMPLES.glob("*.xlsx"))):
        forms = read_workbook(path).forms
        assert [without_parts(f.data) for f in forms] == [SEED[k]]
        assert read_workbook(write_2023(tmp_path / f"{k}.xlsx", SEED[k])).forms[0].data == forms[0].data
    assert SEED[0]["资金构成"] == [{"年度": 2023, "子项目名称": "党建工作及党群站点", "预算金额": 380000.0}]


def test_a_2026_form_reads_an_empty_composition(tmp_path):
    form = read_workbook(write_filled(tmp_path / "a.xlsx", valid_form())).forms[0]
    assert form.variant is None and form.data["资金构成"] == [] and form.data["项目性质"] == "经常性项目"


def drop_metadata(path: Path) -> Path:
    wb = openpyxl.load_workbook(path)
    del wb["_xltools"]
    wb.save(path)
    return path


def test_without_metadata_the_layout_whose_labels_fit_best_is_read(tmp_path):
    old = drop_metadata(write_2023(tmp_path / "old.xlsx", SEED[0]))
    new = drop_metadata(write_filled(tmp_path / "new.xlsx", valid_form()))
    form = read_workbook(old).forms[0]
    assert form.variant == "2023" and without_parts(form.data) == SEED[0]
    form = read_workbook(new).forms[0]
    assert form.variant is None and form.data["项目性质"] == "经常性项目" and form.data["资金构成"] == []


def test_an_unknown_variant_in_the_metadata_is_refused(tmp_path):
    path = write_2023(tmp_path / "a.xlsx", SEED[0])
    wb = openpyxl.load_workbook(path)
    ws = wb["_xltools"]
    row = next(r for r in ws.iter_rows() if r[0].value == "variant")
    row[1].value = "2030"
    wb.save(path)
    report = validate_paths([path])
    assert [(f.rule, f.cell) for f in report.findings] == [("unknown-kind", None)]
    assert "project-target --variant 2030" in report.findings[0].message
    assert "--variant 2023" in report.findings[0].message and report.exit_code == 2


# --- validate -----------------------------------------------------------------------------------


def test_seed_001_defects_at_their_cells():
    a, b = (p.name for p in sorted(SAMPLES.glob("*.xlsx")))
    assert findings(*sorted(SAMPLES.glob("*.xlsx"))) == sorted([
        (a, "E13", "ascii-operator"), (a, "E14", "ascii-operator"), (a, "E22", "ascii-operator"),   # >=16次 …
        (b, "B5", "required"), (b, "D5", "required"),               # empty 计划开始日期 / 计划完成日期
        (b, f"E{FIRST_PART}", "composition-unbalanced"),           # no 资金构成 row for 380,000.00
    ])
    report = _validate_paths([SAMPLES])
    # The reviewer's rules on the seed: its first form's 资金构成 names the second form's project
    # (counted twice in a 汇总), and neither form has a 成本指标.
    content = sorted((Path(f.file).name, f.cell, f.rule) for f in report.findings
                     if f.rule in ("double-counted", "cost-missing"))
    assert content == sorted([(a, f"B{FIRST_PART}", "double-counted"), (a, "B13", "cost-missing"),
                              (b, "B13", "cost-missing")])
    msg = next(f.message for f in report.findings if f.rule == "composition-unbalanced")
    assert "0.00" in msg and "380,000.00" in msg and "未填写任何一行" in msg and "年度资金申请总额" in msg
    assert {f.severity for f in report.findings if f.rule in ("required", "composition-unbalanced")} == {"error"}


def corrected() -> dict:
    form = copy.deepcopy(SEED[1])
    form.update(计划开始日期="2023-01-01", 计划完成日期="2023-12-31")
    form["资金构成"] = [{"年度": 2023, "子项目名称": "党建工作", "预算金额": 300000.0},
                    {"年度": 2023, "子项目名称": "党群站点", "预算金额": 80000.0}]
    return form


def test_a_corrected_copy_passes(tmp_path):
    assert findings(write_2023(tmp_path / "a.xlsx", corrected())) == []


def test_a_composition_that_does_not_add_up_names_both_figures(tmp_path):
    form = corrected()
    form["资金构成"][1]["预算金额"] = 50000.0
    report = validate_paths([write_2023(tmp_path / "a.xlsx", form)])
    assert [(f.cell, f.rule, f.severity) for f in report.findings] == [
        (f"E{FIRST_PART}", "composition-unbalanced", "error")]
    msg = report.findings[0].message
    assert "350,000.00" in msg and "380,000.00" in msg and "未填写" not in msg


def test_composition_rows_are_checked_cell_by_cell(tmp_path):
    form = corrected()
    form["资金构成"][0].update(年度="二〇二三", 预算金额=None)
    form["资金构成"][1]["子项目名称"] = None
    got = findings(write_2023(tmp_path / "a.xlsx", form))
    assert got == sorted([("a.xlsx", f"A{FIRST_PART}", "year-invalid"),
                          ("a.xlsx", f"E{FIRST_PART}", "table-required"),
                          ("a.xlsx", f"B{FIRST_PART + 1}", "table-required")])


def test_each_layout_validates_with_its_own_lists_and_required_fields_in_one_batch(tmp_path):
    old = copy.deepcopy(SEED[0])
    old["项目类别"] = "特定目标类"                                      # a 2026 category
    new = valid_form(项目类别="经常性项目", 项目性质=None)               # a 2023 category, no 项目性质
    got = findings(write_2023(tmp_path / "old.xlsx", old), write_filled(tmp_path / "new.xlsx", new))
    got = [x for x in got if x[2] != "ascii-operator"]
    assert got == [("new.xlsx", "D3", "required"), ("new.xlsx", "F3", "not-in-list"),
                   ("old.xlsx", "F3", "not-in-list")]


# --- merge --------------------------------------------------------------------------------------


def test_both_layouts_of_one_unit_and_year_merge_into_one_summary(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    old = write_2023(folder / "old.xlsx", corrected())
    new_form = valid_form(年度=2023, 实施单位=SEED[1]["实施单位"], 主管部门=SEED[1]["主管部门"],
                          计划开始日期="2023-01-01", 计划完成日期="2023-12-31")
    new = write_filled(folder / "new.xlsx", new_form)
    result = merge_workbooks([folder], tmp_path / "out")
    assert result.refused is None and [p.name for p in result.outputs] == [
        "上海市松江区九亭镇社区党群服务中心_2023_申报汇总表.xlsx"]
    summary = read_workbook(result.outputs[0])
    inputs = {f.data["项目名称"]: f for p in (new, old) for f in read_workbook(p).forms}
    assert summary.role == "summary" and len(summary.forms) == 2
    for form in summary.forms:
        src = inputs[form.data["项目名称"]]
        assert form.data == src.data and form.variant == src.variant
    assert {f.variant for f in summary.forms} == {None, "2023"}
    wb = openpyxl.load_workbook(result.outputs[0])
    sheets = {f.variant: f.sheet for f in summary.forms}
    assert json.loads(meta(wb)["variants"]) == {sheets["2023"]: "2023"}
    assert wb[sheets["2023"]]["D10"].value == "年度总目标" and wb[sheets[None]]["D10"].value == "年度总体目标"
    overview = wb["汇总"]
    header = [c.value for c in overview[2]]
    nature = header.index("项目性质") + 1
    by_name = {overview.cell(r, 2).value: overview.cell(r, nature).value for r in (3, 4)}
    assert by_name == {"党建工作及党群站点": None, "测试项目": "经常性项目"}
    cached = openpyxl.load_workbook(result.outputs[0], data_only=True)["汇总"]
    assert header[header.index("年度资金申请总额(元)")] and cached.cell(5, header.index("年度资金申请总额(元)") + 1).value == 380000.0 + 100000.0   # the 合计 row


# --- the command line ---------------------------------------------------------------------------


def test_cli_template_variant(tmp_path):
    proc = run("template", "project-target", "--variant", "2023", "-o", tmp_path / "t.xlsx", "--year", "2023")
    assert proc.returncode == 0, proc.stderr
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert meta(wb)["variant"] == "2023" and wb["申报表"]["D2"].value == 2023
    assert wb["申报表"][f"E{COMPOSITION_HEADER}"].value == "预算金额（元）"


def test_cli_batch_variant(tmp_path):
    roster = tmp_path / "单位.csv"
    roster.write_text("实施单位,主管部门\n九亭镇社区党群服务中心,九亭镇人民政府\n", "utf-8")
    proc = run("template", "project-target", "--variant", "2023", "--batch", roster, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    (made,) = (tmp_path / "out").glob("*.xlsx")
    assert meta(openpyxl.load_workbook(made))["variant"] == "2023"


@pytest.mark.parametrize("args, words", [
    (("project-target", "--variant", "2030"), ["未知的版式「2030」", "2023（2023 年版"]),
    (("unit-target", "--variant", "2023"), ["只有一种版式", "unit-target"]),
])
def test_cli_unknown_variant_exits_2_listing_the_variants(tmp_path, args, words):
    proc = run("template", *args, "-o", tmp_path / "t.xlsx")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr
    assert not (tmp_path / "t.xlsx").exists()


def test_cli_validate_samples_finds_the_seed_defects():
    proc = run("validate", SAMPLES)
    assert proc.returncode == 1
    assert "composition-unbalanced" in proc.stdout and proc.stdout.count("(required)") == 2


# --- a wrong variant file is a configuration error ----------------------------------------------


@pytest.fixture
def schemas(tmp_path, monkeypatch):
    folder = tmp_path / "schemas"
    shutil.copytree(spec_module.packaged_schemas_dir(), folder)
    monkeypatch.setenv(spec_module.SCHEMAS_ENV, str(folder))
    spec_module.clear_caches()
    yield folder
    spec_module.clear_caches()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), "utf-8")


@pytest.mark.parametrize("old, new, words", [
    ('key = "年度总体目标"\nlabel', 'key = "年度总体目标"\nlable', ["fields[2].lable", "未知的键，是不是 label"]),
    ('cell = "B3:D3"', 'cell = "B3:D"', ["fields[0].cell", "应为单元格地址"]),
    ('cell = "B3:D3"', 'cell = "B3:E3"', ["单元格 E3 已用于"]),   # over the 项目类别 label
    ('extends = "project-target"', 'extends = "project-targets"', ["extends", "应为本目录中的一种表单类型"]),
    ('variant = "2023"', 'variant = "2024"', ["文件名应为 project-target-2024.toml"]),
    ('sides = [["资金构成.预算金额"]', 'sides = [["资金构成.金额"]', ["「资金构成.金额」不是字段"]),
    ('drop = ["项目性质"]', 'drop = ["项目属性"]', ["drop[0]", "「项目属性」不是「project-target」的字段"]),
])
def test_a_broken_variant_file_is_a_config_error_naming_it(schemas, old, new, words):
    path = schemas / "project-target-2023.toml"
    edit(path, old, new)
    with pytest.raises(ConfigError) as info:
        spec_module.load_spec("project-target", "2023") if "extends" not in old and "variant" not in old \
            else spec_module.variants("project-target")
    assert info.value.file == str(path)
    for w in words:
        assert w in info.value.message, info.value.message
    assert spec_module.kinds() == ("project-selfeval", "project-target", "unit-target")


def test_a_variant_needs_no_python(schemas, tmp_path):
    """A third layout declared in a file alone: template, read and validate use it."""
    (schemas / "project-target-lite.toml").write_text(
        'extends = "project-target"\nvariant = "lite"\ndrop = ["项目性质"]\n'
        '[[fields]]\nkey = "项目名称"\ncell = "B3:D3"\n', "utf-8")
    spec_module.clear_caches()
    assert spec_module.variants("project-target") == ("2023", "lite")
    lite = spec_module.load_spec("project-target", "lite")
    data, _, _ = template_bytes(lite, typed(SEED[0]) | {"资金构成": []})
    (tmp_path / "a.xlsx").write_bytes(data)
    form = read_workbook(tmp_path / "a.xlsx").forms[0]
    assert form.variant == "lite" and form.data["项目性质"] is None and form.data["资金构成"] == []
    assert form.data["项目名称"] == SEED[0]["项目名称"]


# --- a property: any 资金构成 reads back as typed, and is unbalanced exactly when its sum differs --


@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({
    "年度": st.integers(2000, 2100),
    "子项目名称": st.lists(st.text(alphabet="党建工作站点活动经费ABC0123=+", min_size=1, max_size=6), min_size=1,
                      max_size=3).map(" ".join),   # words with single spaces, as people type them
    "预算金额": st.integers(0, 10**9).map(lambda cents: cents / 100),
}), max_size=5))
def test_any_composition_reads_back_and_balances_by_its_sum(tmp_path, rows):
    form = corrected()
    form["资金构成"] = rows
    path = write_2023(tmp_path / "p.xlsx", form)
    assert read_workbook(path).forms[0].data["资金构成"] == rows
    cents = sum(round(r["预算金额"] * 100) for r in rows)
    got = [(f.cell, f.rule) for f in validate_paths([path]).findings]
    assert got == ([] if cents == 38_000_000 else [(f"E{FIRST_PART}", "composition-unbalanced")])
