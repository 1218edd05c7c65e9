"""A fake that sets itself up: ``fake.client()``, ``fake.oauth_app()``, the consent page's
install type, and OAuth errors that name their cause, driven by ghl_async's own client."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from ghl_async import Client, OAuthApp, RateLimit
from ghl_async.errors import ConfigError, ReauthorizationRequired, TokenRefreshError
from ghl_async.testing import DEFAULT_REDIRECT_URI, FakeHighLevel
from ghl_async.testing.knobs_auth import ClientOptions
from ghl_async.tokenstore import MemoryTokenStore


@pytest.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeHighLevel]:
    marker = request.node.get_closest_marker("fake_highlevel")
    async with FakeHighLevel(**(marker.kwargs if marker else {})) as server:
        yield server


async def consent(url: str) -> dict[str, str]:
    """Follow the consent page like a browser would, up to the redirect; return its query."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, allow_redirects=False) as response,
    ):
        assert response.status == 302, await response.text()
        query = parse_qs(urlsplit(response.headers["Location"]).query)
    return {key: values[0] for key, values in query.items()}


# --- fake.client() ----------------------------------------------------------------------------


async def test_client_is_wired_to_the_fake(fake: FakeHighLevel) -> None:
    ids = fake.seed_contacts(2)
    async with fake.client() as ghl:
        assert (ghl.base_url, ghl.location_id) == (fake.base_url, fake.location_id)
        contact = await ghl.contacts.get(ids[0])
        page = await ghl.contacts.list_by_business("biz_1")
    assert contact.id == ids[0]
    assert page.total_count == 2
    other = fake.add_location()
    fake.seed_contacts(1, location_id=other)
    sibling = fake.client(location_id=other, max_retries=0)
    assert (sibling.location_id, sibling.max_retries) == (other, 0)


@pytest.mark.fake_highlevel(rate_limit="5/60")
async def test_client_keeps_the_fakes_own_rule(fake: FakeHighLevel) -> None:
    contact_id = fake.seed_contacts(1)[0]
    async with fake.client() as ghl:
        for _ in range(5):
            await ghl.contacts.get(contact_id)
        # The sixth would be the fake's 429: the client holds it back instead.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ghl.contacts.get(contact_id), 0.5)
    assert fake.count(operation="contacts.get") == 5
    assert fake.count(status=429) == 0
    assert fake.client_rate_limit() == RateLimit(requests=5, period=60.0)


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_client_has_no_limit_when_the_fake_has_none(fake: FakeHighLevel) -> None:
    contact_id = fake.seed_contacts(1)[0]
    assert fake.client_rate_limit() is RateLimit.unlimited()
    async with fake.client() as ghl:
        # 150 calls: a client keeping HighLevel's 100 per 10 s would wait about 10 s here.
        calls = asyncio.gather(*(ghl.contacts.get(contact_id) for _ in range(150)))
        contacts = await asyncio.wait_for(calls, 8)
    assert len(contacts) == 150
    assert fake.count(operation="contacts.get", status=200) == 150


def test_client_options_mirror_the_client_constructor() -> None:
    parameters = inspect.signature(Client.__init__).parameters
    keywords = {name for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert set(ClientOptions.__annotations__) == keywords - {"auth"}


# --- OAuth wired to the fake ------------------------------------------------------------------


async def test_location_install_through_the_consent_page(fake: FakeHighLevel) -> None:
    contact_id = fake.seed_contacts(1)[0]
    app = fake.oauth_app()
    assert app.redirect_uri == DEFAULT_REDIRECT_URI == fake.redirect_uri
    async with fake.client(auth=app) as ghl:
        query = await consent(app.authorization_url(state="csrf"))
        assert query["state"] == "csrf"
        token = await app.exchange_code(query["code"])
        assert (token.user_type, token.location_id) == ("Location", fake.location_id)
        assert (await ghl.contacts.get(contact_id)).id == contact_id
    assert fake.count("POST", "/oauth/token") == 1


async def test_agency_install_through_the_consent_page(fake: FakeHighLevel) -> None:
    other = fake.add_location()
    contact_id = fake.seed_contacts(1, location_id=other)[0]
    app = fake.oauth_app("Company")
    assert "user_type=Company" in app.authorization_url()
    async with fake.client(auth=app, location_id=None) as ghl:
        token = await app.exchange_code((await consent(app.authorization_url()))["code"])
        assert (token.user_type, token.company_id) == ("Company", fake.company_id)
        contact = await ghl.with_options(location_id=other).contacts.get(contact_id)
    assert contact.id == contact_id
    assert fake.count("POST", "/oauth/locationToken") == 1


async def test_chooser_url_for_checks_its_arguments(fake: FakeHighLevel) -> None:
    other = fake.add_location()
    url = fake.chooser_url_for("Location", location_id=other)
    assert url.startswith(fake.chooser_url + "?")
    app = OAuthApp(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        store=MemoryTokenStore(),
        chooser_url=url,
    )
    async with fake.client(auth=app):
        token = await app.exchange_code((await consent(app.authorization_url()))["code"])
    assert token.location_id == other
    with pytest.raises(ConfigError, match="unknown location"):
        fake.chooser_url_for(location_id="nowhere")
    with pytest.raises(ConfigError, match="user_type"):
        fake.chooser_url_for("Agency")  # type: ignore[arg-type]


# --- errors that name the cause ---------------------------------------------------------------


async def test_user_type_mismatch_is_named_and_leaves_the_code_usable(fake: FakeHighLevel) -> None:
    # An agency app sent to the plain consent page: the user made a Location install.
    agency = OAuthApp(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        store=MemoryTokenStore(),
        user_type="Company",
        chooser_url=fake.chooser_url,
    )
    code = (await consent(agency.authorization_url()))["code"]
    with pytest.raises(TokenRefreshError) as caught:
        await agency.exchange_code(code, base_url=fake.base_url)
    err = caught.value
    assert not isinstance(err, ReauthorizationRequired)  # not a dead grant: a wrong setting
    assert (err.status, err.error) == (400, "invalid_request")
    assert "user_type=Company does not match the install" in str(err)
    assert "Location-level install" in str(err)
    assert "spent, expired or revoked" not in str(err)
    # The code was not spent: the matching app gets its token.
    token = await fake.oauth_app().exchange_code(code, base_url=fake.base_url)
    assert token.user_type == "Location"


async def test_redirect_uri_mismatch_and_spent_codes_are_named(fake: FakeHighLevel) -> None:
    app = fake.oauth_app()
    elsewhere = fake.chooser_url_for() + "&redirect_uri=http://localhost:9999/cb"
    code = (await consent(elsewhere + "&response_type=code&client_id=" + fake.client_id))["code"]
    with pytest.raises(ReauthorizationRequired) as caught:
        await app.exchange_code(code, base_url=fake.base_url)
    assert "redirect_uri 'http://127.0.0.1/oauth/callback' differs" in str(caught.value)
    assert "'http://localhost:9999/cb'" in str(caught.value)
    good = (await consent(app.authorization_url()))["code"]
    await app.exchange_code(good, base_url=fake.base_url)
    with pytest.raises(ReauthorizationRequired, match="already used"):
        await app.exchange_code(good, base_url=fake.base_url)
    with pytest.raises(ReauthorizationRequired, match="never issued"):
        await app.exchange_code("made-up", base_url=fake.base_url)


async def test_unknown_client_and_wrong_secret_are_named(fake: FakeHighLevel) -> None:
    code = fake.issue_code()
    stranger = OAuthApp(client_id="abc-def", client_secret="x", store=MemoryTokenStore())
    with pytest.raises(TokenRefreshError, match="Unknown client_id 'abc-def'") as caught:
        await stranger.exchange_code(code, base_url=fake.base_url)
    assert (caught.value.status, caught.value.error) == (401, "invalid_client")
    wrong = OAuthApp(client_id=fake.client_id, client_secret="nope", store=MemoryTokenStore())
    with pytest.raises(TokenRefreshError, match="client_secret is not the secret") as caught:
        await wrong.exchange_code(code, base_url=fake.base_url)
    assert fake.client_secret not in str(caught.value)
    # The consent page names its own refusals too.
    async with aiohttp.ClientSession() as http:
        bad = fake.chooser_url + "?response_type=code&client_id=abc-def"
        async with http.get(bad, allow_redirects=False) as response:
            assert response.status == 400
            assert "Unknown client_id 'abc-def'" in (await response.json())["message"]
        unregistered = (
            f"{fake.chooser_url}?response_type=code&client_id={fake.client_id}"
            "&redirect_uri=https://evil.example/cb"
        )
        async with http.get(unregistered, allow_redirects=False) as response:
            message = (await response.json())["message"]
    assert DEFAULT_REDIRECT_URI in message
    assert "is not registered" in message
