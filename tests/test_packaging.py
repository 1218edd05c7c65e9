"""The sdist and wheel: they build, pass ``twine check``, hold what they should, and work."""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build with the hatchling of this environment (dev extra), no download.
    # `python -m build` makes the sdist, then the wheel *from the sdist*: a file the sdist
    # lacks fails here.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return out


def _only(directory: Path, pattern: str) -> Path:
    (found,) = directory.glob(pattern)
    return found


def test_twine_check_passes(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    assert len(files) == 2
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_sdist_is_the_package_and_its_documents(dist: Path) -> None:
    sdist = _only(dist, "*.tar.gz")
    version = PYPROJECT["project"]["version"]
    top = f"ghl_async-{version}/"
    with tarfile.open(sdist) as archive:
        names = {n.removeprefix(top) for n in archive.getnames() if n != top.rstrip("/")}
    outside = sorted(n for n in names if not n.startswith("ghl_async/"))
    assert outside == [".gitignore", "CHANGELOG.md", "LICENSE", "PKG-INFO", "README.md",
                       "pyproject.toml"]  # fmt: skip
    # The tests are not shipped (they read ../shared beside a checkout): none half-shipped.
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "examples/"))]
    tracked = subprocess.run(
        ["git", "ls-files", "ghl_async"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(tracked) <= names  # every tracked file of the package


def test_the_wheel_holds_the_package_data_and_metadata(dist: Path) -> None:
    wheel = _only(dist, "*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert {"ghl_async/py.typed", "ghl_async/data/demo_submissions.csv",
            "ghl_async/data/demo_mapping.toml", f"{info}/licenses/LICENSE"} <= names  # fmt: skip
    assert not [n for n in names if not n.startswith(("ghl_async/", info))]
    project = PYPROJECT["project"]
    runtime = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert sorted(runtime) == sorted(project["dependencies"])
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] == ">=3.10"
    classifiers = metadata.get_all("Classifier") or []
    assert "Development Status :: 3 - Alpha" in classifiers
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Repository", "Issues", "Changelog"} <= set(urls)
    assert "ghl-async = ghl_async.cli:main" in entry_points
    assert "ghl_async = ghl_async.testing.pytest_plugin" in entry_points


def test_the_installed_wheel_imports_and_runs(dist: Path, tmp_path: Path) -> None:
    # Installed alone (dependencies from this environment), away from the checkout.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--target", str(target), str(_only(dist, "*.whl"))],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    code = (
        "import ghl_async, ghl_async.cli, ghl_async.bulk, ghl_async.testing, ghl_async.webhooks;"
        "from ghl_async.data import __file__ as d; import pathlib;"
        "assert (pathlib.Path(d).parent / 'demo_submissions.csv').exists();"
        f"assert ghl_async.__file__.startswith({str(target)!r});"
        "print(ghl_async.__version__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(target), "PATH": ""}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == PYPROJECT["project"]["version"]


def test_the_minimum_versions_job_pins_every_declared_floor() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "minimums.py")],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    pins = done.stdout.splitlines()
    for requirement in PYPROJECT["project"]["dependencies"]:
        name, floor = requirement.split(">=")
        assert f"{name}=={floor}" in pins
    assert "msgspec==0.18.6" in pins
    assert {"pytest==8.4", "pytest-asyncio==1.4"} <= set(pins)
    assert not [p for p in pins if p.startswith(("ruff", "mypy", "pytest-cov"))]
