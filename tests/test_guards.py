"""Nothing lost, nothing mixed, nothing skipped (issue 9): every write is guarded, kinds are kept
apart, and every file of a folder is accounted for. Each case was first reproduced as data loss
or a false pass with exit 0."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT, SPEC, valid_form, write_filled

from xltools.errors import OutputError

JIULITING = ROOT / "samples" / "jiuliting-2026"
HONGQIAO = ROOT / "samples" / "hongqiao-2026"
ZHONGSHAN = ROOT / "samples" / "zhongshan-2024"
UNIT = "上海市松江区九里亭街道社区党群服务中心"
ZS_UNIT = "上海市松江区中山街道社区党群服务中心"


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def returns(tmp_path) -> Path:
    """A coordinator's folder of three filled returns (九里亭 2026)."""
    folder = tmp_path / "收回"
    shutil.copytree(JIULITING, folder)
    return folder


def read_json(path: Path) -> list[dict]:
    proc = run("read", path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# --- 1. no write ever replaces a user's file -------------------------------------------------


def test_merge_onto_an_input_is_refused_even_with_force(returns):
    before = digest(returns)
    victim = returns / "01_编外人员工作经费.xlsx"
    for extra in ((), ("--force",)):
        proc = run("merge", returns, "-o", victim, *extra)
        assert proc.returncode == 2, proc
        assert str(victim) in proc.stderr and "输入文件" in proc.stderr and "Traceback" not in proc.stderr
        assert digest(returns) == before


def test_template_onto_an_existing_file_needs_force(returns):
    victim = returns / "01_编外人员工作经费.xlsx"
    before = victim.read_bytes()
    proc = run("template", "project-target", "-o", victim)
    assert proc.returncode == 2 and str(victim) in proc.stderr and "--force" in proc.stderr
    assert victim.read_bytes() == before
    proc = run("template", "project-target", "-o", victim, "--force")
    assert proc.returncode == 0, proc.stderr
    assert victim.read_bytes() != before   # replaced by a blank template, as asked


def test_merge_refuses_an_existing_output_before_reading_anything(returns, tmp_path):
    out = tmp_path / "汇总表.xlsx"
    out.write_bytes(b"earlier")
    (returns / "坏文件.xlsx").write_bytes(b"not a zip")   # reading it would be a file-not-xlsx finding
    proc = run("merge", returns, "-o", out)
    assert proc.returncode == 2 and str(out) in proc.stderr and "--force" in proc.stderr
    assert "file-not-xlsx" not in proc.stderr and "坏文件" not in proc.stderr   # nothing was read
    assert out.read_bytes() == b"earlier"


def test_merge_into_a_folder_lists_the_existing_outputs(returns, tmp_path):
    out = tmp_path / "汇总表"
    assert run("merge", returns, "-o", out).returncode == 0
    made = out / f"{UNIT}_2026_申报汇总表.xlsx"
    earlier = made.read_bytes()
    proc = run("merge", returns, "-o", out)
    assert proc.returncode == 2 and str(made) in proc.stderr
    assert made.read_bytes() == earlier
    assert run("merge", returns, "-o", out, "--force").returncode == 0


def test_merge_run_twice_into_its_input_folder_skips_its_own_output(returns):
    inputs = digest(returns)
    out = returns / "汇总表.xlsx"
    first = run("merge", returns, "-o", out)
    assert first.returncode == 0, first.stderr
    earlier = out.read_bytes()
    second = run("merge", returns, "-o", out)
    assert second.returncode == 2 and "--force" in second.stderr and out.read_bytes() == earlier
    third = run("merge", returns, "-o", out, "--force")
    assert third.returncode == 0, third.stderr
    assert "duplicate-project" not in third.stderr
    assert f"已跳过 {out}" in third.stderr and "汇总表" in third.stderr
    assert [f["项目名称"] for f in read_json(out)] == ["编外人员工作经费", "党群综合服务", "社区自治管理"]
    # validate of the folder lists the 汇总表 as skipped, not as three duplicates
    proc = run("validate", returns)
    assert proc.returncode == 0, proc.stdout
    assert f"{out}：已跳过" in proc.stdout and "共 4 个文件（跳过 1 个）、3 个表单" in proc.stdout
    assert {k: v for k, v in digest(returns).items() if k != "汇总表.xlsx"} == inputs


def test_batch_keeps_templates_units_have_filled(tmp_path):
    roster = tmp_path / "单位清单.csv"
    roster.write_text("实施单位,主管部门\n甲中心,区政府\n乙中心,区政府\n", encoding="utf-8")
    out = tmp_path / "模板"
    assert run("template", "project-target", "--batch", roster, "--year", 2026, "-o", out).returncode == 0
    filled = out / "甲中心_2026_申报表.xlsx"
    write_filled(filled, valid_form(实施单位="甲中心"))   # 甲中心 has filled its copy in place
    kept = filled.read_bytes()
    (out / "乙中心_2026_申报表.xlsx").unlink()              # 乙中心's was lost: made again
    proc = run("template", "project-target", "--batch", roster, "--year", 2026, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert f"已存在，跳过（未改动）：{filled}" in proc.stderr and "已生成 1 份" in proc.stderr
    assert filled.read_bytes() == kept and (out / "乙中心_2026_申报表.xlsx").exists()
    proc = run("template", "project-target", "--batch", roster, "--year", 2026, "-o", out, "--force")
    assert proc.returncode == 0 and "已生成 2 份" in proc.stderr and filled.read_bytes() != kept


def test_from_never_writes_over_its_source(tmp_path):
    src = tmp_path / "党群.xlsx"
    shutil.copy(ZHONGSHAN / "申报表" / "01_党群综合服务.xlsx", src)
    before = src.read_bytes()
    proc = run("template", "project-selfeval", "--from", src, "-o", src, "--force")
    assert proc.returncode == 2 and "输入文件" in proc.stderr and src.read_bytes() == before


def test_file_held_open_by_another_program(tmp_path, monkeypatch):
    """Windows refuses to replace a file Excel holds open: PermissionError on os.replace."""
    import xltools.fsutil as fsutil
    from xltools.merge import merge_workbooks

    out = tmp_path / "汇总表.xlsx"
    out.write_bytes(b"earlier")

    def held_open(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fsutil.os, "replace", held_open)
    with pytest.raises(OutputError) as exc:
        merge_workbooks([JIULITING], out, force=True)
    assert str(out) in str(exc.value) and "正被其他程序" in str(exc.value)
    assert out.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["汇总表.xlsx"]   # no temporary file left


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs a read-only /sys (Linux)")
def test_read_only_output_folder(tmp_path):
    target = Path("/sys/xltools-test/汇总表.xlsx")
    try:
        target.parent.mkdir()
    except OSError:
        pass
    else:  # pragma: no cover - a writable /sys: nothing to test here
        target.parent.rmdir()
        pytest.skip("/sys is writable here")
    proc = run("merge", JIULITING, "-o", target)
    assert proc.returncode == 2 and str(target.parent) in proc.stderr and "Traceback" not in proc.stderr
    assert "内部错误" not in proc.stderr and "没有写出任何文件" in proc.stderr


def test_long_names_are_cut_by_bytes(tmp_path):
    name = "超长项目名称" * 16 + "一"   # 97 characters, 291 bytes in UTF-8
    assert len(name) == 97
    roster = tmp_path / "单位清单.csv"
    roster.write_text(f"实施单位,主管部门,项目名称\n甲中心,区政府,{name}\nCON,区政府,a<b>:c|d?*.\n", encoding="utf-8")
    proc = run("template", "project-target", "--batch", roster, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(names) == 2
    for n in names:
        assert len(n.encode("utf-8")) <= 255 and n.endswith("_申报表.xlsx"), n
        assert not set('<>:"/\\|?*') & set(n)
    assert any(n.startswith("甲中心_超长项目名称") for n in names)
    from xltools.fsutil import safe_filename

    for reserved in ("CON", "nul", "com1", "名称. ", "LPT1 .."):   # names Windows refuses
        clean = safe_filename(reserved)
        assert clean.upper() not in ("CON", "NUL", "COM1", "LPT1") and not clean.endswith((".", " ")), clean
    too_long = tmp_path / (name + ".xlsx")
    proc = run("template", "project-target", "-o", too_long)
    assert proc.returncode == 2 and "过长" in proc.stderr and "Traceback" not in proc.stderr
    assert "内部错误" not in proc.stderr


# --- 2. kinds are never mixed ------------------------------------------------------------------


def test_mixed_folder_into_one_file_is_refused(tmp_path):
    out = tmp_path / "混合.xlsx"
    proc = run("merge", ZHONGSHAN, "-o", out)
    assert proc.returncode == 1 and not out.exists()
    assert "项目支出绩效目标申报表" in proc.stderr and "项目支出绩效自评表" in proc.stderr and "2 组" in proc.stderr


def test_mixed_folder_gives_one_summary_per_kind(tmp_path):
    out = tmp_path / "汇总"
    proc = run("merge", ZHONGSHAN, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"{ZS_UNIT}_2024_申报汇总表.xlsx", f"{ZS_UNIT}_2024_自评汇总表.xlsx"]
    target = read_json(out / f"{ZS_UNIT}_2024_申报汇总表.xlsx")
    selfeval = read_json(out / f"{ZS_UNIT}_2024_自评汇总表.xlsx")
    assert [f["表单"] for f in target] == ["project-target"] * 3
    assert [f["表单"] for f in selfeval] == ["project-selfeval"] * 3
    assert sorted(f["总分"] for f in selfeval) == [94.0, 96.0, 96.5]   # seed 004's printed scores
    assert sorted(f["项目名称"] for f in target) == sorted(f["项目名称"] for f in selfeval)


def test_a_dict_never_reaches_a_cell():
    """The mixed merge drew a 自评表 in the 申报表 layout and wrote a dict into C9."""
    import xlsxwriter

    from xltools.read import read_workbook
    from xltools.template import SheetWriter, write_typed

    wb = xlsxwriter.Workbook(os.devnull, {"in_memory": True})
    ws = wb.add_worksheet()
    for bad in ({"年初预算数": 1.0}, [1, 2], (1,), {1}):
        with pytest.raises(TypeError):
            write_typed(ws, 0, 0, bad, "money", None)
    selfeval = read_workbook(ZHONGSHAN / "自评表" / "01_党群综合服务.xlsx").forms[0]
    with pytest.raises(TypeError, match="C9"):
        SheetWriter(wb, SPEC, editable=False).write(wb.add_worksheet("x"), selfeval.data)


def two_units_same_project(folder: Path) -> list[Path]:
    folder.mkdir()
    return [write_filled(folder / f"{i}.xlsx", valid_form(实施单位=unit, 项目名称="党群综合服务"))
            for i, unit in enumerate(("甲街道党群服务中心", "乙街道党群服务中心"))]


def test_from_a_folder_names_each_file_by_unit(tmp_path):
    two_units_same_project(tmp_path / "申报表")
    proc = run("template", "project-selfeval", "--from", tmp_path / "申报表", "-o", tmp_path / "自评表")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "自评表").iterdir()) == [
        "乙街道党群服务中心_党群综合服务_2026_自评表.xlsx", "甲街道党群服务中心_党群综合服务_2026_自评表.xlsx"]


def test_from_refuses_a_blank_template(tmp_path):
    blank = tmp_path / "空白.xlsx"
    assert run("template", "project-target", "-o", blank).returncode == 0
    proc = run("template", "project-selfeval", "--from", blank, "-o", tmp_path / "自评表.xlsx")
    assert proc.returncode == 1 and not (tmp_path / "自评表.xlsx").exists()
    assert "申报表!B3" in proc.stderr and "required" in proc.stderr   # 项目名称 is empty
    assert "申报表!B13" in proc.stderr and "carry-missing" in proc.stderr   # no indicators to carry


def test_from_refuses_a_source_with_errors(tmp_path):
    src = HONGQIAO / "01_综合党委_两企三新_党建.xlsx"   # value-empty at E14
    proc = run("template", "project-selfeval", "--from", src, "-o", tmp_path / "out")
    assert proc.returncode == 1 and "申报表!E14" in proc.stderr and not (tmp_path / "out").exists()


def test_from_refuses_a_source_without_amounts(tmp_path):
    src = write_filled(tmp_path / "无金额.xlsx", valid_form(年度资金={"当年财政拨款": None, "上年结转资金": None,
                                                               "其他资金": None}))
    proc = run("template", "project-selfeval", "--from", src, "-o", tmp_path / "out.xlsx")
    assert proc.returncode == 1 and not (tmp_path / "out.xlsx").exists()
    assert "申报表!E7" in proc.stderr and "当年财政拨款" in proc.stderr


def test_carry_missing_names_what_would_be_locked_empty(tmp_path):
    """Beyond what validate requires: every carried amount empty, no carried indicator row."""
    from xltools.carry import missing_carried
    from xltools.read import read_workbook

    form = read_workbook(write_filled(tmp_path / "a.xlsx", valid_form())).forms[0]
    assert missing_carried(form, "project-selfeval") == []
    form.data["年度资金"] = dict.fromkeys(form.data["年度资金"])
    form.data["绩效指标"] = []
    got = [(f.cell, f.rule) for f in missing_carried(form, "project-selfeval")]
    # 当年财政拨款's cell; the row below the form's 6 indicators (B13:B18), where one would go
    assert got == [("E7", "carry-missing"), ("B19", "carry-missing")]


@pytest.mark.parametrize("args, words", [
    (("template", "project-target", "-o", "{t}/a.xlsx", "--rows", "10"), "--rows"),
    (("template", "project-selfeval", "--from", "{src}", "-o", "{t}/a.xlsx", "--year", "2026"), "--year"),
    (("template", "project-selfeval", "--from", "{src}", "-o", "{t}/a.xlsx", "--name", "x"), "--name"),
    (("template", "project-target", "--batch", "{csv}", "-o", "{t}/out", "--unit", "甲"), "--unit"),
    (("template", "project-target", "--from", "{src}", "-o", "{t}/a.xlsx"), "--from"),
])
def test_options_that_do_not_apply_are_refused(tmp_path, args, words):
    csv = tmp_path / "u.csv"
    csv.write_text("实施单位,主管部门\n甲,区\n", encoding="utf-8")
    src = ZHONGSHAN / "申报表" / "01_党群综合服务.xlsx"
    proc = run(*[a.format(t=tmp_path, src=src, csv=csv) for a in args])
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.csv"]


# --- 3. every file in a folder is accounted for -------------------------------------------------


def odd_folder(folder: Path) -> dict[str, str]:
    """A unit's return as it really arrives: the form, and what else was in the mail."""
    folder.mkdir()
    shutil.copy(JIULITING / "01_编外人员工作经费.xlsx", folder / "申报表.xlsx")
    shutil.copy(JIULITING / "02_党群综合服务.xlsx", folder / "另存为模板.xltx")
    (folder / "申报表.csv").write_text("项目名称,金额\n党建,100\n", encoding="utf-8")
    (folder / "扫描件.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    with zipfile.ZipFile(folder / "说明.docx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    (folder / "~$申报表.xlsx").write_bytes(b"lock")
    (folder / ".~lock.申报表.xlsx#").write_text("lock")
    return {"申报表.csv": "CSV", "扫描件.pdf": "PDF", "说明.docx": "Word"}


def test_every_file_of_a_folder_is_in_the_report(tmp_path):
    folder = tmp_path / "收回"
    refused = odd_folder(folder)
    before = digest(folder)
    text = run("validate", folder)
    assert text.returncode == 2   # files that are not forms: never a pass
    for name, what in refused.items():
        assert f"× {folder / name}" in text.stdout and what in text.stdout, name
    # the two forms are read and have no error (the samples' content warnings only)
    assert f"! {folder / '申报表.xlsx'}：警告" in text.stdout
    assert f"! {folder / '另存为模板.xltx'}：警告" in text.stdout
    assert "已忽略 2 个临时锁定文件" in text.stdout
    assert "共 7 个文件（忽略 2 个临时文件）、2 个表单" in text.stdout
    findings = [f for f in json.loads(run("validate", folder, "--format", "json").stdout)["findings"]
                if f["file"].endswith(tuple(refused))]   # the two forms: the samples' content findings
    # a PDF is read now (issue 12: xltools/pdfin.py); this one is damaged
    assert {Path(f["file"]).name: f["rule"] for f in findings} == {**dict.fromkeys(refused, "file-not-xlsx"),
                                                                   "扫描件.pdf": "file-unreadable"}
    assert all(f["cell"] is None for f in findings)
    assert digest(folder) == before


def test_a_folder_without_a_form_is_not_a_pass(tmp_path):
    empty = tmp_path / "空"
    empty.mkdir()
    for cmd in (("validate", empty), ("read", empty)):
        proc = run(*cmd)
        assert proc.returncode == 2 and "没有找到可读取的表单" in proc.stdout + proc.stderr, cmd
    docs = tmp_path / "只有文档"
    docs.mkdir()
    (docs / "扫描件.pdf").write_bytes(b"%PDF-1.4\n")
    proc = run("validate", docs)
    assert proc.returncode == 2 and "file-unreadable" in proc.stdout   # read as a PDF (issue 12): damaged


@pytest.mark.parametrize("cmd", [
    ("validate", "{m}"), ("read", "{m}"), ("merge", "{m}", "-o", "{t}/o.xlsx"),
    ("template", "project-selfeval", "--from", "{m}", "-o", "{t}/o.xlsx"),
    ("template", "project-target", "--batch", "{m}.csv", "-o", "{t}/o"),
])
def test_a_missing_path_is_a_typo_not_a_return(tmp_path, cmd):
    missing = tmp_path / "不存在"
    proc = run(*[a.format(m=missing, t=tmp_path) for a in cmd])
    assert proc.returncode == 2 and "找不到文件" in proc.stderr and "不存在" in proc.stderr, proc.stderr
    assert "退回" not in proc.stderr + proc.stdout and "内部错误" not in proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == []


def test_read_paths_takes_one_path_as_well_as_many(tmp_path):
    """read_paths("收回") used to iterate the characters of the string."""
    from xltools.read import read_paths

    one = [r.file for r in read_paths(str(JIULITING))]
    assert one == [r.file for r in read_paths([JIULITING])] and len(one) == 3
    assert len(list(read_paths(JIULITING / "01_编外人员工作经费.xlsx"))) == 1

