"""Tag and attach many contacts with HighLevel's bulk endpoints: one request per chunk.

Tagging 1,000 contacts one by one costs 1,000 requests (10 burst windows of HighLevel's
100/10 s rule); through ``POST /contacts/bulk/tags/update/{type}`` it costs 10.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ghl_async.client import Client
from ghl_async.errors import ConfigError
from ghl_async.models import BulkTagResponse

__all__ = ["BulkResult", "add_tags", "remove_tags", "set_business"]

# HighLevel documents no maximum batch for its bulk endpoints; 100 matches its page size.
_CHUNK = 100


@dataclass(slots=True)
class BulkResult:
    """What a chunked bulk operation did: per-contact failures as HighLevel reported them."""

    contacts: int = 0
    requests: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # contact id -> HighLevel's message

    @property
    def succeeded(self) -> int:
        """Contacts the operation applied to."""
        return self.contacts - len(self.failed)


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
        answer = await ghl.contacts.bulk_update_tags(
            action, contacts=chunk, tags=list(tags), location_id=location_id
        )
        result.contacts += len(chunk)
        result.requests += 1
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
        APIError: a chunk's request failed (earlier chunks were applied).
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
        APIError: a chunk's request failed (earlier chunks were applied).
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
        APIError: a chunk's request failed (earlier chunks were applied).
    """
    result = BulkResult()
    for chunk in _chunks(contact_ids, chunk_size):
        answer = await ghl.contacts.bulk_set_business(
            ids=chunk, business_id=business_id, location_id=location_id
        )
        result.contacts += len(chunk)
        result.requests += 1
        if answer.success is False:
            result.failed.update(dict.fromkeys(chunk, "the bulk request reported failure"))
    return result
