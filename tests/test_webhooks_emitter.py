"""The emitting half (used by FakeHighLevel): signed, ordered, redelivered on 429 only."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timezone

import aiohttp
import msgspec
import pytest
from aiohttp import web
from webhook_helpers import now_iso, serve

from ghl_async.errors import ConfigError
from ghl_async.webhooks import (
    RECEIVER_KEY,
    ContactCreate,
    Dispatcher,
    NoteCreate,
    WebhookEmitter,
    WebhookEvent,
    WebhookVerifier,
    create_app,
    parse,
)

FAST = (0.01, 0.01, 0.01, 0.01, 0.01)


def counting_app(answers: list[int]) -> tuple[web.Application, list[bytes]]:
    """An endpoint answering ``answers`` in turn (then 200), recording each body."""
    bodies: list[bytes] = []

    async def handle(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        status = answers[len(bodies) - 1] if len(bodies) <= len(answers) else 200
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook", handle)
    return app, bodies


async def test_emitted_events_reach_a_receiver_signed_and_complete() -> None:
    dispatcher = Dispatcher()
    got: list[WebhookEvent] = []
    dispatcher.on_any(got.append)
    app = create_app(dispatcher, path="/hook")
    async with serve(app) as server:
        emitter = WebhookEmitter(
            str(server.make_url("/hook")), location_id="loc-9", app_id="app-9"
        )
        app[RECEIVER_KEY].verifier = WebhookVerifier(
            ed25519_public_key=emitter.public_key_pem, app_id="app-9"
        )
        emitter.emit("ContactCreate", {"id": "c1", "email": "a@example.com", "type": "ignored"})
        emitter.emit("NoteCreate", {"id": "n1", "contactId": "c1", "locationId": "other-loc"})
        await emitter.drain()
        await app[RECEIVER_KEY].join()
        await emitter.aclose()
    assert [(d.event_type, d.status, d.attempts, d.ok) for d in emitter.deliveries] == [
        ("ContactCreate", 200, 1, True),
        ("NoteCreate", 200, 1, True),
    ]
    contact, note = got
    assert isinstance(contact, ContactCreate)
    assert isinstance(note, NoteCreate)
    assert (contact.email, contact.location_id) == ("a@example.com", "loc-9")
    assert contact.app_id == "app-9"
    assert note.location_id == "other-loc"  # data wins over the emitter's default
    assert contact.webhook_id == emitter.deliveries[0].webhook_id
    assert contact.timestamp is not None
    assert abs((datetime.now(timezone.utc) - contact.timestamp).total_seconds()) < 60
    raw = msgspec.json.decode(emitter.deliveries[0].body)
    assert next(iter(raw)) == "type"
    assert raw["timestamp"].endswith("Z")
    assert "body=" not in repr(emitter.deliveries[0])


async def test_legacy_rsa_only_deliveries_verify_with_the_rsa_key() -> None:
    dispatcher = Dispatcher()
    got: list[WebhookEvent] = []
    dispatcher.on_any(got.append)
    app = create_app(dispatcher)
    async with serve(app) as server:
        emitter = WebhookEmitter(
            str(server.make_url("/webhooks")), location_id="L", signatures=("rsa",)
        )
        headers = emitter.signed_headers(b"{}")
        assert "x-ghl-signature" not in headers
        assert "x-wh-signature" in headers
        app[RECEIVER_KEY].verifier = WebhookVerifier(
            ed25519_public_key=emitter.public_key_pem, rsa_public_key=emitter.rsa_public_key_pem
        )
        emitter.emit("TaskCreate", {"id": "t1"})
        await emitter.drain()
        await app[RECEIVER_KEY].join()
        await emitter.aclose()
    assert emitter.deliveries[0].status == 200
    assert [e.type for e in got] == ["TaskCreate"]


async def test_both_signatures_can_be_sent() -> None:
    emitter = WebhookEmitter("http://127.0.0.1:9/", location_id="L", signatures=["ed25519", "rsa"])
    headers = emitter.signed_headers(b'{"a": 1}')
    verifier = WebhookVerifier(
        ed25519_public_key=emitter.ed25519_keys.public_key_pem,
        rsa_public_key=emitter.rsa_keys.public_key_pem,
    )
    assert verifier.check_signature(b'{"a": 1}', headers) == "ed25519"
    del headers["x-ghl-signature"]
    assert verifier.check_signature(b'{"a": 1}', headers) == "rsa"
    await emitter.aclose()


async def test_a_429_is_redelivered_with_the_same_body_until_accepted() -> None:
    app, bodies = counting_app([429, 429, 200])
    async with serve(app) as server:
        emitter = WebhookEmitter(
            str(server.make_url("/hook")), location_id="L", retry_delays=FAST
        )
        emitter.emit("ContactUpdate", {"id": "c1"})
        await emitter.drain()
        await emitter.aclose()
    delivery = emitter.deliveries[0]
    assert (delivery.status, delivery.attempts, delivery.done) == (200, 3, True)
    assert bodies == [delivery.body] * 3


async def test_redelivery_stops_after_six_tries() -> None:
    app, bodies = counting_app([429] * 10)
    async with serve(app) as server:
        emitter = WebhookEmitter(
            str(server.make_url("/hook")), location_id="L", retry_delays=FAST
        )
        emitter.emit("ContactUpdate", {"id": "c1"})
        await emitter.drain()
        await emitter.aclose()
    assert (emitter.deliveries[0].status, emitter.deliveries[0].attempts) == (429, 6)
    assert len(bodies) == 6
    assert not emitter.deliveries[0].ok


@pytest.mark.parametrize("status", [400, 401, 500, 503])
async def test_other_statuses_are_final(status: int) -> None:
    app, bodies = counting_app([status])
    async with serve(app) as server:
        emitter = WebhookEmitter(
            str(server.make_url("/hook")), location_id="L", retry_delays=FAST
        )
        emitter.emit("ContactUpdate", {"id": "c1"})
        await emitter.drain()
        await emitter.aclose()
    assert (emitter.deliveries[0].status, emitter.deliveries[0].attempts) == (status, 1)
    assert len(bodies) == 1


async def test_deliveries_keep_emission_order() -> None:
    app, bodies = counting_app([429, 200, 429])
    async with serve(app) as server:
        emitter = WebhookEmitter(
            str(server.make_url("/hook")), location_id="L", retry_delays=FAST
        )
        for i in range(20):
            emitter.emit("NoteCreate", {"id": f"n{i}"})
        await emitter.drain()
        await emitter.aclose()
    received = [parse(b) for b in bodies]
    ids = [e.id for e in received if isinstance(e, NoteCreate)]
    assert ids == ["n0", "n0", "n1", "n1"] + [f"n{i}" for i in range(2, 20)]


async def test_a_refused_connection_is_recorded_not_raised() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emitter = WebhookEmitter(f"http://127.0.0.1:{port}/hook", location_id="L")
    emitter.emit("ContactCreate", {"id": "c1"})
    await emitter.drain()
    await emitter.aclose()
    delivery = emitter.deliveries[0]
    assert delivery.status is None
    assert delivery.attempts == 1
    assert delivery.error is not None
    assert "ClientConnectorError" in delivery.error


async def test_a_given_session_is_used_and_left_open() -> None:
    app, bodies = counting_app([])
    async with serve(app) as server, aiohttp.ClientSession() as session:
        emitter = WebhookEmitter(
            str(server.make_url("/hook")), location_id="L", session=session
        )
        emitter.emit("ContactCreate", {"id": "c1", "timestamp": now_iso(-3600), "webhookId": "w"})
        await emitter.drain()
        await emitter.aclose()
        assert not session.closed
    assert emitter.deliveries[0].webhook_id == "w"
    assert msgspec.json.decode(bodies[0])["webhookId"] == "w"


async def test_closing_marks_undelivered_events_and_refuses_new_ones() -> None:
    started = asyncio.Event()
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        started.set()
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hang)
    async with serve(app) as server:
        emitter = WebhookEmitter(str(server.make_url("/hook")), location_id="L")
        emitter.emit("ContactCreate", {"id": "c1"})
        emitter.emit("ContactCreate", {"id": "c2"})
        await started.wait()
        await emitter.aclose()
        await emitter.aclose()  # idempotent
        with pytest.raises(RuntimeError, match="closed"):
            emitter.emit("ContactCreate", {"id": "c3"})
    assert [d.done for d in emitter.deliveries] == [True, True]
    assert all(d.error == "emitter closed before delivery" for d in emitter.deliveries)


def test_emit_needs_a_running_loop_and_valid_settings() -> None:
    emitter = WebhookEmitter("http://127.0.0.1:9/", location_id="L")
    with pytest.raises(RuntimeError):
        emitter.emit("ContactCreate", {})
    with pytest.raises(ConfigError):
        WebhookEmitter("http://127.0.0.1:9/", location_id="L", signatures=())
    with pytest.raises(ConfigError):
        WebhookEmitter("http://127.0.0.1:9/", location_id="L", signatures=["hmac"])  # type: ignore[list-item]
