"""Signature verification (Ed25519 and legacy RSA), replay window, dedupe, optional extra."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
import time

import pytest
from webhook_helpers import (
    ed25519_headers,
    event_body,
    keys,
    make_verifier,
    now_iso,
    rsa_headers,
)

from ghl_async import webhooks
from ghl_async.errors import ConfigError, GHLError
from ghl_async.webhooks import (
    AppMismatchError,
    ContactCreate,
    CryptographyMissingError,
    DuplicateEventError,
    MemorySeenStore,
    PayloadError,
    SignatureError,
    StaleEventError,
    WebhookError,
    WebhookVerifier,
)


def flip(body: bytes, index: int = 10) -> bytes:
    return body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]


def test_error_tree() -> None:
    for cls in (SignatureError, StaleEventError, DuplicateEventError, PayloadError,
                AppMismatchError, CryptographyMissingError):
        assert issubclass(cls, WebhookError)
    assert issubclass(WebhookError, GHLError)
    assert issubclass(CryptographyMissingError, ImportError)


async def test_valid_ed25519_signature_is_accepted() -> None:
    body = event_body(email="a@example.com")
    event = await make_verifier().verify(body, ed25519_headers(body))
    assert isinstance(event, ContactCreate)
    assert event.email == "a@example.com"


async def test_valid_rsa_signature_is_accepted() -> None:
    body = event_body()
    verifier = make_verifier()
    assert verifier.check_signature(body, rsa_headers(body)) == "rsa"
    assert isinstance(await verifier.verify(body, rsa_headers(body)), ContactCreate)


def test_ed25519_is_preferred_when_both_headers_are_present() -> None:
    body = event_body()
    both = {**ed25519_headers(body), **rsa_headers(body)}
    assert make_verifier().check_signature(body, both) == "ed25519"


def test_a_bad_ed25519_signature_is_not_rescued_by_a_good_rsa_one() -> None:
    body = event_body()
    headers = {**ed25519_headers(flip(body)), **rsa_headers(body)}
    with pytest.raises(SignatureError, match="does not match"):
        make_verifier().check_signature(body, headers)


@pytest.mark.parametrize("sign", [ed25519_headers, rsa_headers], ids=["ed25519", "rsa"])
def test_a_flipped_body_byte_is_rejected(sign: object) -> None:
    body = event_body()
    headers = sign(body)  # type: ignore[operator]
    for index in (0, len(body) // 2, len(body) - 1):
        with pytest.raises(SignatureError, match="does not match the body"):
            make_verifier().authenticate(flip(body, index), headers)


def test_a_signature_by_another_key_is_rejected() -> None:
    body = event_body()
    other_ed = webhooks.generate_ed25519_keys()
    other_rsa = webhooks.generate_rsa_keys()
    with pytest.raises(SignatureError, match="does not match"):
        make_verifier().authenticate(body, other_ed.headers(body))
    with pytest.raises(SignatureError, match="does not match"):
        make_verifier().authenticate(body, other_rsa.headers(body))


def test_highlevel_default_keys_reject_a_test_signature() -> None:
    # The defaults load (both published keys parse), and they are not our test keys.
    verifier = WebhookVerifier()
    body = event_body()
    with pytest.raises(SignatureError):
        verifier.authenticate(body, ed25519_headers(body))
    with pytest.raises(SignatureError):
        verifier.authenticate(body, rsa_headers(body))


def test_a_missing_signature_header_is_rejected() -> None:
    with pytest.raises(SignatureError, match="no x-ghl-signature or x-wh-signature"):
        make_verifier().authenticate(event_body(), {"Content-Type": "application/json"})


@pytest.mark.parametrize("algorithm", ["ed25519", "rsa"])
def test_truncated_signatures_are_rejected(algorithm: str) -> None:
    body = event_body()
    pair = keys().ed25519 if algorithm == "ed25519" else keys().rsa
    good = pair.sign(body)
    raw = base64.b64decode(good)
    for bad in (good[:-4], good[: len(good) // 2], base64.b64encode(raw[:-1]).decode()):
        with pytest.raises(SignatureError):
            make_verifier().authenticate(body, {pair.header: bad})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("not base64!!", "not valid base64"),
        ("A" * 5000, "too long"),
        (base64.b64encode(b"x" * 63).decode(), "is 63 bytes"),
    ],
)
def test_malformed_ed25519_headers_are_rejected(value: str, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        make_verifier().authenticate(event_body(), {"x-ghl-signature": value})


def test_header_names_are_case_insensitive_and_must_be_single() -> None:
    body = event_body()
    signature = keys().ed25519.sign(body)
    assert make_verifier().check_signature(body, {"X-GHL-Signature": signature}) == "ed25519"
    with pytest.raises(SignatureError, match="2 x-ghl-signature headers"):
        make_verifier().check_signature(
            body, {"X-GHL-Signature": signature, "x-ghl-signature": signature}
        )


def test_legacy_only_delivery_is_refused_when_rsa_is_off() -> None:
    body = event_body()
    verifier = make_verifier(accept_rsa=False)
    with pytest.raises(SignatureError, match="RSA is not accepted"):
        verifier.authenticate(body, rsa_headers(body))
    assert verifier.check_signature(body, ed25519_headers(body)) == "ed25519"


def test_several_keys_are_accepted_during_rotation() -> None:
    body = event_body()
    old, new = webhooks.generate_ed25519_keys(), keys().ed25519
    verifier = WebhookVerifier(ed25519_public_key=[old.public_key_pem, new.public_key_pem.encode()])
    assert verifier.check_signature(body, new.headers(body)) == "ed25519"
    assert verifier.check_signature(body, old.headers(body)) == "ed25519"


def test_stale_and_future_timestamps_are_rejected() -> None:
    verifier = make_verifier(tolerance=300)
    old = event_body(timestamp=now_iso(-301))
    with pytest.raises(StaleEventError, match="old") as caught:
        verifier.authenticate(old, ed25519_headers(old))
    assert caught.value.age > 300
    future = event_body(timestamp=now_iso(+400))
    with pytest.raises(StaleEventError, match="in the future") as caught:
        verifier.authenticate(future, ed25519_headers(future))
    assert caught.value.age < -300
    recent = event_body(timestamp=now_iso(-250))
    assert verifier.authenticate(recent, ed25519_headers(recent)).timestamp is not None


def test_the_window_is_configurable_and_uses_the_clock() -> None:
    body = event_body(timestamp="2025-01-28T14:35:00Z")
    at = 1738075200.0  # 2025-01-28T14:40:00Z, 5 minutes later
    assert make_verifier(tolerance=301, clock=lambda: at).authenticate(body, ed25519_headers(body))
    with pytest.raises(StaleEventError):
        make_verifier(tolerance=299, clock=lambda: at).authenticate(body, ed25519_headers(body))


def test_a_naive_timestamp_is_taken_as_utc() -> None:
    body = event_body(timestamp="2025-01-28T14:35:00")
    verifier = make_verifier(clock=lambda: 1738075200.0)
    assert verifier.authenticate(body, ed25519_headers(body)).webhook_id


def test_missing_timestamp_or_webhook_id_fails_closed() -> None:
    no_time = event_body(timestamp=None)
    with pytest.raises(PayloadError, match="no ISO-8601 timestamp"):
        make_verifier().authenticate(no_time, ed25519_headers(no_time))
    bad_time = event_body(type="SomethingNew", timestamp="yesterday")
    with pytest.raises(PayloadError, match="no ISO-8601 timestamp"):
        make_verifier().authenticate(bad_time, ed25519_headers(bad_time))
    no_id = event_body(webhookId=None)
    with pytest.raises(PayloadError, match="no webhookId"):
        make_verifier().authenticate(no_id, ed25519_headers(no_id))
    # Both checks can be switched off explicitly.
    relaxed = make_verifier(tolerance=None, dedupe=False)
    bare = event_body(timestamp=None, webhookId=None)
    assert relaxed.authenticate(bare, ed25519_headers(bare)).webhook_id is None


async def test_a_replayed_webhook_id_is_rejected_until_forgotten() -> None:
    verifier = make_verifier()
    body = event_body()
    event = await verifier.verify(body, ed25519_headers(body))
    with pytest.raises(DuplicateEventError) as caught:
        await verifier.verify(body, ed25519_headers(body))
    assert caught.value.webhook_id == event.webhook_id
    # Same id, different (validly signed) body: still a replay.
    again = event_body(webhookId=event.webhook_id, email="x@example.com")
    with pytest.raises(DuplicateEventError):
        await verifier.verify(again, ed25519_headers(again))
    await verifier.forget(event)
    assert await verifier.verify(body, ed25519_headers(body)) == event


async def test_dedupe_off_accepts_replays() -> None:
    verifier = make_verifier(dedupe=False)
    body = event_body()
    await verifier.verify(body, ed25519_headers(body))
    await verifier.verify(body, ed25519_headers(body))
    await verifier.forget(webhooks.parse(body))


async def test_the_seen_store_is_pluggable_and_gets_the_ttl() -> None:
    calls: list[tuple[str, str, float]] = []

    class Store:
        async def add(self, webhook_id: str, ttl: float) -> bool:
            calls.append(("add", webhook_id, ttl))
            return True

        async def discard(self, webhook_id: str) -> None:
            calls.append(("discard", webhook_id, 0.0))

    verifier = make_verifier(seen_store=Store(), tolerance=100)
    body = event_body(webhookId="w-1")
    event = await verifier.verify(body, ed25519_headers(body))
    await verifier.forget(event)
    assert calls == [("add", "w-1", 260.0), ("discard", "w-1", 0.0)]
    assert make_verifier(tolerance=None).seen_ttl == 86_400.0
    assert make_verifier(seen_ttl=5).seen_ttl == 5


def test_app_id_is_checked_when_configured() -> None:
    mine = event_body(appId="my-app")
    assert make_verifier(app_id="my-app").authenticate(mine, ed25519_headers(mine))
    theirs = event_body(appId="other-app")
    with pytest.raises(AppMismatchError, match="other-app"):
        make_verifier(app_id="my-app").authenticate(theirs, ed25519_headers(theirs))
    anonymous = event_body(appId=None)
    with pytest.raises(AppMismatchError):
        make_verifier(app_id="my-app").authenticate(anonymous, ed25519_headers(anonymous))


def test_signature_is_checked_before_the_body_is_parsed() -> None:
    with pytest.raises(SignatureError):
        make_verifier().authenticate(b"not json", {"x-ghl-signature": "AAAA"})
    garbage = b"not json"
    with pytest.raises(PayloadError, match="not valid JSON"):
        make_verifier().authenticate(garbage, ed25519_headers(garbage))


def test_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="tolerance"):
        WebhookVerifier(tolerance=0)
    with pytest.raises(ConfigError, match="seen_ttl"):
        WebhookVerifier(seen_ttl=-1)
    with pytest.raises(ConfigError, match="not a PEM"):
        WebhookVerifier(ed25519_public_key="garbage")
    with pytest.raises(ConfigError, match="not a PEM"):
        WebhookVerifier(rsa_public_key=b"garbage")
    with pytest.raises(ConfigError, match="expected an Ed25519 public key"):
        WebhookVerifier(ed25519_public_key=keys().rsa.public_key_pem)
    with pytest.raises(ConfigError, match="expected an RSA public key"):
        WebhookVerifier(rsa_public_key=keys().ed25519.public_key_pem)
    with pytest.raises(ConfigError, match="at least one Ed25519"):
        WebhookVerifier(ed25519_public_key=[])
    with pytest.raises(ConfigError, match="at least one RSA"):
        WebhookVerifier(rsa_public_key=())
    with pytest.raises(ConfigError, match="expected an Ed25519 private key"):
        webhooks.sign_ed25519(b"x", keys().rsa.private_key_pem)
    with pytest.raises(ConfigError, match="expected an RSA private key"):
        webhooks.sign_rsa(b"x", keys().ed25519.private_key_pem)
    # RSA off: no RSA key is even loaded.
    assert WebhookVerifier(accept_rsa=False, rsa_public_key="ignored")


def test_key_pairs_sign_like_highlevel_and_hide_the_private_half() -> None:
    pair = keys().ed25519
    assert pair.header == webhooks.ED25519_HEADER == "x-ghl-signature"
    assert keys().rsa.header == webhooks.RSA_HEADER == "x-wh-signature"
    assert len(base64.b64decode(pair.sign(b"body"))) == 64
    assert len(base64.b64decode(keys().rsa.sign(b"body"))) == 256  # 2048-bit test key
    assert webhooks.sign_ed25519(b"body", pair.private_key_pem) == pair.sign(b"body")
    assert "PRIVATE" not in repr(pair)
    assert "PRIVATE" not in repr(keys())
    assert webhooks.testing_keys() is keys()


def test_verification_without_cryptography_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(CryptographyMissingError, match=r"ghl-async\[webhooks\]"):
        WebhookVerifier()
    with pytest.raises(CryptographyMissingError):
        webhooks.generate_ed25519_keys()
    with pytest.raises(CryptographyMissingError):
        webhooks.WebhookEmitter("http://127.0.0.1:9/", location_id="loc")


def test_import_parse_and_dispatch_work_without_cryptography() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["cryptography"] = None  # as if the extra were not installed
        from ghl_async import webhooks

        event = webhooks.parse(b'{"type": "NoteCreate", "id": "n1"}')
        seen = []
        dispatcher = webhooks.Dispatcher()
        dispatcher.add_handler(webhooks.NoteCreate, seen.append)
        asyncio.run(dispatcher.dispatch(event))
        assert seen == [event], seen
        try:
            webhooks.WebhookVerifier()
        except webhooks.CryptographyMissingError as err:
            print(err)
        """
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'ghl-async[webhooks]'" in done.stdout
    assert "cryptography" not in done.stderr
    assert time.monotonic() - started < 60


async def test_memory_seen_store_expires_and_stays_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    store = MemorySeenStore(max_size=3, clock=lambda: now[0])
    assert await store.add("a", ttl=10)
    assert not await store.add("a", ttl=10)
    assert "a" in store
    assert 42 not in store
    now[0] += 11
    assert "a" not in store
    assert await store.add("a", ttl=10)  # expired, so new again
    assert len(store) == 1
    for name in ("b", "c", "d", "e"):
        assert await store.add(name, ttl=100)
    assert len(store) == 3
    assert "a" not in store
    assert "b" not in store
    assert "e" in store
    assert caplog.text.count("seen-store full") == 1
    assert [r.name for r in caplog.records] == ["ghl_async.webhooks"]
    await store.discard("e")
    await store.discard("never-added")
    assert "e" not in store
    with pytest.raises(ConfigError):
        MemorySeenStore(max_size=0)
