"""Regenerate templates/ and samples/ from schemas/ and samples/source/ (the seeds' data).

    python scripts/regenerate.py            # write them
    python scripts/regenerate.py --check    # exit 1 if any committed file is stale

Output is deterministic, so a test can compare the committed files with a fresh build.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xltools.fsutil import atomic_write_bytes, safe_filename  # noqa: E402
from xltools.spec import kinds, load_spec  # noqa: E402
from xltools.template import template_bytes  # noqa: E402

# samples/<folder>/ ← samples/source/<file>.json (a list of forms as `xltools read` prints them)
SAMPLE_SETS = {
    "jiuliting-2026": "000_jiuliting_2026.json",   # 九里亭街道: 3 clean submissions, 合计 44,814,165.00
    "hongqiao-2026": "002_hongqiao_2026.json",     # 虹桥镇: 9 submissions with the seed's real defects
}
PARSED = ("运算符", "数值", "单位", "定性")


def build() -> dict[str, bytes]:
    """Relative path → file content of everything this script owns."""
    out: dict[str, bytes] = {}
    for kind in kinds():
        data, _, _ = template_bytes(load_spec(kind))
        out[f"templates/{kind}.xlsx"] = data
    for folder, source in SAMPLE_SETS.items():
        forms = json.loads((ROOT / "samples" / "source" / source).read_text("utf-8"))
        for i, form in enumerate(forms, start=1):
            values = {k: v for k, v in form.items() if k != "表单"}
            values["绩效指标"] = [{k: v for k, v in row.items() if k not in PARSED} for row in form["绩效指标"]]
            data, _, _ = template_bytes(load_spec(form["表单"]), values)
            out[f"samples/{folder}/{i:02d}_{safe_filename(form['项目名称'])}.xlsx"] = data
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when stale")
    args = ap.parse_args()
    files = build()
    stale = [p for p, data in files.items() if not (ROOT / p).is_file() or (ROOT / p).read_bytes() != data]
    if args.check:
        for p in stale:
            print(f"stale: {p}")
        return 1 if stale else 0
    for p in stale:
        atomic_write_bytes(ROOT / p, files[p])
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
