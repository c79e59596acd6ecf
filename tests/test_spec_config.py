"""A wrong spec folder is one configuration error, said once (issue 10), and XLTOOLS_SCHEMAS
points xltools at a folder of its own specs and lists."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, valid_form, write_filled

from xltools import spec
from xltools.errors import ConfigError, SpecError
from xltools.validate import validate_paths

JIULITING = ROOT / "samples" / "jiuliting-2026"

# The 项目类别 field of project-target.toml: fields[3].
CATEGORY = 'label_cell = "E3"\ncell = "F3"\ntype = "choice"\nlist = "项目类别"\nrequired = true\n'
CATEGORY_AT = 'fields[3].{}（字段 key = "项目类别"）'


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) == 1, f"{old!r} not once in {path.name}"
    path.write_text(text.replace(old, new), "utf-8")


@pytest.fixture
def schemas(tmp_path, monkeypatch):
    """A copy of the packaged schemas/, in force through XLTOOLS_SCHEMAS."""
    folder = tmp_path / "schemas"
    shutil.copytree(spec.packaged_schemas_dir(), folder)
    monkeypatch.setenv(spec.SCHEMAS_ENV, str(folder))
    spec.clear_caches()
    yield folder
    spec.clear_caches()


# (file, old text, new text, what the message must name besides the file)
BROKEN = {
    "string-for-list": ("project-target.toml", '"项目性质" = ["经常性项目", "其他经常性项目", "一次性项目", "跨年度项目"]',
                        '"项目性质" = "经常性项目"', ['lists."项目性质"', "应为列表"]),
    "string-for-bool": ("project-target.toml", CATEGORY, CATEGORY.replace("required = true", 'required = "false"'),
                        [CATEGORY_AT.format("required"), "应为 true 或 false", '实际为 文字 "false"']),
    "missing-type": ("project-target.toml", CATEGORY, CATEGORY.replace('type = "choice"\n', ""),
                     [CATEGORY_AT.format("type"), "缺少这个键"]),
    "unknown-type": ("project-target.toml", CATEGORY, CATEGORY.replace('"choice"', '"choise"'),
                     [CATEGORY_AT.format("type"), "应为以下之一", "choice"]),
    "unknown-key": ("project-target.toml", CATEGORY, CATEGORY.replace("required", "requried"),
                    [CATEGORY_AT.format("requried"), "未知的键，是不是 required"]),
    "toml-syntax": ("project-target.toml", 'key = "项目类别"\n', 'key = "项目类别\n', ["TOML 语法错误", "第 "]),
    "lists-tree-renamed": ("indicators.toml", "[layouts.A.tree]", "[layouts.A.trees]",
                           ["layouts.A.tree：缺少这个键", "layouts.A.trees：未知的键，是不是 tree"]),
    "lists-string-for-list": ("indicators.toml", 'rate_bad_units = ["个"', 'rate_bad_units = "个"\nx = ["个"',
                              ["rate_bad_units", "应为列表", "x：未知的键"]),
    "lists-required-level1": ("indicators.toml", '"满意度指标"]', '"满意指标"]',
                              ["required_level1[2]", "「满意指标」不在任何 layouts.*.tree 中"]),
    "overlapping-cells": ("project-target.toml", CATEGORY, CATEGORY.replace('"F3"', '"D3"'),
                          [CATEGORY_AT.format("cell"), "单元格 D3 已用于", "项目性质"]),
    "missing-field": ("project-target.toml", 'sum_of = ["项目资金.财政资金", "项目资金.其他资金"]',
                      'sum_of = ["项目资金.财政资金", "项目资金.其它资金"]',
                      ['fields[8].sum_of（字段 key = "项目资金.项目资金总额"）', "不存在的字段「项目资金.其它资金」"]),
    "missing-list": ("project-target.toml", CATEGORY, CATEGORY.replace('list = "项目类别"', 'list = "类别"'),
                     [CATEGORY_AT.format("list"), "下拉列表「类别」未在 [lists] 中定义"]),
    "kind-not-file-name": ("project-target.toml", 'kind = "project-target"', 'kind = "project-targets"',
                           ["kind：应与文件名一致"]),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_spec_is_a_config_error_naming_file_and_key(schemas, case):
    name, old, new, expect = BROKEN[case]
    edit(schemas / name, old, new)
    with pytest.raises(ConfigError) as info:
        spec.load_spec("project-target")
    message = str(info.value)
    assert str(schemas / name) in message and info.value.file == str(schemas / name)
    for part in expect:
        assert part in message, (part, message)
    assert "不是所填表单的问题" in message
    assert isinstance(info.value, SpecError)


def test_config_error_survives_pickling():
    exc = ConfigError("表单定义文件有误：x.toml\n  fields[3].required：…", "x.toml", ("fields[3].required",))
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is ConfigError and str(back) == str(exc)
    assert (back.file, back.keys) == ("x.toml", ("fields[3].required",))


def test_every_problem_of_a_file_is_listed(schemas):
    edit(schemas / "project-target.toml", CATEGORY,
         CATEGORY.replace("required = true", 'required = "false"').replace('"choice"', '"choise"'))
    with pytest.raises(ConfigError) as info:
        spec.load_spec("project-target")
    assert info.value.keys == (CATEGORY_AT.format("type"), CATEGORY_AT.format("required"))


def test_broken_lists_stop_validation_once_instead_of_a_finding_per_file(schemas):
    edit(schemas / "indicators.toml", "[layouts.A.tree]", "[layouts.A.trees]")
    with pytest.raises(ConfigError, match="indicators.toml"):
        validate_paths([JIULITING])


def run_cli(*args, schemas: Path | str, **more: str):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{spec.SCHEMAS_ENV: str(schemas)}, **more)
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.parametrize("case", ["lists-tree-renamed", "string-for-bool", "toml-syntax", "overlapping-cells"])
def test_cli_reports_a_broken_spec_once_and_exits_2(schemas, case):
    name, old, new, expect = BROKEN[case]
    edit(schemas / name, old, new)
    proc = run_cli("validate", JIULITING, schemas=schemas)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("错误：表单定义文件有误：" + str(schemas / name))
    assert proc.stderr.count("表单定义文件有误") == 1
    for part in expect:
        assert part in proc.stderr, (part, proc.stderr)
    out = proc.stdout + proc.stderr
    assert "退回" not in out and "无法读取" not in out and "Traceback" not in out
    assert "01_编外人员工作经费" not in out  # no form is named: none is at fault


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_cli_reports_it_once_through_the_worker_pool(schemas, start):
    edit(schemas / "indicators.toml", "[layouts.A.tree]", "[layouts.A.trees]")
    proc = run_cli("validate", ROOT / "samples", schemas=schemas, XLTOOLS_JOBS="2", XLTOOLS_START_METHOD=start)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("表单定义文件有误") == 1 and "layouts.A.tree" in proc.stderr
    assert "退回" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


def test_a_changed_list_takes_effect_only_with_the_override(schemas, tmp_path, monkeypatch):
    edit(schemas / "project-target.toml", '"其他运转类"]', '"其他运转类", "新增类别"]')
    form = write_filled(tmp_path / "form.xlsx", valid_form(项目类别="新增类别"))
    report = validate_paths([form])
    assert report.findings == [] and len(report.forms) == 1
    assert spec.load_spec("project-target").source == schemas / "project-target.toml"

    monkeypatch.delenv(spec.SCHEMAS_ENV)
    report = validate_paths([form])
    assert [(f.rule, f.cell) for f in report.findings] == [("not-in-list", "F3")]


def test_the_cli_reads_the_override_folder(schemas, tmp_path):
    edit(schemas / "project-target.toml", '"其他运转类"]', '"其他运转类", "新增类别"]')
    form = write_filled(tmp_path / "form.xlsx", valid_form(项目类别="新增类别"))
    assert run_cli("validate", form, schemas=schemas).returncode == 0
    assert run_cli("validate", form, schemas=spec.packaged_schemas_dir()).returncode == 1


def test_override_replaces_every_kind(schemas):
    (schemas / "project-selfeval.toml").unlink()
    (schemas / "unit-target.toml").unlink()
    assert spec.kinds() == ("project-target",)
    with pytest.raises(SpecError, match="未知的表单类型 project-selfeval"):
        spec.load_spec("project-selfeval")


def test_nonexistent_or_empty_folder_is_a_config_error(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(spec.SCHEMAS_ENV, str(missing))
    for call in (spec.kinds, lambda: spec.load_spec("project-target"), spec.schemas_dir):
        with pytest.raises(ConfigError, match="nowhere") as info:
            call()
        assert "XLTOOLS_SCHEMAS" in str(info.value) and info.value.file == str(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "indicators.toml").write_text("layouts = {}\n", "utf-8")
    monkeypatch.setenv(spec.SCHEMAS_ENV, str(empty))
    with pytest.raises(ConfigError, match="没有任何表单定义") as info:
        spec.kinds()
    assert str(empty) in str(info.value)


def test_use_schemas_sets_the_override_for_this_process_and_its_workers(schemas, monkeypatch):
    monkeypatch.delenv(spec.SCHEMAS_ENV)
    edit(schemas / "project-target.toml", '"其他运转类"]', '"其他运转类", "新增类别"]')
    try:
        assert spec.use_schemas(schemas) == schemas.resolve()
        assert os.environ[spec.SCHEMAS_ENV] == str(schemas.resolve())  # seen by forked and spawned workers
        assert "新增类别" in spec.load_spec("project-target").lists["项目类别"]
        with pytest.raises(ConfigError, match="表单定义目录不存在"):
            spec.use_schemas(schemas / "nowhere")
        assert spec.schemas_dir() == schemas.resolve()  # a refused folder changes nothing
    finally:
        assert spec.use_schemas(None) == spec.packaged_schemas_dir()
    assert spec.SCHEMAS_ENV not in os.environ
    assert "新增类别" not in spec.load_spec("project-target").lists["项目类别"]


def test_packaged_specs_load_and_a_utf8_bom_is_fine(schemas):
    assert set(spec.load_all()) == {"project-target", "project-selfeval", "unit-target"}
    path = schemas / "indicators.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # Notepad's UTF-8
    spec.clear_caches()
    loaded = spec.load_spec("project-target")
    assert loaded.source == schemas / "project-target.toml"
    assert loaded.hierarchy.required_level1 == ("产出指标", "效益指标", "满意度指标")


def test_not_utf8_is_a_config_error(schemas):
    path = schemas / "indicators.toml"
    path.write_bytes(path.read_text("utf-8").encode("gb18030"))
    with pytest.raises(ConfigError, match="不是 UTF-8 编码"):
        spec.load_spec("project-target")


def test_cli_nonexistent_folder_exits_2_without_traceback(tmp_path):
    proc = run_cli("validate", JIULITING, schemas=tmp_path / "nowhere")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "nowhere" in proc.stderr


def test_cli_schemas_option_on_every_command(schemas, tmp_path):
    """--schemas 目录 does what XLTOOLS_SCHEMAS does, on each command."""
    (schemas / "indicators.toml").write_text("[layouts\n", encoding="utf-8")   # a TOML syntax error

    def run_cli(*args):   # the option only, no XLTOOLS_SCHEMAS in the environment
        env = {k: v for k, v in os.environ.items() if k != spec.SCHEMAS_ENV}
        return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                              env=dict(env, PYTHONPATH=str(ROOT)), timeout=120)

    for args in (("validate", JIULITING), ("read", JIULITING), ("merge", JIULITING, "-o", tmp_path / "m.xlsx"),
                 ("template", "project-target", "-o", tmp_path / "t.xlsx")):
        proc = run_cli(*args, "--schemas", schemas)
        assert proc.returncode == 2 and "indicators.toml" in proc.stderr and "Traceback" not in proc.stderr, args
        assert proc.stderr.count("indicators.toml") == 1 and "退回" not in proc.stderr, args
    assert not (tmp_path / "m.xlsx").exists() and not (tmp_path / "t.xlsx").exists()
    assert run_cli("validate", JIULITING).returncode == 0   # the packaged schemas, without the option
    proc = run_cli("validate", JIULITING, "--schemas", tmp_path / "nowhere")
    assert proc.returncode == 2 and "nowhere" in proc.stderr and "Traceback" not in proc.stderr


def test_help_does_not_import_pydantic():
    code = "import sys, xltools.cli; print('pydantic' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr
