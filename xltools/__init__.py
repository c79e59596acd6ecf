"""xltools — 绩效目标申报表 / 绩效自评表 的 Excel 模板、读取、审核与汇总。

The pipeline, one module each: :mod:`spec` → :mod:`template` → :mod:`read` → :mod:`validate`
→ :mod:`merge`. The functions below are the small public API; heavy modules are imported
only when a function is called, so ``import xltools`` stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"  # the package version too: pyproject.toml reads it from here
__all__ = ["template_workbook", "read_workbook", "read_paths", "validate_paths", "merge_workbooks",
           "__version__"]


def template_workbook(*args, **kwargs):
    from .template import template_workbook as f
    return f(*args, **kwargs)


def read_workbook(*args, **kwargs):
    from .read import read_workbook as f
    return f(*args, **kwargs)


def read_paths(*args, **kwargs):
    from .read import read_paths as f
    return f(*args, **kwargs)


def validate_paths(*args, **kwargs):
    from .validate import validate_paths as f
    return f(*args, **kwargs)


def merge_workbooks(*args, **kwargs):
    from .merge import merge_workbooks as f
    return f(*args, **kwargs)
