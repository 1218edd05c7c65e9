"""Switches that turn ghl_async's logging on without code: ``GHL_ASYNC_LOG`` and the CLI's ``-v``.

ghl_async logs to ``logging.getLogger("ghl_async")`` and its children (``ghl_async.auth``,
``ghl_async.webhooks``, ...) and, like any library, configures nothing unless asked. INFO has the
events worth knowing in production (retries, rate-limit waits, token renewals); DEBUG adds one
line per request (method, path without the query, status, time, attempt). No record carries a
token, a refresh token, a client secret or a query string (which may hold e-mail addresses).

``GHL_ASYNC_LOG=debug`` (or ``info``) is read once, when the first :class:`~ghl_async.Client` is
created (by then an application has usually set up its own logging). It lowers the
``ghl_async`` logger's level to the one named (it never makes it quieter), and attaches a
stderr handler with :data:`FORMAT` only if no handler would receive the records, i.e. neither
the ``ghl_async`` logger nor any ancestor (the root logger) has one. An application that
configured logging (``logging.basicConfig``, dictConfig, a framework) thus gets the records
through its own handlers, once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Final, TextIO

from ghl_async.errors import ConfigError

__all__ = ["ENV_VAR", "FORMAT", "LEVELS", "apply_level", "configure_from_env", "level_from_env"]

ENV_VAR: Final = "GHL_ASYNC_LOG"
LEVELS: Final[Mapping[str, int]] = {"debug": logging.DEBUG, "info": logging.INFO}
# The CLI's -v/-vv and GHL_ASYNC_LOG print the same lines.
FORMAT: Final = "%(asctime)s %(name)s %(levelname)s %(message)s"

_configured = False


def level_from_env(environ: Mapping[str, str]) -> int | None:
    """The level ``GHL_ASYNC_LOG`` names in ``environ``; ``None`` when unset or empty.

    Raises:
        ConfigError: the variable holds something other than ``debug`` or ``info``.
    """
    value = environ.get(ENV_VAR, "").strip().lower()
    if not value:
        return None
    level = LEVELS.get(value)
    if level is None:
        raise ConfigError(
            f"{ENV_VAR} must be one of {', '.join(LEVELS)} (or unset), not {environ[ENV_VAR]!r}"
        )
    return level


def stream_handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler printing :data:`FORMAT` lines to ``stream`` (default: ``sys.stderr``)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


def apply_level(level: int, logger: logging.Logger | None = None) -> logging.Handler | None:
    """Make ``logger`` (default ``ghl_async``) log at ``level``; return the handler it added.

    The level only goes down (more verbose). A stderr handler is added only when no handler
    would receive the records; otherwise the application's handlers print them.
    """
    target = logger or logging.getLogger("ghl_async")
    if target.getEffectiveLevel() > level:
        target.setLevel(level)
    if target.hasHandlers():
        return None
    handler = stream_handler()
    target.addHandler(handler)
    return handler


def configure_from_env(environ: Mapping[str, str] | None = None) -> None:
    """Apply ``GHL_ASYNC_LOG`` the first time this runs in a process (the first Client).

    Raises:
        ConfigError: the variable is set to an unknown level (on every call until fixed).
    """
    global _configured
    if _configured:
        return
    level = level_from_env(os.environ if environ is None else environ)
    _configured = True
    if level is not None:
        apply_level(level)
