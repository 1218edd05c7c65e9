"""Response bodies, read within a size cap whatever the server sends.

A hostile or broken server can answer with a body of any size, or a small gzip body that
inflates a thousandfold. :func:`read_body` reads in chunks and stops as soon as the *decoded*
size passes the cap, raising :class:`~ghl_async.errors.ResponseTooLargeError` with a bounded
prefix (never the body). Memory stays within the cap plus one chunk.

Inflation: the client's own aiohttp session is made with ``auto_decompress=False`` and asks
for ``gzip, deflate`` only; :func:`read_body` inflates with :mod:`zlib` itself, asking for at
most the bytes still allowed at each step (``max_length``), so a gzip bomb costs the cap and
no more, on every aiohttp version. A session you pass in keeps its own ``auto_decompress``;
then aiohttp inflates, and only aiohttp >= 3.13.3 bounds each inflated chunk (older versions
inflate one network read at once before the cap applies).
"""

from __future__ import annotations

import zlib
from typing import Final

import aiohttp

from ghl_async.errors import ResponseTooLargeError

__all__ = ["ACCEPT_ENCODING", "PREFIX", "read_body"]

# What the client's own session asks for: the encodings read_body can inflate within the cap.
ACCEPT_ENCODING: Final = "gzip, deflate"
# How much of an oversized body the error keeps.
PREFIX: Final = 4096

_GZIP = frozenset({"gzip", "x-gzip"})


async def read_body(
    response: aiohttp.ClientResponse,
    limit: int,
    *,
    inflate: bool,
    operation: str,
    keep_prefix: bool = True,
) -> bytes:
    """Read the whole (decoded) body of ``response``, at most ``limit`` bytes of it.

    ``inflate``: decode ``Content-Encoding`` here (the session does not). A body that cannot
    be inflated, or ends early, raises ``aiohttp.ClientPayloadError`` (no complete answer).

    Raises:
        ResponseTooLargeError: the decoded body exceeds ``limit``; the response is closed.
    """
    try:
        coding = response.headers.get("Content-Encoding") if inflate else None
        if coding is not None:
            coding = coding.strip().lower()
            if coding in _GZIP or coding == "deflate":
                return await _read_inflated(response, coding, limit, operation, keep_prefix)
            if coding not in ("", "identity"):
                raise aiohttp.ClientPayloadError(f"cannot decode Content-Encoding {coding!r}")
        # On every request: the same loop as aiohttp's own StreamReader.read(), plus the
        # count, inline (no coroutine of its own).
        content = response.content
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            size += len(chunk)
            chunks.append(chunk)
            if size > limit:
                raise _too_large(response, chunks, limit, operation, keep_prefix)
            if content.at_eof():
                # The common case, a body that came in one piece: no readany() call to hear
                # that it ended.
                break
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)
    except BaseException:
        # An unread or broken body: the connection cannot be reused.
        response.close()
        raise


async def _read_inflated(
    response: aiohttp.ClientResponse, coding: str, limit: int, operation: str, keep_prefix: bool
) -> bytes:
    content = response.content
    inflater: zlib._Decompress | None = None
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            if inflater is None:
                # RFC 1950 (zlib) header for "deflate", as it should be; some servers send a
                # raw RFC 1951 stream instead (aiohttp tells them apart the same way).
                if coding in _GZIP:
                    wbits = zlib.MAX_WBITS | 16
                elif chunk[0] & 0x0F == 8:
                    wbits = zlib.MAX_WBITS
                else:
                    wbits = -zlib.MAX_WBITS
                inflater = zlib.decompressobj(wbits)
            data = inflater.decompress(chunk, limit - size + 1)
            while True:
                size += len(data)
                chunks.append(data)
                if size > limit:
                    raise _too_large(response, chunks, limit, operation, keep_prefix)
                tail = inflater.unconsumed_tail
                if not tail:
                    break
                data = inflater.decompress(tail, limit - size + 1)
        if inflater is None:
            return b""
        data = inflater.flush()
        size += len(data)
        chunks.append(data)
        if size > limit:
            raise _too_large(response, chunks, limit, operation, keep_prefix)
        if not inflater.eof:
            raise aiohttp.ClientPayloadError(f"the {coding} body ended early")
    except zlib.error as err:
        raise aiohttp.ClientPayloadError(f"cannot inflate the {coding} body: {err}") from err
    return b"".join(chunks)


def _too_large(
    response: aiohttp.ClientResponse,
    chunks: list[bytes],
    limit: int,
    operation: str,
    keep_prefix: bool,
) -> ResponseTooLargeError:
    prefix = b""
    if keep_prefix:
        for chunk in chunks:
            prefix += chunk[: PREFIX - len(prefix)]
            if len(prefix) >= PREFIX:
                break
    return ResponseTooLargeError(
        f"{operation}: the HTTP {response.status} response is larger than {limit:,} bytes "
        "(max_response_size); reading stopped there",
        operation=operation,
        status=response.status,
        limit=limit,
        body=prefix,
    )
