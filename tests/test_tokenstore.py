"""TokenStore contract (every store) and FileTokenStore's file-level guarantees."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from ghl_async.errors import ConfigError
from ghl_async.tokenstore import FileTokenStore, MemoryTokenStore, Token, TokenStore

StoreFactory = Callable[[Path], TokenStore]

STORES: dict[str, StoreFactory] = {
    "memory": lambda _tmp: MemoryTokenStore(),
    "file": lambda tmp: FileTokenStore(tmp / "tokens.json"),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    return STORES[request.param](tmp_path)


def tok(n: int = 1, **kw: object) -> Token:
    fields: dict[str, object] = {
        "access_token": f"at-{n}",
        "refresh_token": f"rt-{n}",
        "expires_at": 1_700_000_000.0 + n,
        "scope": "contacts.readonly contacts.write",
        "user_type": "Location",
        "location_id": "loc-1",
        "company_id": "co-1",
        "user_id": "user-1",
    }
    fields.update(kw)
    return Token(**fields)  # type: ignore[arg-type]  # test helper: fields checked by msgspec


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


# --- contract: every store ---------------------------------------------------------------


def test_store_implements_protocol(store: TokenStore) -> None:
    assert isinstance(store, TokenStore)


async def test_missing_key_loads_none(store: TokenStore) -> None:
    assert await store.load("location:nope") is None


async def test_round_trip_keeps_every_field(store: TokenStore) -> None:
    token = tok(1, location_id="loc-A")
    await store.save("location:loc-A", token)
    loaded = await store.load("location:loc-A")
    assert loaded == token
    assert loaded is not None
    assert loaded.refresh_token == "rt-1"
    assert loaded.expires_at == token.expires_at


async def test_round_trip_minimal_token(store: TokenStore) -> None:
    token = Token(access_token="only")
    await store.save("k", token)
    assert await store.load("k") == token


async def test_overwrite_replaces(store: TokenStore) -> None:
    await store.save("k", tok(1))
    await store.save("k", tok(2))
    assert await store.load("k") == tok(2)


async def test_keys_are_independent(store: TokenStore) -> None:
    await store.save("location:a", tok(1))
    await store.save("company:b", tok(2))
    assert await store.load("location:a") == tok(1)
    assert await store.load("company:b") == tok(2)


async def test_delete_and_delete_missing(store: TokenStore) -> None:
    await store.save("a", tok(1))
    await store.save("b", tok(2))
    await store.delete("a")
    await store.delete("a")
    await store.delete("never-saved")
    assert await store.load("a") is None
    assert await store.load("b") == tok(2)


async def test_concurrent_saves_of_many_keys_all_land(store: TokenStore) -> None:
    await asyncio.gather(*(store.save(f"location:{i}", tok(i)) for i in range(40)))
    for i in range(40):
        assert await store.load(f"location:{i}") == tok(i)


async def test_concurrent_saves_of_one_key_leave_one_whole_token(store: TokenStore) -> None:
    await asyncio.gather(*(store.save("k", tok(i)) for i in range(20)))
    assert await store.load("k") in {tok(i) for i in range(20)}


async def test_lock_excludes_holders_of_the_same_key(store: TokenStore) -> None:
    inside = 0
    peak = 0
    order: list[int] = []

    async def hold(i: int) -> None:
        nonlocal inside, peak
        async with store.lock("location:x"):
            inside += 1
            peak = max(peak, inside)
            order.append(i)
            await asyncio.sleep(0.005)
            inside -= 1

    await asyncio.gather(*(hold(i) for i in range(8)))
    assert peak == 1
    assert sorted(order) == list(range(8))


async def test_lock_of_another_key_does_not_wait(store: TokenStore) -> None:
    async with store.lock("location:a"):
        await asyncio.wait_for(_enter_and_leave(store, "location:b"), timeout=2)


async def test_lock_is_released_on_error(store: TokenStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.lock("k"):
            raise RuntimeError("boom")
    await asyncio.wait_for(_enter_and_leave(store, "k"), timeout=2)


async def test_cancelled_waiter_leaves_lock_usable(store: TokenStore) -> None:
    async with store.lock("k"):
        waiter = asyncio.ensure_future(_enter_and_leave(store, "k"))
        await asyncio.sleep(0.02)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    await asyncio.wait_for(_enter_and_leave(store, "k"), timeout=2)


async def _enter_and_leave(store: TokenStore, key: str) -> None:
    async with store.lock(key):
        pass


async def test_store_reprs_hold_no_tokens(store: TokenStore) -> None:
    await store.save("k", tok(1, access_token="SECRET-A", refresh_token="SECRET-R"))
    assert "SECRET" not in repr(store)


# --- Token --------------------------------------------------------------------------------


def test_token_repr_and_str_hide_values() -> None:
    token = tok(7, access_token="SECRET-ACCESS", refresh_token="SECRET-REFRESH")
    for text in (repr(token), str(token), f"{token}", repr([token]), repr({"k": token})):
        assert "SECRET" not in text
        assert "loc-1" in text
    assert "SECRET" not in repr(token.__rich_repr__())
    assert "refresh_token=None" in repr(Token(access_token="SECRET"))


def test_token_expires_within() -> None:
    token = Token(access_token="a", expires_at=1000.0)
    assert token.expires_within(60, now=950.0)
    assert not token.expires_within(60, now=900.0)
    assert token.expires_within(0, now=1000.5)
    assert not Token(access_token="a").expires_within(10**9)
    assert Token(access_token="a", expires_at=0.0).expires_within(0)


# --- FileTokenStore specifics -------------------------------------------------------------


async def test_file_is_mode_0600_even_if_created_wider(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("")
    path.chmod(0o644)
    store = FileTokenStore(path)
    await store.save("k", tok(1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert await store.load("k") == tok(1)


async def test_file_store_reads_empty_file_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("  \n")
    assert await FileTokenStore(path).load("k") is None


async def test_file_store_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    await FileTokenStore(path).save("location:a", tok(3))
    assert await FileTokenStore(path).load("location:a") == tok(3)
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["tokens"]["location:a"]["refresh_token"] == "rt-3"


async def test_many_concurrent_writes_leave_valid_json_and_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    stores = [FileTokenStore(path) for _ in range(3)]
    await asyncio.gather(
        *(stores[i % 3].save(f"location:{i % 25}", tok(i)) for i in range(150)),
        *(stores[i % 3].delete(f"location:gone-{i}") for i in range(10)),
    )
    data = json.loads(path.read_text())
    assert len(data["tokens"]) == 25
    assert names(tmp_path) == {"tokens.json", "tokens.json.lock"}  # no temp file left


async def test_failed_replace_keeps_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    await store.save("k", tok(1))
    before = path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        await store.save("k", tok(2))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert names(tmp_path) == {"tokens.json", "tokens.json.lock"}  # the temp file was removed
    assert await store.load("k") == tok(1)


async def test_corrupt_file_raises_config_error_without_content(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text('{"tokens": {"k": {"access_token": "LEAKED-SECRET"')
    with pytest.raises(ConfigError) as info:
        await FileTokenStore(path).load("k")
    assert "LEAKED" not in str(info.value)
    assert "tokens.json" in str(info.value)


def test_directory_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        FileTokenStore(tmp_path)


def test_file_store_repr(tmp_path: Path) -> None:
    assert (
        repr(FileTokenStore(tmp_path / "t.json")) == f"FileTokenStore({str(tmp_path / 't.json')!r})"
    )


_CHILD_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from ghl_async.tokenstore import FileTokenStore, Token

    async def main() -> None:
        store = FileTokenStore(sys.argv[1])
        prefix = sys.argv[2]
        await asyncio.gather(*(
            store.save(f"{prefix}:{i}", Token(access_token=f"{prefix}-{i}")) for i in range(15)
        ))

    asyncio.run(main())
    """
)


async def test_writers_in_several_processes_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", _CHILD_WRITER, str(path), p)
        for p in ("a", "b", "c")
    ]
    assert [await p.wait() for p in procs] == [0, 0, 0]
    data = json.loads(path.read_text())
    assert len(data["tokens"]) == 45
    assert data["tokens"]["b:7"]["access_token"] == "b-7"


_CHILD_HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from ghl_async.tokenstore import FileTokenStore

    async def main() -> None:
        store = FileTokenStore(sys.argv[1])
        log = sys.argv[2]
        async with store.lock("location:x"):
            with open(log, "a") as f:
                f.write("child-in\\n")
            print("locked", flush=True)
            await asyncio.sleep(0.3)
            with open(log, "a") as f:
                f.write("child-out\\n")

    asyncio.run(main())
    """
)


async def test_lock_excludes_another_process(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    log = tmp_path / "order.log"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD_HOLDER, str(path), str(log), stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), timeout=20) == b"locked\n"
    store = FileTokenStore(path)
    async with store.lock("location:x"):
        with log.open("a") as f:
            f.write("parent-in\n")
    assert await child.wait() == 0
    assert log.read_text().split() == ["child-in", "child-out", "parent-in"]
