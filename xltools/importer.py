"""`xltools import`: published forms (a .txt of a PDF's text, a PDF, a workbook in the printed
layout made elsewhere) turned into filled workbooks of our current templates (issue 12 §3).

Every form found (xltools/read.py → xltools/locate.py) becomes one workbook in the template of
its kind and layout, filled with the values read, named as ``template --batch`` names files
(``FormSpec.form_stem``: 实施单位_项目名称_年度_申报表.xlsx …), ready to validate, merge or carry
into a 自评表. What the reader could not read for certain is reported (``import-ambiguous``
warnings, at the line of the source); nothing is overwritten without ``force``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import UnreadableFile
from .rules import ERROR, Finding


@dataclass
class Imported:
    """One form imported: where it came from and the workbook written."""

    source: str       # the input file
    kind: str
    variant: str | None
    path: Path        # the workbook written
    values: dict      # what was written into it (the form's inputs)


@dataclass
class ImportResult:
    """What :func:`import_forms` did."""

    imported: list[Imported] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)          # from reading (import-ambiguous …)
    unreadable: list[UnreadableFile] = field(default_factory=list)
    files: list[str] = field(default_factory=list)                 # the inputs read

    @property
    def exit_code(self) -> int:
        if self.unreadable or not self.imported:
            return 2
        return 1 if any(f.severity == ERROR for f in self.findings) else 0


def form_values(form) -> dict:
    """A form's values as a template takes them: its inputs only (no 表单, no derived field such
    as a total, a rate or a 得分 the template computes, no parsed parts of a 指标值)."""
    from .spec import get_path, set_path

    spec = form.spec
    out: dict = {}
    for f in spec.fields:
        if f.is_input:
            v = get_path(form.data, f.path)
            if v is not None:
                set_path(out, f.path, v)
    for t in spec.tables:
        keys = [c.key for c in t.columns]
        out[t.key] = [{k: row.get(k) for k in keys} for row in form.data.get(t.key) or []]
    return out


def workbook_of(form) -> bytes:
    """The filled workbook of one form (our current template of its kind and layout)."""
    from .template import template_bytes

    data, _, _ = template_bytes(form.spec, form_values(form))
    return data


def import_forms(paths, outdir: str | Path, *, force: bool = False) -> ImportResult:
    """Import every form in ``paths`` (files or folders) into folder ``outdir``: one workbook per
    form. Existing files are replaced only with ``force`` (else :class:`OutputError`, nothing
    written); an input is never written over."""
    from .fsutil import atomic_write_bytes, check_out_folder, check_targets, ensure_folder, unique_name
    from .read import expand_paths, read_paths
    from .template import batch_filename

    out = Path(outdir)
    check_out_folder(out)
    inputs = expand_paths(paths)
    result = ImportResult()
    jobs = []
    taken: set[str] = set()
    for res in read_paths(inputs):
        if isinstance(res, UnreadableFile):
            result.unreadable.append(res)
            continue
        result.files.append(res.file)
        if res.skipped:
            continue
        result.findings.extend(res.findings)
        for form in res.forms:
            values = form_values(form)
            target = out / unique_name(batch_filename(form.spec, values), taken)
            jobs.append((res.file, form, target, values))
    check_targets([t for _, _, t, _ in jobs], inputs.paths, force=force)
    if jobs:
        ensure_folder(out)
    for source, form, target, values in jobs:
        atomic_write_bytes(target, workbook_of(form))
        result.imported.append(Imported(source, form.kind, form.variant, target, values))
    return result
