"""Redis for the tests: a reachable server, else a private ``redis-server``, else a skip.

Loaded by ``tests/conftest.py`` (``pytest_plugins``). Tests that need Redis ask for one of:

* ``redis_url`` (session): the URL of a Redis that answered ``PING``;
* ``redis_client`` (function): a ``redis.asyncio.Redis`` on it, closed after the test;
* ``redis_prefix`` (function): a fresh ``ghltest:<hex>:`` prefix; its keys are deleted after.

Where the server comes from is decided once per session, on first use, by :func:`decide`:
``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) if it answers; otherwise a private
``redis-server`` on a free port if one is on ``PATH`` (stopped at the end of the session);
otherwise, under ``CI=true``, every Redis test errors (never a silent skip); otherwise the Redis
tests alone are skipped, with a message saying how to run them. The terminal summary says which.
Tests never flush a database: the server may be shared, so each test keeps to its own prefix.
"""

from __future__ import annotations

import enum
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import redis.asyncio

from ghl_async.redis import RedisKeys

DEFAULT_URL = "redis://127.0.0.1:6379/0"
HOW_TO_RUN = (
    "start Redis (e.g. `redis-server --port 6379 --save ''`), install redis-server so the tests "
    "can start a private one, or set REDIS_URL=redis://host:port/db"
)


class Plan(enum.Enum):
    """What to do about Redis for this test session."""

    USE = "use"  # the configured URL answers
    START = "start"  # start a private redis-server
    FAIL = "fail"  # CI without Redis: an error, never a skip
    SKIP = "skip"  # a developer machine without Redis: skip only the Redis tests


def decide(*, reachable: bool, server_binary: str | None, ci: bool) -> Plan:
    """Pick the plan: a pure function of what was found, tested as a table."""
    if reachable:
        return Plan.USE
    if server_binary:
        return Plan.START
    if ci:
        return Plan.FAIL
    return Plan.SKIP


def ci_enabled(value: str | None) -> bool:
    """Whether the ``CI`` environment variable says this is a CI run."""
    return (value or "").strip().lower() in {"true", "1", "yes"}


def redact(url: str) -> str:
    """``url`` with any password replaced, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def ping(url: str, timeout: float = 1.0) -> bool:
    """Whether a Redis at ``url`` answers ``PING`` within ``timeout`` seconds."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    except ValueError:
        return False
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_private(binary: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``redis-server`` on a free loopback port, keeping nothing on disk."""
    for _ in range(3):  # the free port may be taken between the probe and the bind
        port = free_port()
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                tempfile.gettempdir(),
                "--loglevel",
                "warning",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 15
        while process.poll() is None and time.monotonic() < deadline:
            if ping(url, 0.2):
                return process, url
            time.sleep(0.05)
        stop_private(process)
    raise RuntimeError(f"could not start a private {binary}")


def stop_private(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class RedisSetup:
    """The session's decision and, once acted on, the URL to use."""

    plan: Plan
    url: str
    message: str
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def probe(cls, env: Mapping[str, str]) -> RedisSetup:
        url = env.get("REDIS_URL") or DEFAULT_URL
        reachable = ping(url)
        binary = None if reachable else shutil.which("redis-server", path=env.get("PATH"))
        plan = decide(reachable=reachable, server_binary=binary, ci=ci_enabled(env.get("CI")))
        shown = redact(url)
        if plan is Plan.USE:
            return cls(plan, url, f"Redis tests use {shown}")
        if plan is Plan.START:
            assert binary is not None
            process, private = start_private(binary)
            return cls(
                plan,
                private,
                f"Redis tests use a private redis-server at {private} "
                f"({shown} did not answer; the server was stopped afterwards)",
                process,
            )
        if plan is Plan.FAIL:
            return cls(
                plan,
                url,
                f"no Redis at {shown} and no redis-server on PATH, and CI=true forbids "
                f"skipping the Redis tests: {HOW_TO_RUN}",
            )
        return cls(
            plan,
            url,
            f"Redis tests skipped: no Redis at {shown} and no redis-server on PATH; "
            f"to run them, {HOW_TO_RUN}",
        )

    def close(self) -> None:
        if self.process is not None:
            stop_private(self.process)
            self.process = None


_SETUP = pytest.StashKey[RedisSetup]()


def _setup(config: pytest.Config) -> RedisSetup:
    setup = config.stash.get(_SETUP, None)
    if setup is None:
        setup = RedisSetup.probe(os.environ)
        config.stash[_SETUP] = setup
        config.add_cleanup(setup.close)
    return setup


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    setup = config.stash.get(_SETUP, None)
    if setup is not None:
        terminalreporter.write_line(f"redis: {setup.message}")


@pytest.fixture(scope="session")
def redis_url(pytestconfig: pytest.Config) -> str:
    """The URL of a Redis that answered PING (see the module docstring for where it comes from)."""
    setup = _setup(pytestconfig)
    if setup.plan is Plan.FAIL:
        pytest.fail(setup.message, pytrace=False)
    if setup.plan is Plan.SKIP:
        pytest.skip(setup.message)
    return setup.url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A ``redis.asyncio.Redis`` for this test's loop, connected (it answered PING)."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        await client.ping()
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: redis.asyncio.Redis) -> AsyncIterator[str]:
    """A key prefix no other test uses; every key under it is deleted after the test."""
    prefix = f"ghltest:{uuid.uuid4().hex}:"
    yield prefix
    keys = [key async for key in redis_client.scan_iter(match=RedisKeys(prefix).pattern())]
    if keys:
        await redis_client.unlink(*keys)


@pytest.fixture
def redis_server_binary() -> str:
    """The path of redis-server, for tests that start one; skipped or failed like Redis tests."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "no redis-server on PATH: install it (e.g. apt-get install redis-server)"
        if ci_enabled(os.environ.get("CI")):
            pytest.fail(message + "; CI=true forbids skipping", pytrace=False)
        pytest.skip(message)
    return binary
