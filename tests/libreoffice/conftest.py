"""LibreOffice as a real client. The session fixture makes sure LibreOffice Calc, the UNO
bridge of the system python3, a CJK font and poppler-utils are there — installing them with
apt-get when missing and running as root on Debian — and otherwise fails in CI (CI=true) or
skips with the reason on a developer's machine. Then one headless soffice serves the session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lo_util  # noqa: E402


@pytest.fixture(scope="session")
def libreoffice_ready() -> str:
    """The LibreOffice version line, once everything needed is installed."""
    ci = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
    need = lo_util.missing()
    action = lo_util.decide(need, installable=lo_util.can_install(), ci=ci)
    log = ""
    if action == "install":
        proc = lo_util.apt_install()
        log = (proc.stdout + proc.stderr)[-2000:]
        need = lo_util.missing()
        action = lo_util.decide(need, installable=False, ci=ci)
    if action == "fail":
        pytest.fail(f"LibreOffice tests need {', '.join(need)} (apt-get install -y {' '.join(lo_util.APT_PACKAGES)}); "
                    f"CI=true, so this is a failure, not a skip.\n{log}", pytrace=False)
    if action == "skip":
        pytest.skip(f"LibreOffice tests need {', '.join(need)}: install them with "
                    f"`apt-get install -y {' '.join(lo_util.APT_PACKAGES)}` (as root on Debian the tests do it)")
    return lo_util.version()


@pytest.fixture(scope="session")
def libreoffice(libreoffice_ready, tmp_path_factory):
    lo = lo_util.LibreOffice(tmp_path_factory.mktemp("soffice"))
    try:
        yield lo
    finally:
        lo.close()
