"""Regenerate templates/ and samples/ from schemas/ and samples/source/ (the seeds).

    python scripts/regenerate.py            # write them
    python scripts/regenerate.py --check    # exit 1 if any committed file is stale

The samples are made from the seed texts (samples/source/*.txt, the text of the published PDFs)
by import (the reader of `xltools import`: xltools/read.py → xltools/locate.py). The hand
transcription beside each text (samples/source/*.json, NOTES.md) is the independent check: a
form imported differently from its transcription stops this script (tests/test_import_seeds.py
says where). The corrected 江川路 form (003_…_fixed.json) is no seed: it is made from its JSON.

Output is deterministic, so a test can compare the committed files with a fresh build.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xltools.carry import carry_values  # noqa: E402
from xltools.fsutil import atomic_write_bytes, safe_filename  # noqa: E402
from xltools.read import Form, read_workbook  # noqa: E402
from xltools.spec import kinds, load_spec, variants  # noqa: E402
from xltools.template import template_bytes  # noqa: E402

# samples/<folder>/ ← samples/source/<file>.txt imported (checked against <file>.json)
SAMPLE_SETS = {
    "jiuliting-2026": "000_jiuliting_2026.json",   # 九里亭街道: 3 clean submissions, 合计 44,814,165.00
    "hongqiao-2026": "002_hongqiao_2026.json",     # 虹桥镇: 9 submissions with the seed's real defects
}
# A seed whose text does not import equal to its transcription yet is made from the JSON
# (listed here, so it is never silent); empty when the reader reads every seed.
FROM_JSON: set[str] = set()
# 九亭镇 2023 (seed 001): two 申报表 in the 2023 layout (variant "2023": no 项目性质, a 项目投入资金构成
# table), with the seed's defects: the second form has no 计划开始/完成日期 and no 资金构成 row.
VARIANT_SETS = {"jiuting-2023": ("001_jiuting_2023.json", "2023")}
# 江川路街道 2026 (seed 003): the 单位整体支出绩效目标申报表 as published (its defects included), and a
# corrected copy that validates clean: samples/jiangchuan-2026/{原表,修改后}/.
UNIT_SETS = {
    "jiangchuan-2026/原表": "003_jiangchuan_2026.json",
    "jiangchuan-2026/修改后": "003_jiangchuan_2026_fixed.json",
}
PARSED = ("运算符", "数值", "单位", "定性")
# 中山街道 2024: three 自评表 (seed 004), and the 申报表 they imply, so `validate --against` has
# something to check: samples/zhongshan-2024/申报表/ and samples/zhongshan-2024/自评表/.
SELFEVAL_SOURCE = "004_zhongshan_2024_selfeval.json"
SELFEVAL_FOLDER = "zhongshan-2024"


def implied_target(selfeval: dict) -> dict:
    """The 申报表 a 自评表 was made from: same project, targets, and 年初预算数 in 元."""
    funds = selfeval["项目资金"]
    yuan = {line: round(funds[line]["年初预算数"] * 10000, 2) for line in ("当年财政拨款", "上年结转资金", "其他资金")}
    year = selfeval["年度"]
    return {
        "年度": year, "项目名称": selfeval["项目名称"], "项目性质": "其他经常性项目", "项目类别": "特定目标类",
        "主管部门": selfeval["主管部门"], "实施单位": selfeval["实施单位"],
        "计划开始日期": f"{year}-01-01", "计划完成日期": f"{year}-12-31",
        "项目资金": {"财政资金": None, "其他资金": None}, "年度资金": yuan,
        "项目总目标": None, "年度总体目标": selfeval["预期目标"],
        "绩效指标": [{"一级指标": r["一级指标"], "二级指标": r["二级指标"], "三级指标": r["三级指标"],
                  "指标值": r["年度指标值"]} for r in selfeval["绩效指标"]],
        "资金构成": [],
    }


class ImportDiffers(Exception):
    pass


def _unparsed(form: dict) -> dict:
    return {k: [{c: x for c, x in row.items() if c not in PARSED} for row in v]
            if isinstance(v, list) and v and isinstance(v[0], dict) else v for k, v in form.items()}


def seed_forms(source: str) -> list[dict]:
    """The forms of one seed, imported from its text and checked equal to its transcription
    (values as `xltools read` prints them, without the parsed parts of 指标值); the
    transcription itself for a FROM_JSON seed."""
    want = json.loads((ROOT / "samples" / "source" / source).read_text("utf-8"))
    if source in FROM_JSON:
        return want
    forms = read_workbook(ROOT / "samples" / "source" / source.replace(".json", ".txt")).forms
    got = [_unparsed(f.data) for f in forms]
    if got != want:
        bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        raise ImportDiffers(f"{source}: form {bad} imported ≠ transcription (see tests/test_import_seeds.py)")
    return got


def build() -> dict[str, bytes]:
    """Relative path → file content of everything this script owns."""
    out: dict[str, bytes] = {}
    for kind in kinds():
        data, _, _ = template_bytes(load_spec(kind))
        out[f"templates/{kind}.xlsx"] = data
        for variant in variants(kind):   # templates/<kind>-<variant>.xlsx: the other layouts
            data, _, _ = template_bytes(load_spec(kind, variant))
            out[f"templates/{kind}-{variant}.xlsx"] = data
    sets = {folder: (source, None) for folder, source in SAMPLE_SETS.items()} | VARIANT_SETS
    for folder, (source, variant) in sets.items():
        forms = seed_forms(source)
        for i, form in enumerate(forms, start=1):
            values = {k: v for k, v in form.items() if k != "表单"}
            values["绩效指标"] = [{k: v for k, v in row.items() if k not in PARSED} for row in form["绩效指标"]]
            data, _, _ = template_bytes(load_spec(form["表单"], variant), values)
            out[f"samples/{folder}/{i:02d}_{safe_filename(form['项目名称'])}.xlsx"] = data
    for folder, source in UNIT_SETS.items():
        fixed = source.endswith("_fixed.json")   # no seed: a hand-corrected copy
        for form in (json.loads((ROOT / "samples" / "source" / source).read_text("utf-8")) if fixed
                     else seed_forms(source)):
            spec = load_spec(form["表单"])
            values = {k: v for k, v in form.items() if k != "表单"}
            head, tail = spec.form_stem(values)
            data, _, _ = template_bytes(spec, values)
            out[f"samples/{folder}/{safe_filename(head, tail=tail)}.xlsx"] = data
    target_spec, self_spec = load_spec("project-target"), load_spec("project-selfeval")
    for i, form in enumerate(seed_forms(SELFEVAL_SOURCE), 1):
        name = f"{i:02d}_{safe_filename(form['项目名称'])}.xlsx"
        target = implied_target(form)
        data, _, _ = template_bytes(target_spec, target)
        out[f"samples/{SELFEVAL_FOLDER}/申报表/{name}"] = data
        # The 自评表 as `template project-selfeval --from` makes it, then filled in.
        _, carried = carry_values(Form("project-target", target, "", ""), "project-selfeval")
        values = {k: v for k, v in form.items() if k not in ("表单", "总分", "评分等级")}
        data, _, _ = template_bytes(self_spec, values, carried=carried)
        out[f"samples/{SELFEVAL_FOLDER}/自评表/{name}"] = data
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when stale")
    args = ap.parse_args()
    try:
        files = build()
    except ImportDiffers as exc:
        print(f"import differs: {exc}", file=sys.stderr)
        return 1
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
