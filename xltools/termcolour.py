"""Colours on a terminal (issue 15, part 6): severities painted as the workbooks mark their cells.

Only when the output is a terminal, ``NO_COLOR`` is not set (https://no-color.org) and ``TERM`` is
not ``dumb``; written to a file, a pipe or a test, the text stays byte for byte what it was. The
colours are :data:`xltools.rules.SEVERITY_COLOURS` — the fill as the background, the font colour
as the text — so a tag reads the same on a dark or a light terminal and looks like the marked cell:
24-bit where the terminal says it can (``COLORTERM``, Windows Terminal), else the nearest of
xterm's 256 colours. On Windows the console's escape-sequence mode is switched on first; where that
fails (an old console), no colour.

Other commands (``diff``, ``status``) call :func:`enabled` and :func:`paint`.
"""

from __future__ import annotations

import os
import re
import sys

from .rules import ERROR, INFO, SEVERITY_COLOURS, SEVERITY_NAMES, WARNING

RESET = "\x1b[0m"
_CUBE = (0, 95, 135, 175, 215, 255)   # the levels of xterm's 6×6×6 colour cube


def enabled(stream=None) -> bool:
    """Whether to colour what is written to ``stream`` (default stdout)."""
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        if not stream.isatty():
            return False
    except (AttributeError, ValueError, OSError):
        return False
    return _windows_vt(stream) if os.name == "nt" else True


def _windows_vt(stream) -> bool:  # pragma: no cover - Windows only
    """Switch the Windows console to escape-sequence (VT) mode; False where it cannot be."""
    try:
        import ctypes
        import msvcrt

        kernel32 = ctypes.windll.kernel32
        handle = msvcrt.get_osfhandle(stream.fileno())
        mode = ctypes.c_uint32()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False
        return bool(mode.value & 0x0004 or kernel32.SetConsoleMode(handle, mode.value | 0x0004))
    except Exception:
        return False


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _truecolour() -> bool:
    return os.environ.get("COLORTERM", "").lower() in ("truecolor", "24bit") or "WT_SESSION" in os.environ


def _sgr(hex_colour: str, ground: int, truecolour: bool) -> str:
    r, g, b = _rgb(hex_colour)
    if truecolour:
        return f"{ground};2;{r};{g};{b}"
    idx = [min(range(6), key=lambda i: abs(_CUBE[i] - v)) for v in (r, g, b)]
    return f"{ground};5;{16 + 36 * idx[0] + 6 * idx[1] + idx[2]}"


def paint(text: str, severity: str, on: bool = True) -> str:
    """``text`` in the colours of ``severity`` (error, warning, info); unchanged when not ``on``
    or for another severity."""
    if not on or severity not in SEVERITY_COLOURS:
        return text
    fill, font = SEVERITY_COLOURS[severity]
    tc = _truecolour()
    return f"\x1b[{_sgr(font, 38, tc)};{_sgr(fill, 48, tc)}m{text}{RESET}"


def rich_style(severity: str) -> str:
    """The same colours as a rich style (``#9C0006 on #FFC7CE``), for rich tables."""
    fill, font = SEVERITY_COLOURS.get(severity, (None, None))
    return f"{font} on {fill}" if fill else ""


_BY_NAME = {name: sev for sev, name in SEVERITY_NAMES.items()}
_TAG = re.compile(r"^(\s*)\[(" + "|".join(map(re.escape, _BY_NAME)) + r")\]", re.M)
# The mark a file's line starts with in the text report (cli.FAIL, cli.WARN).
_MARKS = {"×": ERROR, "!": WARNING}
_MARK = re.compile(r"^([×!]) ", re.M)


def paint_report(text: str) -> str:
    """The text report of ``validate`` with its severity tags (``[错误]``, ``[警告]``, ``[提示]``)
    at the start of a line, and the ``×`` / ``!`` of a file's line, painted."""
    text = _TAG.sub(lambda m: m.group(1) + paint(f"[{m.group(2)}]", _BY_NAME[m.group(2)]), text)
    return _MARK.sub(lambda m: paint(m.group(1), _MARKS[m.group(1)]) + " ", text)


__all__ = ["ERROR", "INFO", "WARNING", "enabled", "paint", "paint_report", "rich_style"]
