"""Print pip requirements that pin every declared minimum version (for ``make test-min``).

Reads pyproject.toml: the runtime dependencies, the ``webhooks`` and ``toml`` extras, and the dev
tools the test suite itself runs (pytest, pytest-asyncio, build, twine, hatchling, pdoc); each
``>=X`` becomes ``==X``, markers kept. Linters, type checkers and coverage are left out: they
check our code, not what it runs on. A dependency without a ``>=`` minimum is an error: an
undeclared floor cannot be tested.
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

EXTRAS = ("webhooks", "toml")
TEST_TOOLS = {"pytest", "pytest-asyncio", "build", "twine", "hatchling", "pdoc"}


def pins(pyproject: dict[str, object]) -> list[str]:
    project = pyproject["project"]
    assert isinstance(project, dict)
    extras = project["optional-dependencies"]
    wanted = list(project["dependencies"])
    for extra in EXTRAS:
        wanted += extras[extra]
    wanted += [r for r in extras["dev"] if Requirement(r).name in TEST_TOOLS]
    lines = []
    for text in wanted:
        req = Requirement(text)
        floors = [s.version for s in req.specifier if s.operator == ">="]
        if len(floors) != 1:
            raise SystemExit(f"{text!r}: declare exactly one '>=' minimum")
        marker = f"; {req.marker}" if req.marker else ""
        lines.append(f"{req.name}=={floors[0]}{marker}")
    return sorted(set(lines))


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    sys.stdout.write("".join(line + "\n" for line in pins(pyproject)))


if __name__ == "__main__":
    main()
