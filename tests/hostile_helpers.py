"""Servers that fail the way the fake cannot (imported as ``hostile_helpers``).

``serve(app)`` runs a purpose-built aiohttp app on a real socket. ``Proxy`` sits in front of a
FakeHighLevel and mangles chosen answers after the fake handled the request (so the write is
really applied): a 2xx body cut short or replaced by garbage, a connection reset in the middle
of the body, an applied write answered 502, odd ``X-RateLimit-*`` headers, a request handed
to the fake only after the client gave up.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from ghl_async import Client, StaticToken
from ghl_async.testing import FakeHighLevel

_HOP = frozenset(
    {"content-length", "transfer-encoding", "connection", "content-encoding", "date", "server"}
)


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 for the block; yields its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@dataclass
class Answer:
    """What the fake answered."""

    status: int
    headers: dict[str, str]
    body: bytes


Mangle = Callable[[web.Request, Answer], Awaitable[web.StreamResponse]]


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]
    mangle: Mangle | None
    times: int | None
    late: float = 0.0
    answer: Answer | None = None
    hits: int = 0


def plain(answer: Answer, *, status: int | None = None, body: bytes | None = None,
          headers: Mapping[str, str] | None = None) -> web.Response:  # fmt: skip
    """The fake's answer, with any of its parts replaced."""
    merged = {**answer.headers, **(headers or {})}
    return web.Response(
        status=answer.status if status is None else status,
        body=answer.body if body is None else body,
        headers=merged,
    )


def cut(fraction: float = 0.5) -> Mangle:
    """A complete HTTP answer whose JSON body stops part-way (Content-Length agrees)."""

    async def mangle(request: web.Request, answer: Answer) -> web.StreamResponse:
        return plain(answer, body=answer.body[: int(len(answer.body) * fraction)])

    return mangle


def garbage(request: web.Request, answer: Answer) -> Awaitable[web.StreamResponse]:
    """The 2xx status, with an HTML page for a body."""

    async def make() -> web.StreamResponse:
        return plain(
            answer, body=b"<html>maintenance</html>", headers={"Content-Type": "text/html"}
        )

    return make()


def status(
    code: int, *, retry_after: str | None = None, headers: Mapping[str, str] | None = None
) -> Mangle:
    """Another status (the write was applied all the same), with a proxy's HTML page.

    The fake's headers stay, with ``headers`` (and ``Retry-After``) on top.
    """
    extra = dict(headers or {})

    async def mangle(request: web.Request, answer: Answer) -> web.StreamResponse:
        headers = {"Content-Type": "text/html", **extra}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        page = f"<html><head><title>{code} Bad Gateway</title></head></html>".encode()
        return plain(answer, status=code, body=page, headers=headers)

    return mangle


def reset_mid(request: web.Request, answer: Answer) -> Awaitable[web.StreamResponse]:
    """Headers and half the body, then the connection is reset."""

    async def make() -> web.StreamResponse:
        response = web.StreamResponse(
            status=answer.status,
            headers={**answer.headers, "Content-Length": str(len(answer.body))},
        )
        await response.prepare(request)
        await response.write(answer.body[: len(answer.body) // 2])
        transport = request.transport
        if transport is not None:
            transport.abort()
        return response

    return make()


def with_headers(extra: Mapping[str, str]) -> Mangle:
    """The answer as it was, plus (or overriding) ``extra`` headers."""

    async def mangle(request: web.Request, answer: Answer) -> web.StreamResponse:
        return plain(answer, headers=extra)

    return mangle


@dataclass
class Proxy:
    """A mangling proxy in front of ``fake``; ``url`` is where clients should go."""

    fake: FakeHighLevel
    rules: list[Rule] = field(default_factory=list)
    url: str = ""
    forwarded: list[str] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None

    def on(
        self,
        method: str,
        path: str,
        mangle: Mangle | None = None,
        *,
        times: int | None = 1,
        late: float = 0.0,
        answer: Answer | None = None,
    ) -> Rule:
        """Mangle the next ``times`` answers to ``method`` on paths matching ``path`` (regex).

        ``late``: hand the request to the fake only after this many seconds, whether or not
        the client is still waiting (the server applies it late). ``answer``: never hand it
        to the fake (nothing is applied); answer this instead (after ``late`` seconds).
        """
        rule = Rule(method, re.compile(path), mangle, times, late, answer)
        self.rules.append(rule)
        return rule

    def _take(self, request: web.Request) -> Rule | None:
        for rule in self.rules:
            if rule.method == request.method and rule.path.fullmatch(request.path):
                rule.hits += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        rule = self._take(request)
        if rule is not None and rule.answer is not None:
            await asyncio.sleep(rule.late)
            answer = rule.answer
        elif rule is not None and rule.late:
            # Shielded: the client going away must not stop the request reaching the fake.
            answer = await asyncio.shield(self._late(rule.late, request, body))
        else:
            answer = await self._forward(request, body)
        if rule is None or rule.mangle is None:
            return plain(answer)
        return await rule.mangle(request, answer)

    async def _late(self, seconds: float, request: web.Request, body: bytes) -> Answer:
        await asyncio.sleep(seconds)
        return await self._forward(request, body)

    async def _forward(self, request: web.Request, body: bytes) -> Answer:
        assert self._session is not None
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("authorization", "version", "content-type", "accept")
        }
        self.forwarded.append(f"{request.method} {request.path}")
        async with self._session.request(
            request.method, self.fake.url(request.path_qs), data=body or None, headers=headers
        ) as response:
            payload = await response.read()
            kept = {k: v for k, v in response.headers.items() if k.lower() not in _HOP}
            return Answer(response.status, kept, payload)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Proxy]:
        """Serve the proxy for the block."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        async with aiohttp.ClientSession() as session, serve(app) as url:
            self._session = session
            self.url = url
            yield self


def client_via(proxy: Proxy, **options: object) -> Client:
    """A client of the fake behind ``proxy``: its token and location, near-zero backoff."""
    fake = proxy.fake
    settings: dict[str, object] = {"backoff_base": 0.001, "backoff_max": 0.005, **options}
    return Client(
        auth=StaticToken(fake.private_token, location_id=fake.location_id),
        location_id=fake.location_id,
        base_url=proxy.url,
        **settings,  # type: ignore[arg-type]  # Client's keyword arguments
    )
