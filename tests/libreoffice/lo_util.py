"""Helpers of the LibreOffice tests: what is needed, installing it on Debian, and one running
soffice driven in batches through lo_helper.py (run by the system python3, where UNO imports)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HELPER = HERE / "lo_helper.py"
SYSTEM_PYTHON = "/usr/bin/python3"
APT_PACKAGES = ("libreoffice-calc-nogui", "python3-uno", "fonts-noto-cjk", "poppler-utils")
APT_TIMEOUT = 1800  # seconds; a cold install downloads ~400 MB


def _uno_imports() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _cjk_font() -> bool:
    patterns = ("/usr/share/fonts/**/NotoSansCJK*", "/usr/share/fonts/**/NotoSerifCJK*",
                "/usr/share/fonts/**/*CJK*", "/usr/share/fonts/**/wqy*")
    return any(glob.glob(p, recursive=True) for p in patterns)


def missing() -> list[str]:
    """What the LibreOffice tests need and this machine lacks (Debian package names)."""
    out = []
    if not shutil.which("soffice"):
        out.append("libreoffice-calc-nogui")
    if not _uno_imports():
        out.append("python3-uno")
    if not _cjk_font():
        out.append("fonts-noto-cjk")
    if not (shutil.which("pdfinfo") and shutil.which("pdftotext") and shutil.which("pdffonts")):
        out.append("poppler-utils")
    return out


def can_install() -> bool:
    return (hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/etc/debian_version").exists()
            and shutil.which("apt-get") is not None)


def decide(missing_now: list[str], *, installable: bool, ci: bool) -> str:
    """What the session fixture does: "ok", "install", "fail" (CI) or "skip" (a developer's machine)."""
    if not missing_now:
        return "ok"
    if installable:
        return "install"
    return "fail" if ci else "skip"


def apt_install(packages=APT_PACKAGES) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ("apt-get update -qq && apt-get install -y -qq -o Dpkg::Use-Pty=0 "
           + " ".join(packages))
    return subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=APT_TIMEOUT)


def version() -> str:
    try:
        out = subprocess.run(["soffice", "--version"], capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.strip() or "unknown"


class LibreOffice:
    """One headless soffice for the whole test session (own profile, a named pipe);
    :meth:`run` sends a batch of ops to it through the helper script."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.pipe = f"xltools_tests_{os.getpid()}_{int(time.time())}"
        profile = workdir / "profile"
        profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [shutil.which("soffice") or "soffice", "--headless", "--invisible", "--nologo", "--norestore",
             "--nodefault", "--nolockcheck", f"-env:UserInstallation={profile.resolve().as_uri()}",
             f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.batches = 0

    def run(self, ops: list[dict], timeout: float = 300) -> list[dict]:
        self.batches += 1
        job = self.workdir / f"job{self.batches}.json"
        result = self.workdir / f"result{self.batches}.json"
        job.write_text(json.dumps({"ops": ops}, ensure_ascii=False), "utf-8")
        proc = subprocess.run([SYSTEM_PYTHON, str(HELPER), str(job), str(result), "--pipe", self.pipe],
                              capture_output=True, text=True, timeout=timeout, env=_system_env())
        if proc.returncode != 0 or not result.exists():
            raise RuntimeError(f"lo_helper failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return json.loads(result.read_text("utf-8"))

    def close(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)   # the process group of the soffice we started
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=20)


def _system_env() -> dict:
    """The environment for /usr/bin/python3: no virtualenv or pyenv variables leaking in."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("PYENV")}


def pdf_pages(pdf: Path) -> list[tuple[float, float]]:
    """(width, height) in points of every page, from pdfinfo."""
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], capture_output=True, text=True,
                         timeout=60).stdout
    pages = []
    for line in out.splitlines():
        if line.startswith("Page") and " size:" in line:
            dims = line.split("size:")[1].split("pts")[0].split("x")
            pages.append((float(dims[0]), float(dims[1])))
    return pages


def pdf_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                          capture_output=True, text=True, timeout=60).stdout


def pdf_fonts(pdf: Path) -> str:
    return subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=60).stdout


def xltools(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xltools", *args], capture_output=True, text=True, cwd=str(ROOT),
                          timeout=300)


def tmpdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
