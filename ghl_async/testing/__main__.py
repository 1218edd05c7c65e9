"""``python -m ghl_async.testing``: run FakeHighLevel standalone until Ctrl-C or SIGTERM.

Prints the base URL and the credentials to use (they are fake), e.g.::

    python -m ghl_async.testing --port 8080 --seed 500 --rate-limit 100/10

``--port 0`` picks a free port (the printed URL tells which); ``--json`` prints the same facts
as one JSON line for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

import msgspec

from ghl_async.errors import ConfigError
from ghl_async.testing.server import FakeHighLevel


def _limit(text: str) -> int | None:
    if text.strip().lower() in ("none", "off", "0"):
        return None
    return int(text)


def parser() -> argparse.ArgumentParser:
    """The command line's options."""
    options = argparse.ArgumentParser(
        prog="python -m ghl_async.testing",
        description="Serve a fake HighLevel Contacts API v2 (with OAuth) on this machine.",
    )
    options.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    options.add_argument("--port", type=int, default=8080, help="TCP port; 0 picks a free one")
    options.add_argument("--seed", type=int, default=0, metavar="N", help="seed N contacts")
    options.add_argument("--business-id", default="biz_1", help="business of seeded contacts")
    options.add_argument(
        "--rate-limit", default="100/10", help="burst rule requests/seconds, or 'none'"
    )
    options.add_argument(
        "--daily-limit", type=_limit, default=200_000, help="requests per day, or 'none'"
    )
    options.add_argument("--token-lifetime", type=float, default=86399.0, help="seconds")
    options.add_argument("--allow-duplicates", action="store_true", help="allow duplicate contacts")
    options.add_argument("--retry-after", action="store_true", help="send Retry-After with 429s")
    options.add_argument("--webhook-url", default=None, help="deliver signed webhooks there")
    options.add_argument("--random-seed", type=int, default=0, help="seed for ids and data")
    options.add_argument("--client-id", default=None)
    options.add_argument("--client-secret", default=None)
    options.add_argument("--location-id", default=None)
    options.add_argument("--json", action="store_true", help="print the facts as one JSON line")
    return options


def _facts(fake: FakeHighLevel, seeded: int, business_id: str) -> dict[str, object]:
    return {
        "base_url": fake.base_url,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "location_id": fake.location_id,
        "company_id": fake.company_id,
        "private_token": fake.private_token,
        "chooser_url": fake.chooser_url,
        "redirect_uri": fake.redirect_uri,
        "seeded_contacts": seeded,
        "business_id": business_id,
    }


def _show(facts: dict[str, object], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(msgspec.json.encode(facts).decode() + "\n")
    else:
        lines = [f"FakeHighLevel serving at {facts['base_url']}"]
        lines += [f"  {key:<15} {value}" for key, value in facts.items() if key != "base_url"]
        lines.append("Press Ctrl-C to stop.")
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set (by default: until SIGINT or SIGTERM)."""
    fake = FakeHighLevel(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        location_id=args.location_id,
        token_lifetime=args.token_lifetime,
        rate_limit=args.rate_limit,
        daily_limit=args.daily_limit,
        retry_after_header=args.retry_after,
        allow_duplicates=args.allow_duplicates,
        webhook_url=args.webhook_url,
        seed=args.random_seed,
    )
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
                loop.add_signal_handler(signum, stop.set)
    async with fake:
        if args.seed:
            fake.seed_contacts(args.seed, business_id=args.business_id, seed=args.random_seed)
        _show(_facts(fake, args.seed, args.business_id), args.json)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server; the exit status is 0 after Ctrl-C/SIGTERM, 2 on bad options."""
    args = parser().parse_args(argv)
    try:
        asyncio.run(serve(args))
    except ConfigError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    except KeyboardInterrupt:  # pragma: no cover - only where signal handlers are unsupported
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
