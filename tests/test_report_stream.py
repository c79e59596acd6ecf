"""The streamed reports of `xltools validate` (issue 17) are byte for byte the whole texts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xltools.cli import _batched, format_report, report_json, report_json_pieces, report_lines
from xltools.validate import Report, validate_paths

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reports():
    empty = Report()
    return [validate_paths([ROOT / "samples" / "hongqiao-2026"]), validate_paths([ROOT / "samples" / "zhongshan-2024"],
            profile="shanghai"), empty]


@pytest.mark.parametrize("size", [1, 7, 1 << 16])
def test_json_pieces_are_the_json_report(reports, size):
    for report in reports:
        whole = json.dumps(report_json(report), ensure_ascii=False, indent=2) + "\n"
        assert "".join(_batched(report_json_pieces(report), size=size)) == whole
        assert json.loads(whole)["findings"] == [f.to_dict() for f in report.findings]


@pytest.mark.parametrize("size", [1, 50, 1 << 16])
@pytest.mark.parametrize("quiet", [False, True])
def test_text_lines_are_the_text_report(reports, size, quiet):
    for report in reports:
        assert "".join(_batched(report_lines(report, quiet), "\n", size=size)) == format_report(report, quiet)
