"""Scale out on Redis: tokens, refresh locks, webhook dedupe, rate budgets and bulk imports shared
by processes and machines.

Needs the optional ``redis`` package (``pip install 'ghl-async[redis]'``); importing this package
works without it, and taking one of the Redis classes then raises :class:`RedisMissingError`::

    from ghl_async.redis import RedisSeenStore, RedisTokenStore

    store = RedisTokenStore.from_url("redis://redis.internal:6379/0")
    app = OAuthApp(client_id=..., client_secret=..., store=store)

Key layout (every key starts with ``prefix``, ``"ghl:"`` by default; one Redis database can hold
several apps or environments under different prefixes):

=============================  ======  ==============================================  ==========
key                            type    value                                           expiry
=============================  ======  ==============================================  ==========
``<prefix>token:<store key>``  string  the :class:`~ghl_async.tokenstore.Token` as      none
                                       JSON (``<store key>`` is ``location:<id>`` or
                                       ``company:<id>``)
``<prefix>lock:<store key>``   string  the lease holder's random token                 the lease,
                                                                                       renewed
``<prefix>seen:<webhookId>``   string  ``1``                                           seen TTL
``<prefix>budget:<id>``        zset    a location's (or company's) shared rate window  idle: the
                                       (see :mod:`._window`)                           window
``<prefix>jobs:{<name>}:*``    (many)  one distributed import (see :mod:`.jobs`)       none
``<prefix>jobs:active``        set     the names of unfinished imports                 none
=============================  ======  ==============================================  ==========

Every command and script names one key, or keys of one import (which share a hash tag), so
Redis Cluster works as well.

Modules: :mod:`.tokens` (:class:`RedisTokenStore`), :mod:`.seen` (:class:`RedisSeenStore`),
:mod:`.lease` (:class:`RedisLease`, the lock under both), :mod:`.budget`
(:class:`RedisRateBudget`; its script and arithmetic in ``_window``), :mod:`.jobs`
(:class:`RedisImport`; its worker in ``_worker``), ``_keys`` (:class:`RedisKeys`) and
``_client`` (the optional dependency).

Security: Redis access is token access. Restrict it with an ACL user limited to the prefix
(``ACL SETUSER ghl on >... ~ghl:* +@read +@write +@scripting``), use TLS (``rediss://``) off the
host, and enable persistence (``appendonly yes``) so a restart does not lose rotated tokens.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ghl_async.redis._client import DEFAULT_MAX_CONNECTIONS, INSTALL_HINT, RedisMissingError
from ghl_async.redis._keys import DEFAULT_PREFIX, RedisKeys

if TYPE_CHECKING:
    from ghl_async.redis._client import connect
    from ghl_async.redis.budget import RedisRateBudget
    from ghl_async.redis.jobs import RedisImport
    from ghl_async.redis.lease import DEFAULT_LEASE, DEFAULT_WAIT, RedisLease
    from ghl_async.redis.seen import RedisSeenStore
    from ghl_async.redis.tokens import RedisTokenStore

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_PREFIX",
    "DEFAULT_WAIT",
    "INSTALL_HINT",
    "RedisImport",
    "RedisKeys",
    "RedisLease",
    "RedisMissingError",
    "RedisRateBudget",
    "RedisSeenStore",
    "RedisTokenStore",
    "connect",
]

# Imported on first use, so that `import ghl_async.redis` (the key layout, the error type) works
# without the extra and only the classes that talk to Redis need it.
_HOMES = {
    "DEFAULT_LEASE": "ghl_async.redis.lease",
    "DEFAULT_WAIT": "ghl_async.redis.lease",
    "RedisLease": "ghl_async.redis.lease",
    "RedisImport": "ghl_async.redis.jobs",
    "RedisRateBudget": "ghl_async.redis.budget",
    "RedisSeenStore": "ghl_async.redis.seen",
    "RedisTokenStore": "ghl_async.redis.tokens",
    "connect": "ghl_async.redis._client",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
