"""The README's code is real: every Python block compiles and names only existing API."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import ghl_async
from ghl_async import Client

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_each_python_block_compiles(index: int) -> None:
    compile(BLOCKS[index], f"README block {index}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_every_ghl_call_in_the_readme_exists() -> None:
    # A client that is never entered sends nothing; its namespaces exist all the same.
    ghl = Client(auth=ghl_async.StaticToken("t"), location_id="loc")
    roots = "contacts|v3|oauth|rate_limits|with_options|with_raw_response|call_raw"
    names = set(re.findall(rf"\bghl\.((?:{roots})(?:\.\w+)*)", README.read_text(encoding="utf-8")))
    assert "contacts.get" in names
    assert "v3.contacts.get" in names
    for name in sorted(names):
        node: object = ghl
        for part in name.split("."):
            assert hasattr(node, part), f"README names ghl.{name}, which does not exist"
            node = getattr(node, part)
