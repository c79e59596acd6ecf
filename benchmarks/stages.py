"""Where the time of a form goes, stage by stage, in one process (issue 17): CPU ms per form of

- read       the safety pre-check, calamine and the normalisation (``xltools.read.read_one``)
- validate   the per-form rules of a chunk (``xltools.validate.form_findings``), of which
  pandera    the pandera passes alone (``schema.validate`` of the typed frames) — its share
- frames     building the typed frames pandera validates
- slim       slimming the forms and pickling what a worker sends (with the spool of merge)
- batch      the rules across forms (``batch_findings``) over the slim forms
- write      writing the 汇总表 (``xltools.merge.write_summary``) of the sample, one per unit
- report     the text report and the JSON report, streamed

    python benchmarks/stages.py DIR [--sample 1000] [--json]

CPU time (``time.process_time``), best of ``--repeat``; a sample of DIR's files (every k-th).
Run without the pool, so what it shows is what a worker (and the parent) does per form.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
import zlib
from pathlib import Path


def _best(fn, repeat: int):
    best, out = None, None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        spent = time.process_time() - t
        best = spent if best is None else min(best, spent)
    return best, out


def stages(folder: Path, sample: int = 1000, repeat: int = 2) -> dict:
    import pandas  # noqa: F401  (imports are start-up, not a stage)
    import pandera.pandas  # noqa: F401

    import xltools.validate as V
    from xltools.cli import _batched, report_json_pieces, report_lines
    from xltools.merge import group_key, write_summary
    from xltools.profiles import load_profile, load_vocab
    from xltools.read import ReadResult, expand_paths, read_one

    items = expand_paths([folder]).items
    step = max(1, len(items) // sample)
    items = items[::step][:sample]
    profile, vocab = load_profile(None), load_vocab()
    read_one(*items[0])
    t_read, results = _best(lambda: [read_one(*i) for i in items], repeat)
    forms = [f for r in results if isinstance(r, ReadResult) for f in r.forms]
    n = len(forms)

    spent = {"pandera": 0.0, "frames": 0.0}
    failures, field_frame, table_frame = V._failures, V._field_frame, V._table_frame

    def timed(name, fn):
        def go(*a):
            t = time.process_time()
            try:
                return fn(*a)
            finally:
                spent[name] += time.process_time() - t
        return go

    V._failures = timed("pandera", failures)
    V._field_frame, V._table_frame = timed("frames", field_frame), timed("frames", table_frame)
    try:
        V.form_findings(forms[:5], profile)
        chunk = V.chunk_size(len(items), 2)
        best_v, best_p, best_f, findings = None, None, None, []
        for _ in range(repeat):
            spent.update(pandera=0.0, frames=0.0)
            t = time.process_time()
            findings = [f for lo in range(0, n, chunk) for f in V.form_findings(forms[lo:lo + chunk], profile)]
            v = time.process_time() - t
            if best_v is None or v < best_v:
                best_v, best_p, best_f = v, spent["pandera"], spent["frames"]
    finally:
        V._failures, V._field_frame, V._table_frame = failures, field_frame, table_frame

    def slim_all():
        blobs = [zlib.compress(pickle.dumps(V._spooled(f), protocol=pickle.HIGHEST_PROTOCOL), 1) for f in forms]
        slim = [V.slim(f, vocab) for f in forms]
        return slim, pickle.dumps(slim), blobs
    t_slim, (slim, sent, blobs) = _best(slim_all, repeat)
    t_batch, cross = _best(lambda: V.batch_findings(slim, profile), repeat)

    report = V.Report(findings=V.sort_findings(profile.apply(findings + cross), [f.file for f in slim]),
                      files=sorted({f.file for f in slim}), forms=slim, profile=profile)

    def reports():
        size = 0
        for piece in _batched(report_lines(report), "\n"):
            size += len(piece)
        for piece in _batched(report_json_pieces(report)):
            size += len(piece)
        return size
    t_report, _ = _best(reports, repeat)

    groups: dict = {}
    for f in forms:
        groups.setdefault(group_key(f), []).append(f)
    with tempfile.TemporaryDirectory() as tmp:
        def write():
            for i, group in enumerate(groups.values()):
                write_summary(Path(tmp) / f"{i}.xlsx", group)
        t_write, _ = _best(write, 1)

    def ms(t):
        return round(t * 1000 / max(n, 1), 3)
    return {
        "forms": n, "findings": len(findings) + len(cross), "chunk": chunk,
        "ms_per_form": {"read": ms(t_read), "validate": ms(best_v), "pandera": ms(best_p), "frames": ms(best_f),
                        "slim": ms(t_slim), "batch": ms(t_batch), "write": ms(t_write), "report": ms(t_report)},
        "pandera_share_of_validate": round(best_p / best_v, 3) if best_v else None,
        "bytes_per_form": {"slim_pickled": round(len(sent) / max(n, 1)),
                           "spooled": round(sum(map(len, blobs)) / max(n, 1))},
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    got = stages(a.folder, a.sample, a.repeat)
    if a.json:
        print(json.dumps(got, ensure_ascii=False))
        return
    print(f"{got['forms']} forms, {got['findings']} findings, chunks of {got['chunk']}")
    for k, v in got["ms_per_form"].items():
        print(f"  {k:<9} {v:7.3f} ms/form CPU")
    print(f"  pandera share of validate: {got['pandera_share_of_validate']:.0%}")
    print(f"  bytes per form: {got['bytes_per_form']}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
