"""xltools — 绩效目标申报表 / 绩效自评表 的 Excel 模板、读取、审核与汇总。

The pipeline, one module each: :mod:`spec` → :mod:`template` → :mod:`read` → :mod:`validate`
→ :mod:`merge`. The names in ``__all__`` are the small public API::

    import xltools

    report = xltools.validate_paths(["收回/"])    # -> xltools.Report
    report.to_frame()                             # the findings as a pandas DataFrame
    xltools.merge_workbooks(["收回/"], "汇总表/")  # -> xltools.MergeResult
    xltools.schema(kind, table)                   # the pandera DataFrameSchema the validator uses

They are the real functions and classes of their modules, imported on first use (PEP 562), so
``import xltools`` stays fast: pandas, pandera, xlsxwriter and python-calamine load only when a
function that needs them is looked up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"  # the package version too: pyproject.toml reads it from here

# public name → the module (relative to this package) that defines it
_LAZY = {
    "template_workbook": "template",
    "read_workbook": "read",
    "read_paths": "read",
    "validate_paths": "validate",
    "merge_workbooks": "merge",
    "Form": "read",
    "ReadResult": "read",
    "Report": "validate",
    "Finding": "rules",
    "MergeResult": "merge",
    "TemplateResult": "template",
    "UnreadableFile": "errors",
    "import_forms": "importer",
    "ImportResult": "importer",
    "find_forms": "locate",
    # the pandera DataFrameSchema of a kind (its fields, or one table), for analysing forms in
    # pandas: xltools.schema(kind, table).validate(xltools.validate.frame(forms, table), lazy=True)
    "schema": "validate",
}

__all__ = [
    "template_workbook", "read_workbook", "read_paths", "validate_paths", "merge_workbooks",
    "Form", "ReadResult", "Report", "Finding", "MergeResult", "TemplateResult", "UnreadableFile",
    "import_forms", "ImportResult", "find_forms", "__version__",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ below does this
    from .errors import UnreadableFile
    from .importer import ImportResult, import_forms
    from .locate import find_forms
    from .merge import MergeResult, merge_workbooks
    from .read import Form, ReadResult, read_paths, read_workbook
    from .rules import Finding
    from .template import TemplateResult, template_workbook
    from .validate import Report, validate_paths
    from .validate import schema as schema


def __getattr__(name: str):
    """Import a public name from its module on first access, then keep it as a global."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    """The module's names, the public ones not yet imported included."""
    return sorted(set(globals()) | set(_LAZY))
