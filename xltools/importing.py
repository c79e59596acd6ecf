"""``xltools import``: published forms (text, PDF, workbooks in any grid) → our templates, filled.

Every form :func:`xltools.read.read_workbook` finds in the inputs (a ``.txt`` through
:mod:`xltools.textin`, a PDF through :mod:`xltools.pdfin`, a foreign workbook through the
label-based reader :mod:`xltools.locate`) becomes one workbook of our current template of its
kind and layout, filled with what the print shows, named as ``template --batch`` names files
(``FormSpec.form_stem``), ready to validate, merge or carry into a 自评表. Nothing is
overwritten without ``force``; every file is written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import UnreadableFile
from .rules import Finding


@dataclass
class ImportResult:
    """What :func:`import_forms` did."""

    outputs: list[Path] = field(default_factory=list)       # the workbooks written, one per form
    forms: list = field(default_factory=list)               # the xltools.read.Form behind each output
    findings: list[Finding] = field(default_factory=list)   # what reading found (import-ambiguous …)
    unreadable: list[UnreadableFile] = field(default_factory=list)
    files: int = 0                                          # input files read

    @property
    def exit_code(self) -> int:
        """As ``validate``: 0 imported (warnings such as import-ambiguous allowed), 1 a finding of
        severity error, 2 a file unreadable or no form found."""
        if self.unreadable or not self.outputs:
            return 2
        return 1 if any(f.severity == "error" for f in self.findings) else 0


def form_values(form) -> dict:
    """The values of a form read, as a template takes them: inputs and table rows only (no
    computed fields, no parsed parts of a 指标值, no keys the layout does not print)."""
    spec = form.spec
    data = form.data
    values: dict = {}
    computed = {f.key for f in spec.fields if not f.is_input}
    for f in spec.inputs:
        head = f.path[0]
        if head in data and f.key not in computed:
            values[head] = data[head]
    for t in spec.tables:
        keys = {c.key for c in t.columns}
        rows = data.get(t.key) or []
        values[t.key] = [{k: v for k, v in row.items() if k in keys} for row in rows]
    for f in spec.fields:   # a computed field inside a group (项目资金.….执行率): drop it there
        if not f.is_input and len(f.path) > 1 and isinstance(values.get(f.path[0]), dict):
            values[f.path[0]] = _without(values[f.path[0]], f.path[1:])
    return values


def _without(d: dict, path: tuple[str, ...]) -> dict:
    out = dict(d)
    if len(path) == 1:
        out.pop(path[0], None)
    elif isinstance(out.get(path[0]), dict):
        out[path[0]] = _without(out[path[0]], path[1:])
    return out


def form_workbook(form) -> bytes:
    """Our current template of the form's kind and layout, filled with the form's values."""
    from .template import template_bytes

    data, _, _ = template_bytes(form.spec, form_values(form))
    return data


def import_forms(paths, outdir: str | Path, *, force: bool = False, progress=None) -> ImportResult:
    """Read every input (files or folders) and write one filled template per form found into
    ``outdir``. An existing output is refused (OutputError, nothing written) unless ``force``."""
    from .fsutil import atomic_write_bytes, check_out_folder, check_targets, ensure_folder, unique_name
    from .progress import as_progress
    from .read import expand_paths, read_workbook
    from .template import batch_filename

    out = Path(outdir)
    check_out_folder(out)
    inputs = expand_paths(paths)
    result = ImportResult()
    progress = as_progress(progress)
    for display, path in progress.track(list(inputs), "导入", len(inputs)):
        try:
            res = read_workbook(path, display=display)
        except UnreadableFile as exc:
            result.unreadable.append(exc)
            continue
        result.files += 1
        result.findings.extend(res.findings)
        result.forms.extend(res.forms)
    taken: set[str] = set()
    targets = [out / unique_name(batch_filename(f.spec, form_values(f)), taken) for f in result.forms]
    check_targets(targets, [p for _, p in inputs], force=force)
    if targets:
        ensure_folder(out)
    for form, target in zip(result.forms, targets):
        atomic_write_bytes(target, form_workbook(form))
        result.outputs.append(target)
    return result
