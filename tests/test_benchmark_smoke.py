"""The benchmark of issue 5 at N = 20, so that benchmarks/run.py cannot rot (not a timing test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = {"floor", "read", "validate", "merge", "help", "template", "batch"}


def test_benchmark_runs_at_n20(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--n", "20", "--units", "5",
         "--batch-units", "20", "--data-root", str(tmp_path / "data"), "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text("utf-8"))
    rows = result["rows"]
    assert {r["name"] for r in rows} == ROWS
    for r in rows:
        assert r["ok"], r
        assert r["seconds"] > 0, r
        assert r["peak_mib"] > 0, r
    per_file = {r["name"]: r for r in rows if r["n"] == 20 and r["name"] != "batch"}
    assert per_file["floor"]["ratio_to_floor"] == 1.0
    assert per_file["validate"]["ratio_to_floor"] > 0
    assert result["datasets"]["20"]["files"] == 20
    assert result["machine"]["nproc"] >= 1 and result["machine"]["python"]
    assert any(t["label"].startswith("--help") for t in result["targets"])
    assert "validate" in proc.stdout  # the table
