"""Helpers for the FakeHighLevel tests: a running fake plus a thin aiohttp caller.

Everything goes over a real socket with a plain ``aiohttp.ClientSession`` (never the
ghl_async client), so these tests pin the wire behaviour on their own.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from ghl_async.testing import FakeHighLevel

VERSION = "2021-07-28"
_DEFAULT = object()


@dataclass
class Answer:
    method: str
    path: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def message(self) -> Any:
        return self.json["message"]


@dataclass
class Api:
    """Calls the fake with the private token and the Version header unless told otherwise."""

    fake: FakeHighLevel
    session: aiohttp.ClientSession
    answers: list[Answer] = field(default_factory=list)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = _DEFAULT,
        params: Mapping[str, str] | None = None,
        token: str | None | object = _DEFAULT,
        version: str | None = VERSION,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        allow_redirects: bool = True,
    ) -> Answer:
        sent: dict[str, str] = {}
        if version is not None:
            sent["Version"] = version
        if token is _DEFAULT:
            token = self.fake.private_token
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        kwargs: dict[str, Any] = {
            "headers": sent,
            "params": params,
            "allow_redirects": allow_redirects,
        }
        if json is not _DEFAULT:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        async with self.session.request(method, self.fake.url(path), **kwargs) as response:
            body = await response.read()
            answer = Answer(method, path, response.status, response.headers, body)
        self.answers.append(answer)
        return answer

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Answer:
        return await self.call("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Answer:
        return await self.call("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Answer:
        return await self.call("DELETE", path, **kwargs)

    async def create(self, **fields: Any) -> dict[str, Any]:
        """Create a contact in the default location; return its wire object."""
        answer = await self.post("/contacts/", json={"locationId": self.fake.location_id, **fields})
        assert answer.status == 201, answer.body
        return answer.json["contact"]  # type: ignore[no-any-return]

    async def token_form(self, form: Mapping[str, str]) -> Answer:
        return await self.call("POST", "/oauth/token", data=dict(form), token=None, version=None)


@contextlib.asynccontextmanager
async def running(**options: Any) -> AsyncIterator[Api]:
    """A started fake and an Api bound to it."""
    async with FakeHighLevel(**options) as fake, aiohttp.ClientSession() as session:
        yield Api(fake, session)


def form(fake: FakeHighLevel, **fields: str) -> dict[str, str]:
    """A token-endpoint form with the fake's client credentials."""
    return {"client_id": fake.client_id, "client_secret": fake.client_secret, **fields}
