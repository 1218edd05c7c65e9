"""``python -m ghl_async.testing``: run FakeHighLevel standalone until Ctrl-C or SIGTERM.

Prints the base URL and the credentials to use (they are fake), e.g.::

    python -m ghl_async.testing --port 8080 --seed 500 --rate-limit 100/10

``--port 0`` picks a free port (the printed URL tells which); ``--json`` prints the same facts
as one JSON line for scripts. With ``--webhook-url`` it also prints the PEM public key that
verifies its webhooks (served at ``GET /.well-known/ghl-fake/webhook-public-key`` as well), so a
receiver in another process can check the signatures. ``--faults heavy`` makes about a quarter
of the requests fail the way HighLevel's edge does, reproducibly for ``--fault-seed``.
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
from ghl_async.testing.chaos import PROFILES
from ghl_async.testing.server import WEBHOOK_PUBLIC_KEY_PATH, FakeHighLevel


def _limit(text: str) -> int | None:
    if text.strip().lower() in ("none", "off", "0"):
        return None
    return int(text)


def parser() -> argparse.ArgumentParser:
    """The command line's options."""
    options = argparse.ArgumentParser(
        prog="python -m ghl_async.testing",
        description="Serve a fake HighLevel Contacts API, v2 and v3 (with OAuth), on this machine.",
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
    options.add_argument(
        "--faults",
        choices=sorted(PROFILES),
        default=None,
        help="fail a share of requests like HighLevel's edge: heavy (~25%%) or light (~5%%)",
    )
    options.add_argument(
        "--fault-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the fault draws (default: --random-seed)",
    )
    options.add_argument(
        "--fault-rate", type=float, default=None, help="rescale the profile to this share (0-1)"
    )
    options.add_argument(
        "--slow-seconds", type=float, default=2.0, help="how long slow answers wait (default 2)"
    )
    options.add_argument("--client-id", default=None)
    options.add_argument("--client-secret", default=None)
    options.add_argument("--location-id", default=None)
    options.add_argument("--json", action="store_true", help="print the facts as one JSON line")
    return options


def _facts(fake: FakeHighLevel, seeded: int, business_id: str) -> dict[str, object]:
    facts: dict[str, object] = {
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
    chaos = fake.chaos_mix
    if chaos is not None:
        facts["faults"] = f"{chaos.rate:.0%} of requests, seed {chaos.seed}"
    if fake.webhook_url is not None:
        facts["webhook_url"] = fake.webhook_url
        facts["webhook_public_key_url"] = fake.url(WEBHOOK_PUBLIC_KEY_PATH)
        facts["webhook_public_key"] = fake.webhook_public_key
    return facts


def _show(facts: dict[str, object], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(msgspec.json.encode(facts).decode() + "\n")
    else:
        shown = {k: v for k, v in facts.items() if k not in ("base_url", "webhook_public_key")}
        lines = [f"FakeHighLevel serving at {facts['base_url']}"]
        lines += [f"  {key:<15} {value}" for key, value in shown.items()]
        key = facts.get("webhook_public_key")
        if isinstance(key, str):
            lines.append("Webhook public key (Ed25519, verifies x-ghl-signature):")
            lines.append(key.rstrip("\n"))
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
    if args.faults is not None:
        fake.chaos(
            args.faults,
            seed=args.fault_seed,
            rate=args.fault_rate,
            slow_seconds=args.slow_seconds,
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
