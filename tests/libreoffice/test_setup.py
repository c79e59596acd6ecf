"""The LibreOffice fixture's decision: install where it can, fail in CI, skip on a developer's
machine — never a silent skip in CI. (No LibreOffice needed for this test.)"""

from __future__ import annotations

import lo_util


def test_decision_table():
    need = ["libreoffice-calc-nogui", "python3-uno"]
    assert lo_util.decide([], installable=False, ci=True) == "ok"
    assert lo_util.decide(need, installable=True, ci=True) == "install"
    assert lo_util.decide(need, installable=True, ci=False) == "install"
    assert lo_util.decide(need, installable=False, ci=True) == "fail"
    assert lo_util.decide(need, installable=False, ci=False) == "skip"


def test_what_is_checked_is_what_apt_installs():
    assert set(lo_util.missing()) <= set(lo_util.APT_PACKAGES)
    assert {"libreoffice-calc-nogui", "python3-uno", "fonts-noto-cjk", "poppler-utils"} == set(lo_util.APT_PACKAGES)
