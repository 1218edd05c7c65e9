"""The TokenStore contract for the memory and file stores, and FileTokenStore's file guarantees."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from ghl_async.errors import ConfigError
from ghl_async.testing.contracts import TokenStoreContract, contract_token
from ghl_async.tokenstore import FileTokenStore, MemoryTokenStore, Token, TokenStore

tok = contract_token


class TestMemoryTokenStore(TokenStoreContract):
    @pytest.fixture
    def store(self) -> TokenStore:
        return MemoryTokenStore()


class TestFileTokenStore(TokenStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> TokenStore:
        return FileTokenStore(tmp_path / "tokens.json")

    @pytest.fixture
    def twin(self, tmp_path: Path) -> TokenStore:
        return FileTokenStore(tmp_path / "tokens.json")


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


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
