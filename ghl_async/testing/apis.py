"""The API versions the fake speaks, picked per request by its ``Version`` header.

An :class:`ApiVersion` bundles what differs between versions: the route rows (with their body
and query Structs), one handler per route, and how errors are written. The pipeline registers
every path of every version once and, for each request, looks the route up in the version its
``Version`` header names; so a version is a handlers module plus models, registered in
:data:`VERSIONS`, with no branch in any handler:

* ``2021-07-28``: :mod:`ghl_async.testing.handlers`, NestJS error bodies;
* ``v3``: :mod:`ghl_async.testing.handlers_v3`, the same bodies except 404's ``NotFoundDTO``
  (``{"statusCode", "message"}``, ``v3-common-schemas.json``).

Other values are answered 400. The OAuth endpoints (:mod:`.oauth_http`) read the header too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from ghl_async import defaults
from ghl_async.routes import Route, routes_of
from ghl_async.testing.handlers import HANDLERS, Handler
from ghl_async.testing.handlers_v3 import HANDLERS_V3
from ghl_async.testing.replies import ENCODER, ApiFailure, error_body

__all__ = [
    "V2",
    "V3",
    "VERSIONS",
    "ApiVersion",
    "served_routes",
    "v2_failure_body",
    "v3_failure_body",
]


def v2_failure_body(failure: ApiFailure) -> bytes:
    """NestJS's ``{"statusCode", "message", "error"}`` (plus ``meta``)."""
    return error_body(failure.status, failure.message, failure.meta)


def v3_failure_body(failure: ApiFailure) -> bytes:
    """v3's DTOs: as v2, except that a 404 is ``{"statusCode", "message"}`` (``NotFoundDTO``)."""
    if failure.status == 404:
        return ENCODER.encode({"statusCode": 404, "message": failure.message})
    return v2_failure_body(failure)


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """One value of the ``Version`` header: its routes, their handlers, its error shape."""

    header: str
    routes: tuple[Route[object], ...]
    handlers: Mapping[str, Handler]
    failure_body: Callable[[ApiFailure], bytes] = v2_failure_body

    def __post_init__(self) -> None:
        names = {route.name for route in self.routes}
        if names != set(self.handlers):  # pragma: no cover - guards edits to routes / handlers
            raise RuntimeError(
                f"{self.header}: routes without handler (or the reverse): "
                f"{sorted(names ^ set(self.handlers))}"
            )


def served_routes(version: str) -> tuple[Route[object], ...]:
    """The routes of ``version`` the pipeline serves: every location-token route.

    Agency routes (installed locations) are OAuth endpoints: :mod:`.oauth_http` serves them.
    """
    return tuple(route for route in routes_of(version) if route.token == "location")


V2: Final = ApiVersion(defaults.API_VERSION, served_routes(defaults.API_VERSION), HANDLERS)
"""``2021-07-28``: ``contacts.json``, served by :mod:`ghl_async.testing.handlers`."""

V3: Final = ApiVersion(
    defaults.API_V3, served_routes(defaults.API_V3), HANDLERS_V3, failure_body=v3_failure_body
)
"""``v3``: ``contacts-v3.json``, served by :mod:`ghl_async.testing.handlers_v3`."""

DATED_ALIASES: Final = ("2023-02-21",)
"""Dated versions after ``2021-07-28`` that clients send to the contacts routes, served as
``2021-07-28``. HighLevel's official Node SDK sends ``Version: 2023-02-21`` to every service by
default, and its contacts calls are used against the live API; no contacts spec exists for that
value, so the fake answers it as the latest dated contacts version. An inference from how the
official SDK is used, not a verified fact about HighLevel."""

VERSIONS: Final[Mapping[str, ApiVersion]] = {
    V2.header: V2,
    **{alias: replace(V2, header=alias) for alias in DATED_ALIASES},
    V3.header: V3,
}
"""Every version served, by ``Version`` header value."""
