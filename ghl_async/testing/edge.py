"""How a faulty edge answers: proxy error pages, bodies cut short, closed and reset connections.

HighLevel sits behind load balancers and proxies, so not every failure comes from the API: a
gateway answers 502/503 with its own page (HTML, or plain text), a connection can end in the
middle of a body, or be reset. aiohttp's response writer always finishes what it starts, so the
broken answers are written straight to the transport here, byte for byte, and the handler then
returns a placeholder that aiohttp fails to send on the closed transport (it treats that as a
client disconnect and logs nothing).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Mapping
from email.utils import formatdate
from typing import Final

from aiohttp import web

from ghl_async.testing.exchange import JSON
from ghl_async.testing.faults import Fault, ProxyPage, RetryAfterForm
from ghl_async.testing.replies import ENCODER, error_body, reason

__all__ = [
    "INTERNAL_ERROR",
    "close_connection",
    "failure_response",
    "proxy_page",
    "retry_after_value",
    "send_cut",
    "send_reset",
]

# NestJS's answer to an unhandled exception, which is what HighLevel sends (issue #6).
INTERNAL_ERROR: Final = {"statusCode": 500, "message": "Internal server error"}
_NGINX: Final = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
# The shape of a Google Front End error page (HighLevel's API runs on Google Cloud).
_GOOGLE: Final = (
    "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n"
    "  <title>Error {status} (Server Error)!!1</title>\n"
    "  <p><b>{status}.</b> <ins>That\u2019s an error.</ins>\n"
    "  <p>The server encountered a temporary error and could not complete your request."
    "<p>Please try again in 30 seconds.  <ins>That\u2019s all we know.</ins>\n"
)
_CLOUDFLARE: Final = "error code: {status}"
_PAGES: Final[Mapping[ProxyPage, tuple[str, str, str]]] = {
    "nginx": (_NGINX, "text/html", "nginx"),
    "google": (_GOOGLE, "text/html; charset=UTF-8", "GFE/2.0"),
    "cloudflare": (_CLOUDFLARE, "text/plain; charset=UTF-8", "cloudflare"),
}
_DRAIN_POLLS: Final = 200  # x 1 ms: how long a reset waits for the head to leave the buffer


def proxy_page(status: int, page: ProxyPage) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a proxy's error page."""
    template, content_type, server = _PAGES[page]
    body = template.format(status=status, reason=reason(status)).encode()
    return body, {"Content-Type": content_type, "Server": server}


def retry_after_value(value: float | str, form: RetryAfterForm, now: float) -> str:
    """``Retry-After`` as delay-seconds or an HTTP-date ``value`` seconds after ``now``.

    A ``str`` is sent as given (to test odd values).
    """
    if isinstance(value, str):
        return value
    if form == "http-date":
        return formatdate(now + value, usegmt=True)
    return str(int(value) if float(value).is_integer() else value)


def failure_response(
    fault: Fault, *, trace_id: str, throttled: Mapping[str, str], now: float
) -> web.Response:
    """The answer of a ``fail`` fault.

    JSON answers are the API's (``traceId`` header; a 500 is NestJS's bare body; a 429 carries
    ``throttled``, the ``X-RateLimit-*`` headers of a spent window). Pages come from a proxy
    in front of it, so they carry none of the API's headers.
    """
    status = fault.status
    headers: dict[str, str]
    if fault.html:
        body, headers = proxy_page(status, fault.page)
    else:
        headers = {"Content-Type": JSON, "traceId": trace_id}
        if status == 500:
            body = ENCODER.encode(INTERNAL_ERROR)
        else:
            body = error_body(status, [reason(status)] if status == 422 else reason(status), None)
        if status == 429:
            headers.update(throttled)
    if fault.retry_after is not None:
        headers["Retry-After"] = retry_after_value(fault.retry_after, fault.retry_after_form, now)
    headers.update(fault.headers)
    return web.Response(body=body, status=status, headers=headers)


def _head(status: int, headers: Mapping[str, str], framing: str) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason(status)}"]
    lines += [
        f"{name}: {value}"
        for name, value in headers.items()
        if name.lower() not in ("content-length", "transfer-encoding", "connection")
    ]
    lines += [f"Date: {formatdate(usegmt=True)}", framing, "", ""]
    return "\r\n".join(lines).encode()


def _body_of(response: web.Response) -> bytes:
    body = response.body
    return body if isinstance(body, bytes) else b""


def _cut(body: bytes, keep: float) -> bytes:
    # Always short of the whole body, so the answer is really incomplete.
    return body[: min(int(len(body) * keep), max(len(body) - 1, 0))]


def close_connection(request: web.Request, *, reset: bool = False) -> web.Response:
    """Close the connection without an answer (FIN; RST when ``reset``); return a placeholder."""
    transport = request.transport
    if transport is not None:
        if reset:
            _linger_zero(transport)
        transport.abort()
    return web.Response(status=599)


async def send_cut(
    request: web.Request, response: web.Response, *, keep: float, chunked: bool
) -> web.Response:
    """Send ``response`` but stop early, then close the connection (FIN).

    With ``chunked=False`` the head declares the full ``Content-Length`` and a prefix follows;
    with ``chunked=True`` the prefix goes out as one chunk and the terminating chunk never does.
    """
    transport = request.transport
    if transport is None:  # pragma: no cover - the client is already gone
        return web.Response(status=599)
    body = _body_of(response)
    part = _cut(body, keep)
    if chunked:
        data = _head(response.status, response.headers, "Transfer-Encoding: chunked")
        if part:
            data += b"%x\r\n%s\r\n" % (len(part), part)
    else:
        data = _head(response.status, response.headers, f"Content-Length: {len(body) or 1}")
        data += part
    transport.write(data)
    transport.close()  # flushes what was written, then FIN
    return web.Response(status=599)


async def send_reset(request: web.Request, response: web.Response, *, keep: float) -> web.Response:
    """Send the head of ``response`` (and ``keep`` of its body), then reset the connection.

    The bytes are written and flushed first: an RST discards whatever is still unsent, and the
    point is that the client gets a status line and headers before the reset.
    """
    transport = request.transport
    if transport is None:  # pragma: no cover - the client is already gone
        return web.Response(status=599)
    body = _body_of(response)
    data = _head(response.status, response.headers, f"Content-Length: {len(body) or 1}")
    transport.write(data + _cut(body, keep))
    for _ in range(_DRAIN_POLLS):
        if transport.get_write_buffer_size() == 0 or transport.is_closing():
            break
        await asyncio.sleep(0.001)
    return close_connection(request, reset=True)


def _linger_zero(transport: asyncio.BaseTransport) -> None:
    # SO_LINGER on with a zero timeout: close() then sends RST instead of FIN.
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
