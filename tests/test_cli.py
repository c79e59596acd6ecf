"""The command-line contract: arguments, outputs, exit codes, and what is (not) written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import ROOT, SPEC, expected, source_forms, valid_form, write_filled

JIULITING = ROOT / "samples" / "jiuliting-2026"
HONGQIAO = ROOT / "samples" / "hongqiao-2026"


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def digest(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_help_explains_workflow():
    top = run("--help")
    assert top.returncode == 0 and "xltools validate" in top.stdout and "退出码" in top.stdout
    for cmd in ("template", "read", "validate", "merge"):
        sub = run(cmd, "--help")
        assert sub.returncode == 0 and "示例" in sub.stdout, cmd


def test_usage_errors_exit_2_without_traceback(tmp_path):
    for args in [("validate",), ("template", "nosuchkind", "-o", tmp_path / "x.xlsx"),
                 ("template", "project-target", "-o", tmp_path / "x.txt"), ("merge", JIULITING),
                 ("bogus",)]:
        proc = run(*args)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr


def test_template_and_batch(tmp_path):
    proc = run("template", "project-target", "-o", tmp_path / "t.xlsx", "--year", "2026", "--unit", "某中心")
    assert proc.returncode == 0, proc.stderr
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")[SPEC.sheet]
    assert ws[SPEC.field("年度").ref].value == 2026 and ws[SPEC.field("实施单位").ref].value == "某中心"
    csv = tmp_path / "units.csv"
    csv.write_bytes("实施单位,主管部门,项目名称\n甲中心,区政府,党建经费\n乙中心,区政府,\n甲中心,区政府,党建经费\n"
                    .encode("gb18030"))  # Excel on Chinese Windows saves CSV as GBK
    proc = run("template", "project-target", "--batch", csv, "--year", "2026", "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["乙中心_2026_申报表.xlsx", "甲中心_党建经费_2026_申报表.xlsx", "甲中心_党建经费_2026_申报表_2.xlsx"]
    ws = openpyxl.load_workbook(tmp_path / "out" / names[1])[SPEC.sheet]
    assert ws[SPEC.field("项目名称").ref].value == "党建经费" and ws[SPEC.field("主管部门").ref].value == "区政府"
    bad = tmp_path / "bad.csv"
    bad.write_text("名称\nx\n", encoding="utf-8")
    proc = run("template", "project-target", "--batch", bad, "-o", tmp_path / "o2")
    assert proc.returncode == 2 and "实施单位" in proc.stderr


def test_read_prints_json_list_with_contract_types():
    proc = run("read", *sorted(JIULITING.glob("*.xlsx")))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data == [expected(f) for f in source_forms("000_jiuliting_2026")]
    first = data[0]
    assert first["表单"] == "project-target" and first["年度"] == 2026 and isinstance(first["年度"], int)
    assert first["年度资金"]["年度资金申请总额"] == 36118005.0
    assert first["项目资金"]["项目资金总额"] is None
    assert set(first["绩效指标"][0]) == {"一级指标", "二级指标", "三级指标", "指标值", "运算符", "数值", "单位", "定性"}


def test_read_unreadable_exit_2(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"")
    proc = run("read", tmp_path / "x.xlsx", JIULITING / "01_编外人员工作经费.xlsx")
    assert proc.returncode == 2 and "x.xlsx" in proc.stderr and "Traceback" not in proc.stderr
    assert len(json.loads(proc.stdout)) == 1


def test_validate_formats_and_exit_codes(tmp_path):
    ok = run("validate", JIULITING)
    assert ok.returncode == 0 and "共 3 个文件、3 个表单" in ok.stdout
    bad = run("validate", HONGQIAO, "--format", "json")
    assert bad.returncode == 1
    findings = json.loads(bad.stdout)["findings"]
    assert {tuple(sorted(f)) for f in findings} == {("cell", "file", "message", "rule", "severity", "sheet")}
    assert {"file": str(HONGQIAO / "01_综合党委_两企三新_党建.xlsx"), "sheet": "申报表", "cell": "E14",
            "severity": "error", "rule": "value-empty",
            "message": "三级指标「工作队伍培训人数」的指标值为空，请填写，如 ≥10.00(人)、=100.00(%) 或 及时。"} in findings
    text = run("validate", HONGQIAO / "01_综合党委_两企三新_党建.xlsx")
    assert "[错误] 申报表!E14" in text.stdout and "错误 1 条" in text.stdout


def test_validate_summary_form_by_form(tmp_path):
    assert run("merge", JIULITING, "-o", tmp_path / "m.xlsx").returncode == 0
    proc = run("validate", tmp_path / "m.xlsx", "--format", "json")
    data = json.loads(proc.stdout)
    # no errors; each project of the 汇总表 is graded on its own sheet
    assert proc.returncode == 0 and not [f for f in data["findings"] if f["severity"] == "error"]
    assert [s["name"] for s in data["forms"]] == ["编外人员工作经费", "党群综合服务", "社区自治管理"]
    assert len({s["sheet"] for s in data["forms"]}) == 3 and data["profile"]["name"] == "national"
    back = json.loads(run("read", tmp_path / "m.xlsx").stdout)
    assert [f["项目名称"] for f in back] == ["编外人员工作经费", "党群综合服务", "社区自治管理"]
    assert all(f["表单"] == "project-target" for f in back)


def test_merge_to_file_folder_and_refusals(tmp_path):
    before = digest(ROOT / "samples")
    out = tmp_path / "九里亭.xlsx"
    proc = run("merge", JIULITING, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    # several units into one .xlsx: refused, nothing written
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_filled(mixed / "a.xlsx", valid_form())
    write_filled(mixed / "b.xlsx", valid_form(实施单位="另一个单位"))
    proc = run("merge", mixed, "-o", tmp_path / "one.xlsx")
    assert proc.returncode == 1 and "文件夹" in proc.stderr and not (tmp_path / "one.xlsx").exists()
    proc = run("merge", mixed, "-o", tmp_path / "dir")
    assert proc.returncode == 0
    assert sorted(p.name for p in (tmp_path / "dir").iterdir()) == [
        "上海市松江区九里亭街道社区党群服务中心_2026_申报汇总表.xlsx", "另一个单位_2026_申报汇总表.xlsx"]
    # inputs with errors: refused with findings, nothing written
    proc = run("merge", HONGQIAO, "-o", tmp_path / "hq.xlsx")
    assert proc.returncode == 1 and "value-empty" in proc.stderr and not (tmp_path / "hq.xlsx").exists()
    # --skip-invalid merges the rest and lists what was skipped
    proc = run("merge", HONGQIAO, "-o", tmp_path / "hq.xlsx", "--skip-invalid")
    assert proc.returncode == 0 and proc.stderr.count("已跳过") == 4
    assert len(json.loads(run("read", tmp_path / "hq.xlsx").stdout)) == 5
    assert digest(ROOT / "samples") == before
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_merge_refuses_duplicate_submission(tmp_path):
    a = write_filled(tmp_path / "a.xlsx", valid_form())
    b = write_filled(tmp_path / "b.xlsx", valid_form())
    proc = run("merge", a, b, "-o", tmp_path / "m.xlsx")
    assert proc.returncode == 1 and "duplicate-project" in proc.stderr and str(a) in proc.stderr
    assert not (tmp_path / "m.xlsx").exists()
    proc = run("merge", a, b, "-o", tmp_path / "m.xlsx", "--skip-invalid")
    assert proc.returncode == 0 and f"已跳过 {b}" in proc.stderr
    assert len(json.loads(run("read", tmp_path / "m.xlsx").stdout)) == 1


def test_merge_nothing_left_is_exit_1(tmp_path):
    write_filled(tmp_path / "a.xlsx", valid_form(项目名称=None))
    proc = run("merge", tmp_path, "-o", tmp_path / "out", "--skip-invalid")
    assert proc.returncode == 1 and "没有可汇总" in proc.stderr


def test_merge_keeps_earlier_output_when_it_fails(tmp_path, monkeypatch):
    from xltools import merge as m

    out = tmp_path / "m.xlsx"
    out.write_bytes(b"earlier")

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(m.SheetWriter, "write", boom)
    with pytest.raises(RuntimeError):
        m.merge_workbooks([JIULITING], out, force=True)
    assert out.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["m.xlsx"]
