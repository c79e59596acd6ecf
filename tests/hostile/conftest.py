"""Fixtures of the hostile-file tests: the corpus, built at test time into a temporary folder
(tests/hostile/corpus.py; nothing generated is committed), and every hostile file run through
read, validate and merge."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402
from hostile_util import run_many, sha256  # noqa: E402


@pytest.fixture(scope="session")
def hostile_corpus(tmp_path_factory) -> tuple[Path, dict[str, corpus.Case]]:
    folder = tmp_path_factory.mktemp("hostile-corpus")
    return folder, corpus.build(folder)


@pytest.fixture(scope="session")
def hostile_runs(hostile_corpus, tmp_path_factory):
    """Every hostile file through read, validate --format json and merge, one process each,
    with the file's hash before and after."""
    folder, built = hostile_corpus
    outs = tmp_path_factory.mktemp("hostile-merge-out")
    before = {name: sha256(folder / name) for name in built}
    jobs = {}
    for name, case in built.items():
        if case.extra:
            continue
        path = str(folder / name)
        jobs[(name, "read")] = ("read", path)
        jobs[(name, "validate")] = ("validate", "--format", "json", path)
        jobs[(name, "merge")] = ("merge", path, "-o", str(outs / name.replace(".", "_")))
    runs = run_many(jobs)
    after = {name: sha256(folder / name) for name in built}
    return {"runs": runs, "before": before, "after": after, "folder": folder, "outs": outs, "built": built}
