"""The Python API: what ``import xltools`` offers, how it shows itself, and what it costs."""

from __future__ import annotations

import inspect
import json
import os
import pydoc
import subprocess
import sys
from pathlib import Path

import pytest

import xltools

ROOT = Path(__file__).resolve().parent.parent
HONGQIAO = ROOT / "samples" / "hongqiao-2026"

# public name → the module that defines it
FUNCTIONS = {
    "template_workbook": "xltools.template",
    "read_workbook": "xltools.read",
    "read_paths": "xltools.read",
    "validate_paths": "xltools.validate",
    "merge_workbooks": "xltools.merge",
    "import_forms": "xltools.importer",
    "find_forms": "xltools.locate",
}
TYPES = {
    "Form": "xltools.read",
    "ReadResult": "xltools.read",
    "Report": "xltools.validate",
    "Finding": "xltools.rules",
    "MergeResult": "xltools.merge",
    "UnreadableFile": "xltools.errors",
    "TemplateResult": "xltools.template",
    "ImportResult": "xltools.importer",
}
HEAVY = {"pandas", "pandera", "xlsxwriter", "python_calamine", "numpy"}


def _real(name: str, module: str):
    return getattr(__import__(module, fromlist=[name]), name)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_are_the_real_ones_with_their_signature_and_docstring(name):
    real = _real(name, FUNCTIONS[name])
    public = getattr(xltools, name)
    assert public is real
    assert inspect.signature(public) == inspect.signature(real)
    params = inspect.signature(public).parameters.values()
    assert not any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params), "a (*args, **kwargs) wrapper"
    assert inspect.getdoc(public) and inspect.getdoc(public) == inspect.getdoc(real)


def test_help_shows_signatures_and_docstrings():
    text = pydoc.render_doc(xltools, renderer=pydoc.plaintext)
    for name, module in FUNCTIONS.items():
        real = _real(name, module)
        assert f"{name}{inspect.signature(real)}" in text
        assert inspect.getdoc(real).splitlines()[0] in text
    for name in TYPES:
        assert f"class {name}" in text


@pytest.mark.parametrize("name", sorted(TYPES))
def test_result_types_are_exported(name):
    public = getattr(xltools, name)
    assert inspect.isclass(public) and public is _real(name, TYPES[name])
    assert name in xltools.__all__ and name in dir(xltools)
    assert getattr(__import__("xltools", fromlist=[name]), name) is public   # from xltools import Name


def test_all_and_dir_list_the_api_and_unknown_names_still_fail():
    assert set(xltools.__all__) == set(FUNCTIONS) | set(TYPES) | {"__version__"}
    assert set(xltools.__all__) <= set(dir(xltools))
    assert not hasattr(xltools, "no_such_function")
    with pytest.raises(ImportError):
        exec("from xltools import no_such_function", {})


def test_import_xltools_loads_no_heavy_library():
    """``import xltools``, its version, dir() and the light result types import none of pandas,
    pandera, xlsxwriter, python-calamine or numpy (a fresh interpreter, as a user's)."""
    code = ("import sys, json, xltools\n"
            "names = dir(xltools)\n"
            "version = xltools.__version__\n"
            "light = [xltools.Finding.__name__, xltools.UnreadableFile.__name__]\n"
            f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r})\n"
            "print(json.dumps({'heavy': heavy, 'names': names, 'version': version, 'light': light}))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["heavy"] == []
    assert set(xltools.__all__) <= set(out["names"])
    assert out["version"] == xltools.__version__
    assert out["light"] == ["Finding", "UnreadableFile"]


# ---------------------------------------------------------------------------------------------
# Report: a table for notebooks, a short repr


COLUMNS = ["file", "sheet", "cell", "severity", "rule", "message"]


@pytest.fixture(scope="module")
def hongqiao():
    return xltools.validate_paths([HONGQIAO])


def test_to_frame_has_one_row_per_finding(hongqiao):
    report = hongqiao
    assert report.errors and report.warnings   # the seed's real defects
    df = report.to_frame()
    assert list(df.columns) == COLUMNS
    assert len(df) == len(report.findings)
    assert [tuple(row) for row in df.itertuples(index=False)] == [tuple(f.to_dict().values()) for f in report.findings]
    assert (df["severity"] == "error").sum() == len(report.errors)
    assert set(df["file"]) == {f.file for f in report.findings}


def test_to_frame_of_an_empty_report_keeps_the_columns():
    df = xltools.Report().to_frame()
    assert list(df.columns) == COLUMNS and len(df) == 0


def test_repr_counts_only(hongqiao):
    report = hongqiao
    text = repr(report)
    assert text == (f"<Report {len(report.files)} 个文件, {len(report.forms)} 个表单, "
                    f"错误 {len(report.errors)}, 警告 {len(report.warnings)}, 提示 {len(report.infos)}>")
    assert len(text) < 80
    assert repr(xltools.Report()) == "<Report 0 个文件, 0 个表单, 错误 0, 警告 0>"


def test_repr_counts_unreadable_files(tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"not a workbook")
    report = xltools.validate_paths([tmp_path])
    assert report.unreadable
    assert repr(report).endswith(f", 无法读取 {len(report.unreadable)}>")


def test_repr_counts_skipped_files():
    report = xltools.Report(skipped=[("汇总表.xlsx", "xltools 生成的汇总表，不作为输入")])
    assert repr(report) == "<Report 0 个文件, 0 个表单, 错误 0, 警告 0, 跳过 1>"
