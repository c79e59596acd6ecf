"""Text input (xltools/textin.py): lines → cells, what the PDF extractor broke mended, page-break
continuations joined; hostile text refused with a Chinese message before anything is parsed."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from xltools.errors import UnreadableFile
from xltools.read import read_workbook
from xltools.textin import TextLimits, load_text, mend, split_cells, text_grid

ROOT = Path(__file__).resolve().parent.parent
SEED_000 = ROOT / "samples" / "source" / "000_jiuliting_2026.txt"


# --- cells ---------------------------------------------------------------------------------------

def test_cells_by_tab_keep_leading_empty_cells_and_drop_trailing_ones():
    assert split_cells("\t\t质量指标\t工资发放准确率\t=100.00(%)\t\t") == ["", "", "质量指标", "工资发放准确率", "=100.00(%)"]


def test_cells_by_runs_of_spaces_on_a_line_without_tab():
    assert split_cells("项目名称  编外人员工作经费   项目资金 (元)") == ["项目名称", "编外人员工作经费", "项目资金 (元)"]
    assert split_cells("项目名称\u3000\u3000党群综合服务") == ["项目名称", "党群综合服务"]
    assert split_cells("   ") == []


@pytest.mark.parametrize("raw, mended", [
    ("=100.00(个 )", "=100.00(个)"),
    ("≤50000.00 (元/片区)", "≤50000.00(元/片区)"),
    ("35000.00(元 /片区)", "35000.00(元/片区)"),
    ("部分达成指 标并具有一定 效果", "部分达成指标并具有一定效果"),
    ("100% (2 人)", "100% (2 人)"),                 # kept as printed (NOTES.md)
    ("22 个居民区党组织党建工作", "22 个居民区党组织党建工作"),   # digit–CJK spacing kept
    ("<p>“科创中山 乐居家园”建设</p>", "<p>“科创中山 乐居家园”建设</p>"),   # long texts keep their spaces
])
def test_pdf_artefacts_are_mended_and_only_they(raw, mended):
    assert mend(raw) == mended


def test_page_break_continuations_are_joined_into_the_row_above():
    text = "\n".join([
        "\t\t22 个居民区党组织服务群众工作\t≤70000.00\t52272.73(元\t5.00\t5.00\t",   # line 1
        "",
        "\t\t活动成本\t(元/年/居民区)\t/年/居民区)\t\t\t",                            # line 3: continues 1
        "\t满意度指 标\t服务对象 满意度指\t活动参与人员满意度\t=100.00(个)",          # line 4
        "",
        "\t\t标\t\t",                                                                 # line 6: continues 4
        "",
        "\t\t\t长效管理机制\t合理",                                                   # line 8: a new row
        "-- -- --- -- --",                                                            # a rule: dropped
    ])
    rows, lines = text_grid(text)
    assert lines == [1, 4, 8]
    assert rows[0] == ["", "", "22 个居民区党组织服务群众工作活动成本", "≤70000.00(元/年/居民区)",
                       "52272.73(元/年/居民区)", "5.00", "5.00"]
    assert rows[1] == ["", "满意度指标", "服务对象满意度指标", "活动参与人员满意度", "=100.00(个)"]
    assert rows[2] == ["", "", "", "长效管理机制", "合理"]


def test_a_lone_fragment_joined_as_a_guess_is_noted_and_a_label_completed_is_not():
    notes: list = []
    rows, lines = text_grid("居民区党群服务站标准化建设达宣\t\t=100.00(个 )\n\n\t\t\t传知晓率\n"
                            "\t满意度指标\t服务对象 满意度指\t群众满意度\t满意\n\n\t\t标", notes=notes)
    assert rows[0][0] == "居民区党群服务站标准化建设达宣传知晓率" and rows[1][2] == "服务对象满意度指标"
    assert lines == [1, 4]
    assert [n for n, _, _ in notes] == [3] and "传知晓率" in notes[0][1] and "第1行" in notes[0][2]


def test_a_paragraph_broken_by_the_page_is_one_paragraph():
    rows, lines = text_grid("\t<p>完成 10 件体育设施器材的维修。通</p>\n\n\t<p>过项目的实施，提升社区体育水平。</p>")
    assert rows == [["", "<p>完成 10 件体育设施器材的维修。通过项目的实施，提升社区体育水平。</p>"]] and lines == [1]


def test_a_title_after_a_page_break_is_not_joined_to_the_line_above():
    rows, _ = text_grid("某某街道社区党群服务中心 2026 年度项目绩效目标汇总表，共三个项目的目标汇总如下\n\n财政项目支出绩效目标申报表")
    assert len(rows) == 2


def test_the_sheet_names_its_rows_by_the_line_of_the_file(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("\n\n标题\n\n项目名称\t某项目\n", "utf-8")
    (sheet,) = load_text(p)
    assert sheet.grid == [["标题", ""], ["项目名称", "某项目"]] and sheet.lines == [3, 5]


# --- encodings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_a_seed_reads_the_same_in_every_accepted_encoding(tmp_path, encoding):
    p = tmp_path / f"seed-{encoding}.txt"
    p.write_bytes(SEED_000.read_text("utf-8").encode(encoding))
    assert load_text(p)[0].grid == load_text(SEED_000)[0].grid
    assert [f.data for f in read_workbook(p).forms] == [f.data for f in read_workbook(SEED_000).forms]


# --- hostile text --------------------------------------------------------------------------------

def refused(p, limits=None) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as exc:
        load_text(p, limits)
    msg = exc.value.message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in msg) and "Traceback" not in msg
    return exc.value


def test_a_huge_text_is_refused_by_its_size_before_it_is_read(tmp_path):
    p = tmp_path / "huge.txt"
    with open(p, "wb") as fh:
        fh.truncate(6 * (1 << 20))   # sparse: 6 MiB of NULs
    assert refused(p).rule == "text-limit"


def test_limits_from_the_environment():
    assert TextLimits.from_env({"XLTOOLS_MAX_TEXT_MB": "0.5", "XLTOOLS_MAX_TEXT_LINES": "x"}) == TextLimits(max_text_mb=0.5)


@pytest.mark.parametrize("what, limits, rule", [
    ("\n".join(["a"] * 50), TextLimits(max_text_lines=10), "text-limit"),
    ("\t".join(["a"] * 50), TextLimits(max_line_cells=10), "text-limit"),
    ("\n".join(["a\tb"] * 50), TextLimits(max_text_cells=20), "text-limit"),
    ("x" * 5000, TextLimits(max_line_kb=1), "text-limit"),
])
def test_too_many_lines_or_cells_or_a_line_too_long(tmp_path, what, limits, rule):
    p = tmp_path / "big.txt"
    p.write_text(what, "utf-8")
    exc = refused(p, limits)
    assert exc.rule == rule and "超过上限" in exc.message


def test_binary_junk_is_refused(tmp_path):
    rnd = random.Random(12)
    for i in range(20):
        p = tmp_path / f"junk{i}.txt"
        p.write_bytes(bytes(rnd.randrange(256) for _ in range(4000)))
        assert refused(p).rule in ("text-not-text", "file-unreadable")


def test_nul_bytes_and_control_characters_are_refused(tmp_path):
    p = tmp_path / "nul.txt"
    p.write_bytes("项目名称\t某项目\n".encode() + b"\x00\x01")
    assert refused(p).rule == "text-not-text"
    p.write_bytes("项目名称\t某项目\n".encode() + b"\x01")
    exc = refused(p)
    assert exc.rule == "text-not-text" and "第 2 行" in exc.message and "U+0001" in exc.message


def test_an_encoding_that_is_none_of_the_accepted_ones_is_refused(tmp_path):
    p = tmp_path / "odd.txt"
    p.write_bytes(b"\x81\x30\xff\xfe\x80" * 10)   # not UTF-8, not GB18030
    assert refused(p).rule == "text-not-text"


def test_an_empty_text_is_refused(tmp_path):
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    assert refused(p).rule == "file-empty"


def test_a_text_with_no_form_is_not_a_form(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("会议纪要\n今天讨论了预算。\n", "utf-8")
    with pytest.raises(UnreadableFile) as exc:
        read_workbook(p)
    assert exc.value.rule == "not-a-form"


def test_load_text_does_not_follow_the_environment_when_given_limits(tmp_path, monkeypatch):
    monkeypatch.setenv("XLTOOLS_MAX_TEXT_MB", "0.000001")
    assert refused(SEED_000).rule == "text-limit"
    assert load_text(SEED_000, TextLimits())[0].grid
    assert os.environ["XLTOOLS_MAX_TEXT_MB"]


def test_a_folder_with_texts_reads_the_forms_and_reports_the_text_with_none(tmp_path):
    from xltools.validate import validate_paths

    (tmp_path / "收回").mkdir()
    (tmp_path / "收回" / "九里亭.txt").write_bytes(SEED_000.read_bytes())
    (tmp_path / "收回" / "说明.txt").write_text("请于月底前提交。\n", "utf-8")
    report = validate_paths([tmp_path / "收回"])
    assert len(report.forms) == 3
    assert [(Path(u.path).name, u.rule) for u in report.unreadable] == [("说明.txt", "not-a-form")]


def test_a_table_total_on_a_text_is_named_by_its_line():
    """A rule that names the line below a table's header (composition-unbalanced of the 2023
    layout, 资金构成 with no row) names it on a text as the reader does, 第32行 of seed 001 —
    not an internal error on a cell address that a text does not have (found on main)."""
    from xltools.validate import validate_paths

    report = validate_paths([ROOT / "samples" / "source" / "001_jiuting_2023.txt"])
    hits = [(f.cell, f.severity) for f in report.findings if f.rule == "composition-unbalanced"]
    assert hits == [("第32行", "error")]
