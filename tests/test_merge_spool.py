"""merge with bounded memory (issue 17): groups spooled to disk, a group too big for one 汇总表
split into numbered ones that read back; a batch's report keeps slim forms."""

from __future__ import annotations

import pytest

from tests.helpers import expected, valid_form, write_filled
from xltools.merge import max_forms_per_summary, merge_workbooks
from xltools.read import read_workbook
from xltools.validate import BATCH_MIN, validate_paths


def _batch(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    forms = [valid_form(项目名称=f"测试项目{i:02d}") for i in range(n)]
    for i, form in enumerate(forms):
        write_filled(folder / f"{i:02d}.xlsx", form)
    return forms


def test_cap_follows_the_reader_limits(monkeypatch):
    monkeypatch.delenv("XLTOOLS_MAX_ENTRIES", raising=False)
    assert max_forms_per_summary() == 500
    monkeypatch.setenv("XLTOOLS_MAX_ENTRIES", "25")
    assert max_forms_per_summary() == 5


def test_big_group_split_into_numbered_summaries_that_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("XLTOOLS_MAX_ENTRIES", "25")   # 5 forms per 汇总表: 12 forms make 3
    forms = _batch(tmp_path / "in", 12)
    result = merge_workbooks([tmp_path / "in"], tmp_path / "out")
    assert result.exit_code == 0, result.refused
    names = [p.name for p in result.outputs]
    stem = "上海市松江区九里亭街道社区党群服务中心_2026_申报汇总表"
    assert names == [f"{stem}-1.xlsx", f"{stem}-2.xlsx", f"{stem}-3.xlsx"]
    back = [read_workbook(p).forms for p in result.outputs]   # with the same (lowered) limits
    assert [len(f) for f in back] == [5, 5, 2]
    assert [f.data for part in back for f in part] == [expected(f) for f in forms]


def test_one_file_output_refuses_a_group_over_the_cap(tmp_path, monkeypatch):
    from xltools.errors import UsageError

    monkeypatch.setenv("XLTOOLS_MAX_ENTRIES", "25")
    _batch(tmp_path / "in", 6)
    with pytest.raises(UsageError, match="最多 5 个表单"):
        merge_workbooks([tmp_path / "in"], tmp_path / "汇总.xlsx")
    assert not (tmp_path / "汇总.xlsx").exists()


def test_batch_report_keeps_slim_forms(tmp_path):
    _batch(tmp_path / "in", BATCH_MIN)
    report = validate_paths([tmp_path / "in"])
    assert len(report.forms) == BATCH_MIN and report.exit_code == 0
    form = report.forms[3]
    assert form.file.endswith("03.xlsx") and form.sheet == "申报表" and form.kind == "project-target"
    assert form.spec.value(form.data, "name") == "测试项目03"
    assert form.identity() == ("测试项目03", "上海市松江区九里亭街道社区党群服务中心", 2026)
    assert "年度总体目标" not in form.data        # not kept: not what cross-file rules read
    assert "绩效指标" not in form.data and len(form.indicator_pairs) == 8 * 6   # 6 indicators, as digests
    assert [s["name"] for s in report.summaries()][:2] == ["测试项目00", "测试项目01"]


def test_merge_skips_forms_with_errors_with_spooling(tmp_path):
    _batch(tmp_path / "in", BATCH_MIN)
    bad = valid_form(项目名称="有错的项目", 计划开始日期="不是日期")
    write_filled(tmp_path / "in" / "99.xlsx", bad)
    result = merge_workbooks([tmp_path / "in"], tmp_path / "out", skip_invalid=True)
    (out,) = result.outputs
    names = [f.data["项目名称"] for f in read_workbook(out).forms]
    assert names == [f"测试项目{i:02d}" for i in range(BATCH_MIN)]
    assert any(what.endswith("99.xlsx!申报表") for what, _ in result.skipped)


@pytest.mark.slow
def test_summary_at_the_cap_reads_back(tmp_path, monkeypatch):
    """500 forms (the default cap) in one 汇总表: our own reader, default limits, reads them all."""
    for k in ("XLTOOLS_MAX_ENTRIES", "XLTOOLS_MAX_CELLS", "XLTOOLS_MAX_SHEETS", "XLTOOLS_MAX_TOTAL_MB"):
        monkeypatch.delenv(k, raising=False)
    from xltools.merge import write_summary

    one = read_workbook(write_filled(tmp_path / "a.xlsx", valid_form())).forms[0]
    forms = []
    for i in range(max_forms_per_summary()):
        f = read_workbook(tmp_path / "a.xlsx").forms[0] if i == 0 else type(one)(
            one.kind, {**one.data, "项目名称": f"测试项目{i:03d}"}, one.file, one.sheet)
        forms.append(f)
    write_summary(tmp_path / "big.xlsx", forms)
    back = read_workbook(tmp_path / "big.xlsx").forms
    assert len(back) == 500 and back[-1].data["项目名称"] == "测试项目499"
