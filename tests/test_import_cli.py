"""`xltools import FILE... -o OUTDIR/` (issue 12 §3): the command's conventions — stdout lists the
workbooks written, stderr the findings and one summary line; exit 0 / 1 / 2 like validate;
nothing replaced without --force, an input never written over; names as `template --batch`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from xltools.importer import form_values, import_forms
from xltools.read import read_workbook

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "samples" / "source"
JIULITING = SOURCE / "000_jiuliting_2026.txt"
HONGQIAO = SOURCE / "002_hongqiao_2026.txt"
NAMES_000 = [   # 实施单位_项目名称_年度_申报表 (project-target's form_file), from seed 000's lines 7–8
    "上海市松江区九里亭街道社区党群服务中心_编外人员工作经费_2026_申报表.xlsx",
    "上海市松江区九里亭街道社区党群服务中心_党群综合服务_2026_申报表.xlsx",
    "上海市松江区九里亭街道社区党群服务中心_社区自治管理_2026_申报表.xlsx",
]


def run(*args):
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def test_import_lists_the_files_written_and_says_what_it_did(tmp_path):
    out = tmp_path / "导入"
    proc = run("import", JIULITING, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(out / n) for n in NAMES_000]
    assert sorted(p.name for p in out.iterdir()) == sorted(NAMES_000)
    assert proc.stderr.rstrip().splitlines() == ["已导入 3 个表单（1 个文件）。"]


def test_import_prints_the_ambiguous_lines_and_exits_0(tmp_path):
    """Seed 002's drifted rows (lines 18, 81, 184, 217) and the page-break fragment joined on a
    guess (line 100) are warnings: printed with their line."""
    proc = run("import", HONGQIAO, "-o", tmp_path / "导入")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.rstrip().splitlines()
    warned = [line for line in lines if "import-ambiguous" in line]
    assert [w.split("!")[1].split()[0] for w in warned] == ["第18行", "第81行", "第100行", "第184行", "第217行"]
    assert all(w.startswith("[警告]") for w in warned)
    assert lines[-1] == "已导入 9 个表单（1 个文件），警告 5 条。"
    assert len(proc.stdout.splitlines()) == 9 and "Traceback" not in proc.stderr


def test_imported_workbooks_are_our_templates_and_validate_like_the_text(tmp_path):
    out = tmp_path / "导入"
    assert run("import", HONGQIAO, "-o", out).returncode == 0
    for path in sorted(out.iterdir()):
        res = read_workbook(path)
        assert res.forms[0].variant is None and not res.findings   # read by metadata, no label reader
    text = json.loads(run("validate", "-f", "json", HONGQIAO).stdout)["findings"]
    book = json.loads(run("validate", "-f", "json", out).stdout)["findings"]
    rules = sorted(f["rule"] for f in text if f["rule"] != "import-ambiguous")
    assert rules == sorted(f["rule"] for f in book) and rules   # the seed's real defects, both ways
    assert all(f["cell"] is None or f["cell"][0].isalpha() for f in book)   # A1 cells of our template


def test_nothing_is_replaced_without_force(tmp_path):
    out = tmp_path / "导入"
    assert run("import", JIULITING, "-o", out).returncode == 0
    first = out / NAMES_000[0]
    first.write_bytes(b"filled by hand")
    again = run("import", JIULITING, "-o", out)
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    assert first.read_bytes() == b"filled by hand"
    forced = run("import", JIULITING, "-o", out, "--force")
    assert forced.returncode == 0 and first.read_bytes() != b"filled by hand"
    assert read_workbook(first).forms[0].data["项目名称"] == "编外人员工作经费"


def test_an_unreadable_input_is_exit_2_and_the_rest_is_imported(tmp_path):
    junk = tmp_path / "扫描件.txt"
    junk.write_bytes(b"\x00\x01binary")
    out = tmp_path / "导入"
    proc = run("import", junk, JIULITING, "-o", out)
    assert proc.returncode == 2
    assert f"{junk}:" in proc.stderr and "无法读取 1 个文件" in proc.stderr
    assert len(proc.stdout.splitlines()) == 3
    none = run("import", junk, "-o", tmp_path / "空")
    assert none.returncode == 2 and "没有找到可导入的表单" in none.stderr and not (tmp_path / "空").exists()


def test_the_output_must_be_a_folder(tmp_path):
    target = tmp_path / "a.xlsx"
    target.write_bytes(b"x")
    proc = run("import", JIULITING, "-o", target)
    assert proc.returncode == 2 and "不是文件夹" in proc.stderr and target.read_bytes() == b"x"


def test_same_names_are_made_unique(tmp_path):
    res = import_forms([JIULITING, JIULITING], tmp_path / "导入")
    names = sorted(p.path.name for p in res.imported)
    assert len(names) == 6 == len(set(names))
    assert set(NAMES_000) < set(names) and res.exit_code == 0 and not res.findings


def test_form_values_are_the_inputs_only():
    form = read_workbook(SOURCE / "004_zhongshan_2024_selfeval.txt").forms[0]
    values = form_values(form)
    assert "表单" not in values and "总分" not in values and "评分等级" not in values
    assert set(values["绩效指标"][0]) == {c.key for c in form.spec.indicators.columns}
    assert values["项目资金"]["当年财政拨款"]["年初预算数"] == form.data["项目资金"]["当年财政拨款"]["年初预算数"]
    assert "年度资金总额" not in values["项目资金"]   # a total: the template computes it
