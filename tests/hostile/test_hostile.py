"""Hostile and broken files: every one a clean exit 2 with a Chinese message naming the file,
within 5 seconds and 400 MB per process, no traceback, the input untouched — alone, and as one
of many files in a folder (the others are still read, validated and merged)."""

from __future__ import annotations

import json
import pickle
import shutil
import zipfile
from pathlib import Path

import corpus
import pytest
from hostile_util import (
    CJK,
    COMMANDS,
    JIULITING_TOTAL,
    RSS_LIMIT_MB,
    SAMPLES,
    TIME_LIMIT,
    copy_samples,
    run_cli,
    run_many,
    sha256,
    tree_hashes,
)

from xltools.errors import UnreadableFile
from xltools.read import expand_paths, read_one
from xltools.safety import Limits, precheck

CASE_NAMES = [c.name for c in corpus.CASES]
CLI_CASES = [c.name for c in corpus.CASES if not c.extra]


def _case(built: dict, name: str) -> corpus.Case:
    if name not in built:
        pytest.skip(f"{name}: needs {corpus.CASES[CASE_NAMES.index(name)].needs}, not available here")
    return built[name]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", CLI_CASES)
def test_each_hostile_file_is_a_clean_exit_2(hostile_runs, name, command):
    case = _case(hostile_runs["built"], name)
    path = str(hostile_runs["folder"] / name)
    run = hostile_runs["runs"][(name, command)]
    assert run.code == 2, run
    assert "Traceback" not in run.err and "Traceback" not in run.out, run
    assert run.seconds < TIME_LIMIT, run
    assert run.rss_mb < RSS_LIMIT_MB, run
    assert hostile_runs["before"][name] == hostile_runs["after"][name], f"{name} was modified"
    if command == "validate":
        findings = json.loads(run.out)["findings"]
        mine = [f for f in findings if f["file"] == path]
        assert len(mine) == 1, run
        f = mine[0]
        assert f["severity"] == "error" and f["cell"] is None and f["sheet"] is None, f
        assert f["rule"] in case.rules, f
        assert CJK.search(f["message"]), f
        for word in case.words:
            assert word in f["message"], f
    else:
        lines = [line for line in run.err.splitlines() if path in line]
        assert lines, f"the file is not named:\n{run}"
        assert CJK.search(run.err), run
        for word in case.words:
            assert word in run.err, run
    if command == "merge":
        out = hostile_runs["outs"] / name.replace(".", "_")
        assert not out.exists() or not any(out.iterdir()), "merge wrote something for an unreadable file"


@pytest.mark.parametrize("name", CASE_NAMES)
def test_precheck_or_reader_names_the_rule(hostile_corpus, name):
    """The Python API gives the same answer as the command line (an UnreadableFile, never an exception)."""
    folder, built = hostile_corpus
    case = _case(built, name)
    res = read_one(name, folder / name)
    if case.pending and not isinstance(res, UnreadableFile):
        pytest.xfail(case.pending)
    assert isinstance(res, UnreadableFile), res
    assert res.rule in case.rules, (res.rule, res.message)
    assert res.path == name


def _pickles(exc: Exception) -> bool:
    try:
        return type(pickle.loads(pickle.dumps(exc))) is type(exc)
    except Exception:
        return False


@pytest.mark.parametrize("jobs", ["1", "pool"])
def test_folder_with_every_hostile_file_and_three_good_ones(hostile_corpus, tmp_path, jobs):
    """Read in this process (XLTOOLS_JOBS=1) and by the worker pool a folder of 16+ files uses."""
    if jobs == "pool" and not _pickles(UnreadableFile("x", "file-empty", "空")):
        pytest.xfail("xltools.errors.UnreadableFile does not survive pickling, so the read pool reports every "
                     "unreadable file as 解析程序异常终止 (patch proposed: UnreadableFile.__reduce__)")
    env = {"XLTOOLS_JOBS": "1"} if jobs == "1" else None
    folder, built = hostile_corpus
    mixed = tmp_path / "收回"
    good = copy_samples(mixed)
    built = {name: case for name, case in built.items() if not case.pending}
    for name in built:
        shutil.copy2(folder / name, mixed / name)
    before = tree_hashes(mixed)
    listed = {str(p) for _, p in expand_paths([mixed])}
    hostile_listed = sorted(p for p in listed if Path(p).name in built)
    # What a folder search picks up: .xlsx and .xlsm (the .xls files are named on the command line).
    assert len(hostile_listed) >= len([n for n in built if n.endswith((".xlsx", ".xlsm"))])
    out = tmp_path / "汇总表"
    runs = run_many({
        "read": ("read", str(mixed)),
        "json": ("validate", "--format", "json", str(mixed)),
        "text": ("validate", str(mixed)),
        "merge": ("merge", str(mixed), "-o", str(out), "--skip-invalid"),
    }, env=env)
    assert tree_hashes(mixed) == before, "an input was modified"
    for run in runs.values():
        assert run.code == 2, run
        assert "Traceback" not in run.err, run
        assert run.rss_mb < RSS_LIMIT_MB, run
        assert run.seconds < 3 * TIME_LIMIT, run
    # read: the three good forms are printed, every hostile file is named on stderr
    forms = json.loads(runs["read"].out)
    assert sorted(f["项目名称"] for f in forms) == sorted(json_names())
    for p in hostile_listed:
        assert p in runs["read"].err, p
    # validate --format json: one error finding per hostile file (cell null), no error for the good ones
    # (their content findings — warnings and infos — are those of the sample)
    findings = [f for f in json.loads(runs["json"].out)["findings"] if f["severity"] == "error"]
    by_file: dict[str, list] = {}
    for f in findings:
        by_file.setdefault(f["file"], []).append(f)
    for p in hostile_listed:
        assert [f["cell"] for f in by_file.get(p, [])] == [None], (p, by_file.get(p))
        assert by_file[p][0]["rule"] in built[Path(p).name].rules
    for g in good:
        assert str(g) not in by_file, by_file.get(str(g))
    # validate (text): the good ones have no error, the hostile ones are listed with their message
    text = runs["text"].out
    for g in good:
        assert f"× {g}" not in text and f"{g}：" in text
    for p in hostile_listed:
        assert f"× {p}：" in text
    # merge --skip-invalid: the 汇总表 of the three good ones is written, the others are named as skipped
    written = [Path(line) for line in runs["merge"].out.splitlines() if line.strip()]
    assert len(written) == 1 and written[0].exists(), runs["merge"]
    for p in hostile_listed:
        assert p in runs["merge"].err
    summary = run_cli("read", str(written[0]))
    assert summary.code == 0, summary
    merged = json.loads(summary.out)
    assert len(merged) == 3
    assert round(sum(f["年度资金"]["年度资金申请总额"] for f in merged), 2) == JIULITING_TOTAL


def json_names() -> list[str]:
    data = json.loads((SAMPLES.parent / "source" / "000_jiuliting_2026.json").read_text("utf-8"))
    return [f["项目名称"] for f in data]


def test_metadata_missing_is_read_by_labels(tmp_path):
    """Another program may drop the `_xltools` sheet: the form is still found by its labels."""
    path = tmp_path / "无元数据.xlsx"
    corpus.drop_meta(path)
    with zipfile.ZipFile(path) as zf:
        assert corpus.META not in zf.namelist()
    before = sha256(path)
    runs = run_many({"read": ("read", str(path)), "validate": ("validate", str(path)),
                     "original": ("read", str(corpus.sample_path()))})
    assert runs["read"].code == 0, runs["read"]
    assert json.loads(runs["read"].out) == json.loads(runs["original"].out)
    assert runs["validate"].code == 0, runs["validate"]
    assert sha256(path) == before


def test_not_a_form_is_one_message_not_a_pile_of_required_errors(hostile_corpus):
    folder, built = hostile_corpus
    run = run_cli("validate", "--format", "json", str(folder / "not_a_form.xlsx"))
    data = json.loads(run.out)
    findings = data["findings"]
    assert [(s["file"], s["conclusion"]) for s in data["forms"]] == [(str(folder / "not_a_form.xlsx"), "差")]
    assert [f["rule"] for f in findings] == ["not-a-form"]
    assert "项目支出绩效目标申报表 (project-target)" in findings[0]["message"]


def test_limits_can_be_changed_by_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XLTOOLS_MAX_FILE_MB", "0.001")
    monkeypatch.setenv("XLTOOLS_MAX_CELLS", "not a number")   # ignored
    limits = Limits.from_env()
    assert limits.max_file_mb == 0.001 and limits.max_cells == Limits().max_cells
    with pytest.raises(UnreadableFile) as exc:
        precheck(corpus.sample_path())
    assert exc.value.rule == "file-too-large"
    monkeypatch.delenv("XLTOOLS_MAX_FILE_MB")
    precheck(corpus.sample_path())
    # A tighter cell budget refuses a real sample; the default accepts it.
    with pytest.raises(UnreadableFile) as exc:
        precheck(corpus.sample_path(), Limits(max_cells=50))
    assert exc.value.rule == "file-zip-bomb"
    assert [name for name, _ in Limits().describe()][0] == "XLTOOLS_MAX_FILE_MB"


def test_real_files_pass_the_precheck():
    for p in sorted((SAMPLES.parent).rglob("*.xlsx")) + [SAMPLES.parents[1] / "templates" / "project-target.xlsx"]:
        precheck(p)


@pytest.mark.parametrize("chunk", [7, 61, 1024])
def test_chunk_boundaries_change_nothing(hostile_corpus, monkeypatch, chunk):
    """The scans see a member in chunks: a tag, an address or a DOCTYPE cut anywhere between two
    chunks is still found — and the real files still pass."""
    import xltools.safety as safety

    monkeypatch.setattr(safety, "CHUNK", chunk)
    folder, built = hostile_corpus
    for p in sorted(SAMPLES.glob("*.xlsx")):
        precheck(p)
    for name, case in built.items():
        if case.pending or (folder / name).stat().st_size > 40_000:
            continue
        if case.rules[0] in ("unknown-kind", "spec-version-newer", "not-a-form"):
            precheck(folder / name)   # well-formed: found by the reader, after the pre-check
            continue
        with pytest.raises(UnreadableFile) as exc:
            precheck(folder / name)
        assert exc.value.rule in case.rules, (name, chunk, exc.value.message)
