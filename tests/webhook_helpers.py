"""Shared helpers for the webhook tests: bodies, signing, a real server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ghl_async import webhooks

EVENTS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "ghl-api" / "webhook-events"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso(offset: float = 0.0) -> str:
    return iso(datetime.now(timezone.utc) + timedelta(seconds=offset))


def event_body(event_type: str = "ContactCreate", **fields: object) -> bytes:
    """A delivery body with a fresh timestamp and a new webhookId unless given."""
    payload: dict[str, object] = {
        "type": event_type,
        "locationId": "loc-1",
        "id": "contact-1",
        "timestamp": now_iso(),
        "webhookId": str(uuid.uuid4()),
        "appId": "app-1",
    }
    payload.update(fields)
    payload = {k: v for k, v in payload.items() if v is not None}
    return msgspec.json.encode(payload)


def keys() -> webhooks.TestingKeys:
    return webhooks.testing_keys()


def ed25519_headers(body: bytes) -> dict[str, str]:
    return keys().ed25519.headers(body)


def rsa_headers(body: bytes) -> dict[str, str]:
    return keys().rsa.headers(body)


def make_verifier(**options: object) -> webhooks.WebhookVerifier:
    """A verifier trusting this process's test keys."""
    return webhooks.WebhookVerifier(
        ed25519_public_key=keys().ed25519.public_key_pem,
        rsa_public_key=keys().rsa.public_key_pem,
        **options,  # type: ignore[arg-type]  # test-only passthrough of keyword options
    )


def doc_examples() -> list[tuple[str, dict[str, object]]]:
    """(file stem, example payload) for every JSON example in HighLevel's webhook docs.

    The Update/Delete appointment examples say ``"type": "AppointmentCreate"`` (a doc bug);
    their type is corrected to the file's event. Empty when the docs folder is absent: tests
    then call :func:`require_docs`.
    """
    if not EVENTS_DIR.is_dir():
        return []
    examples: list[tuple[str, dict[str, object]]] = []
    for path in sorted(EVENTS_DIR.glob("*.md")):
        blocks = re.findall(r"```json\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)
        assert blocks, f"no JSON example in {path.name}"
        for block in blocks:
            payload = json.loads(block)
            if path.stem in {"AppointmentUpdate", "AppointmentDelete"}:
                assert payload["type"] == "AppointmentCreate"  # the doc bug is still there
                payload["type"] = path.stem
            examples.append((path.stem, payload))
    return examples


def require_docs() -> None:
    if not EVENTS_DIR.is_dir():
        pytest.skip(f"HighLevel webhook docs not found at {EVENTS_DIR}")


def doc_example_params() -> list[tuple[str, dict[str, object]]]:
    """:func:`doc_examples` for parametrize, with a placeholder that skips when absent."""
    return doc_examples() or [("docs-missing", {})]


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[TestServer]:
    """Run ``app`` on a real socket on 127.0.0.1; yield the server (``make_url(path)``)."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@asynccontextmanager
async def receiving(
    receiver: webhooks.WebhookReceiver, path: str = "/webhooks"
) -> AsyncIterator[str]:
    """Serve ``receiver`` at ``path`` on a real socket; yield the URL. Leaving closes it."""
    app = web.Application()
    receiver.attach(app, path)
    async with serve(app) as server:
        yield str(server.make_url(path))


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    """POST a delivery, Ed25519-signed with the test key unless ``headers`` are given."""
    sent = ed25519_headers(body) if headers is None else headers
    async with http.post(url, data=body, headers=sent) as response:
        return response.status, await response.json()
