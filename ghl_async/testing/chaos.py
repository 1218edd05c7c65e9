"""Fault profiles: a seeded mix of every fault, drawn per request.

``fake.chaos(profile="heavy", seed=7)`` (or ``FakeHighLevel(faults="heavy", seed=7)``) makes about
one request in four fail the way HighLevel's edge does. Each request gets an index in arrival
order (0, 1, 2, ...) and its own ``random.Random(f"chaos:{seed}:{index}")``, which decides
whether it meets a fault, which one, and the fault's details (page, bytes kept, fields
mutated). So a given seed and request order always give the same faults, however the handlers
of concurrent requests interleave. The OAuth consent page is never touched, and the token
endpoint only meets faults that leave its grant unspent (:data:`UNSPENT`).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final, Literal, get_args

from ghl_async.errors import ConfigError
from ghl_async.testing.faults import Fault, ProxyPage

__all__ = ["HEAVY", "PROFILES", "UNSPENT", "UNTOUCHED", "Chaos", "Ingredient", "make_chaos"]

Ingredient = Literal[
    "error_500",
    "proxy_502",
    "proxy_503_retry_after",
    "proxy_503",
    "throttle_429",
    "truncate",
    "truncate_chunked",
    "reset",
    "reset_before",
    "slow",
    "applied_then_502",
    "revoke",
    "mutate",
]
"""One fault of a mix (see :data:`HEAVY` for what each does)."""

HEAVY: Final[Mapping[Ingredient, float]] = {
    "error_500": 0.04,  # HighLevel's {"statusCode":500,"message":"Internal server error"}
    "proxy_502": 0.03,  # a gateway's 502 page: nginx, Google or Cloudflare
    "proxy_503_retry_after": 0.02,  # 503 page with Retry-After: 1 s, or an HTTP-date ~2 s on
    "proxy_503": 0.02,  # 503 page without Retry-After
    "throttle_429": 0.01,  # the API's 429 with Retry-After: 1 and X-RateLimit-* (remaining 0)
    "truncate": 0.02,  # 2xx, Content-Length promises more than arrives, then FIN
    "truncate_chunked": 0.01,  # 2xx, chunked body without its last chunk, then FIN
    "reset": 0.02,  # status and headers (and part of the body), then RST
    "reset_before": 0.01,  # RST before any answer
    "slow": 0.02,  # the answer waits `slow_seconds`; the write lands before or after the wait
    "applied_then_502": 0.02,  # the write is applied, the answer is a gateway's 502
    "revoke": 0.01,  # the request's OAuth access token dies early (refresh tokens live on)
    "mutate": 0.02,  # 2xx JSON with a field missing, one null and extra fields
}
"""The "heavy" mix: shares of all requests, 25% in total."""

PROFILES: Final[Mapping[str, Mapping[Ingredient, float]]] = {
    "heavy": HEAVY,
    "light": {name: share / 5 for name, share in HEAVY.items()},  # 5%
}
UNTOUCHED: Final = frozenset({"oauth.chooser", "fake.webhook_public_key", "unknown"})
"""Operations chaos never touches: the consent page, the fake's own routes, 404s."""
UNSPENT: Final[frozenset[Ingredient]] = frozenset(
    {"error_500", "proxy_502", "proxy_503_retry_after", "proxy_503", "throttle_429", "reset_before"}
)
"""The only faults chaos puts on ``oauth.token``: those that leave the code or refresh token
unspent. A rotation whose answer is lost (applied-then-502, a cut or mutated body, a slow answer
the client gave up on) ends an OAuth run for good, since the old refresh token is dead; arm
``fail("oauth.token", 502, when="after")`` to test that on purpose."""
_PAGES: Final[tuple[ProxyPage, ...]] = get_args(ProxyPage)


@dataclass(frozen=True, slots=True)
class Chaos:
    """A fault mix bound to a seed; :meth:`pick` decides for one request."""

    mix: tuple[tuple[float, Ingredient], ...]  # cumulative share, ingredient
    seed: int
    slow_seconds: float = 2.0
    odd_headers: bool = False
    operations: frozenset[str] | None = None  # None: every operation but UNTOUCHED

    @property
    def rate(self) -> float:
        """The share of requests that meet a fault."""
        return self.mix[-1][0] if self.mix else 0.0

    def pick(self, index: int, operation: str) -> Fault | None:
        """The fault request number ``index`` (of ``operation``) meets, or None."""
        if operation in UNTOUCHED or (
            self.operations is not None and operation not in self.operations
        ):
            return None
        rng = random.Random(f"chaos:{self.seed}:{index}")
        roll = rng.random()
        for bound, ingredient in self.mix:
            if roll < bound:
                if operation == "oauth.token" and ingredient not in UNSPENT:
                    return None
                return self._fault(ingredient, operation, rng)
        return None

    def _fault(self, ingredient: Ingredient, operation: str, rng: random.Random) -> Fault:
        fault = Fault(kind="fail", operation=operation, chaos=True)
        if ingredient == "error_500":
            fault.status = 500
        elif ingredient in ("proxy_502", "proxy_503", "proxy_503_retry_after", "applied_then_502"):
            fault.status = 503 if ingredient.startswith("proxy_503") else 502
            fault.html = True
            fault.page = rng.choice(_PAGES)
            fault.when = "after" if ingredient == "applied_then_502" else "before"
            if ingredient == "proxy_503_retry_after":
                fault.retry_after_form = rng.choice(("seconds", "http-date"))
                fault.retry_after = 1 if fault.retry_after_form == "seconds" else 2
        elif ingredient == "throttle_429":
            fault.status = 429
            fault.retry_after = 1
        elif ingredient in ("truncate", "truncate_chunked"):
            fault.kind = "truncate"
            fault.chunked = ingredient == "truncate_chunked"
            fault.keep = rng.uniform(0.0, 0.95)
        elif ingredient == "reset":
            fault.kind = "reset"
            fault.keep = rng.uniform(0.0, 0.95)
        elif ingredient == "reset_before":
            fault.kind = "drop"
            fault.reset = True
        elif ingredient == "slow":
            fault.kind = "slow"
            fault.seconds = self.slow_seconds
            fault.when = rng.choice(("before", "after"))
        elif ingredient == "revoke":
            fault.kind = "revoke"
        else:
            fault.kind = "mutate"
            fault.missing = rng.randint(0, 1)
            fault.nulls = 1
            fault.extra = rng.randint(1, 2)
            fault.odd_headers = self.odd_headers
        return fault


def make_chaos(
    profile: str | Mapping[Ingredient, float],
    *,
    seed: int,
    rate: float | None = None,
    slow_seconds: float = 2.0,
    odd_headers: bool = False,
    operations: Collection[str] | None = None,
) -> Chaos:
    """Build a :class:`Chaos` from a profile name (``"heavy"``, ``"light"``) or a custom mix.

    ``rate`` rescales the mix so that this share of requests meets a fault.

    Raises:
        ConfigError: unknown profile or ingredient, shares outside 0..1, negative seconds.
    """
    if isinstance(profile, str):
        mix = PROFILES.get(profile)
        if mix is None:
            raise ConfigError(f"unknown fault profile {profile!r}: use one of {sorted(PROFILES)}")
    else:
        mix = profile
    unknown = set(mix) - set(get_args(Ingredient))
    if unknown:
        raise ConfigError(f"unknown fault ingredients {sorted(unknown)}")
    shares = {name: float(share) for name, share in mix.items() if share}
    total = sum(shares.values())
    if any(share < 0 for share in shares.values()) or total > 1:
        raise ConfigError("fault shares must be >= 0 and add up to at most 1")
    if rate is not None:
        if not 0 <= rate <= 1:
            raise ConfigError("rate must be between 0 and 1")
        scale = rate / total if total else 0.0
        shares = {name: share * scale for name, share in shares.items()}
    if slow_seconds < 0:
        raise ConfigError("slow_seconds must not be negative")
    cumulative: list[tuple[float, Ingredient]] = []
    bound = 0.0
    for name, share in shares.items():
        bound += share
        cumulative.append((bound, name))
    return Chaos(
        mix=tuple(cumulative),
        seed=seed,
        slow_seconds=slow_seconds,
        odd_headers=odd_headers,
        operations=frozenset(operations) if operations is not None else None,
    )
