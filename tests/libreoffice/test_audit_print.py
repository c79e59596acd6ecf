"""The 审核报告 and the 报送台账 printed by LibreOffice (issue 15): A4 landscape, one page wide at a
readable size, the header row on every page, and every message whole in the PDF."""

from __future__ import annotations

import re
import subprocess

import pytest
from lo_util import ROOT
from test_print import lines_of, pages_of, raw_text, squeeze

from xltools.audit import write_audit_report
from xltools.pdfout import to_pdf
from xltools.status import status_paths, write_status_report
from xltools.validate import validate_paths

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow]

SAMPLES = ROOT / "samples"
HEADERS = {"汇总": "序号文件工作表", "明细": "序号文件工作表单元格级别规则审核意见", "规则统计": "规则规则说明级别条数文件数",
           "报送台账": "序号实施单位项目名称状态审核结论"}


@pytest.fixture(scope="module")
def printed(libreoffice_ready, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("auditprint")
    report = validate_paths([SAMPLES / "jiuliting-2026", SAMPLES / "hongqiao-2026", SAMPLES / "jiangchuan-2026"])
    audit = write_audit_report(report, tmp / "审核报告.xlsx")
    roster = tmp / "单位清单.csv"
    roster.write_text("实施单位,主管部门\n上海市闵行区虹桥镇社区党群服务中心,虹桥镇\n某某街道社区服务中心,某某街道\n",
                      encoding="utf-8")
    result = status_paths([SAMPLES / "hongqiao-2026", SAMPLES / "jiuliting-2026"], roster)
    ledger = write_status_report(result, tmp / "台账.xlsx")
    made = to_pdf([audit, ledger])
    assert made.failed == []
    return report, audit.with_suffix(".pdf"), ledger.with_suffix(".pdf")


def page_sizes(pdf) -> list[tuple[float, float]]:
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r'<page width="([\d.]+)" height="([\d.]+)"', out)]


def test_a4_landscape(printed):
    _, audit, ledger = printed
    for pdf in (audit, ledger):
        sizes = page_sizes(pdf)
        assert sizes and all(abs(w - 841.9) < 2 and abs(h - 595.3) < 2 for w, h in sizes), sizes


def test_every_page_carries_the_header_row(printed):
    _, audit, ledger = printed
    for pdf in (audit, ledger):
        pages = [lines_of(p) for p in pages_of(pdf)]
        assert len(pages) >= (3 if pdf == audit else 1)
        for i, lines in enumerate(pages):
            top = [squeeze(x) for x in lines[:5]]
            assert any(line.startswith(h) for line in top for h in HEADERS.values()), (pdf.name, i, top)
    # the 明细 runs over several pages: each repeats its header
    detail = [p for p in (lines_of(p) for p in pages_of(audit))
              if any(squeeze(x).startswith(HEADERS["明细"]) for x in p[:5])]
    assert len(detail) >= 3


def test_every_message_is_whole_in_the_pdf(printed):
    report, audit, _ = printed
    text = raw_text(audit)
    missing = [f.message for f in report.findings if squeeze(f.message) not in text]
    assert missing == []


def test_one_page_wide_at_a_readable_size(printed):
    _, audit, ledger = printed
    for pdf in (audit, ledger):
        for page in pages_of(pdf):
            body = [w for w in page[3:] if re.search(r"[\u4e00-\u9fff]", w[4])]
            sizes = sorted((w[3] - w[1]) / 1.30 for w in body)   # a CJK word is 1.30 × its font size tall
            assert sizes and sizes[len(sizes) // 10] >= 8.5, (pdf.name, sizes[:5])
            assert max(w[2] for w in page) <= 841.9    # nothing printed beyond the page's right edge
