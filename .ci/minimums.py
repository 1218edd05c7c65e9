"""Print pip requirements that pin every declared minimum version (for ``make test-min``).

Reads pyproject.toml: the runtime dependencies, every extra but ``bench`` (the benchmarks are not
run), and the ``dev`` extra without the code checkers (linters, type checkers, coverage: they
check our code, not what it runs on); each ``>=X`` becomes ``==X``, markers kept. A new extra or
test tool is picked up without editing this file. A dependency without a ``>=`` minimum is an
error: an undeclared floor cannot be tested.
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

SKIPPED_EXTRAS = {"bench"}
CHECKERS = {"ruff", "mypy", "pyright", "pytest-cov", "coverage"}


def pins(pyproject: dict[str, object]) -> list[str]:
    project = pyproject["project"]
    assert isinstance(project, dict)
    extras = project["optional-dependencies"]
    wanted = list(project["dependencies"])
    for extra, requirements in extras.items():
        if extra == "dev":
            wanted += [r for r in requirements if Requirement(r).name not in CHECKERS]
        elif extra not in SKIPPED_EXTRAS:
            wanted += requirements
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
