"""Hostile text input (issue 12 §3), end to end: junk handed to read/validate/import ends with
exit 2, a Chinese message and nothing written (never a traceback); any bytes, and a seed with
lines cut or doubled, end as forms or an UnreadableFile. (xltools/textin.py's own refusals —
size, NUL, control characters, encodings, limits — are tests/test_textin.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltools.errors import UnreadableFile
from xltools.read import read_workbook

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "samples" / "source" / "000_jiuliting_2026.txt"


def test_the_command_line_refuses_with_exit_2_and_no_traceback(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(os.urandom(4096) + b"\x00")
    for cmd in (["read"], ["validate"], ["import", "-o", str(tmp_path / "out")]):
        proc = subprocess.run([sys.executable, "-m", "xltools", *cmd, str(junk)],
                              capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2, (cmd, proc.stdout, proc.stderr)
        text = proc.stdout + proc.stderr
        assert "Traceback" not in text and "junk.txt" in text and "拒绝" in text
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
