"""The redis extra stays optional: ghl_async works without it and says how to get it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import ghl_async.redis
from ghl_async.errors import ConfigError
from ghl_async.redis import INSTALL_HINT, RedisMissingError

# `sys.modules["redis"] = None` makes every `import redis...` fail, as on an install without
# the extra (the interpreter's own rule, not a patch of ghl_async).
_WITHOUT_REDIS = textwrap.dedent(
    """
    import sys
    sys.modules["redis"] = None
    sys.modules["redis.asyncio"] = None

    import ghl_async, ghl_async.auth, ghl_async.client, ghl_async.webhooks, ghl_async.tokenstore
    import ghl_async.redis
    from ghl_async.redis import DEFAULT_PREFIX, RedisKeys, RedisMissingError

    assert RedisKeys().token("location:x") == DEFAULT_PREFIX + "token:location:x"
    for name in ("RedisTokenStore", "RedisSeenStore", "RedisLease"):
        try:
            getattr(__import__("ghl_async.redis", fromlist=[name]), name)
        except RedisMissingError as err:
            assert isinstance(err, ImportError), name
            print(name, "->", err)
        else:
            raise SystemExit(f"{name} imported without redis")
    try:
        from ghl_async.redis import RedisTokenStore
    except ImportError as err:
        print("from-import ->", type(err).__name__)
    """
)


def test_without_the_extra_only_the_redis_classes_fail_with_the_install_hint() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _WITHOUT_REDIS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 4
    for line in lines[:3]:
        assert line.endswith(f"needs the 'redis' package (redis.asyncio): {INSTALL_HINT}")
    assert lines[3] == "from-import -> RedisMissingError"


def test_importing_ghl_async_does_not_import_redis() -> None:
    code = (
        "import sys, ghl_async, ghl_async.auth, ghl_async.client, ghl_async.webhooks, "
        "ghl_async.redis; print(sorted(m for m in sys.modules if m.split('.')[0] == 'redis'))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_missing_extra_error_is_a_config_and_import_error() -> None:
    err = RedisMissingError()
    assert isinstance(err, ConfigError)
    assert isinstance(err, ImportError)
    assert INSTALL_HINT == "pip install 'ghl-async[redis]'"
    assert INSTALL_HINT in str(err)


def test_the_package_names_what_it_exports() -> None:
    for name in ghl_async.redis.__all__:
        assert getattr(ghl_async.redis, name) is not None
    assert set(ghl_async.redis.__all__) <= set(dir(ghl_async.redis))
    with pytest.raises(AttributeError):
        _ = ghl_async.redis.NoSuchThing  # type: ignore[attr-defined]  # the error under test
