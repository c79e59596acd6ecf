"""Workbooks → PDF by driving LibreOffice headless (``xltools pdf``, ``merge --pdf``).

soffice is looked for on PATH and at its usual install paths on Linux, macOS and Windows. Each
run gets a private profile directory (so it neither waits for nor disturbs a LibreOffice the
user has open) and a timeout (it never hangs); its process group is ended when it overruns.
The PDF is written beside each workbook, never over an existing file without ``force``.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

TIMEOUT = 180.0   # seconds for one soffice run (start + every conversion of the batch)
ENV_SOFFICE = "XLTOOLS_SOFFICE"   # an explicit soffice to use

NOT_INSTALLED = ("找不到 LibreOffice（soffice），无法生成 PDF。请安装 LibreOffice（https://zh-cn.libreoffice.org/），"
                 "或用环境变量 XLTOOLS_SOFFICE 指定 soffice 的完整路径。")


def _candidates() -> list[str]:
    out = []
    if sys.platform.startswith("win"):
        for base in (os.environ.get("PROGRAMFILES", r"C:\Program Files"),
                     os.environ.get("PROGRAMFILES(X86)", r"C:\Program Files (x86)")):
            out.append(os.path.join(base, "LibreOffice", "program", "soffice.exe"))
    elif sys.platform == "darwin":
        out.append("/Applications/LibreOffice.app/Contents/MacOS/soffice")
    out += ["/usr/bin/soffice", "/usr/local/bin/soffice", "/usr/lib/libreoffice/program/soffice",
            "/snap/bin/libreoffice"]
    out += sorted(glob.glob("/opt/libreoffice*/program/soffice"), reverse=True)
    return out


def find_soffice() -> str | None:
    """The soffice to run: ``XLTOOLS_SOFFICE``, else on PATH, else at a usual install path."""
    explicit = os.environ.get(ENV_SOFFICE)
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return next((c for c in _candidates() if Path(c).is_file()), None)


def pdf_path(xlsx: Path) -> Path:
    return Path(xlsx).with_suffix(".pdf")


@dataclass
class PdfResult:
    made: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)   # (workbook, why), in Chinese


def to_pdf(workbooks, *, force: bool = False, timeout: float = TIMEOUT, soffice: str | None = None) -> PdfResult:
    """Print each workbook to a PDF beside it (``x.xlsx`` → ``x.pdf``) with one soffice run.

    Raises :class:`UsageError` when LibreOffice is not installed, or (before converting
    anything) when a PDF exists already and not ``force``. A conversion that fails or times out
    is reported in ``failed``, in Chinese."""
    from .fsutil import check_targets

    books = [Path(p) for p in workbooks]
    for b in books:
        if not b.is_file():
            raise UsageError(f"找不到文件：{b}")
    soffice = soffice or find_soffice()
    if not soffice:
        raise UsageError(NOT_INSTALLED)
    check_targets([pdf_path(b) for b in books], books, force=force)
    result = PdfResult()
    if not books:
        return result
    with tempfile.TemporaryDirectory(prefix="xltools_pdf_") as tmp:
        tmp_path = Path(tmp)
        profile = (tmp_path / "profile").resolve().as_uri()
        outdir = tmp_path / "out"
        outdir.mkdir()
        # Copies under distinct ASCII names: two workbooks may share a stem, and soffice writes <stem>.pdf.
        staged = []
        for i, b in enumerate(books):
            src = tmp_path / f"in{i}.xlsx"
            shutil.copyfile(b, src)
            staged.append(src)
        cmd = [soffice, f"-env:UserInstallation={profile}", "--headless", "--invisible", "--nologo",
               "--norestore", "--nodefault", "--nolockcheck", "--convert-to", "pdf:calc_pdf_Export",
               "--outdir", str(outdir)] + [str(s) for s in staged]
        why = _run(cmd, timeout)
        from .fsutil import atomic_write_bytes

        for i, b in enumerate(books):
            made = outdir / f"in{i}.pdf"
            if made.is_file() and made.stat().st_size > 0:
                atomic_write_bytes(pdf_path(b), made.read_bytes())
                result.made.append(pdf_path(b))
            else:
                result.failed.append((b, why or "LibreOffice 未能生成 PDF（文件可能已损坏）"))
    return result


def _run(cmd: list[str], timeout: float) -> str | None:
    """Run soffice; ``None`` when it ended normally, else why not (Chinese)."""
    kw: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    if os.name == "posix":
        kw["start_new_session"] = True
    else:
        kw["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    try:
        proc = subprocess.Popen(cmd, **kw)
    except OSError as exc:
        return f"无法启动 LibreOffice（{cmd[0]}）：{exc.strerror or exc}"
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return f"LibreOffice 在 {int(timeout)} 秒内未完成，已停止"
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] if err else []
        return f"LibreOffice 出错（退出码 {proc.returncode}）" + (f"：{tail[0]}" if tail else "")
    return None


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)   # soffice starts a child (oosplash → soffice.bin)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
