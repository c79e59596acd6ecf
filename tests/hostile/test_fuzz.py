"""Property: whatever a person (or a broken mail client) does to a filled submission — values of
any type in any cell once the protection is removed, rows deleted or inserted, sheets renamed or
added, bytes flipped inside the zip — reading and validating it ends as data, findings, or an
UnreadableFile with a message. Never another exception, never a hang."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import signal
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest
from hostile_util import SAMPLES
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from xltools.errors import UnreadableFile
from xltools.read import ReadResult, read_one, read_workbook
from xltools.rules import Finding
from xltools.validate import Report, validate_forms, validate_paths

BASES = [p.read_bytes() for p in sorted(SAMPLES.glob("*.xlsx"))]
CJK = re.compile(r"[\u4e00-\u9fff]")
HANG_SECONDS = 30

# Text a person might type: CJK, ASCII, full-width digits, operators, newlines — and formulas.
TEXT = st.text(alphabet=st.sampled_from(list("项目名称产出指标效益满意度≥≤=＞＜%（）()0123456789０１２.,，- \n元人次"
                                             "abcXYZ!@#$&*+/")), max_size=40)
FORMULAS = st.sampled_from(["=1/0", "=SUM(A1:A3)", "=NA()", "=A1", "=HYPERLINK(\"http://x\",\"y\")", "=\"文字\"",
                            "=INDIRECT(\"Z99\")", "=1+", "=XFD1048576"])
VALUES = st.one_of(
    st.none(), TEXT, FORMULAS,
    st.integers(min_value=-10**15, max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 12, 31)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)),
    st.text(alphabet="长文本", min_size=3000, max_size=6000),
)
TITLE = st.text(alphabet=st.sampled_from(list("申报表汇总_xltoolsAbc123 ")), min_size=1, max_size=20).map(str.strip).filter(bool)

EDIT = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 5), st.integers(1, 60), st.integers(1, 8), VALUES),
    st.tuples(st.just("delete_rows"), st.integers(0, 5), st.integers(1, 60), st.integers(1, 6)),
    st.tuples(st.just("insert_rows"), st.integers(0, 5), st.integers(1, 60), st.integers(1, 6)),
    st.tuples(st.just("rename"), st.integers(0, 5), TITLE),
    st.tuples(st.just("add_sheet"), TITLE, st.booleans()),
)
FLIPS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(1, 255)), max_size=3)


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: int):
    def alarm(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def mutate(base: bytes, edits, flips) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(base))
    wb.security = None
    for ws in wb.worksheets:
        ws.protection.sheet = False
    for edit in edits:
        kind = edit[0]
        if kind == "add_sheet":
            _, title, copy_form = edit
            new = wb.copy_worksheet(wb.worksheets[0]) if copy_form else wb.create_sheet()
            new.title = title if title not in wb.sheetnames else new.title
            continue
        ws = wb.worksheets[edit[1] % len(wb.worksheets)]
        if kind == "set":
            _, _, row, col, value = edit
            cell = ws.cell(row, col)
            if type(cell).__name__ == "MergedCell":
                continue   # openpyxl refuses to write inside a merged range, as Excel does
            cell.value = value
        elif kind == "delete_rows":
            ws.delete_rows(edit[2], edit[3])
        elif kind == "insert_rows":
            ws.insert_rows(edit[2], edit[3])
        elif kind == "rename" and edit[2] not in wb.sheetnames:
            ws.title = edit[2]
    buf = io.BytesIO()
    wb.save(buf)
    data = bytearray(buf.getvalue())
    for pos, mask in flips:
        data[pos % len(data)] ^= mask
    return bytes(data)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# 60 examples in the suite (about 10 s); FUZZ_EXAMPLES=2000 FUZZ_RANDOM=1 for a longer random hunt.
@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None, database=None,
          derandomize=not os.environ.get("FUZZ_RANDOM"),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(base=st.integers(0, len(BASES) - 1), edits=st.lists(EDIT, max_size=8), flips=FLIPS)
def test_mutated_submissions_end_as_data_findings_or_a_message(fuzz_dir, base, edits, flips):
    path = fuzz_dir / "mutated.xlsx"
    path.write_bytes(mutate(BASES[base], edits, flips))
    with time_limit(HANG_SECONDS):
        try:
            result = read_workbook(path)
        except UnreadableFile as exc:   # the only exception the reader may raise
            assert exc.message and CJK.search(exc.message), exc.message
            assert exc.rule
            event(f"unreadable: {exc.rule}")
        else:
            assert isinstance(result, ReadResult) and result.forms
            findings = validate_forms(result.forms)
            assert all(isinstance(f, Finding) and f.message for f in findings)
            event("read, with errors" if any(f.is_error for f in findings) else "read, no error")
        res = read_one("mutated.xlsx", path)
        assert isinstance(res, (ReadResult, UnreadableFile))
        report = validate_paths([path])
        assert isinstance(report, Report) and report.exit_code in (0, 1, 2)
        if report.unreadable:
            assert [f.cell for f in report.findings if f.rule == report.unreadable[0].rule] == [None]
