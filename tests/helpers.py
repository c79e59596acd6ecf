"""Test helpers: small valid forms, fillers that behave like people, expected read output."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl

from xltools.indicators import parse_target
from xltools.spec import compute, get_path, load_spec
from xltools.template import template_bytes

ROOT = Path(__file__).resolve().parent.parent
SPEC = load_spec("project-target")
TABLE = SPEC.table("绩效指标")
PARSED = ("运算符", "数值", "单位", "定性")


def source_forms(name: str) -> list[dict]:
    """Forms of samples/source/<name>.json without the parsed parts (what a person types)."""
    forms = json.loads((ROOT / "samples" / "source" / f"{name}.json").read_text("utf-8"))
    return [strip_parsed(f) for f in forms]


def strip_parsed(form: dict) -> dict:
    form = copy.deepcopy(form)
    form.pop("表单", None)
    form["绩效指标"] = [{k: v for k, v in row.items() if k not in PARSED} for row in form.get("绩效指标", [])]
    return form


def valid_form(**over) -> dict:
    """A small form that passes every rule; keyword arguments replace top-level keys."""
    form = {
        "年度": 2026, "项目名称": "测试项目", "项目性质": "经常性项目", "项目类别": "特定目标类",
        "主管部门": "上海市松江区人民政府九里亭街道办事处", "实施单位": "上海市松江区九里亭街道社区党群服务中心",
        "计划开始日期": "2026-01-01", "计划完成日期": "2026-12-31",
        "项目资金": {"财政资金": 100000.0, "其他资金": 0.0},
        "年度资金": {"当年财政拨款": 100000.0, "上年结转资金": 0.0, "其他资金": 0.0},
        "项目总目标": None, "年度总体目标": "完成全年工作。",
        "绩效指标": [
            {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "活动次数", "指标值": "≥4.00(次)"},
            {"一级指标": "产出指标", "二级指标": "质量指标", "三级指标": "验收合格率", "指标值": "=100.00(%)"},
            {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "服务能力", "指标值": "提升"},
            {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "居民满意度", "指标值": "≥90.00(%)"},
            {"一级指标": "产出指标", "二级指标": "时效指标", "三级指标": "完成时限", "指标值": "2026年12月31日前"},
            {"一级指标": "产出指标", "二级指标": "成本指标", "三级指标": "人均活动成本", "指标值": "≤80.00(元/人)"},
        ],
        "资金构成": [],
    }
    form.update(copy.deepcopy(over))
    return form


def expected(form: dict) -> dict:
    """What `xltools read` returns for a form typed as ``form``: totals recomputed, parts added."""
    out = {"表单": SPEC.kind}
    flat = compute(SPEC, copy.deepcopy(form))
    for key in SPEC.key_order:
        if key == "表单" or (key == "填报说明" and not flat.get(key)):   # an empty 填报说明 is left out
            continue
        out[key] = flat.get(key)
    for key in ("项目资金", "年度资金"):
        fields = [f for f in SPEC.fields if f.path[0] == key]
        out[key] = {f.path[1]: get_path(flat, f.path) for f in fields}
    out["绩效指标"] = [dict(row, **parse_target(row.get("指标值")).parts()) for row in form.get("绩效指标", [])]
    out["资金构成"] = form.get("资金构成") or []
    return out


def write_filled(path: Path, form: dict) -> Path:
    """A submission as our writer pre-fills it (typed cells, locked template)."""
    data, _, _ = template_bytes(SPEC, form)
    path.write_bytes(data)
    return path


def _typed(value, typ: str):
    if value is None:
        return None
    if typ == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def fill_like_person(template: Path | bytes, form: dict, out: Path) -> Path:
    """Type ``form`` into a template the way staff do: only into unlocked cells (a locked cell
    raises), numbers as numbers, dates as dates, texts as text."""
    src = io.BytesIO(template) if isinstance(template, bytes) else template
    wb = openpyxl.load_workbook(src)
    ws = wb[SPEC.sheet]

    def type_into(ref: str, value, typ: str) -> None:
        cell = ws[ref]
        if cell.protection.locked:
            raise AssertionError(f"{ref} is locked: a person could not type into it")
        cell.value = typed = _typed(value, typ)
        if isinstance(typed, str):
            cell.data_type = "s"  # Excel stores text typed into a @ cell as text, "=..." included

    for f in SPEC.inputs:
        value = get_path(form, f.path)
        if value is not None:
            type_into(f.ref, value, f.type)
    for i, row in enumerate(form.get("绩效指标", [])):
        for c in TABLE.columns:
            if row.get(c.key) is not None:
                type_into(TABLE.cell(i, c.key), row[c.key], c.type)
    wb.save(out)
    return out


def cli_env(**extra) -> dict:
    """The environment for running ``python -m xltools`` from a test: this checkout first, no
    XLTOOLS_* limits or CI/NO_COLOR of the caller's shell; ``extra`` on top."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("XLTOOLS_") and k not in ("CI", "NO_COLOR")}
    out.update(PYTHONPATH=str(ROOT), **extra)
    return out


def run_cli(*args, cwd=None, timeout: int = 180, **extra) -> subprocess.CompletedProcess:
    """``python -m xltools ARGS`` in a subprocess (text output captured)."""
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          env=cli_env(**extra), cwd=cwd, timeout=timeout)
