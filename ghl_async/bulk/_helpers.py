"""Tag and attach many contacts with HighLevel's bulk endpoints: one request per chunk.

Tagging 1,000 contacts one by one costs 1,000 requests (10 burst windows of HighLevel's
100/10 s rule); through ``POST /contacts/bulk/tags/update/{type}`` it costs 10.

A chunk whose request still fails after the client's retries is tried again (twice, honouring
``Retry-After``); then its contacts are reported as failed with the reason, and the next chunk
goes. A refused token or a spent daily quota stops at once (``stopped``), since every later
chunk would fail the same way.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from ghl_async.bulk._failures import next_step, reason_of
from ghl_async.bulk._report import StopReason
from ghl_async.client import Client
from ghl_async.errors import ConfigError
from ghl_async.models import BulkTagResponse

__all__ = ["BulkResult", "add_tags", "remove_tags", "set_business"]

T = TypeVar("T")

# HighLevel documents no maximum batch for its bulk endpoints; 100 matches its page size.
_CHUNK = 100
# A failed chunk is tried this many more times, after _RETRY_DELAY s doubling (or Retry-After).
_RETRIES = 2
_RETRY_DELAY = 0.5


@dataclass(slots=True)
class BulkResult:
    """What a chunked bulk operation did.

    ``failed`` maps each contact that was not done to why: HighLevel's per-contact message, or
    the failure of its chunk's request. ``contacts`` counts the contacts of the chunks sent.
    ``stopped`` says why the work ended early (``"auth"``: the token was refused; ``"quota"``:
    the daily quota is spent); the contacts of later chunks were not sent.
    """

    contacts: int = 0
    requests: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # contact id -> the reason
    stopped: StopReason | None = None
    stop_error: str | None = None

    @property
    def succeeded(self) -> int:
        """Contacts the operation applied to."""
        return self.contacts - len(self.failed)

    @property
    def ok(self) -> bool:
        """Whether every contact was done and nothing stopped the work."""
        return not self.failed and self.stopped is None


async def _chunk(
    ghl: Client, result: BulkResult, chunk: list[str], send: Callable[[], Awaitable[T]]
) -> T | None:
    """``send()`` the chunk's request, retried as bulk work is; ``None`` when it failed (its
    contacts are then in ``result.failed``) or stopped the work (``result.stopped``)."""
    attempt = 0
    while True:
        result.requests += 1
        try:
            return await send()
        except Exception as err:  # whatever it is, it is this chunk's failure
            step = await next_step(
                err,
                attempt,
                retries=_RETRIES,
                delay=_RETRY_DELAY,
                retry_after_cap=ghl.retry_after_cap,
            )
            if step == "retry":
                attempt += 1
                continue
            reason = reason_of(err).reason
            result.failed.update(dict.fromkeys(chunk, reason))
            if step == "auth" or step == "quota":
                result.stopped = step
                result.stop_error = str(err)
            return None


def _chunks(ids: Iterable[str], size: int) -> Iterator[list[str]]:
    if not 1 <= size <= 1000:
        raise ConfigError(f"chunk_size must be in 1..1000, not {size}")
    it = iter(ids)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


async def _tags(
    ghl: Client,
    action: Literal["add", "remove"],
    contact_ids: Iterable[str],
    tags: Sequence[str],
    location_id: str | None,
    chunk_size: int,
) -> BulkResult:
    if not tags:
        raise ConfigError("give at least one tag")
    result = BulkResult()
    for chunk in _chunks(contact_ids, chunk_size):
        result.contacts += len(chunk)
        answer = await _chunk(
            ghl,
            result,
            chunk,
            functools.partial(
                ghl.contacts.bulk_update_tags,
                action,
                contacts=chunk,
                tags=list(tags),
                location_id=location_id,
            ),
        )
        if answer is None:
            if result.stopped is not None:
                break
            continue
        for item in answer.responses:
            if isinstance(item, BulkTagResponse) and item.type == "error" and item.contact_id:
                result.failed[item.contact_id] = item.message or "error"
    return result


async def add_tags(
    ghl: Client,
    contact_ids: Iterable[str],
    tags: Sequence[str],
    *,
    location_id: str | None = None,
    chunk_size: int = _CHUNK,
) -> BulkResult:
    """Add ``tags`` to every contact, ``chunk_size`` contacts per request.

    Raises:
        ConfigError: no tags, or a bad chunk size.
    """
    return await _tags(ghl, "add", contact_ids, tags, location_id, chunk_size)


async def remove_tags(
    ghl: Client,
    contact_ids: Iterable[str],
    tags: Sequence[str],
    *,
    location_id: str | None = None,
    chunk_size: int = _CHUNK,
) -> BulkResult:
    """Remove ``tags`` from every contact, ``chunk_size`` contacts per request.

    Raises:
        ConfigError: no tags, or a bad chunk size.
    """
    return await _tags(ghl, "remove", contact_ids, tags, location_id, chunk_size)


async def set_business(
    ghl: Client,
    contact_ids: Iterable[str],
    business_id: str | None,
    *,
    location_id: str | None = None,
    chunk_size: int = _CHUNK,
) -> BulkResult:
    """Attach every contact to ``business_id`` (``None`` detaches them), in chunks.

    Raises:
        ConfigError: a bad chunk size.
    """
    result = BulkResult()
    for chunk in _chunks(contact_ids, chunk_size):
        result.contacts += len(chunk)
        answer = await _chunk(
            ghl,
            result,
            chunk,
            functools.partial(
                ghl.contacts.bulk_set_business,
                ids=chunk,
                business_id=business_id,
                location_id=location_id,
            ),
        )
        if answer is None:
            if result.stopped is not None:
                break
            continue
        if answer.success is False:
            result.failed.update(dict.fromkeys(chunk, "the bulk request reported failure"))
    return result
