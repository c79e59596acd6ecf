"""A coordinator's Windows PC, simulated here (issue 10): a GBK console, spawned workers, a
closed pipe, a terminal that shows progress, and one summary line at the end of every batch."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import time

import pytest
from helpers import ROOT

SAMPLES = ROOT / "samples"
JIULITING = SAMPLES / "jiuliting-2026"
HONGQIAO = SAMPLES / "hongqiao-2026"
ZHONGSHAN = SAMPLES / "zhongshan-2024"
FORMS = (JIULITING, HONGQIAO, ZHONGSHAN)   # samples/ also holds the seeds' transcriptions (JSON)


def env(**extra) -> dict:
    # CI=true hides the progress display (cli._progress): it is set only where a test asks for it.
    out = {k: v for k, v in os.environ.items() if not k.startswith(("XLTOOLS_", "PYTHONIOENCODING")) and k != "CI"}
    out.update(PYTHONPATH=str(ROOT), **extra)
    return out


def run_bytes(*args, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True,
                          env=env(**extra), timeout=180)


# --- output that survives a Chinese Windows console ------------------------------------------


@pytest.mark.parametrize("encoding", ["cp936", "gbk"])
def test_text_report_on_a_gbk_console(encoding):
    ok = run_bytes("validate", JIULITING, PYTHONIOENCODING=encoding)
    assert ok.returncode == 0, ok.stderr.decode(encoding, "replace")
    text = ok.stdout.decode(encoding)   # what `> 结果.txt` holds on that PC
    assert f"! {JIULITING / '01_编外人员工作经费.xlsx'}：警告 3 条，提示 1 条 · 审核结论 良" in text
    assert "共 3 个文件、3 个表单" in text and "审核结论：良 2，中 1。" in text
    assert "3 份：通过 0，有警告 3，退回 0。" in ok.stderr.decode(encoding)
    bad = run_bytes("validate", HONGQIAO, PYTHONIOENCODING=encoding)
    assert bad.returncode == 1
    text = bad.stdout.decode(encoding)
    assert "[错误] 申报表!E14" in text and "≥" in text   # ≥ is in GBK; nothing was lost
    assert b"Traceback" not in bad.stderr and "内部错误" not in bad.stderr.decode(encoding)


def test_text_that_gbk_cannot_show_is_replaced_not_fatal(tmp_path):
    from helpers import valid_form, write_filled

    form = write_filled(tmp_path / "a.xlsx", valid_form(项目名称=None, 年度总体目标="目标 ✓ 🙂"))
    proc = run_bytes("validate", form, PYTHONIOENCODING="cp936")
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr
    assert "「项目名称」为必填项" in proc.stdout.decode("cp936")


@pytest.mark.parametrize("encoding", ["cp936", "gbk"])
def test_json_is_always_utf8(encoding):
    want = run_bytes("validate", HONGQIAO, "--format", "json", PYTHONIOENCODING="utf-8").stdout
    got = run_bytes("validate", HONGQIAO, "--format", "json", PYTHONIOENCODING=encoding)
    assert got.stdout == want and json.loads(got.stdout.decode("utf-8"))
    forms = run_bytes("read", JIULITING, PYTHONIOENCODING=encoding)
    assert forms.returncode == 0
    assert [f["项目名称"] for f in json.loads(forms.stdout.decode("utf-8"))] == ["编外人员工作经费", "党群综合服务",
                                                                               "社区自治管理"]


# --- worker processes started the Windows way ----------------------------------------------


def normalised_findings(proc) -> list:
    return sorted(json.dumps(f, ensure_ascii=False, sort_keys=True) for f in json.loads(proc.stdout.decode("utf-8"))["findings"])


@pytest.mark.slow
def test_spawned_workers_give_what_forked_ones_give(tmp_path):
    """Windows and macOS have only spawn: every pool (read, validate, merge, batch) run with it."""
    fork = {"XLTOOLS_JOBS": "2", "XLTOOLS_START_METHOD": "fork"}
    spawn = {"XLTOOLS_JOBS": "2", "XLTOOLS_START_METHOD": "spawn"}
    a = run_bytes("validate", *FORMS, "--format", "json", **fork)
    b = run_bytes("validate", *FORMS, "--format", "json", **spawn)
    assert a.returncode == b.returncode == 1 and b"Traceback" not in b.stderr
    assert normalised_findings(a) == normalised_findings(b) and len(normalised_findings(b)) > 40
    assert run_bytes("read", *FORMS, **spawn).stdout == run_bytes("read", *FORMS, **fork).stdout
    out = {}
    for name, how in (("fork", fork), ("spawn", spawn)):
        proc = run_bytes("merge", ZHONGSHAN, "-o", tmp_path / name, **how)   # two groups: two writers
        assert proc.returncode == 0, proc.stderr.decode()
        out[name] = {p.name: json.loads(run_bytes("read", p).stdout) for p in sorted((tmp_path / name).iterdir())}
    assert out["spawn"] == out["fork"] and len(out["spawn"]) == 2
    roster = tmp_path / "单位清单.csv"
    roster.write_text("实施单位,主管部门\n" + "".join(f"单位{i:02d},区政府\n" for i in range(6)), encoding="utf-8")
    proc = run_bytes("template", "project-target", "--batch", roster, "-o", tmp_path / "batch", **spawn)
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(list((tmp_path / "batch").glob("*.xlsx"))) == 6


def test_pool_start_method(monkeypatch):
    import threading

    from xltools import pool

    monkeypatch.setenv("XLTOOLS_START_METHOD", "spawn")
    assert pool.context().get_start_method() == "spawn"
    monkeypatch.delenv("XLTOOLS_START_METHOD")
    assert pool.context().get_start_method() == "fork"   # Linux, no other thread
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:   # a caller with threads (a Jupyter kernel): forking could deadlock the children
        assert pool.context().get_start_method() == "spawn"
    finally:
        stop.set()
        t.join()


# --- the terminal: options, pipes, streams, progress ----------------------------------------


def test_version():
    from xltools import __version__

    for flag in ("--version", "-V"):
        proc = run_bytes(flag)
        assert proc.returncode == 0 and proc.stdout.decode().strip() == f"xltools {__version__}"


def test_quiet_shows_errors_and_the_summary_only():
    proc = run_bytes("validate", HONGQIAO, "--quiet")
    assert proc.returncode == 1
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert "[错误] 申报表!E14" in out and "[警告]" not in out and "√" not in out
    assert "9 份：通过 0，有警告 5，退回 4。" in err
    merged = run_bytes("merge", HONGQIAO, "-o", "/nonexistent-never-written.xlsx", "-q")
    assert merged.returncode == 1 and "[警告]" not in merged.stderr.decode()


def test_data_on_stdout_messages_on_stderr(tmp_path):
    report = run_bytes("validate", JIULITING)
    assert report.stdout.decode().startswith("! ") and "共 3 个文件" in report.stdout.decode()
    assert report.stderr.decode().strip() == "3 份：通过 0，有警告 3，退回 0。"
    out = tmp_path / "汇总表.xlsx"
    merged = run_bytes("merge", JIULITING, "-o", out)
    assert merged.stdout.decode().splitlines() == [str(out)]
    assert merged.stderr.decode().strip() == "已生成 1 个汇总表，共 3 个表单。"
    read = run_bytes("read", JIULITING)
    assert json.loads(read.stdout) and read.stderr.decode().strip() == "读取 3 个文件、3 个表单。"
    t = run_bytes("template", "project-target", "-o", tmp_path / "t.xlsx")
    assert t.stdout.decode().splitlines() == [str(tmp_path / "t.xlsx")] and "已生成模板" in t.stderr.decode()


def test_a_closed_pipe_is_not_an_error():
    """`xltools read … | head -1`: click turns EPIPE into exit 1, which means "errors found"."""
    proc = subprocess.Popen([sys.executable, "-m", "xltools", "read", *FORMS], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env())
    first = proc.stdout.read(1)   # the output (~130 KB) is more than a pipe holds: the writer blocks
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and first == b"["
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err


def run_on_terminal(args: list[str], timeout: float = 60) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (as a coordinator's console) and stdout on a pipe;
    return the exit code and everything the terminal was sent."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "xltools", *args], stdout=subprocess.DEVNULL, stderr=slave,
                            env=env(COLUMNS="120", TERM="xterm"))
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_progress_on_a_terminal_shows_count_total_and_time_left(tmp_path):
    folder = tmp_path / "收回"
    folder.mkdir()
    for i in range(40):   # enough to be read by the pool and to take a moment
        shutil.copy(JIULITING / "01_编外人员工作经费.xlsx", folder / f"{i:02d}.xlsx")
    code, screen = run_on_terminal(["validate", str(folder)])
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    assert code == 1   # 40 copies of one project: duplicates
    assert re.search(r"读取 .*\d+/40 · 剩余", plain), plain[-2000:]
    assert "审核 40 个表单" in plain
    assert "40 份：通过 0，有警告 1，退回 39。" in plain   # the first: the sample's content warnings   # the report went to a pipe: the summary is shown
    code, screen = run_on_terminal(["merge", str(ZHONGSHAN), "-o", str(tmp_path / "汇总")])
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    assert code == 0 and re.search(r"写出汇总表 .*\d/2", plain) and "已生成 2 个汇总表，共 6 个表单" in plain


def test_no_progress_on_a_pipe_or_under_ci():
    proc = run_bytes("validate", JIULITING, CI="true")
    assert b"\x1b[" not in proc.stderr and b"\x1b[" not in proc.stdout
    code, screen = run_on_terminal(["validate", str(JIULITING), "--quiet"])
    assert "读取" not in screen and "3 份：通过 0，有警告 3" in screen
