"""Hostile text input (issue 12 §3): a .txt handed to read/validate/import that is huge, binary
junk, in an odd encoding, or holds no form ends as an UnreadableFile with a Chinese message
(exit 2 on the command line, never a traceback); the encodings a published text comes in
(UTF-8, UTF-8 with BOM, UTF-16 with BOM, GB18030) read to the same form."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltools.errors import UnreadableFile
from xltools.read import read_workbook
from xltools.textin import TextLimits, load_text, split_line

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "samples" / "source" / "000_jiuliting_2026.txt"
CJK = "项目名称"


def _refused(path, rule: str, words: str) -> None:
    with pytest.raises(UnreadableFile) as info:
        read_workbook(path)
    assert info.value.rule == rule, info.value.message
    assert words in info.value.message and any("\u4e00" <= ch <= "\u9fff" for ch in info.value.message)


def test_cells_split_on_tabs_and_runs_of_spaces():
    assert split_line("项目名称\t编外人员工作经费\t\t项目性质\t") == ["项目名称", "编外人员工作经费", "", "项目性质"]
    assert split_line("项目资金 (元)    项目资金总额:") == ["项目资金 (元)", "项目资金总额:"]
    assert split_line("") == []


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b""),
                                           ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_the_encodings_of_a_published_text_read_the_same(tmp_path, encoding, bom):
    want = [f.data for f in read_workbook(SEED).forms]
    path = tmp_path / f"seed-{encoding}.txt"
    path.write_bytes(bom + SEED.read_text("utf-8").encode(encoding))
    assert [f.data for f in read_workbook(path).forms] == want


def test_binary_junk_is_refused(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 10)
    _refused(junk, "text-not-text", "NUL")
    ctrl = tmp_path / "ctrl.txt"
    ctrl.write_bytes("项目名称\t甲\n第二行\x01\x02\n".encode())
    _refused(ctrl, "text-not-text", "第 2 行")


def test_text_in_no_known_encoding_is_refused(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_bytes("项目名称\n".encode() + b"\x81\x20\xff\xfe\xfd" * 3)
    _refused(path, "text-not-text", "GB18030")


def test_a_huge_text_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("XLTOOLS_MAX_TEXT_MB", "1")
    path = tmp_path / "huge.txt"
    with open(path, "wb") as fh:
        fh.truncate(3 << 20)   # sparse: 3 MB of NULs, never written
    _refused(path, "text-limit", "1 MB")


def test_too_many_lines_or_cells_or_a_long_line(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("甲\n" * 30, "utf-8")
    with pytest.raises(UnreadableFile) as info:
        load_text(lines, TextLimits(max_text_lines=20))
    assert info.value.rule == "text-limit" and "行数 30 超过上限 20" in info.value.message
    cells = tmp_path / "cells.txt"
    cells.write_text("\t".join(["甲"] * 200) + "\n", "utf-8")
    _refused(cells, "text-limit", "第 1 行的单元格数 200 超过上限 104")
    long = tmp_path / "long.txt"
    long.write_text("甲" * 70_000, "utf-8")
    _refused(long, "text-limit", "第 1 行的字符数")


def test_a_text_without_a_form_is_not_a_form(tmp_path):
    path = tmp_path / "会议纪要.txt"
    path.write_text("会议纪要\n\t出席：张三、李四\n", "utf-8")
    _refused(path, "not-a-form", "不是 xltools 可识别的表单")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFile) as info:
        read_workbook(empty)
    assert info.value.rule in ("file-empty", "file-not-xlsx")


def test_the_command_line_refuses_with_exit_2_and_no_traceback(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(os.urandom(4096) + b"\x00")
    for cmd in (["read"], ["validate"], ["import", "-o", str(tmp_path / "out")]):
        proc = subprocess.run([sys.executable, "-m", "xltools", *cmd, str(junk)],
                              capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2, (cmd, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and "已拒绝读取" in proc.stdout + proc.stderr
    assert not (tmp_path / "out").exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_any_bytes_end_as_forms_or_a_refusal(tmp_path, data):
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    try:
        read_workbook(path)
    except UnreadableFile as exc:
        assert exc.message


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=400), max_size=5), st.data())
def test_a_seed_with_lines_cut_or_doubled_still_reads_or_refuses(tmp_path, cuts, data):
    lines = SEED.read_text("utf-8").splitlines()
    for i in cuts:
        i %= len(lines)
        if data.draw(st.booleans()):
            del lines[i]
        else:
            lines.insert(i, lines[i])
    path = tmp_path / "cut.txt"
    path.write_text("\n".join(lines), "utf-8")
    try:
        res = read_workbook(path)
    except UnreadableFile as exc:
        assert exc.message
    else:
        assert all(f.kind for f in res.forms)
