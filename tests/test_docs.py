"""The API reference (``make docs``) builds from the docstrings with no broken reference."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghl_async import _apidoc


def test_the_reference_builds_clean(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    assert _apidoc.main(["--out", str(out)]) == 0
    pages = {p.relative_to(out).as_posix() for p in out.rglob("*.html")}
    for module in _apidoc.public_modules():
        assert module.replace(".", "/") + ".html" in pages
    client = (out / "ghl_async" / "client.html").read_text()
    assert 'id="Client.open"' in client
    assert "Open the client for use outside" in client  # docstrings, not just names
    auth = (out / "ghl_async" / "auth.html").read_text()
    assert 'id="OAuthApp"' in auth
    assert "first match wins" in auth
    assert (out / "index.html").exists()


def test_public_modules_skip_private_ones() -> None:
    names = _apidoc.public_modules()
    assert names[0] == "ghl_async"
    assert {"ghl_async.client", "ghl_async.models", "ghl_async.webhooks"} <= set(names)
    assert not [n for n in names[1:] if n.rsplit(".", 1)[1].startswith("_")]
    assert "ghl_async._endpoints" not in names


@pytest.fixture
def broken_module(tmp_path: Path) -> Iterator[str]:
    name = "ghl_apidoc_sample"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent('''
            """A module whose docstrings name things that do not exist.

            See :class:`ghl_async.nowhere.Missing` and `ghl_async.client.Nope`.
            """

            __all__ = ["Thing"]


            class Thing:
                """Something; see `ghl_async.client.Client` (this one resolves)."""
        ''')
    )
    sys.path.insert(0, str(tmp_path))
    yield name
    sys.path.remove(str(tmp_path))
    sys.modules.pop(name, None)


def test_unresolved_references_are_reported(tmp_path: Path, broken_module: str) -> None:
    problems = _apidoc.build(tmp_path / "docs", ["ghl_async.client", broken_module])
    # (client.html names modules this small build leaves out: those count as unresolved too.)
    mine = [p for p in problems if p.startswith(f"{broken_module}.html:")]
    assert sorted(mine) == [
        f"{broken_module}.html: unresolved reference ghl_async.client.Nope",
        f"{broken_module}.html: unresolved reference ghl_async.nowhere.Missing",
    ]


def test_broken_links_and_roles_are_reported(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.html").write_text(
        '<p id="top">:class:`Client` stayed raw</p>'
        '<a href="sub/b.html#there">ok</a> <a href="sub/b.html#gone">anchor</a>'
        '<a href="nope.html">page</a> <a href="#top">self</a> <a href="style.css">css</a>'
        '<a href="https://example.com/x.html">external</a> <a href="${url}">template</a>'
    )
    (tmp_path / "sub" / "b.html").write_text('<h1 id="there">B</h1><a href="../a.html">up</a>')
    problems = _apidoc.check_links(tmp_path)
    assert problems[0].startswith("a.html: unconverted role ':class:`Client` stayed raw")
    assert problems[1:] == [
        "a.html: link to a missing anchor sub/b.html#gone",
        "a.html: link to a missing page nope.html",
        "a.html: missing file style.css",
    ]


def test_main_reports_problems_and_fails(
    tmp_path: Path, broken_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _apidoc.main(["--out", str(tmp_path / "docs"), broken_module]) == 1
    err = capsys.readouterr().err
    assert f"{broken_module}.html: unresolved reference ghl_async.nowhere.Missing" in err
