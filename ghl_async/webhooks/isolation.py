"""Calling user code (handlers, callbacks) so that nothing it raises can kill the caller.

A handler that lets ``asyncio.CancelledError`` escape looks, to a plain ``await``, exactly like
the awaiting task being cancelled; on Python 3.10 there is no ``Task.cancelling()`` to tell the
two apart. So an async callable runs in a task of its own and is awaited through a future that
the task resolves when it ends, which raises only when *we* are cancelled: the callable's own
cancellation, or any other ``BaseException`` it raises, comes back as a value. The cost is one
task per async handler (a few microseconds), small next to verifying the signature.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from typing import Final

__all__ = ["FATAL", "call_isolated"]

logger = logging.getLogger("ghl_async.webhooks")

FATAL: Final = (KeyboardInterrupt, SystemExit)
"""Exceptions that always propagate: the process is stopping."""

# Tasks abandoned because their caller was cancelled twice; kept referenced until they end.
_abandoned: set[asyncio.Future[object]] = set()


async def call_isolated(
    function: Callable[..., object], *args: object
) -> tuple[object, BaseException | None]:
    """Call a sync or async ``function``; return ``(result, None)`` or ``(None, raised)``.

    Everything ``function`` raises is returned, including ``CancelledError`` and other
    ``BaseException`` subclasses, except :data:`FATAL`. The caller's own cancellation propagates:
    the call is cancelled too and awaited while it unwinds (its ``finally`` blocks run, as with a
    plain ``await``); cancelling the caller again stops waiting for a call that ignores
    cancellation.
    """
    try:
        outcome = function(*args)
    except FATAL:
        raise
    except BaseException as err:  # a handler's failure is reported, not raised
        return None, err
    if not inspect.isawaitable(outcome):
        return outcome, None
    loop = asyncio.get_running_loop()
    call: asyncio.Future[object] = asyncio.ensure_future(outcome, loop=loop)
    finished: asyncio.Future[None] = loop.create_future()
    # A bare future rather than asyncio.wait: the same semantics (never raises for the call's
    # outcome, only for our own cancellation) at a third less overhead per handler.
    call.add_done_callback(functools.partial(_release, finished))
    try:
        await finished
    except asyncio.CancelledError:
        call.cancel()
        _abandoned.add(call)
        call.add_done_callback(_settle_abandoned)
        await asyncio.wait((call,))
        raise
    if call.cancelled():
        try:
            call.result()
        except asyncio.CancelledError as err:
            return None, err
    error = call.exception()
    if error is None:
        return call.result(), None
    if isinstance(error, FATAL):  # pragma: no cover - the loop itself re-raises these first
        raise error
    return None, error


def _release(finished: asyncio.Future[None], call: asyncio.Future[object]) -> None:
    if not finished.done():
        finished.set_result(None)


def _settle_abandoned(call: asyncio.Future[object]) -> None:
    _abandoned.discard(call)
    if not call.cancelled() and call.exception() is not None:
        logger.warning(
            "webhook call ended with an error after it was cancelled", exc_info=call.exception()
        )
