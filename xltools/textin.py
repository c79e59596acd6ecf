"""Text input: the text of a published form (issue 12 §3) as a grid of lines × cells.

The seeds are the text layer of published PDFs: one line per printed line, in print order;
cells separated by a tab (an empty cell between two tabs is kept, so columns stay where the
print put them) or by a run of two or more spaces (one space is part of a cell:
``项目资金 (元)``). :func:`load_text` turns such a file into one :class:`xltools.read.Sheet`
whose ``lines`` give each grid row's line number in the file (the cell convention ``第N行`` of
:mod:`xltools.locate`); the label-based reader does the rest.

Before anything is decoded the bytes are vetted, standard library only: the size (a form's
text is a few kB; a 汇总 of 200 projects below 2 MB), NUL bytes and other control characters
(binary junk), the encoding (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030, else
refused), then the number of lines, the cells of a line and the length of a line. Every
refusal is an :class:`UnreadableFile` with a Chinese message (rules ``text-limit``,
``text-not-text``, ``file-empty``, ``file-unreadable``). The limits are a :class:`TextLimits`,
each changeable with the environment variable of its name in upper case prefixed
``XLTOOLS_`` (``XLTOOLS_MAX_TEXT_MB=10``); an invalid value is ignored.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import UnreadableFile
from .rules import Rule

MIB = 1 << 20
_SPLIT = re.compile(r"\t| {2,}|\u3000{2,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class TextLimits:
    """Limits for text input (a published form's text: ~5–20 kB, 50–400 lines)."""

    max_text_mb: float = 5            # the file on disk
    max_text_lines: int = 100_000     # lines (as Limits.max_rows for a workbook)
    max_text_cells: int = 104         # cells on one line (as Limits.max_cols)
    max_text_line_kb: int = 64        # characters of one line, in thousands (a cell holds ≤ 32,767)

    @classmethod
    def from_env(cls, environ=None) -> TextLimits:
        env = os.environ if environ is None else environ
        kw = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"XLTOOLS_{f.name.upper()}")
            if not raw:
                continue
            try:
                value = (float if f.type in ("float", float) else int)(raw)
            except ValueError:
                continue
            if value > 0:
                kw[f.name] = value
        return cls(**kw)


def _fail(path, rule: Rule, **kw) -> UnreadableFile:
    return UnreadableFile(str(path), rule.code, rule.format(**kw))


def _n(v) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def read_text_bytes(path: str | Path, limits: TextLimits | None = None) -> bytes:
    """The file's bytes, at most the size limit (read once: what is vetted is what is parsed)."""
    limits = limits or TextLimits.from_env()
    cap = int(limits.max_text_mb * MIB)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(cap + 1) if size <= cap else b""
    except OSError as exc:
        raise _fail(path, Rule.FILE_UNREADABLE, reason=exc.strerror or str(exc)) from exc
    if size > cap or len(data) > cap:
        raise _fail(path, Rule.TEXT_LIMIT, what="大小", found=f"{max(size, len(data)) / MIB:.1f} MB",
                    limit=f"{limits.max_text_mb:g} MB")
    if not data:
        raise _fail(path, Rule.FILE_EMPTY)
    return data


def decode(path, data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030; binary refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _fail(path, Rule.TEXT_NOT_TEXT, what="UTF-16 编码有误") from exc
    else:
        if b"\x00" in data:
            raise _fail(path, Rule.TEXT_NOT_TEXT, what="含有 NUL 字节，是二进制文件")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError as exc:
                line = data[:exc.start].count(b"\n") + 1
                raise _fail(path, Rule.TEXT_NOT_TEXT, what=f"第 {line} 行既不是 UTF-8 也不是 GB18030 编码") from exc
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise _fail(path, Rule.TEXT_NOT_TEXT, what=f"第 {line} 行含有控制字符 U+{ord(bad.group()):04X}，像是二进制文件")
    return text


def split_line(line: str) -> list[str]:
    """The cells of one line: tab-separated (empty cells kept), runs of 2+ spaces separate too."""
    cells = [c.strip() for c in _SPLIT.split(line.rstrip("\r\n"))]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def load_text(path: str | Path, limits: TextLimits | None = None):
    """The text file as one grid (see the module docstring); UnreadableFile when refused."""
    from .read import Sheet

    limits = limits or TextLimits.from_env()
    text = decode(path, read_text_bytes(path, limits))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(lines) > limits.max_text_lines:
        raise _fail(path, Rule.TEXT_LIMIT, what="行数", found=_n(len(lines)), limit=_n(limits.max_text_lines))
    grid = []
    for i, line in enumerate(lines, start=1):
        if len(line) > limits.max_text_line_kb * 1000:
            raise _fail(path, Rule.TEXT_LIMIT, what=f"第 {i} 行的字符数", found=_n(len(line)),
                        limit=_n(limits.max_text_line_kb * 1000))
        cells = split_line(line)
        if len(cells) > limits.max_text_cells:
            raise _fail(path, Rule.TEXT_LIMIT, what=f"第 {i} 行的单元格数", found=_n(len(cells)),
                        limit=_n(limits.max_text_cells))
        grid.append(cells)
    width = max((len(r) for r in grid), default=0)
    grid = [r + [""] * (width - len(r)) for r in grid]
    return [Sheet(Path(path).stem[:31] or "text", "visible", grid, lines=list(range(1, len(grid) + 1)))]
