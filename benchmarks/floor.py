"""The floor: unzip every workbook and parse the XML a reader cannot avoid, with lxml.

For every *.xlsx under the folders given: ``xl/workbook.xml`` and its rels (to find the
visible worksheets — the hidden ``_lists`` and very-hidden ``_xltools`` sheets are skipped),
each visible worksheet and ``xl/sharedStrings.xml``, each parsed with ``lxml.etree.fromstring``.
Nothing else: no values, no types, no validation. A pure-Python loop in one process; any real
reader must approach it. Prints the number of files and parsed parts to stderr.
"""

from __future__ import annotations

import posixpath
import sys
import zipfile
from pathlib import Path

from lxml import etree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def parse_file(path: Path) -> int:
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        book = etree.fromstring(zf.read("xl/workbook.xml"))
        rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels.iter(PKG + "Relationship")}
        parts = 0
        for sheet in book.iter(MAIN + "sheet"):
            if sheet.get("state") in ("hidden", "veryHidden"):
                continue
            t = target[sheet.get(REL_NS)]
            name = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join("xl", t))
            etree.fromstring(zf.read(name))
            parts += 1
        if "xl/sharedStrings.xml" in names:
            etree.fromstring(zf.read("xl/sharedStrings.xml"))
            parts += 1
    return parts


def main(argv: list[str]) -> int:
    files = []
    for arg in argv:
        p = Path(arg)
        files.extend(sorted(p.rglob("*.xlsx")) if p.is_dir() else [p])
    parts = sum(parse_file(f) for f in files)
    print(f"floor: {len(files)} files, {parts} parts parsed", file=sys.stderr)
    return 0 if files else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
