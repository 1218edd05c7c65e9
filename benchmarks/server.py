"""A fast loopback HighLevel stand-in that runs in its own process.

Every answer is pre-serialised, so the server spends a few microseconds per request and never
limits the contenders (the runner measures and prints its CPU share to prove it). It speaks
plain HTTP/1.1 with keep-alive over `asyncio.Protocol`: a web framework here would cost more
CPU than some of the clients under test.

Two listeners: `open` (rate-limit headers with limits far out of reach) and `limited`, which
enforces a scaled-down HighLevel burst rule per token (per location, in HighLevel terms) and
answers 429 past it. The rule is a fixed window that opens at the first request after the
previous window closed; `X-RateLimit-*` headers are sent like HighLevel's on every answer.

Run as `python -m benchmarks.server`: it prints one JSON line with both ports, then serves
until its standard input closes (so it never outlives the runner).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs

import msgspec

from benchmarks import payloads

_JSON = b"Content-Type: application/json; charset=utf-8\r\n"
_REASONS = {200: b"OK", 201: b"Created", 401: b"Unauthorized", 404: b"Not Found",
            411: b"Length Required", 422: b"Unprocessable Entity",
            429: b"Too Many Requests", 400: b"Bad Request"}
_BODY_401_VERSION = b'{"statusCode":401,"message":"version header was not found."}'
_BODY_401_AUTH = b'{"statusCode":401,"message":"No Authorization header found for authentication!"}'
_BODY_404 = b'{"statusCode":404,"message":"Contact not found"}'
_BODY_422_LOCATION = (b'{"statusCode":422,"message":["locationId should not be empty"],'
                      b'"error":"Unprocessable Entity"}')
_BODY_422_LIMIT = (b'{"statusCode":422,"message":["limit must not be greater than 100"],'
                   b'"error":"Unprocessable Entity"}')
_BODY_429 = b'{"statusCode":429,"message":"Too Many Requests - Rate limit exceeded"}'
_BODY_411 = b'{"statusCode":411,"message":"chunked request bodies are not supported here"}'


@dataclass
class Rule:
    """A burst rule: at most `max` requests per `interval_ms` per token, plus a daily quota."""

    max: int
    interval_ms: int
    daily: int = 200_000


OPEN_RULE = Rule(max=1_000_000_000, interval_ms=10_000, daily=1_000_000_000)


@dataclass
class _Window:
    start: float = 0.0
    count: int = 0
    daily: int = 0


@dataclass
class Stats:
    """Counters the runner reads through `GET /__bench/stats`."""

    requests: int = 0
    rejected_429: int = 0
    started: float = field(default_factory=time.monotonic)


class _Content:
    """Pre-serialised bodies, built once at start-up."""

    def __init__(self) -> None:
        pool = payloads.pool()
        enc = msgspec.json.encode
        self.by_id = {c["id"]: b'{"contact":' + enc(c) + b"}" for c in pool}
        self.items = [enc(c) for c in pool]
        self.created = [b'{"contact":' + enc(payloads.make_created_contact(i)) + b"}"
                        for i in range(64)]
        self._pages: dict[tuple[int, int], bytes] = {}

    def page(self, skip: int, n: int) -> bytes:
        """The JSON array of `n` pool contacts starting at `skip` (modulo the pool)."""
        key = (skip % payloads.POOL_SIZE, n)
        cached = self._pages.get(key)
        if cached is None:
            start = key[0]
            items = [self.items[(start + i) % payloads.POOL_SIZE] for i in range(n)]
            cached = b"[" + b",".join(items) + b"]"
            if len(self._pages) < 512:
                self._pages[key] = cached
        return cached


class _Limiter:
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.windows: dict[bytes, _Window] = {}

    def check(self, token: bytes) -> tuple[bool, bytes]:
        """Count one request; return (allowed, X-RateLimit-* header lines)."""
        rule = self.rule
        now = time.monotonic()
        win = self.windows.get(token)
        if win is None:
            win = self.windows[token] = _Window(start=now)
        elif now - win.start >= rule.interval_ms / 1000:
            win.start, win.count = now, 0
        win.count += 1
        win.daily += 1
        allowed = win.count <= rule.max
        headers = (b"X-RateLimit-Limit-Daily: %d\r\nX-RateLimit-Daily-Remaining: %d\r\n"
                   b"X-RateLimit-Interval-Milliseconds: %d\r\nX-RateLimit-Max: %d\r\n"
                   b"X-RateLimit-Remaining: %d\r\n") % (
            rule.daily, max(rule.daily - win.daily, 0), rule.interval_ms, rule.max,
            max(rule.max - win.count, 0))
        return allowed, headers


class _Protocol(asyncio.Protocol):
    def __init__(self, content: _Content, limiter: _Limiter, stats: Stats,
                 limiters: dict[str, _Limiter]) -> None:
        self.content = content
        self.limiter = limiter
        self.limiters = limiters
        self.stats = stats
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            lines = buf[:end].split(b"\r\n")
            length = 0
            auth = version = None
            close = chunked = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"authorization":
                    auth = value.strip()
                elif name == b"version":
                    version = value.strip()
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
                elif name == b"transfer-encoding":
                    chunked = True
            total = end + 4 + length
            if len(buf) < total:
                break
            body = buf[end + 4:total]
            buf = buf[total:]
            method, target, _ = lines[0].split(b" ", 2)
            if chunked:
                self._send(411, [_BODY_411], b"")
                close = True
            else:
                self._route(method, target, auth, version, body)
            if close and self.transport is not None:
                self.transport.close()
                buf = b""
                break
        self.buf = buf

    def _send(self, status: int, parts: list[bytes], extra: bytes) -> None:
        size = sum(len(p) for p in parts)
        head = b"HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n%s\r\n" % (
            status, _REASONS[status], _JSON, size, extra)
        if self.transport is not None:
            self.transport.writelines([head, *parts])

    def _route(self, method: bytes, target: bytes, auth: bytes | None,
               version: bytes | None, body: bytes) -> None:
        self.stats.requests += 1
        path, _, query = target.partition(b"?")
        if path.startswith(b"/__bench/"):
            self._admin(path, query)
            return
        if version is None:
            self._send(401, [_BODY_401_VERSION], b"")
            return
        if auth is None or not auth.startswith(b"Bearer ") or len(auth) <= 7:
            self._send(401, [_BODY_401_AUTH], b"")
            return
        allowed, rl = self.limiter.check(auth[7:])
        if not allowed:
            self.stats.rejected_429 += 1
            self._send(429, [_BODY_429], rl)
            return
        if method == b"GET" and path.startswith(b"/contacts/business/"):
            self._business(path[19:].decode(), query, rl)
        elif method == b"POST" and path == b"/contacts/":
            if b'"locationId"' not in body:
                self._send(422, [_BODY_422_LOCATION], rl)
                return
            created = self.content.created
            self._send(201, [created[self.stats.requests % len(created)]], rl)
        elif method == b"GET" and path.startswith(b"/contacts/"):
            found = self.content.by_id.get(path[10:].decode())
            if found is None:
                self._send(404, [_BODY_404], rl)
            else:
                self._send(200, [found], rl)
        else:
            self._send(404, [b'{"statusCode":404,"message":"Cannot route"}'], rl)

    def _business(self, business: str, query: bytes, rl: bytes) -> None:
        params = parse_qs(query.decode())
        size = payloads.business_size(business)
        if "locationId" not in params:
            self._send(422, [_BODY_422_LOCATION], rl)
            return
        limit = int(params.get("limit", ["25"])[0])
        skip = int(params.get("skip", ["0"])[0])
        if limit > 100:
            self._send(422, [_BODY_422_LIMIT], rl)
            return
        total = size or 0
        n = max(0, min(limit, total - skip))
        page = self.content.page(skip, n) if n else b"[]"
        self._send(200, [b'{"contacts":', page, b',"count":%d}' % total], rl)

    def _admin(self, path: bytes, query: bytes) -> None:
        if path == b"/__bench/reset":
            params = parse_qs(query.decode())
            limited = self.limiters["limited"]
            if "max" in params:
                limited.rule = Rule(max=int(params["max"][0]),
                                    interval_ms=int(params["interval_ms"][0]))
            for lim in self.limiters.values():
                lim.windows.clear()
            self.stats.rejected_429 = 0
        body = json.dumps({
            "requests": self.stats.requests,
            "rejected_429": self.stats.rejected_429,
            "cpu_s": time.process_time(),
            "wall_s": time.monotonic(),
            "limited_rule": vars(self.limiters["limited"].rule),
        }).encode()
        self._send(200, [body], b"")


async def serve(rule: Rule, ready: threading.Event | None = None) -> None:
    """Serve both listeners until stdin closes; print their ports as one JSON line."""
    loop = asyncio.get_running_loop()
    content = _Content()
    stats = Stats()
    limiters = {"open": _Limiter(OPEN_RULE), "limited": _Limiter(rule)}
    def factory(lim: _Limiter) -> Callable[[], _Protocol]:
        return lambda: _Protocol(content, lim, stats, limiters)

    servers = {}
    for name, lim in limiters.items():
        servers[name] = await loop.create_server(factory(lim), host="127.0.0.1", port=0,
                                                 backlog=1024)
    ports = {name: srv.sockets[0].getsockname()[1] for name, srv in servers.items()}
    print(json.dumps(ports), flush=True)
    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def watch_stdin() -> None:
        # The runner holds our stdin open; EOF means it is gone or done with us.
        sys.stdin.read()
        loop.call_soon_threadsafe(finish)

    threading.Thread(target=watch_stdin, daemon=True).start()
    await done
    for srv in servers.values():
        srv.close()


class ServerProcess:
    """Start `python -m benchmarks.server` as a child process; stop it on exit."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.ports: dict[str, int] = {}
        self.pid = 0
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, listener: str = "open") -> str:
        """Base URL of one listener."""
        return f"http://127.0.0.1:{self.ports[listener]}"

    def __enter__(self) -> ServerProcess:
        root = Path(__file__).resolve().parent.parent
        self._proc = proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server", "--max", str(self.rule.max),
             "--interval-ms", str(self.rule.interval_ms)],
            cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=10)
            raise RuntimeError(f"benchmark server exited with status {proc.returncode}")
        self.ports = json.loads(line)
        self.pid = proc.pid
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        proc = self._proc
        if proc is None:
            return
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m benchmarks.server`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=20, help="limited listener: requests/window")
    parser.add_argument("--interval-ms", type=int, default=1000, help="limited listener window")
    args = parser.parse_args(argv)
    asyncio.run(serve(Rule(max=args.max, interval_ms=args.interval_ms)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
