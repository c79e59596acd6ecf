"""Print a pip constraints file that pins every dependency of pyproject.toml to its declared floor.

    python scripts/lowest_constraints.py > lowest.txt                 # runtime deps + every extra
    python scripts/lowest_constraints.py --extra test > lowest.txt    # runtime deps + the test extra
    python scripts/lowest_constraints.py --build                      # also the build-system requires

Each requirement's ``>=X`` (or ``~=X``, or an exact ``==X``) becomes ``name==X``, with its
environment marker kept; extras are dropped, since a constraints file cannot name them
(``pandera[pandas]>=0.24`` constrains ``pandera==0.24``). A requirement without a floor is an
error: a dependency we don't bound from below is one whose lowest version nobody has tested.

Installing with ``pip install -c lowest.txt '.[test]'`` then tests the oldest versions a user
may get (the direct dependencies' floors; their own dependencies resolve as pip chooses, as they
would for a user who already has an old pandas, say). Standard library only, so it runs before
anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name, optional [extras], the version specifiers, an optional "; marker"
_REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*"
                          r"(?P<specs>[^;]*?)\s*(?:;\s*(?P<marker>.+?))?\s*$")
_FLOOR = re.compile(r"(?:>=|~=|===?)\s*(?P<version>[0-9][A-Za-z0-9.+!_-]*)")


def floor_pin(requirement: str) -> str:
    """``'pandas>=2.2.2'`` → ``'pandas==2.2.2'``; markers are kept, extras dropped."""
    m = _REQUIREMENT.match(requirement)
    if not m:
        raise ValueError(f"cannot parse requirement {requirement!r}")
    floors = [f.group("version") for f in _FLOOR.finditer(m.group("specs"))]
    if not floors:
        raise ValueError(f"requirement {requirement!r} has no lower bound (>=, ~= or ==)")
    if len(floors) > 1:
        raise ValueError(f"requirement {requirement!r} has more than one lower bound")
    name = re.sub(r"[-_.]+", "-", m.group("name")).lower()
    pin = f"{name}=={floors[0]}"
    return f"{pin}; {m.group('marker')}" if m.group("marker") else pin


def lowest_constraints(pyproject: dict, extras: list[str] | None = None, build: bool = False) -> list[str]:
    """The constraint lines for the project's dependencies, its extras (all if None) and,
    with ``build``, its build-system requires."""
    project = pyproject["project"]
    optional = project.get("optional-dependencies", {})
    unknown = sorted(set(extras or ()) - set(optional))
    if unknown:
        raise ValueError(f"no such extra: {', '.join(unknown)}")
    requirements = list(project.get("dependencies", []))
    for extra in (sorted(optional) if extras is None else extras):
        requirements += optional[extra]
    if build:
        requirements += pyproject.get("build-system", {}).get("requires", [])
    pins: dict[str, str] = {}
    for requirement in requirements:
        pin = floor_pin(requirement)
        name = pin.split("==", 1)[0]
        if name in pins and pins[name] != pin:
            raise ValueError(f"{name} is required twice with different floors: {pins[name]!r}, {pin!r}")
        pins[name] = pin
    return [pins[name] for name in sorted(pins)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--extra", action="append", dest="extras",
                        help="include this optional-dependency group (repeatable; default: all of them)")
    parser.add_argument("--build", action="store_true", help="include [build-system] requires")
    args = parser.parse_args(argv)
    pyproject = tomllib.loads(args.pyproject.read_text(encoding="utf-8"))
    try:
        lines = lowest_constraints(pyproject, args.extras, args.build)
    except ValueError as exc:
        print(f"lowest_constraints: {exc}", file=sys.stderr)
        return 1
    print(f"# The lowest versions {args.pyproject.name} allows (scripts/lowest_constraints.py).")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
