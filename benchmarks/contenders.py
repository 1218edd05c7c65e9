"""The clients under test, each behind the same four calls so every scenario runs identical code.

`get(contact_id)`, `walk(business_id, limit)`, `create(index)` and `decoder()` are all a scenario
may use; each returns the decoded contact(s) so the runner can check the answers were real.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator, Callable
from importlib.util import find_spec
from typing import Any, ClassVar

import aiohttp
import msgspec

from benchmarks import baseline_models as bm
from benchmarks import payloads

TOKEN = "bench-token"
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Version": "2021-07-28",
    "Accept": "application/json",
}


def ident(contact: Any) -> str:
    """The id of a decoded contact, whatever shape the contender returns."""
    if isinstance(contact, dict):
        return str(contact["id"])
    return str(contact.id)


class Contender:
    """One client under test. Subclasses fill in the four calls."""

    name: ClassVar[str]
    description: ClassVar[str]
    # False for slow reference clients, which get fewer repetitions (see runner._throughput).
    full_reps: ClassVar[bool] = True

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this contender cannot run here, or None when it can."""
        return None

    async def start(self, base_url: str, rule: tuple[int, float] | None = None) -> None:
        """Open the client. `rule` (max requests, seconds) is the server's burst rule."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Close the client and its connections."""
        raise NotImplementedError

    async def get(self, contact_id: str) -> Any:
        """`GET /contacts/{contactId}`; return the contact."""
        raise NotImplementedError

    def walk(self, business_id: str, limit: int) -> AsyncIterator[Any]:
        """Yield every contact of a business, `limit` per page."""
        raise NotImplementedError

    async def create(self, index: int) -> Any:
        """`POST /contacts/` for `payloads.create_fields(index)`; return the created contact."""
        raise NotImplementedError

    @staticmethod
    def decoder() -> Callable[[bytes], Any] | None:
        """Decode one wire page into contacts, or None if this contender has no own decoder."""
        return None


# ------------------------------------------------------------------------------------------
# aiohttp family: the baseline and aiohttp + json share the transport code exactly.
# ------------------------------------------------------------------------------------------


class _AiohttpBase(Contender):
    session: aiohttp.ClientSession
    base: str

    async def start(self, base_url: str, rule: tuple[int, float] | None = None) -> None:
        self.base = base_url
        self.session = aiohttp.ClientSession(headers=HEADERS)

    async def stop(self) -> None:
        await self.session.close()

    async def _read(self, method: str, url: str, expect: int, body: bytes | None = None) -> bytes:
        headers = {"Content-Type": "application/json"} if body is not None else None
        async with self.session.request(method, url, data=body, headers=headers) as resp:
            data = await resp.read()
            if resp.status != expect:
                raise RuntimeError(f"{method} {url}: HTTP {resp.status}: {data[:200]!r}")
            return data

    def _page_url(self, business_id: str, limit: int, skip: int) -> str:
        return (f"{self.base}/contacts/business/{business_id}"
                f"?locationId={payloads.LOCATION_ID}&limit={limit}&skip={skip}")


class Baseline(_AiohttpBase):
    """Hand-written aiohttp + msgspec Structs: the practical limit."""

    name = "baseline"
    description = "hand-written aiohttp client, msgspec Structs (the practical limit)"
    _contact = msgspec.json.Decoder(bm.ContactEnvelope)
    _created = msgspec.json.Decoder(bm.CreatedEnvelope)
    _page = msgspec.json.Decoder(bm.ContactsPage)
    _encode = msgspec.json.Encoder().encode

    async def get(self, contact_id: str) -> Any:
        data = await self._read("GET", f"{self.base}/contacts/{contact_id}", 200)
        return self._contact.decode(data).contact

    async def walk(self, business_id: str, limit: int) -> AsyncIterator[Any]:
        skip = 0
        while True:
            data = await self._read("GET", self._page_url(business_id, limit, skip), 200)
            page = self._page.decode(data)
            for contact in page.contacts:
                yield contact
            skip += len(page.contacts)
            if len(page.contacts) < limit or skip >= page.count:
                return

    async def create(self, index: int) -> Any:
        f = payloads.create_fields(index)
        body = bm.CreateContactBody(
            location_id=payloads.LOCATION_ID, first_name=f["first_name"],
            last_name=f["last_name"], email=f["email"], phone=f["phone"], source=f["source"])
        data = await self._read("POST", f"{self.base}/contacts/", 201, self._encode(body))
        return self._created.decode(data).contact

    @staticmethod
    def decoder() -> Callable[[bytes], Any]:
        page = Baseline._page
        return lambda data: page.decode(data).contacts


class AiohttpJson(_AiohttpBase):
    """The same aiohttp transport, decoding with the standard library's json into dicts."""

    name = "aiohttp+json"
    description = "aiohttp, stdlib json into dicts"

    async def get(self, contact_id: str) -> Any:
        data = await self._read("GET", f"{self.base}/contacts/{contact_id}", 200)
        return json.loads(data)["contact"]

    async def walk(self, business_id: str, limit: int) -> AsyncIterator[Any]:
        skip = 0
        while True:
            data = await self._read("GET", self._page_url(business_id, limit, skip), 200)
            page = json.loads(data)
            for contact in page["contacts"]:
                yield contact
            skip += len(page["contacts"])
            if len(page["contacts"]) < limit or skip >= page["count"]:
                return

    async def create(self, index: int) -> Any:
        body = json.dumps(payloads.create_body(index)).encode()
        data = await self._read("POST", f"{self.base}/contacts/", 201, body)
        return json.loads(data)["contact"]

    @staticmethod
    def decoder() -> Callable[[bytes], Any]:
        return lambda data: json.loads(data)["contacts"]


class HttpxJson(Contender):
    """httpx.AsyncClient with stdlib json, pooled for the concurrency the scenarios use."""

    name = "httpx+json"
    full_reps = False
    description = "httpx.AsyncClient (64 pooled connections), stdlib json into dicts"

    @classmethod
    def unavailable(cls) -> str | None:
        if find_spec("httpx") is None:
            return "httpx is not installed (pip install -e '.[bench]')"
        return None

    async def start(self, base_url: str, rule: tuple[int, float] | None = None) -> None:
        import httpx

        self.client = httpx.AsyncClient(
            base_url=base_url, headers=HEADERS,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100))

    async def stop(self) -> None:
        await self.client.aclose()

    async def _read(self, method: str, url: str, expect: int, **kw: Any) -> bytes:
        resp = await self.client.request(method, url, **kw)
        if resp.status_code != expect:
            raise RuntimeError(f"{method} {url}: HTTP {resp.status_code}: {resp.content[:200]!r}")
        return resp.content

    async def get(self, contact_id: str) -> Any:
        return json.loads(await self._read("GET", f"/contacts/{contact_id}", 200))["contact"]

    async def walk(self, business_id: str, limit: int) -> AsyncIterator[Any]:
        skip = 0
        while True:
            page = json.loads(await self._read(
                "GET", f"/contacts/business/{business_id}", 200,
                params={"locationId": payloads.LOCATION_ID, "limit": limit, "skip": skip}))
            for contact in page["contacts"]:
                yield contact
            skip += len(page["contacts"])
            if len(page["contacts"]) < limit or skip >= page["count"]:
                return

    async def create(self, index: int) -> Any:
        body = json.dumps(payloads.create_body(index)).encode()
        data = await self._read("POST", "/contacts/", 201, content=body,
                                headers={"Content-Type": "application/json"})
        return json.loads(data)["contact"]


class OfficialSDK(Contender):
    """HighLevel's own Python SDK (`gohighlevel-api-client`), used as its README shows."""

    name = "official-sdk"
    full_reps = False
    description = ("HighLevel's official SDK (gohighlevel-api-client) as shipped: httpx "
                   "with its default pool (20 keep-alive connections), dicts, `Version: v3`; "
                   "only its base URL is pointed at the loopback server")

    @classmethod
    def unavailable(cls) -> str | None:
        if find_spec("highlevel") is None:
            return ("gohighlevel-api-client is not installed "
                    "(optional: .venv/bin/pip install gohighlevel-api-client)")
        return None

    async def start(self, base_url: str, rule: tuple[int, float] | None = None) -> None:
        # Imported by name: the SDK is optional and ships no type information.
        highlevel = importlib.import_module("highlevel")
        self.sdk = highlevel.HighLevel(private_integration_token=TOKEN)
        # The SDK hard-codes its production base URL; pointing its httpx client at the
        # loopback server is the only change made to it.
        self.sdk.http_client.base_url = base_url

    async def stop(self) -> None:
        await self.sdk.http_client.aclose()

    async def get(self, contact_id: str) -> Any:
        return (await self.sdk.contacts.get_contact(contact_id))["contact"]

    async def walk(self, business_id: str, limit: int) -> AsyncIterator[Any]:
        skip = 0
        while True:
            page = await self.sdk.contacts.get_contacts_by_business_id(
                business_id, payloads.LOCATION_ID, limit=str(limit), skip=str(skip))
            for contact in page["contacts"]:
                yield contact
            skip += len(page["contacts"])
            if len(page["contacts"]) < limit or skip >= page["count"]:
                return

    async def create(self, index: int) -> Any:
        return (await self.sdk.contacts.create_contact(payloads.create_body(index)))["contact"]


ALL: list[type[Contender]] = [Baseline, AiohttpJson, HttpxJson, OfficialSDK]
