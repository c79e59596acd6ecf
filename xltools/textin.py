"""A published form as text (the text of a PDF, as the seeds are) → one grid (issue 12 §3).

:func:`load_text` turns a ``.txt`` into one :class:`xltools.read.Sheet` that the label-based
reader (:mod:`xltools.locate`) reads like any other grid:

* one grid row per non-empty line, in print order; ``Sheet.lines`` keeps each row's line
  number in the file, so cells are named ``第N行`` (the line to look at with ``sed -n Np``);
* cells are separated by tabs, or — on a line without a tab — by runs of two or more spaces
  (or an ideographic space); leading empty cells are kept (a drifted column is data);
* what the PDF extractor broke is mended, and only that: a space the printer's wrap put between
  two CJK characters in a short cell (``部分达成指 标`` → ``部分达成指标``; long ``<p>`` texts keep
  their spaces), spaces at parentheses and slashes inside a unit (``=100.00(个 )``,
  ``≤50000.00 (元/片区)``, ``(元 /片区)``); a line after a page break (an empty line) that
  continues the row above — an unclosed parenthesis above, a cell starting with ``)`` or ``/``,
  a long text above that stops mid-sentence, or a lone short fragment (``标``, ``传知晓率``) — is
  joined into that row, cell by cell, without a separator (``<p>`` markup is joined across the
  break so the paragraph stays one);
* hostile input is refused before anything is parsed, with a Chinese message: a file above
  the size limit, binary content (NUL bytes, a control character: its line is named), an encoding that is neither
  UTF-8 (with or without BOM), UTF-16 with BOM nor GB18030, too many lines or cells, a line too
  long. The limits are a :class:`TextLimits`, each changeable with an environment variable
  (``XLTOOLS_MAX_TEXT_MB=5`` …).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import UnreadableFile
from .rules import Rule
from .safety import env_limits, read_capped

MIB = 1 << 20


@dataclass(frozen=True)
class TextLimits:
    """Limits for text input. A seed (one 汇总 of 9 forms) is 60 KB, 256 lines, ≤ 10 cells a line."""

    max_text_mb: float = 5          # the file on disk
    max_text_lines: int = 100_000   # lines
    max_text_cells: int = 500_000   # cells of all lines together
    max_line_cells: int = 104       # cells on one line (as Limits.max_cols)
    max_line_kb: int = 64           # characters of one line, in thousands (a cell holds ≤ 32,767)

    @classmethod
    def from_env(cls, environ=None) -> TextLimits:
        return env_limits(cls, environ)


def _fail(path, rule: Rule, **kw) -> UnreadableFile:
    return UnreadableFile(str(path), rule.code, rule.format(**kw))


def _limit(path, what: str, found: float, limit: float, unit: str = "") -> UnreadableFile:
    def n(v):
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"
    return _fail(path, Rule.TEXT_LIMIT, what=what, found=n(found) + unit, limit=n(limit) + unit)


# Control characters a text file has no business holding (tab, newline, CR, form feed allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_text(path: str | Path, limits: TextLimits | None = None) -> str:
    """The text of ``path``, vetted: size, binary content, encoding. Raise UnreadableFile."""
    limits = limits or TextLimits.from_env()
    cap = int(limits.max_text_mb * MIB)
    size, data = read_capped(path, cap)
    if size > cap or len(data) > cap:
        raise _fail(path, Rule.TEXT_LIMIT, what="大小", found=f"{max(size, len(data)) / MIB:.1f} MB",
                    limit=f"{limits.max_text_mb:g} MB")
    if not data:
        raise _fail(path, Rule.FILE_EMPTY)
    text = None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):   # UTF-16 with BOM (Windows「Unicode」)
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    elif b"\x00" in data:
        raise _fail(path, Rule.TEXT_NOT_TEXT, what="含有 NUL 字节，是二进制文件")
    else:
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    if text is None:
        raise _fail(path, Rule.TEXT_NOT_TEXT, what="编码既不是 UTF-8、带 BOM 的 UTF-16，也不是 GB18030")
    text = text.lstrip("\ufeff")
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise _fail(path, Rule.TEXT_NOT_TEXT, what=f"第 {line} 行含有控制字符 U+{ord(bad.group()):04X}，像是二进制文件")
    return text


# ---------------------------------------------------------------------------------------------
# Lines → cells

_SPACES = re.compile(r" {2,}|\u3000+")
_CJK = "\u3400-\u9fff\uf900-\ufaff，。、；：？！“”‘’（）《》【】"
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) +(?=[{_CJK}])")
_NUM_PAREN = re.compile(r"(?<=\d) +(?=\()")
_IN_PARENS = re.compile(r"\([^()]*\)|\([^()]*$|^[^()]*\)")
_MARKUP = re.compile(r"</?p\s*>", re.IGNORECASE)
_ENDS_SENTENCE = re.compile(r"[。！？；.!?;”」）)]\s*$")


def split_line(line: str) -> list[str]:
    """One line's cells: by tab, or by runs of spaces on a line without a tab; trailing empty
    cells dropped, leading ones kept."""
    line = line.rstrip("\r\n")
    cells = line.split("\t") if "\t" in line else _SPACES.split(line.strip(" ")) if line.strip() else []
    cells = [c.strip(" \u3000") for c in cells]
    while cells and not cells[-1]:
        cells.pop()
    return cells


split_cells = split_line


def mend(cell: str) -> str:
    """Undo what the PDF text extraction put into one cell (see the module docstring)."""
    if not cell:
        return cell
    if not _MARKUP.search(cell) and len(cell) < 200:
        cell = _CJK_GAP.sub("", cell)
    if "(" in cell or ")" in cell:
        cell = _NUM_PAREN.sub("", cell)
        cell = _IN_PARENS.sub(lambda m: re.sub(r"\( +| +\)| +/ *|/ +", lambda g: g.group().strip(), m.group()), cell)
    return cell


def _unbalanced(s: str) -> bool:
    return s.count("(") > s.count(")") or s.count("（") > s.count("）")


def _is_value(s: str) -> bool:
    """A target or a figure (``≥4.00(次)``, ``52272.73``), not a text (``<p>…`` is markup)."""
    return not _MARKUP.match(s) and bool(re.match(r"^[≥≤=<>＜＞]|^\d", s))


SURE, GUESS = "sure", "guess"


def _continues(prev: list[str], cur: list[str]) -> str:
    """Whether ``cur`` (the first line after a page break) continues the row ``prev``: ``SURE``
    (an open parenthesis, a cell starting with ``)`` or ``/``, a long text stopped mid-sentence,
    a label completed), ``GUESS`` (a lone short fragment taken as the end of the row's last
    text, reported), or ``""`` (a row of its own)."""
    filled = [(i, c) for i, c in enumerate(cur) if c]
    if not filled or any(_fold(c) in _known_labels() for _, c in filled):
        return ""   # a label (a title, a table header) starts something new
    for i, c in filled:
        above = prev[i] if i < len(prev) else ""
        if c[0] in ")）/" or (above and _unbalanced(above)):
            return SURE
        plain = _MARKUP.sub("", above).strip()
        long_text = len(plain) >= 30 or bool(_MARKUP.search(above))
        if long_text and plain and not _ENDS_SENTENCE.search(plain) and not _is_value(c):
            return SURE
    if len(filled) == 1:
        c = filled[0][1]
        if len(c) <= 6 and not _is_value(c) and any(p and not _is_value(p) and not _ENDS_SENTENCE.search(p)
                                                     for p in prev):
            return _lone_fits(prev, filled[0])
    return ""


def _lone_fits(prev: list[str], cell: tuple[int, str]) -> str:
    """A lone fragment continues the row above for sure when it completes a label of the spec
    or an indicator name (``服务对象 满意度指`` + ``标``); as a guess when it may end the row's
    last text (a 三级 broken by the page: ``…达宣`` + ``传知晓率``)."""
    i, c = cell
    known = _known_labels()
    above = prev[i] if i < len(prev) else ""
    if above and _fold(above + c) in known:
        return SURE
    text = [p for p in prev if p and not _is_value(p)]
    return GUESS if text and _fold(text[-1]) not in known else ""


@functools.lru_cache(maxsize=1)
def _known_labels() -> frozenset[str]:
    """Every printed text of every layout (folded): titles, labels, column headers, and the
    一级/二级 names of the indicator hierarchies."""
    from .locate import _Labels, _title_keys
    from .spec import kinds, layouts

    out: set[str] = set()
    for kind in kinds():
        for spec in layouts(kind):
            out |= _Labels.of(spec).all | _title_keys(spec)
            h = spec.hierarchy
            if h is not None:
                for l1 in h.level1:
                    out.add(_fold(l1))
                    out.update(_fold(l2) for l2 in h.level2(l1))
    out.discard("")
    return frozenset(out)


def _fold(v: str) -> str:
    from .read import label_key

    return label_key(v)


def _join(prev: list[str], cur: list[str]) -> list[str]:
    out = list(prev) + [""] * max(0, len(cur) - len(prev))
    filled = [(i, c) for i, c in enumerate(cur) if c]
    if len(filled) == 1 and not (filled[0][0] < len(prev) and prev[filled[0][0]]):
        # a lone fragment under an empty cell: it continues the row's last text
        i = max(j for j, p in enumerate(prev) if p and not _is_value(p))
        filled = [(i, filled[0][1])]
    elif len(filled) == 1:
        i, c = filled[0]
        if _is_value(prev[i]) and not _is_value(c):
            i = max(j for j, p in enumerate(prev) if p and not _is_value(p))
        filled = [(i, c)]
    for i, c in filled:
        a = out[i]
        if re.search(r"</p>\s*$", a, re.IGNORECASE) and re.match(r"\s*<p>", c, re.IGNORECASE):
            a = re.sub(r"</p>\s*$", "", a, flags=re.IGNORECASE)
            c = re.sub(r"^\s*<p>", "", c, flags=re.IGNORECASE)
        out[i] = a + c
    return out


def text_grid(text: str, path: str = "", limits: TextLimits | None = None,
              notes: list | None = None) -> tuple[list[list[str]], list[int]]:
    """The grid of a text (rows of cells, mended and joined) and each row's 1-based line number.
    A join that was a guess is appended to ``notes`` as (line, what, assumed) for an
    ``import-ambiguous`` warning."""
    limits = limits or TextLimits.from_env()
    lines = text.splitlines()
    if len(lines) > limits.max_text_lines:
        raise _limit(path, "行数", len(lines), limits.max_text_lines)
    rows: list[list[str]] = []
    numbers: list[int] = []
    after_break = False
    cells_total = 0
    for n, line in enumerate(lines, start=1):
        if len(line) > limits.max_line_kb * 1000:
            raise _limit(path, f"第 {n} 行的字符数", len(line), limits.max_line_kb * 1000)
        cells = split_cells(line.replace("\f", ""))
        if "\f" in line:
            after_break = True
        if not cells:
            after_break = after_break or bool(rows)
            continue
        if len(cells) > limits.max_line_cells:
            raise _limit(path, f"第 {n} 行的单元格数", len(cells), limits.max_line_cells)
        cells_total += len(cells)
        if cells_total > limits.max_text_cells:
            raise _limit(path, "单元格总数", cells_total, limits.max_text_cells)
        if set("".join(cells)) <= set("-—_=| "):   # a rule line (``-- -- ---``)
            continue
        cells = [mend(c) for c in cells]
        how = _continues(rows[-1], cells) if after_break and rows else ""
        if how:
            joined = [mend(c) for c in _join(rows[-1], cells)]
            if how == GUESS and notes is not None:
                frag = next(c for c in cells if c)
                whole = next((j for j, p in zip(joined, rows[-1]) if j != p), "")
                notes.append((n, f"分页后的第{n}行只有「{frag}」一格",
                              f"第{numbers[-1]}行的续文（「{whole}」）"))
            rows[-1] = joined
        else:
            rows.append(cells)
            numbers.append(n)
        after_break = False
    return rows, numbers


def load_text(path: str | Path, limits: TextLimits | None = None) -> list:
    """A text file as one :class:`xltools.read.Sheet` (name: the file's stem; ``lines`` set)."""
    from .read import Sheet

    limits = limits or TextLimits.from_env()
    text = decode_text(path, limits)
    notes: list = []
    rows, numbers = text_grid(text, str(path), limits, notes)
    width = max((len(r) for r in rows), default=0)
    grid = [r + [""] * (width - len(r)) for r in rows]
    sheet = Sheet(Path(path).stem, "visible", grid, lines=numbers)
    sheet.notes = notes   # read by xltools.read (import-ambiguous warnings at their line)
    return [sheet]


def note_findings(sheets: list, file: str) -> list:
    """The ``import-ambiguous`` warnings of the joins :func:`load_text` had to guess."""
    from .rules import finding

    return [finding(Rule.IMPORT_AMBIGUOUS, file, s.name, f"第{n}行", what=what, assumed=assumed)
            for s in sheets for n, what, assumed in getattr(s, "notes", ())]
