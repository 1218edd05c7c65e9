"""Contract tests for :class:`~ghl_async.tokenstore.TokenStore` implementations, yours included.

Subclass :class:`TokenStoreContract` in a test module (a ``Test`` name, so pytest collects it) and
provide the ``store`` fixture; for a store shared between processes also provide ``twin``, a
second instance over the same backend, as another process would open it::

    import pytest
    from ghl_async.testing.contracts import TokenStoreContract

    class TestPostgresTokenStore(TokenStoreContract):
        @pytest.fixture
        async def store(self, database):
            return PostgresTokenStore(database, table="tokens_test")

        @pytest.fixture
        async def twin(self, store, database):
            return PostgresTokenStore(database, table="tokens_test")

The checks are coroutines: run them with pytest-asyncio (``asyncio_mode = "auto"``, or
``pytestmark = pytest.mark.asyncio`` in the subclass). ``store`` must start empty. What they
check: every field survives a round trip; keys are independent; ``delete`` is idempotent;
concurrent saves leave whole tokens; ``lock(key)`` excludes every holder of ``key`` (through the
twin too), never waits for another key, survives errors and cancelled waiters; and the sequence
:class:`~ghl_async.auth.OAuthApp` relies on (lock, load, rotate, save, release) spends each
refresh token once, with the re-load under the lock seeing the previous holder's save.

Needs pytest (a dev dependency), so nothing else in the package imports this module.
"""

from __future__ import annotations

import asyncio
from typing import Final

import pytest

from ghl_async.tokenstore import Token, TokenStore

__all__ = ["ODD_KEYS", "TokenStoreContract", "contract_token"]

ODD_KEYS: Final = (
    "location:a b",
    "company:ÿ-ünïcödé",
    "location:*?[glob]",
    "location:with:colons",
    "location:" + "x" * 300,
)
"""Store keys a backend must keep apart and intact (spaces, non-ASCII, glob characters...)."""

_HOLD: Final = 0.005  # seconds a lock is held in the exclusion checks


def contract_token(n: int = 1, **fields: str | float | None) -> Token:
    """The ``n``-th test token, every field set (override some with ``fields``)."""
    values: dict[str, str | float | None] = {
        "access_token": f"at-{n}",
        "refresh_token": f"rt-{n}",
        "expires_at": 1_700_000_000.0 + n,
        "scope": "contacts.readonly contacts.write",
        "user_type": "Location",
        "location_id": "loc-1",
        "company_id": "co-1",
        "user_id": "user-1",
    }
    values.update(fields)
    return Token(**values)  # type: ignore[arg-type]  # msgspec checks the field types


class TokenStoreContract:
    """The checks every :class:`~ghl_async.tokenstore.TokenStore` must pass (pytest base class)."""

    @pytest.fixture
    def store(self) -> TokenStore:
        """The store under test, empty; override this fixture."""
        raise NotImplementedError("subclass TokenStoreContract and override the `store` fixture")

    @pytest.fixture
    def twin(self, store: TokenStore) -> TokenStore:
        """Another instance over ``store``'s backend; ``store`` itself for one-process stores."""
        return store

    def test_implements_protocol(self, store: TokenStore, twin: TokenStore) -> None:
        assert isinstance(store, TokenStore)
        assert isinstance(twin, TokenStore)

    async def test_missing_key_loads_none(self, store: TokenStore) -> None:
        assert await store.load("location:nope") is None

    async def test_round_trip_keeps_every_field(self, store: TokenStore) -> None:
        token = contract_token(1, location_id="loc-A")
        await store.save("location:loc-A", token)
        loaded = await store.load("location:loc-A")
        assert loaded == token
        assert loaded is not None
        assert (loaded.access_token, loaded.refresh_token) == ("at-1", "rt-1")
        assert loaded.expires_at == token.expires_at

    async def test_round_trip_minimal_token(self, store: TokenStore) -> None:
        token = Token(access_token="only")
        await store.save("k", token)
        assert await store.load("k") == token

    async def test_overwrite_replaces(self, store: TokenStore) -> None:
        await store.save("k", contract_token(1))
        await store.save("k", contract_token(2))
        assert await store.load("k") == contract_token(2)

    async def test_keys_are_independent(self, store: TokenStore) -> None:
        keys = ("location:a", "company:a", "a", *ODD_KEYS)
        for n, key in enumerate(keys):
            await store.save(key, contract_token(n))
        for n, key in enumerate(keys):
            assert await store.load(key) == contract_token(n), key
        assert await store.load("location:*") is None

    async def test_delete_and_delete_missing(self, store: TokenStore) -> None:
        await store.save("a", contract_token(1))
        await store.save("b", contract_token(2))
        await store.delete("a")
        await store.delete("a")
        await store.delete("never-saved")
        assert await store.load("a") is None
        assert await store.load("b") == contract_token(2)

    async def test_twin_sees_saves_and_deletes(self, store: TokenStore, twin: TokenStore) -> None:
        await store.save("location:shared", contract_token(1))
        assert await twin.load("location:shared") == contract_token(1)
        await twin.save("location:shared", contract_token(2))
        assert await store.load("location:shared") == contract_token(2)
        await twin.delete("location:shared")
        assert await store.load("location:shared") is None

    async def test_concurrent_saves_of_many_keys_all_land(self, store: TokenStore) -> None:
        await asyncio.gather(*(store.save(f"location:{i}", contract_token(i)) for i in range(40)))
        for i in range(40):
            assert await store.load(f"location:{i}") == contract_token(i)

    async def test_concurrent_saves_of_one_key_leave_one_whole_token(
        self, store: TokenStore, twin: TokenStore
    ) -> None:
        writers = (store, twin)
        await asyncio.gather(*(writers[i % 2].save("k", contract_token(i)) for i in range(20)))
        assert await store.load("k") in {contract_token(i) for i in range(20)}

    async def test_lock_excludes_holders_of_the_same_key(
        self, store: TokenStore, twin: TokenStore
    ) -> None:
        inside = 0
        peak = 0
        entered: list[int] = []

        async def hold(i: int) -> None:
            nonlocal inside, peak
            async with (store if i % 2 else twin).lock("location:x"):
                inside += 1
                peak = max(peak, inside)
                entered.append(i)
                await asyncio.sleep(_HOLD)
                inside -= 1

        await asyncio.gather(*(hold(i) for i in range(8)))
        assert peak == 1
        assert sorted(entered) == list(range(8))

    async def test_lock_of_another_key_does_not_wait(
        self, store: TokenStore, twin: TokenStore
    ) -> None:
        async with store.lock("location:a"):
            await asyncio.wait_for(_enter_and_leave(store, "location:b"), timeout=10)
            await asyncio.wait_for(_enter_and_leave(twin, "company:a"), timeout=10)

    async def test_lock_is_released_on_error(self, store: TokenStore, twin: TokenStore) -> None:
        with pytest.raises(RuntimeError, match="boom"):
            async with store.lock("k"):
                raise RuntimeError("boom")
        await asyncio.wait_for(_enter_and_leave(twin, "k"), timeout=10)
        await asyncio.wait_for(_enter_and_leave(store, "k"), timeout=10)

    async def test_cancelled_waiter_leaves_lock_usable(
        self, store: TokenStore, twin: TokenStore
    ) -> None:
        for waiting in (store, twin):
            async with store.lock("k"):
                waiter = asyncio.ensure_future(_enter_and_leave(waiting, "k"))
                await asyncio.sleep(0.02)
                waiter.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiter
            await asyncio.wait_for(_enter_and_leave(twin, "k"), timeout=10)
            await asyncio.wait_for(_enter_and_leave(store, "k"), timeout=10)

    async def test_reload_under_the_lock_sees_the_previous_holders_save(
        self, store: TokenStore, twin: TokenStore
    ) -> None:
        await store.save("location:r", contract_token(1))
        first_in = asyncio.Event()

        async def first() -> None:
            async with store.lock("location:r"):
                first_in.set()
                assert await store.load("location:r") == contract_token(1)
                await asyncio.sleep(0.05)  # the second holder is waiting meanwhile
                await store.save("location:r", contract_token(2))

        async def second() -> Token | None:
            await first_in.wait()
            async with twin.lock("location:r"):
                return await twin.load("location:r")

        _, seen = await asyncio.gather(first(), second())
        assert seen == contract_token(2)

    async def test_rotation_under_contention_spends_each_refresh_token_once(
        self, store: TokenStore, twin: TokenStore
    ) -> None:
        # What OAuthApp does: lock, re-load, spend the refresh token, save the new pair, release.
        await store.save("location:rot", contract_token(0))
        spent: list[str] = []

        async def rotate(via: TokenStore) -> None:
            async with via.lock("location:rot"):
                current = await via.load("location:rot")
                assert current is not None
                assert current.refresh_token is not None
                spent.append(current.refresh_token)
                await asyncio.sleep(0)
                await via.save("location:rot", contract_token(len(spent)))

        await asyncio.gather(*(rotate((store, twin)[i % 2]) for i in range(12)))
        assert len(spent) == len(set(spent)) == 12
        assert await store.load("location:rot") == contract_token(12)

    async def test_repr_holds_no_tokens(self, store: TokenStore, twin: TokenStore) -> None:
        await store.save("k", contract_token(1, access_token="SECRET-A", refresh_token="SECRET-R"))
        assert "SECRET" not in repr(store)
        assert "SECRET" not in repr(twin)


async def _enter_and_leave(store: TokenStore, key: str) -> None:
    async with store.lock(key):
        pass
