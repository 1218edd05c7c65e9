"""Where the CLI's credentials and defaults come from: flags, environment, token store.

After ``auth login`` the CLI keeps a small profile next to the token file
(``tokens.profile.json``: location id, API base URL and client id, never a secret) so later
commands need only ``GHL_CLIENT_ID``/``GHL_CLIENT_SECRET`` (the secret is never stored by the
CLI) or nothing else at all with a static token.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec

from ghl_async import defaults
from ghl_async.auth import Auth, FileTokenStore, OAuthApp, StaticToken
from ghl_async.cli.inputs import parse_rate
from ghl_async.client import Client
from ghl_async.errors import ConfigError
from ghl_async.ratelimit import RateBudget, RateLimit, Unlimited
from ghl_async.tokenstore import TokenStore

__all__ = [
    "MissingCredentials",
    "Profile",
    "close_store",
    "make_auth",
    "make_client",
    "open_client",
    "store_path",
    "token_store",
]


class MissingCredentials(ConfigError):
    """No token and no OAuth app to get one from (exit code 3, not 2)."""


class Profile(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Non-secret defaults remembered by ``auth login``."""

    location_id: str | None = None
    base_url: str | None = None
    client_id: str | None = None
    chooser_url: str | None = None


def store_path(args: argparse.Namespace) -> Path:
    """The token file: ``--token-store``, ``GHL_TOKEN_STORE`` or the per-user default."""
    if args.token_store:
        return Path(args.token_store).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config) / "ghl-async" / "tokens.json"


def profile_path(args: argparse.Namespace) -> Path:
    """The profile file next to the token file."""
    store = store_path(args)
    return store.with_name(store.stem + ".profile.json")


def load_profile(args: argparse.Namespace) -> Profile:
    """The saved profile, or an empty one."""
    path = profile_path(args)
    try:
        return msgspec.json.decode(path.read_bytes(), type=Profile)
    except FileNotFoundError:
        return Profile()
    except (OSError, msgspec.DecodeError) as err:
        raise ConfigError(
            f"{path}: unreadable CLI profile ({err}); delete it and log in again"
        ) from None


def save_profile(args: argparse.Namespace, profile: Profile) -> None:
    """Write the profile (mode 0600, like the token file)."""
    path = profile_path(args)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(msgspec.json.encode(profile))


def apply_profile(args: argparse.Namespace) -> None:
    """Fill still-unset options from the profile (flags and environment come first)."""
    if getattr(args, "token", None):
        return  # a static token names its own location and server
    profile = load_profile(args)
    for name in ("location_id", "base_url", "client_id", "chooser_url"):
        if getattr(args, name, None) is None and getattr(profile, name) is not None:
            setattr(args, name, getattr(profile, name))


def oauth_app(
    args: argparse.Namespace, *, redirect_uri: str | None = None, scopes: list[str] | None = None
) -> OAuthApp:
    """The OAuth app described by the options.

    Raises:
        MissingCredentials: no client id or secret.
    """
    if not args.client_id or not args.client_secret:
        raise MissingCredentials(
            "OAuth needs a client id and secret: set GHL_CLIENT_ID and GHL_CLIENT_SECRET "
            "(or --client-id/--client-secret)"
        )
    return OAuthApp(
        client_id=args.client_id,
        client_secret=args.client_secret,
        store=token_store(args),
        redirect_uri=redirect_uri,
        scopes=scopes or (),
        user_type=getattr(args, "user_type", "Location"),
        chooser_url=getattr(args, "chooser_url", None) or defaults.CHOOSER_URL,
    )


def token_store(args: argparse.Namespace) -> TokenStore:
    """Where OAuth tokens live: the Redis of ``--redis`` (shared by every worker), else the
    token file. Close it with :func:`close_store`.

    Raises:
        ConfigError: a bad Redis URL, or the ``redis`` extra is missing.
    """
    url = getattr(args, "redis", None)
    if url:
        from ghl_async.redis import RedisTokenStore

        return RedisTokenStore.from_url(url, prefix=redis_prefix(args))
    path = store_path(args)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return FileTokenStore(path)


async def close_store(store: object) -> None:
    """Close a store that holds a connection (a Redis store made by :func:`token_store`)."""
    aclose = getattr(store, "aclose", None)
    if aclose is not None:
        await aclose()


def redis_prefix(args: argparse.Namespace) -> str:
    """The Redis key prefix: ``--redis-prefix``, ``GHL_REDIS_PREFIX`` or ``ghl:``."""
    return getattr(args, "redis_prefix", None) or "ghl:"


def make_auth(args: argparse.Namespace) -> Auth:
    """A static token if one is given, else the OAuth app with its token store.

    Raises:
        MissingCredentials: neither is configured.
    """
    if args.token:
        return StaticToken(args.token, location_id=args.location_id)
    if args.client_id or args.client_secret:
        return oauth_app(args)
    raise MissingCredentials(
        "no credentials: set GHL_TOKEN (a Private Integration token), or GHL_CLIENT_ID and "
        "GHL_CLIENT_SECRET after `ghl-async auth login`"
    )


def make_client(
    args: argparse.Namespace, *, auth: Auth | None = None, rate_limit: RateBudget | None = None
) -> Client:
    """A client for the configured account (not yet opened)."""
    rule = _rule(args)
    return Client(
        auth=make_auth(args) if auth is None else auth,
        location_id=args.location_id,
        base_url=args.base_url or defaults.BASE_URL,
        rate_limit=rule if rate_limit is None else rate_limit,
        max_retries=defaults.MAX_RETRIES if args.retries is None else args.retries,
    )


@contextlib.asynccontextmanager
async def open_client(args: argparse.Namespace) -> AsyncIterator[Client]:
    """An open client; with ``--redis``, on the shared rate budget and token store.

    Everything it opened is closed on exit (the budget first sends what it buffered).
    """
    if not getattr(args, "redis", None):
        async with make_client(args) as ghl:
            yield ghl
        return
    from ghl_async.redis import RedisRateBudget

    rule = _rule(args)
    async with contextlib.AsyncExitStack() as stack:
        budget: RateBudget | None = None
        if isinstance(rule, RateLimit):  # `--rate-limit off`: no budget to share
            budget = RedisRateBudget.from_url(args.redis, rule, prefix=redis_prefix(args))
            stack.push_async_callback(budget.aclose)
        auth = make_auth(args)
        if isinstance(auth, OAuthApp):
            stack.push_async_callback(close_store, auth.store)
        async with make_client(args, auth=auth, rate_limit=budget) as ghl:
            yield ghl


def _rule(args: argparse.Namespace) -> RateLimit | Unlimited:
    """The burst rule of ``--rate-limit`` (HighLevel's by default; ``off``: no waiting)."""
    if not args.rate_limit:
        return RateLimit()
    if args.rate_limit.strip().lower() == "off":
        return RateLimit.unlimited()  # e.g. behind a rate budget of your own, upstream
    return RateLimit(*parse_rate(args.rate_limit))
