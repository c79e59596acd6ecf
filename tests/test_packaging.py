"""What an install gets: the declared dependencies, and the wheel and sdist hatchling builds."""

from __future__ import annotations

import email
import importlib.util
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import xltools

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SCHEMAS = sorted(p.name for p in (ROOT / "schemas").glob("*.toml"))

sys.path.insert(0, str(ROOT / "scripts"))
import lowest_constraints  # noqa: E402


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0).lower().replace("-", "_")


def _imported_modules() -> set[str]:
    found = set()
    for path in (ROOT / "xltools").glob("*.py"):
        for m in re.finditer(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", path.read_text(encoding="utf-8"), re.M):
            found.add(m.group(1))
    return found


def test_every_runtime_dependency_is_imported_by_the_package():
    """A runtime dependency xltools never imports (openpyxl, defusedxml were) only slows installs."""
    unused = sorted(_name(r) for r in PYPROJECT["project"]["dependencies"])
    unused = [name for name in unused if name not in _imported_modules()]
    assert unused == []


def test_the_test_extra_has_what_the_tests_import():
    test_extra = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}   # openpyxl: xltools.annotate
    assert {"pytest", "hypothesis", "lxml", "hatchling"} <= test_extra and "openpyxl" in runtime | test_extra


# ---------------------------------------------------------------------------------------------
# scripts/lowest_constraints.py: the floors CI installs


@pytest.mark.parametrize("requirement,pin", [
    ("pandas>=2.1.2", "pandas==2.1.2"),
    ("pandera[pandas]>=0.24", "pandera==0.24"),
    ("typer>=0.24,<0.29", "typer==0.24"),
    ("typer <0.29, >= 0.24", "typer==0.24"),
    ("Python_Calamine>=0.5.4", "python-calamine==0.5.4"),
    ("lxml~=5.0", "lxml==5.0"),
    ("rich==13.1", "rich==13.1"),
    ('tomli>=2; python_version < "3.11"', 'tomli==2; python_version < "3.11"'),
])
def test_floor_becomes_a_pin(requirement, pin):
    assert lowest_constraints.floor_pin(requirement) == pin


@pytest.mark.parametrize("requirement", ["pandas", "pandas<3", "pandas>=2,>=2.1"])
def test_requirement_without_one_floor_is_refused(requirement):
    with pytest.raises(ValueError):
        lowest_constraints.floor_pin(requirement)


def test_constraints_pin_every_declared_dependency():
    lines = lowest_constraints.lowest_constraints(PYPROJECT, build=True)
    declared = (PYPROJECT["project"]["dependencies"] + PYPROJECT["build-system"]["requires"]
                + [r for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra])
    assert {_name(line) for line in lines} == {_name(r) for r in declared}
    assert all(re.fullmatch(r"[a-z0-9-]+==[0-9][\w.]*", line) for line in lines), lines
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "lowest_constraints.py"), "--build"],
                          capture_output=True, text=True, check=True)
    assert [line for line in proc.stdout.splitlines() if not line.startswith("#")] == lines


# ---------------------------------------------------------------------------------------------
# The built wheel and sdist


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """Build both with the PEP 517 hooks of the installed hatchling, as pip or `build` would."""
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling is not installed (pip install '.[test]')")
    out = tmp_path_factory.mktemp("dist")
    code = ("import sys, hatchling.build as b\n"
            "print(b.build_wheel(sys.argv[1]))\n"
            "print(b.build_sdist(sys.argv[1]))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    wheel, sdist = proc.stdout.split()
    return out / wheel, out / sdist


def test_wheel_has_license_types_marker_and_schemas(dists):
    wheel, _ = dists
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        dist_info = f"xltools-{xltools.__version__}.dist-info"
        assert wheel.name.startswith(f"xltools-{xltools.__version__}-")
        assert "xltools/py.typed" in names
        assert {f"xltools/schemas/{name}" for name in SCHEMAS} <= names and SCHEMAS
        assert zf.read(f"{dist_info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        meta = email.message_from_bytes(zf.read(f"{dist_info}/METADATA"))
    assert meta["Version"] == xltools.__version__
    assert meta["License"] == "MIT" and "LICENSE" in meta.get_all("License-File")
    runtime = {_name(r) for r in meta.get_all("Requires-Dist") if "extra ==" not in r}
    assert runtime == {_name(r) for r in PYPROJECT["project"]["dependencies"]}


def test_sdist_has_license_and_version(dists):
    _, sdist = dists
    top = f"xltools-{xltools.__version__}"
    with tarfile.open(sdist) as tf:
        names = set(tf.getnames())
        assert {f"{top}/LICENSE", f"{top}/xltools/py.typed", f"{top}/PKG-INFO"} <= names
        assert {f"{top}/schemas/{name}" for name in SCHEMAS} <= names
        meta = email.message_from_bytes(tf.extractfile(f"{top}/PKG-INFO").read())
    assert meta["Version"] == xltools.__version__ and "LICENSE" in meta.get_all("License-File")
