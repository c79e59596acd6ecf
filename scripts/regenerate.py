"""Regenerate templates/ and samples/ from schemas/ and samples/source/ (the seeds).

The samples are made from the published seed texts by import (samples/source/*.txt read with
`xltools.read.read_workbook`, the label-based reader); the hand-made transcriptions beside them
(samples/source/*.json) are the independent check that import is right (tests/test_import_seeds.py).
Only the corrected 江川路 copy (003_jiangchuan_2026_fixed.json) is not a seed and is made from JSON.

    python scripts/regenerate.py            # write them
    python scripts/regenerate.py --check    # exit 1 if any committed file is stale

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

# samples/<folder>/ ← samples/source/<file>.txt imported (<file>.json: its transcription, the check)
SAMPLE_SETS = {
    "jiuliting-2026": "000_jiuliting_2026.json",   # 九里亭街道: 3 clean submissions, 合计 44,814,165.00
    "hongqiao-2026": "002_hongqiao_2026.json",     # 虹桥镇: 9 submissions with the seed's real defects
}
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


def imported(source: str) -> list[dict]:
    """The forms of a seed as import reads them (the .txt beside the transcription ``source``),
    each as `xltools read` prints it with its kind under 表单 (the transcriptions' shape); a
    source that is not a seed (a .json with no .txt) is read as JSON."""
    path = ROOT / "samples" / "source" / source
    text = path.with_suffix(".txt")
    if not text.is_file():
        return json.loads(path.read_text("utf-8"))
    forms = []
    for f in read_workbook(text).forms:   # the parsed parts of a 指标值 are read, not typed: drop them
        data = {k: [{c: v for c, v in row.items() if c not in PARSED} for row in v]
                if isinstance(v, list) else v for k, v in f.data.items()}
        forms.append({"表单": f.kind, **data})
    return forms


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
        for i, form in enumerate(imported(source), start=1):
            values = {k: v for k, v in form.items() if k != "表单"}
            values["绩效指标"] = [{k: v for k, v in row.items() if k not in PARSED} for row in form["绩效指标"]]
            data, _, _ = template_bytes(load_spec(form["表单"], variant), values)
            out[f"samples/{folder}/{i:02d}_{safe_filename(form['项目名称'])}.xlsx"] = data
    for folder, source in UNIT_SETS.items():
        for form in imported(source):
            spec = load_spec(form["表单"])
            values = {k: v for k, v in form.items() if k != "表单"}
            head, tail = spec.form_stem(values)
            data, _, _ = template_bytes(spec, values)
            out[f"samples/{folder}/{safe_filename(head, tail=tail)}.xlsx"] = data
    target_spec, self_spec = load_spec("project-target"), load_spec("project-selfeval")
    for i, form in enumerate(imported(SELFEVAL_SOURCE), 1):
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
