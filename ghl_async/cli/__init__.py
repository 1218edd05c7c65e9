"""``ghl-async``: the command line. Parse the arguments, call the SDK, print the result.

Run ``ghl-async --help`` for the commands, the environment variables and the exit codes
(:class:`~ghl_async.cli.output.ExitCode`). This package holds no business logic: bulk work,
mapping, export and the demo live in their own modules; here they are only called.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from ghl_async import logs
from ghl_async.cli.commands import HANDLERS, Context
from ghl_async.cli.output import ExitCode
from ghl_async.cli.parser import build_parser, resolve_env
from ghl_async.cli.settings import MissingCredentials
from ghl_async.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    GHLError,
    PermissionDeniedError,
    RateLimitError,
    TransportError,
)

# Python 3.10's asyncio.wait_for raises asyncio.TimeoutError, not yet the builtin (3.11+).
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)

__all__ = ["ExitCode", "main"]

log = logging.getLogger("ghl_async.cli")


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code that says what kind of failure ``error`` is."""
    if isinstance(error, MissingCredentials | AuthenticationError | PermissionDeniedError):
        return ExitCode.AUTH
    if isinstance(error, RateLimitError):
        return ExitCode.QUOTA
    # Before OSError: RequestTimeout and TimeoutError are OSErrors too.
    if isinstance(error, TransportError):
        return ExitCode.NETWORK
    if isinstance(error, _TIMEOUTS):
        return ExitCode.AUTH  # only the login wait has a timeout of its own
    if isinstance(error, ConfigError | OSError):
        return ExitCode.USAGE
    return ExitCode.API


@contextlib.contextmanager
def _logging(verbose: int, err: TextIO) -> Iterator[None]:
    """Log to ``err`` while the command runs (``main()`` may run again in the same process).

    ``-v`` is INFO, ``-vv`` DEBUG; ``GHL_ASYNC_LOG`` counts too, and the more verbose wins.
    """
    levels = [logging.DEBUG if verbose > 1 else logging.INFO] if verbose > 0 else []
    from_env = logs.level_from_env(os.environ)
    if from_env is not None:
        levels.append(from_env)
    if not levels:
        yield
        return
    # Our handler on the package logger: the Client's own GHL_ASYNC_LOG check then finds a
    # handler and adds none, so every line is printed once, to ``err``.
    handler = logs.stream_handler(err)
    root = logging.getLogger("ghl_async")
    level = root.level
    root.addHandler(handler)
    root.setLevel(min(levels))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _silence(stream: TextIO) -> None:
    """Point ``stream``'s descriptor at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError):  # not a real file (tests pass StringIO)
        pass


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command; return its exit code (the console script exits with it)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["fake"]:
        from ghl_async.testing.__main__ import main as serve_fake

        return serve_fake(raw[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(raw)
    except SystemExit as stop:  # --help, --version, or a usage error (already printed)
        return int(stop.code or 0)
    resolve_env(args, os.environ)
    handler = HANDLERS[(args.command, getattr(args, "action", None))]
    try:
        with _logging(getattr(args, "verbose", 0), err):
            return int(asyncio.run(handler(Context(args, out, err))))
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`ghl-async ... | head`): stop quietly, like other tools.
        _silence(out)
        return int(ExitCode.OK)
    except (GHLError, OSError, *_TIMEOUTS) as error:
        code = exit_code_for(error)
        message = str(error) or type(error).__name__
        if isinstance(error, _TIMEOUTS) and not isinstance(error, GHLError):
            message = "timed out waiting for the OAuth redirect"
        if isinstance(error, APIError) and error.status == 401 and code == ExitCode.AUTH:
            message += " (check the token, or run `ghl-async auth login` again)"
        err.write(f"ghl-async: error: {message}\n")
        log.debug("command failed", exc_info=error)
        return int(code)
    except Exception as error:
        # A bug: say so in one line instead of a traceback (which -vv still logs).
        err.write(
            f"ghl-async: internal error (a bug, please report it): "
            f"{type(error).__name__}: {error}\n"
        )
        log.debug("internal error", exc_info=error)
        return int(ExitCode.INTERNAL)
