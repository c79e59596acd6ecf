"""Test-session set-up shared by every test folder."""

from __future__ import annotations


def pytest_collection_modifyitems(session, config, items):
    """Run the LibreOffice tests first: their session fixture installs LibreOffice where it is
    missing (CI), and the hostile-file corpus uses it to make a real .xls and an encrypted .xlsx."""
    items.sort(key=lambda item: 0 if "libreoffice" in item.nodeid.split("/")[:2] else 1)
