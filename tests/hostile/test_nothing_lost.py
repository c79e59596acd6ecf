"""Nothing lost, nothing run: an interrupted merge leaves the earlier 汇总表 intact and no partial
or temporary file; text that looks like a formula, typed by staff, is written as text."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import corpus
import pytest
from hostile_util import ROOT, SAMPLES, clean_env, copy_samples, run_cli, sha256, tree_hashes
from lxml import etree

import xltools.merge
from xltools.spec import load_spec
from xltools.template import template_bytes

SPEC = load_spec("project-target")
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def renamed_copies(dest: Path, n: int) -> list[Path]:
    """n copies of sample 01, each with its own 项目名称 (so none is a duplicate)."""
    dest.mkdir(parents=True, exist_ok=True)
    members = corpus.sample_members()
    out = []
    for k in range(n):
        path = dest / f"{k:03d}_编外人员工作经费.xlsx"
        corpus.write_members(path, [(name, data.replace("<t>编外人员工作经费</t>".encode(),
                                                         f"<t>编外人员工作经费 第{k:03d}号</t>".encode())
                                     if name == corpus.SST else data) for name, data in members])
        out.append(path)
    return out


def test_merge_failing_half_way_keeps_the_earlier_output(tmp_path, monkeypatch):
    inputs = tmp_path / "收回"
    copy_samples(inputs)
    out = tmp_path / "汇总表"
    first = xltools.merge.merge_workbooks([inputs], out)
    assert first.exit_code == 0 and len(first.outputs) == 1
    before = tree_hashes(out)
    inputs_before = tree_hashes(inputs)

    def boom(*args, **kwargs):
        raise RuntimeError("磁盘已满（模拟）")

    # The overview and the project sheets are written, then writing the details fails.
    monkeypatch.setattr(xltools.merge, "_write_details", boom)
    with pytest.raises(RuntimeError):
        xltools.merge.merge_workbooks([inputs], out, force=True)
    assert tree_hashes(out) == before, "the earlier 汇总表 was changed or a file was left behind"
    assert tree_hashes(inputs) == inputs_before


def _open_paths(pid: int) -> list[str]:
    paths = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                paths.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return paths


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see when the write starts")
def test_merge_killed_half_way_leaves_no_partial_file(tmp_path):
    inputs = tmp_path / "收回"
    renamed_copies(inputs, 200)
    out = tmp_path / "汇总表"
    earlier = run_cli("merge", str(SAMPLES), "-o", str(out))
    assert earlier.code == 0, earlier
    target = next(out.glob("*.xlsx"))
    before = sha256(target)
    inputs_before = tree_hashes(inputs)
    leftovers: list[str] = []
    for wait in (0.0, 0.4):
        proc = subprocess.Popen([sys.executable, "-m", "xltools", "merge", str(inputs), "-o", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(ROOT), env=clean_env())
        deadline = time.monotonic() + 120
        writing = None
        existing = set(os.listdir(out))
        while proc.poll() is None and time.monotonic() < deadline:
            # Writing has begun: a file in the output folder is open, or a new name appeared there.
            if any(p.startswith(str(out)) for p in _open_paths(proc.pid)) or set(os.listdir(out)) - existing:
                writing = time.monotonic()
                break
            time.sleep(0.002)
        assert writing is not None or proc.poll() is not None, "merge never started writing"
        time.sleep(wait)
        proc.send_signal(signal.SIGKILL)   # the merge we started, by its pid
        proc.wait(timeout=60)
        names = sorted(p.name for p in out.iterdir())
        extra = [n for n in names if n != target.name]
        if sha256(target) != before:
            # The kill came after the rename: the new 汇总表 must then be complete.
            run = run_cli("read", str(target))
            assert run.code == 0 and len(json.loads(run.out)) == 200, run
            before = sha256(target)
        leftovers += extra
        for n in extra:   # clean up for the next round
            (out / n).unlink()
    assert tree_hashes(inputs) == inputs_before
    if leftovers:
        from xltools import fsutil

        if not getattr(fsutil, "_anonymous_file", None):
            pytest.xfail(f"SIGKILL during the write left {leftovers}: xltools.fsutil.atomic_path names its "
                         "temporary file from the start (fix proposed: an unnamed O_TMPFILE, see docs/safety.md)")
        pytest.fail(f"a killed merge left {leftovers} in the output folder")


# ---------------------------------------------------------------------------------------------
# Formula-looking text


DANGEROUS = {
    "项目名称": "=HYPERLINK(\"http://example.invalid/\",\"点我\")",
    "主管部门": "@SUM(1+1)*cmd|' /C calc'!A0",
    "项目总目标": "\t=cmd|' /C calc'!A0",
    "年度总体目标": "-2+3 减少投诉\n=1+1",
}
DANGEROUS_ROWS = [("+SUM(1,2)", "=1+2"), ("-1+1", "@A1"), ("\r=2*3", "=100.00(%)")]


def _strip(text: str) -> str:
    """What the reader makes of it: surrounding whitespace (tab, CR) trimmed."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip(" \t\n")


def _dangerous_form(k: int) -> dict:
    form = json.loads((ROOT / "samples" / "source" / "000_jiuliting_2026.json").read_text("utf-8"))[k]
    values = {key: v for key, v in form.items() if key != "表单"}
    values.update(DANGEROUS)
    values["项目名称"] = DANGEROUS["项目名称"] + f" {k}"
    rows = [{c: r[c] for c in ("一级指标", "二级指标", "三级指标", "指标值")} for r in form["绩效指标"]]
    for i, (name, target) in enumerate(DANGEROUS_ROWS):
        rows[i]["三级指标"] = name
        rows[i]["指标值"] = target
    values["绩效指标"] = rows
    return values


def _cells(xlsx: Path) -> dict[str, dict[str, tuple[str | None, str | None, str | None]]]:
    """sheet name → {ref: (type, text value, formula)} from the raw XML of every worksheet."""
    with zipfile.ZipFile(xlsx) as zf:
        wb = etree.fromstring(zf.read("xl/workbook.xml"))
        rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        sst = []
        if "xl/sharedStrings.xml" in zf.namelist():
            for si in etree.fromstring(zf.read("xl/sharedStrings.xml")).findall("m:si", NS):
                sst.append("".join(si.itertext()))
        out = {}
        for sheet in wb.find("m:sheets", NS):
            part = "xl/" + targets[sheet.get(f"{{{REL_NS}}}id")].lstrip("/").removeprefix("xl/")
            root = etree.fromstring(zf.read(part))
            cells = {}
            for c in root.iter(f"{{{NS['m']}}}c"):
                f = c.find("m:f", NS)
                v = c.find("m:v", NS)
                t = c.get("t")
                if t == "s" and v is not None:
                    text = sst[int(v.text)]
                elif t == "inlineStr":
                    text = "".join(c.find("m:is", NS).itertext())
                else:
                    text = v.text if v is not None else None
                cells[c.get("r")] = (t, text, f.text if f is not None else None)
            out[sheet.get("name")] = cells
        return out


def test_formula_looking_text_is_written_as_text(tmp_path):
    inputs = tmp_path / "收回"
    inputs.mkdir()
    for k in range(2):
        data, *_ = template_bytes(SPEC, _dangerous_form(k))
        (inputs / f"{k}.xlsx").write_bytes(data)
    hashes = tree_hashes(inputs)
    check = run_cli("validate", "--format", "json", str(inputs))
    assert check.code == 0, check
    out = tmp_path / "汇总表.xlsx"
    merged = run_cli("merge", str(inputs), "-o", str(out))
    assert merged.code == 0, merged
    assert tree_hashes(inputs) == hashes
    cells = _cells(out)
    # 1. The only formulas are xltools' own: 合计 SUMs on the overview and the totals of each form.
    overview = next(iter(cells))
    totals = {f.ref for f in SPEC.totals}
    for sheet, refs in cells.items():
        for ref, (_, _, formula) in refs.items():
            if formula is None:
                continue
            if sheet == overview:
                assert formula.startswith("SUM(") and ":" in formula and "(" not in formula[4:], (sheet, ref, formula)
            else:
                assert ref in totals and formula.startswith("IF(COUNT("), (sheet, ref, formula)
    # 2. Every dangerous text is there, as a string cell, never as a formula.
    wanted = {_strip(v) for v in DANGEROUS.values()} | {_strip(a) for pair in DANGEROUS_ROWS for a in pair}
    wanted |= {_strip(DANGEROUS["项目名称"]) + f" {k}" for k in range(2)}
    wanted.discard(_strip(DANGEROUS["项目名称"]))
    found: dict[str, int] = {}
    for sheet, refs in cells.items():
        for ref, (t, text, formula) in refs.items():
            if text in wanted:
                assert t in ("s", "inlineStr") and formula is None, (sheet, ref, t, text, formula)
                found[text] = found.get(text, 0) + 1
    assert set(found) == wanted, wanted - set(found)
    # 3. And xltools reads them back as the same text.
    read = json.loads(run_cli("read", str(out)).out)
    assert read[0]["主管部门"] == DANGEROUS["主管部门"]
    assert read[0]["项目总目标"] == _strip(DANGEROUS["项目总目标"])
    assert [r["指标值"] for r in read[0]["绩效指标"][:3]] == [_strip(b) for _, b in DANGEROUS_ROWS]
