"""HighLevel's official Python SDK, unmodified and speaking its default ``Version: v3``, against
FakeHighLevel over a real socket.

``gohighlevel-api-client`` (import ``highlevel``; a dev dependency) builds its httpx client from
the class attribute ``HighLevel.BASE_URL``, so a subclass that sets ``BASE_URL`` to the fake's
URL points it at the fake without touching its code; it authenticates with the fake's private
integration token. Every method of its ``contacts`` service is called (the test fails if the SDK
grows one this test does not call), none may raise, and each answer is validated with the
pydantic model the SDK declares as that method's return type, plus, where the SDK declares
none, with the shapes of ``contacts-v3.json``.

The one argument the SDK cannot express: ``create_association`` (``POST
/contacts/bulk/tags/update/{type}``) has no parameter for ``{type}`` (the spec leaves it
undeclared), so the SDK would send the literal ``{type}``; the test passes the URL through the
method's own ``options`` argument, which the SDK merges into its request.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterator, Callable
from typing import Any

import pydantic
import pytest
from highlevel import HighLevel
from highlevel.error import GHLError
from highlevel.services.contacts.contacts import Contacts as SdkContacts
from openapi_check import SPEC_DIR, Spec

from ghl_async.testing import FakeHighLevel


@pytest.fixture
async def fake() -> AsyncIterator[FakeHighLevel]:
    async with FakeHighLevel(rate_limit=None) as fake:
        yield fake


def sdk_for(fake: FakeHighLevel, **config: Any) -> HighLevel:
    """The official SDK, its BASE_URL pointed at the fake (a subclass: no code changed)."""
    pointed = type("FakeBackedHighLevel", (HighLevel,), {"BASE_URL": fake.base_url})
    sdk: HighLevel = pointed(**config)
    assert sdk.API_VERSION == "v3"  # its default, unchanged
    return sdk


def _model(method: Callable[..., Any]) -> type[pydantic.BaseModel] | None:
    returns = typing.get_type_hints(method).get("return")
    if isinstance(returns, type) and issubclass(returns, pydantic.BaseModel):
        return returns
    return None


async def test_every_contacts_operation_of_the_official_sdk(fake: FakeHighLevel) -> None:
    sdk = sdk_for(fake, private_integration_token=fake.private_token, log_level="error")
    contacts = sdk.contacts
    location = fake.location_id
    seeded = fake.seed_contacts(2, tasks=1, notes=1, appointments=1)
    results: dict[str, Any] = {}

    async def run(name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(contacts, name)
        result = await method(*args, **kwargs)
        model = _model(getattr(SdkContacts, name))
        if model is not None:
            model.model_validate(result)  # the SDK's own declared shape
        results[name] = result
        return result

    try:
        created = await run(
            "create_contact",
            {
                "locationId": location,
                "firstName": "Ada",
                "lastName": "Lovelace",
                "email": "ada@alpha.example",
                "dndSettings": {"email": {"status": "active"}},
                "customFields": [{"key": "plan", "fieldValue": "Gold"}],
            },
        )
        cid = created["contact"]["id"]
        await run("get_contact", cid)
        await run("update_contact", cid, {"lastName": "King", "tags": ["a"]})
        await run("upsert_contact", {"locationId": location, "email": "ada@alpha.example"})
        await run("get_duplicate_contact", location, email="ada@alpha.example")
        await run("search_contacts_advanced", {"locationId": location, "pageLimit": 10})
        await run(
            "add_remove_contact_from_business",
            {"locationId": location, "ids": [cid, seeded[0]], "businessId": "biz_1"},
        )
        page = await run("get_contacts_by_business_id", "biz_1", location, limit="1")
        last = page["contacts"][-1]
        after = [(last.get("contactName") or "").lower(), last["id"]]
        await run("get_contacts_by_business_id", "biz_1", location, limit="1", start_after=after)
        await run("add_tags", cid, {"tags": ["b"]})
        await run("remove_tags", cid, {"tags": ["a"]})
        await run(
            "create_association",
            {"contacts": [cid], "tags": ["c"], "locationId": location},
            options={"url": "/contacts/bulk/tags/update/add"},
        )
        await run("add_followers_contact", cid, {"followers": ["u1"]})
        await run("remove_followers_contact", cid, {"followers": ["u1"]})
        await run("add_contact_to_campaign", cid, "camp_1", {})
        await run("remove_contact_from_campaign", cid, "camp_1")
        await run("remove_contact_from_every_campaign", cid)
        await run("add_contact_to_workflow", cid, "wf_1", {})
        await run("delete_contact_from_workflow", cid, "wf_1", {})
        task = await run(
            "create_task",
            cid,
            {"title": "Call", "dueDate": "2026-01-01T09:00:00Z", "completed": False},
        )
        task_id = task["task"]["id"]
        await run("get_all_tasks", cid)
        await run("get_task", cid, task_id)
        await run("update_task", cid, task_id, {"body": "about the invoice"})
        await run("update_task_completed", cid, task_id, {"completed": True})
        await run("delete_task", cid, task_id)
        note = await run("create_note", cid, {"body": "met at the fair"})
        note_id = note["note"]["id"]
        await run("get_all_notes", cid)
        await run("get_note", cid, note_id)
        await run("update_note", cid, note_id, {"pinned": True})
        await run("delete_note", cid, note_id)
        await run("get_appointments_for_contact", seeded[1])
        await run("delete_contact", cid)
        # An error reaches the SDK as its own GHLError, with v3's NotFoundDTO.
        with pytest.raises(GHLError) as caught:
            await contacts.get_contact(cid)
        assert caught.value.status_code == 404
    finally:
        await sdk.close()

    exposed = {
        name
        for name, member in inspect.getmembers(SdkContacts, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }
    assert set(results) == exposed
    assert len(exposed) == 31
    # Each request carried the SDK's v3 header and was answered by the v3 handler set.
    served = [r for r in fake.requests if r.operation != "unknown"]
    assert {r.version for r in served} == {"v3"}
    assert {r.operation.split(".")[0] for r in served} == {"v3"}
    assert all(r.status is not None and r.status < 300 for r in served[:-1])
    # What the SDK returns untyped is checked against the spec.
    if (SPEC_DIR / "contacts-v3.json").exists():
        spec = Spec("contacts-v3.json")
        contact = spec.root["components"]["schemas"]["GetContactByIdSchemaV3"]
        assert spec.validate(results["get_duplicate_contact"]["contact"], contact) == []
        assert results["search_contacts_advanced"]["total"] >= 1
    assert results["update_contact"]["succeeded"] is True
    assert results["get_contacts_by_business_id"]["contacts"][0]["id"] != last["id"]


# The SDK hands httpx its form already url-encoded (a str as `data=`), which httpx deprecates.
@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
async def test_official_sdk_oauth_against_the_fake(fake: FakeHighLevel) -> None:
    """Its v3 token calls (camelCase form, ``Version: v3``) and installed locations work too."""
    issued = fake.issue_token(user_type="Company")
    sdk = sdk_for(
        fake,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        agency_access_token=issued.access_token,
        log_level="error",
    )
    try:
        fresh = await sdk.oauth.refresh_token(
            issued.refresh_token, fake.client_id, fake.client_secret, "refresh_token", "Company"
        )
        assert fresh["userType"] == "Company"
        assert fresh["refreshToken"]
        assert fresh["accessToken"]
        with pytest.raises(GHLError) as spent:  # refresh tokens are single-use
            await sdk.oauth.refresh_token(
                issued.refresh_token, fake.client_id, fake.client_secret, "refresh_token", "Company"
            )
        assert spent.value.status_code == 400
        assert str(spent.value).startswith("Invalid grant")
        minted = await sdk.oauth.get_location_access_token(
            {"companyId": fake.company_id, "locationId": fake.location_id}
        )
        assert minted["locationId"] == fake.location_id
        assert minted["refreshToken"]
        listed = await sdk.oauth.get_installed_location(fake.company_id, fake.app_id, page_size=1)
        assert listed["pagination"]["currentPageSize"] == 1
        assert listed["items"][0]["_id"] == fake.location_id
    finally:
        await sdk.close()
    assert {r.version for r in fake.requests} == {"v3"}
    operations = [r.operation for r in fake.requests]
    assert operations == [
        "oauth.token",
        "oauth.token",
        "v3.oauth.location_token",
        "v3.oauth.list_installed_locations",
    ]
