"""Per-request facts the request log needs, and the aiohttp answers every endpoint builds."""

from __future__ import annotations

import os
from typing import Final

from aiohttp import web

from ghl_async.testing.replies import ENCODER

__all__ = ["JSON", "Exchange", "error_response", "json_response"]

JSON: Final = "application/json; charset=utf-8"


class Exchange:
    """What one request did, filled in as it is served."""

    __slots__ = ("applied", "location_id", "status", "trace_id", "version")

    def __init__(self, version: str | None) -> None:
        self.trace_id = os.urandom(16).hex()
        self.location_id: str | None = None
        self.applied = False
        self.status: int | None = None
        self.version = version


def json_response(payload: object, status: int, headers: dict[str, str]) -> web.Response:
    """``payload`` as JSON with ``headers`` (which gains the ``Content-Type``)."""
    headers["Content-Type"] = JSON
    return web.Response(body=ENCODER.encode(payload), status=status, headers=headers)


def error_response(status: int, body: bytes, headers: dict[str, str]) -> web.Response:
    """An encoded error ``body`` with ``headers`` (which gains the ``Content-Type``)."""
    headers["Content-Type"] = JSON
    return web.Response(body=body, status=status, headers=headers)
