"""Per-call options: ``extra_headers``, ``extra_query``, ``extra_body`` and ``timeout``.

Every generated method takes them (keyword-only, ``None`` by default), as openai-python's do;
``Client.with_options(...)`` stays the way to change settings for many calls. They exist for
what the typed surface lacks: a header a proxy wants, a query parameter or body field HighLevel
added before our models did. The rules, all checked before anything is sent (``ConfigError``):

* ``extra_headers`` are added to the request's headers. They cannot replace what the pipeline
  owns: ``Authorization`` (the token comes from ``auth=``), ``Version`` (the route's API version:
  call ``ghl.v3...`` for v3; a v2 body under a v3 header is what HighLevel refuses),
  ``Content-Type`` (bodies are JSON), ``Accept-Encoding`` (the client inflates what it asked
  for, within ``max_response_size``), and the framing headers ``Host``, ``Content-Length`` and
  ``Transfer-Encoding``. Names are HTTP tokens, values one-line strings; two names that differ
  only in case are refused. Other headers (``User-Agent``, ``Accept``, your own ``X-...``)
  replace the client's for this call.
* ``extra_query`` parameters go after the route's own, encoded like them: percent-encoded,
  ``True``/``False`` as ``true``/``false``, a list as the parameter repeated. A name the route's
  query model declares (``locationId``, ``limit``, ...) is refused: pass it through its typed
  parameter (paging parameters included, so a walk cannot be broken from outside).
* ``extra_body`` members are merged into the top level of the JSON body, after the route's own
  fields. A name the body model declares is refused, for the same reason; everything else is
  sent as given. HighLevel answers 422 ``property x should not exist`` to a member it does not
  know, so this is for fields it accepts that our models lack. Only routes with a JSON body
  offer it.
* ``timeout`` (seconds, or an ``aiohttp.ClientTimeout``) replaces the client's for each attempt
  of this call.

Nothing here runs for a call that passes no option: the generated method hands ``None`` on and
the pipeline takes its usual path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TypeAlias
from urllib.parse import quote

import aiohttp
import msgspec

from ghl_async import defaults
from ghl_async.errors import ConfigError

__all__ = [
    "PROTECTED_HEADERS",
    "CallOptions",
    "JSONValue",
    "QueryScalar",
    "QueryValue",
    "check_headers",
    "encode_extra_body",
    "encode_extra_query",
    "merge_body",
    "query_value",
    "timeout_of",
]

# Runtime objects, not strings: documentation tools evaluate annotations in the modules that
# use them, where a string alias's names are not imported.
QueryScalar: TypeAlias = str | int | float | bool
"""One query-string value: ``True``/``False`` are sent as ``true``/``false``."""
QueryValue: TypeAlias = QueryScalar | Sequence[QueryScalar]
"""A query-string value, or a list of them (the parameter is repeated)."""
JSONValue: TypeAlias = (
    str | int | float | bool | None | Sequence["JSONValue"] | Mapping[str, "JSONValue"]
)
"""Anything JSON can hold."""

# Lower-cased names of the headers the pipeline owns (see the module docstring).
PROTECTED_HEADERS = frozenset(
    {
        "authorization",
        "version",
        "content-type",
        "accept-encoding",
        "host",
        "content-length",
        "transfer-encoding",
    }
)
# RFC 9110 token characters.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+").fullmatch
_BAD_VALUE = re.compile(r"[\r\n\x00]").search
_ENCODE = msgspec.json.Encoder().encode
_WHY = {
    "authorization": "the token comes from auth= (StaticToken or OAuthApp)",
    "version": "each route sends its own API version: call ghl.v3... for Version: v3",
    "content-type": "request bodies are JSON",
    "accept-encoding": "the client decompresses what it asked for, within max_response_size",
}


class CallOptions:
    """What the pipeline applies on each attempt of one call (built only when given)."""

    __slots__ = ("headers", "timeout")

    def __init__(
        self, headers: dict[str, str] | None, timeout: aiohttp.ClientTimeout | None
    ) -> None:
        self.headers = headers
        self.timeout = timeout


def timeout_of(value: object, *, name: str = "timeout") -> aiohttp.ClientTimeout | None:
    """``value`` as an ``aiohttp.ClientTimeout`` (``None`` stays ``None``).

    Seconds become ``ClientTimeout(total=seconds, connect=min(seconds, 5))``.

    Raises:
        ConfigError: not ``None``, positive seconds or a ``ClientTimeout``.
    """
    if value is None or isinstance(value, aiohttp.ClientTimeout):
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(
            f"{name} must be positive seconds or an aiohttp.ClientTimeout, not {value!r}"
        )
    seconds = float(value)
    return aiohttp.ClientTimeout(total=seconds, connect=min(seconds, defaults.TIMEOUT_CONNECT))


def check_headers(operation: str, extra: object) -> dict[str, str]:
    """``extra_headers`` as a plain dict, checked (see the module docstring).

    Raises:
        ConfigError: not a mapping of str to str, a malformed name or value, a header the
            pipeline owns, or two names differing only in case.
    """
    if not isinstance(extra, Mapping):
        raise ConfigError(
            f"{operation}: extra_headers must be a mapping of str to str, not "
            f"{type(extra).__name__}"
        )
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in extra.items():
        if not isinstance(name, str) or not _TOKEN(name):
            raise ConfigError(f"{operation}: extra_headers: {name!r} is not a header name")
        folded = name.lower()
        if folded in PROTECTED_HEADERS:
            why = _WHY.get(folded, "it frames the request")
            raise ConfigError(f"{operation}: extra_headers cannot set {name}: {why}")
        if folded in seen:
            raise ConfigError(f"{operation}: extra_headers names {name} twice (case differs)")
        seen.add(folded)
        if not isinstance(value, str) or _BAD_VALUE(value):
            # The value is not shown: a header can carry a credential of the caller's.
            raise ConfigError(
                f"{operation}: extra_headers[{name!r}] must be a one-line str, not "
                f"{type(value).__name__}" + (" with a line break" if isinstance(value, str) else "")
            )
        out[name] = value
    return out


def query_value(value: object) -> str:
    """One query-string value as the pipeline sends it (percent-encoded, booleans lower-case)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return quote(str(value), safe="")


def _scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int))  # bool is an int


def encode_extra_query(operation: str, extra: object, declared: frozenset[str]) -> str:
    """``extra_query`` as ``name=value&...`` (no leading ``?``); ``""`` when empty.

    Raises:
        ConfigError: not a mapping, an empty or declared name, or a value that is not a str,
            int, finite float, bool, or a list of them.
    """
    if not isinstance(extra, Mapping):
        raise ConfigError(
            f"{operation}: extra_query must be a mapping, not {type(extra).__name__}"
        )
    parts: list[str] = []
    for name, value in extra.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{operation}: extra_query names must be non-empty str, not {name!r}")
        if name in declared:
            raise ConfigError(
                f"{operation}: extra_query cannot set {name!r}: the route declares it, pass it "
                "through its parameter"
            )
        items = value if isinstance(value, (list, tuple)) else (value,)
        if not items or not all(_scalar(item) for item in items):
            raise ConfigError(
                f"{operation}: extra_query[{name!r}] must be a str, int, finite float, bool or "
                f"a non-empty list of them, not {type(value).__name__}"
            )
        key = quote(name, safe="")
        parts.extend(f"{key}={query_value(item)}" for item in items)
    return "&".join(parts)


def encode_extra_body(operation: str, extra: object, declared: frozenset[str]) -> bytes:
    """``extra_body`` as a JSON object; ``b"{}"`` when empty.

    Raises:
        ConfigError: not a mapping with str keys, a declared name, or a value JSON cannot hold.
    """
    if not isinstance(extra, Mapping):
        raise ConfigError(f"{operation}: extra_body must be a mapping, not {type(extra).__name__}")
    for name in extra:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{operation}: extra_body names must be non-empty str, not {name!r}")
        if name in declared:
            raise ConfigError(
                f"{operation}: extra_body cannot set {name!r}: the route's body declares it, "
                "pass it through its parameter"
            )
    try:
        return _ENCODE(dict(extra))
    except (TypeError, msgspec.EncodeError, ValueError) as err:
        raise ConfigError(f"{operation}: extra_body cannot be sent as JSON: {err}") from err


def merge_body(data: bytes, extra: bytes) -> bytes:
    """The JSON object ``data`` with the members of the JSON object ``extra`` after its own."""
    if extra == b"{}":
        return data
    if data == b"{}":
        return extra
    return data[:-1] + b"," + extra[1:]
