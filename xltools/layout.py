"""Text height estimation: how tall a row must be for its wrapped text to print whole.

Excel and LibreOffice never grow a row for wrapped text written by a program, so every row
holding known text gets its height from here: the text's display width (East Asian wide and
full-width characters count double), the pixel width of the cells it sits in (a merged area
counts all its columns) and the font size. The estimate leans to the safe side: a row a line
too tall wastes a little paper, a row a line too short hides text.

:class:`Heights` collects what each row needs while a sheet is written and sets the heights
at the end; a merged area over several rows shares its height over them.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

MAX_ROW = 409.0          # Excel's largest row height, in points
DEFAULT_ROW = 15.0       # the default height of a row, in points
LINE = 1.45              # line height as a multiple of the font size (CJK fonts are tall: Noto CJK 1.45 em)
PAD = 4.0                # points above and below the text
CELL_PAD_PX = 6          # pixels of a cell's width not used for text (margins, border)
SAFETY = 0.94            # use only this share of a line: wrapping breaks before punctuation it may not begin with
HALF_EM = 0.5            # one half-width unit, in em: a CJK character is 1 em wide
NARROW = 1.25            # a narrow character's advance in half-width units (Latin of the fallback fonts ≈ 0.6 em)


@lru_cache(maxsize=4096)
def char_width(ch: str) -> float:
    """Display width of one character: 2 for wide/full-width, 0 for combining, else 1."""
    if unicodedata.combining(ch):
        return 0.0
    return 2.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 1.0


def display_width(text: str) -> float:
    """The text's width in half-width units (CJK characters count double)."""
    return sum(char_width(ch) for ch in text)


@lru_cache(maxsize=4096)
def advance(ch: str) -> float:
    """What one character takes on a line, in half-width units: a narrow one a little more
    than half a CJK character (the fonts a printer substitutes are wider than 宋体)."""
    w = char_width(ch)
    return NARROW if w == 1.0 else w


def advance_width(text: str) -> float:
    return sum(advance(ch) for ch in text)


def column_pixels(width: float) -> int:
    """The pixel width of a column of ``width`` characters (Excel's rule for the default font)."""
    return int(width * 7 + 5) if width >= 1 else int(width * 12 + 0.5)


def text_pixels(units: float, font_size: float) -> float:
    """Pixels of ``units`` half-width units at ``font_size`` points (96 dpi)."""
    return units * font_size * HALF_EM * 96 / 72


@lru_cache(maxsize=1 << 16)   # a 汇总表 wraps the same labels and values in the same columns again and again
def wrap_lines(text: str, pixels: float, font_size: float = 10.0) -> int:
    """How many lines ``text`` takes wrapped in ``pixels`` (each paragraph starts a new line)."""
    usable = max((pixels - CELL_PAD_PX) * SAFETY, 1.0)
    per_line = usable / text_pixels(1, font_size)   # half-width units per line
    one_line = (pixels - CELL_PAD_PX) / text_pixels(1, font_size)   # a text that fits needs no margin
    lines = 0
    for para in str(text).split("\n"):
        lines += 1 if advance_width(para) <= one_line else max(1, _para_lines(para, per_line))
    return lines


def _para_lines(para: str, per_line: float) -> int:
    """Lines of one paragraph, breaking by characters (CJK) and keeping Latin runs whole where they fit."""
    lines, used = 1, 0.0
    for word in _tokens(para):
        w = advance_width(word)
        if used + w <= per_line:
            used += w
            continue
        if w <= per_line and not word.isspace():
            lines, used = lines + 1, w
            continue
        for ch in word:   # a run longer than a line, or CJK: breaks anywhere
            cw = advance(ch)
            if used + cw > per_line:
                lines, used = lines + 1, 0.0
            used += cw
    return lines


def _tokens(para: str):
    """Latin words (with their trailing space) as units; every wide character on its own."""
    word = ""
    for ch in para:
        if char_width(ch) == 2:
            if word:
                yield word
                word = ""
            yield ch
        else:
            word += ch
            if ch == " ":
                yield word
                word = ""
    if word:
        yield word


def text_height(text: str, pixels: float, font_size: float = 10.0) -> float:
    """Points a row needs for ``text`` wrapped in ``pixels`` at ``font_size``."""
    return wrap_lines(text, pixels, font_size) * font_size * LINE + PAD


def line_height(font_size: float = 10.0) -> float:
    return font_size * LINE


@dataclass
class Heights:
    """Row heights a sheet needs: each row at least its own texts, merged areas shared."""

    widths: list[float]                     # column widths, in characters
    minimum: dict[int, float] = field(default_factory=dict)
    spans: list[tuple[int, int, float]] = field(default_factory=list)

    def pixels(self, first_col: int, last_col: int) -> float:
        return sum(column_pixels(self.widths[c] if c < len(self.widths) else 8.43)
                   for c in range(first_col, last_col + 1))

    def at_least(self, row: int, points: float) -> None:
        self.minimum[row] = max(self.minimum.get(row, 0.0), points)

    def text(self, first_row: int, first_col: int, last_row: int, last_col: int, text, font_size: float = 10.0,
             wrap: bool = True) -> None:
        """Room for ``text`` in the area (a single cell when first == last)."""
        if text in (None, ""):
            return
        text = str(text)
        if wrap:
            need = text_height(text, self.pixels(first_col, last_col), font_size)
        else:
            need = (text.count("\n") + 1) * font_size * LINE + PAD
        if first_row == last_row:
            self.at_least(first_row, need)
        else:
            self.spans.append((first_row, last_row, need))

    def resolve(self) -> dict[int, float]:
        """The height of every row that needs more than the default (capped at :data:`MAX_ROW`)."""
        out = {r: max(h, DEFAULT_ROW) for r, h in self.minimum.items()}
        for first, last, need in sorted(self.spans, key=lambda s: s[1] - s[0]):
            have = sum(out.get(r, DEFAULT_ROW) for r in range(first, last + 1))
            if have < need:   # spread what is missing evenly over the area's rows
                extra = (need - have) / (last - first + 1)
                for r in range(first, last + 1):
                    out[r] = out.get(r, DEFAULT_ROW) + extra
        return {r: round(min(h, MAX_ROW), 2) for r, h in out.items() if h > DEFAULT_ROW}

    def apply(self, ws) -> dict[int, float]:
        heights = self.resolve()
        for r, h in sorted(heights.items()):
            ws.set_row(r, h)
        return heights


def fits(text: str, pixels: float, font_size: float = 10.0) -> bool:
    """Whether ``text`` fits one row (≤ :data:`MAX_ROW`)."""
    return text_height(text, pixels, font_size) <= MAX_ROW


def split_to_rows(text: str, pixels: float, font_size: float = 10.0, limit: float = MAX_ROW) -> list[str]:
    """``text`` cut into pieces that each fit a row of at most ``limit`` points: at paragraph
    ends where possible, else inside a paragraph at a line end. Joined with "\\n" between
    paragraph pieces (and "" inside a cut paragraph) they give back the text."""
    usable = max((pixels - CELL_PAD_PX) * SAFETY, 1.0)
    per_line = max(usable / text_pixels(1, font_size), 2.0)
    max_lines = max(int((limit - PAD) / (font_size * LINE)), 1)
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for para in str(text).split("\n"):
        n = max(1, _para_lines(para, per_line))
        if n > max_lines:   # a paragraph longer than a row: cut it at line ends
            if current:
                pieces.append("\n".join(current))
                current, used = [], 0
            chunk = ""
            for ch in para:
                if _para_lines(chunk + ch, per_line) > max_lines:
                    pieces.append(chunk)
                    chunk = ""
                chunk += ch
            current, used = [chunk], _para_lines(chunk, per_line)
            continue
        if used + n > max_lines and current:
            pieces.append("\n".join(current))
            current, used = [], 0
        current.append(para)
        used += n
    if current or not pieces:
        pieces.append("\n".join(current))
    return pieces


def pages_of(heights: list[float], page: float, header: float = 0.0) -> list[int]:
    """Where a run of rows breaks into pages of ``page`` points (each repeating ``header``):
    the indices of the rows that begin a new page. A last page holding a lone row takes one
    more row from the page before when that page keeps at least two."""
    breaks: list[int] = []
    room = page - header
    used = 0.0
    for i, h in enumerate(heights):
        if used + h > room and used > 0:
            breaks.append(i)
            used = 0.0
        used += h
    if breaks and len(heights) - breaks[-1] == 1:
        start = breaks[-2] if len(breaks) > 1 else 0
        if breaks[-1] - start > 2:
            breaks[-1] -= 1
    return breaks


def ceil_points(x: float) -> float:
    return math.ceil(x * 4) / 4


# ---------------------------------------------------------------------------------------------
# Pages

A4 = (595.28, 841.89)            # points, portrait (width, height)
PRINT_PX_PER_CHAR = 7.5          # a column's pixels per width unit in the wider of Excel and LibreOffice
PRINT_PX_PAD = 5


def print_width(widths) -> float:
    """Points the columns take on paper at 100 % (the wider of Excel's and LibreOffice's measure)."""
    return sum((w * PRINT_PX_PER_CHAR + PRINT_PX_PAD) * 0.75 for w in widths)


def fit_scale(widths, printable: float) -> int:
    """The print scale (percent, 10–100) that fits the columns into ``printable`` points."""
    return max(10, min(100, int(printable / print_width(widths) * 100)))


def fit_widths(natural: list[float], minimum: list[float], budget: float) -> list[float]:
    """Column widths: ``natural`` ones when their sum is within ``budget``, else the columns that
    can give (natural > minimum) narrowed in proportion until the sum fits (not below ``minimum``)."""
    widths = list(natural)
    for _ in range(20):
        over = sum(widths) - budget
        if over <= 0.01:
            break
        give = [max(w - m, 0.0) for w, m in zip(widths, minimum)]
        room = sum(give)
        if room <= 0:
            break
        k = min(1.0, over / room)
        widths = [w - g * k for w, g in zip(widths, give)]
    return [round(w, 1) for w in widths]


def natural_width(texts, cap: float, floor: float = 4.0) -> float:
    """A column width (characters) that holds the longest of ``texts`` on one line, within [floor, cap]."""
    longest = max((advance_width(str(t)) for t in texts if t not in (None, "")), default=0.0)
    need_px = text_pixels(longest, 10.0) + CELL_PAD_PX + 2
    return max(floor, min(cap, round((need_px - 5) / 7 + 0.5, 1)))
