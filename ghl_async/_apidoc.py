"""Build the API reference from the docstrings with pdoc (dev-only: ``make docs``).

::

    python -m ghl_async._apidoc [--out build/docs] [MODULE ...]

Documents the package and every public module and subpackage (names without a leading
underscore) as the docstrings stand. Fails (exit 1, one line per problem) on a pdoc warning, a
reStructuredText role that was not converted, a ``ghl_async.*`` reference that does not resolve
to a documented object, or a link to a page or anchor that does not exist. Needs the ``dev``
extra (pdoc).
"""

from __future__ import annotations

import argparse
import html
import importlib
import pkgutil
import re
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["build", "check_links", "main", "public_modules"]

_ROLE = re.compile(r":(?:class|mod|meth|func|attr|data|exc|obj):`")
# A reference pdoc resolved is <code><a href=...>name</a></code>; one it could not stays plain.
_UNRESOLVED = re.compile(r"<code>(ghl_async(?:\.\w+)+)(?:\(\))?</code>")
_HREF = re.compile(r'href="([^"]+)"')
_ID = re.compile(r'id="([^"]+)"')

# pdoc links a class to its bases and lists inherited members with links to them. Two cases
# break: a private base (``models._ContactFields``) has no section to link to, and a base from a
# module outside the reference (``webhooks.events``, re-exported by ``webhooks``) gets no list at
# all, so a docstring naming an inherited field (``contact_id`` on ``TaskCreate``) links to an
# anchor that is never written. This override lists both kinds of base, as plain text; the rest
# is pdoc's own template.
_TEMPLATE = """{% extends "default/module.html.jinja2" %}
{% macro bases(cls) %}
    {%- if cls.bases -%}
        <wbr>(
        {%- for base in cls.bases -%}
            <span class="base">
            {%- if base[1].split(".")[-1].startswith("_") -%}{{ base[2] }}
            {%- else -%}{{ base[:2] | link(text=base[2]) }}{%- endif -%}
            </span>
            {%- if loop.nextitem %}, {% endif %}
        {%- endfor -%}
        )
    {%- endif -%}
{% endmacro %}
{% macro inherited(cls) %}
    {% for base, members in cls.inherited_members.items() %}
        {% set plain = base[1].startswith("_") or base[0] not in all_modules %}
        {% set m = None %}
        {% set member_html %}
            {% for m in members if is_public(m) | trim %}
                <dd id="{{ m.qualname }}" class="{{ m.kind }}">
                    {%- if plain -%}{{ m.name }}{%- else -%}
                    {{- m.taken_from | link(text=m.name.replace("__init__", base[1])) -}}
                    {%- endif -%}
                </dd>
            {% endfor %}
        {% endset %}
        {% if member_html %}
            <div><dt>{% if plain %}{{ base[1] }}{% else %}{{ base | link }}{% endif %}</dt>
                {{ member_html }}
            </div>
        {% endif %}
    {% endfor %}
{% endmacro %}
"""


def public_modules() -> list[str]:
    """``ghl_async`` and its public top-level modules and subpackages, by name."""
    import ghl_async

    names = ["ghl_async"]
    for info in pkgutil.iter_modules(ghl_async.__path__, "ghl_async."):
        if not info.name.rsplit(".", 1)[1].startswith("_"):
            names.append(info.name)
    return names


def _materialise(module: ModuleType) -> None:
    # Lazy (PEP 562) exports are not in the module's __dict__ until first used, and pdoc only
    # looks there: resolve every name of __all__ once, as a first use would.
    for name in getattr(module, "__all__", ()):
        if name not in vars(module):
            value = getattr(module, name)
            if not isinstance(value, ModuleType):
                setattr(module, name, value)


def build(out: Path, modules: Sequence[str] | None = None) -> list[str]:
    """Render ``modules`` (default: :func:`public_modules`) into ``out``; return the problems."""
    import pdoc
    import pdoc.render

    names = list(modules or public_modules())
    for name in names:
        _materialise(importlib.import_module(name))
    with tempfile.TemporaryDirectory() as templates, warnings.catch_warnings(record=True) as caught:
        (Path(templates) / "module.html.jinja2").write_text(_TEMPLATE, encoding="utf-8")
        pdoc.render.configure(
            docformat="google", show_source=False, search=True, template_directory=Path(templates)
        )
        warnings.simplefilter("always")
        pdoc.pdoc(*names, output_directory=out)
    problems = [f"pdoc: {w.message}" for w in caught]
    return problems + check_links(out)


def check_links(out: Path) -> list[str]:
    """Broken references in the pages under ``out``: see the module docstring."""
    pages = {path: path.read_text(encoding="utf-8") for path in sorted(out.rglob("*.html"))}
    ids = {path.resolve(): set(_ID.findall(text)) for path, text in pages.items()}
    problems: list[str] = []
    for path, text in pages.items():
        page = path.relative_to(out)
        for match in _ROLE.finditer(text):
            problems.append(f"{page}: unconverted role {text[match.start() : match.end() + 40]!r}")
        for name in _UNRESOLVED.findall(text):
            problems.append(f"{page}: unresolved reference {name}")
        for href in _HREF.findall(text):
            href = html.unescape(href)
            if "${" in href or href.startswith(("http:", "https:", "mailto:", "data:")):
                # ${...}: a placeholder in the search script's template, not a link
                continue
            target, _, anchor = href.partition("#")
            file = (path.parent / target).resolve() if target else path.resolve()
            if file.suffix != ".html":
                if not file.exists():
                    problems.append(f"{page}: missing file {href}")
                continue
            if file not in ids:
                problems.append(f"{page}: link to a missing page {href}")
            elif anchor and anchor not in ids[file]:
                problems.append(f"{page}: link to a missing anchor {href}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Build the reference; print each problem; exit 1 if there was any."""
    parser = argparse.ArgumentParser(prog="python -m ghl_async._apidoc", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/docs"), help="output directory")
    parser.add_argument("modules", nargs="*", help="default: ghl_async and its public modules")
    args = parser.parse_args(argv)
    problems = build(args.out, args.modules)
    for problem in problems:
        print(problem, file=sys.stderr)  # noqa: T201  (a command-line tool)
    if problems:
        return 1
    print(f"API reference: {args.out / 'index.html'}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
