"""OAuth for the fake: authorization codes, access/refresh token pairs, private tokens.

The token endpoint follows HighLevel's v2 wire format (CONTACTS-API.md §7.2: snake_case token
fields, camelCase ids) and RFC 6749 for its failures: ``{"error", "error_description"}`` with
``invalid_request``/``unsupported_grant_type``/``unauthorized_client``/``invalid_grant`` (400) and
``invalid_client`` (401). Refresh tokens rotate: each works once, and a spent one is
``invalid_grant``, which is what HighLevel's docs imply (§7.4) and what clients must survive.
Unknown form parameters are ignored, as RFC 6749 §3.2 requires.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "COMPANY_SCOPES",
    "LOCATION_SCOPES",
    "AccessToken",
    "AuthCode",
    "Grant",
    "OAuthError",
    "RefreshToken",
    "TokenRegistry",
    "UserType",
    "token_response",
]

UserType = Literal["Location", "Company"]
LOCATION_SCOPES: Final = ("contacts.readonly", "contacts.write")
COMPANY_SCOPES: Final = (*LOCATION_SCOPES, "oauth.readonly", "oauth.write")
CODE_LIFETIME: Final = 600.0  # seconds an authorization code stays redeemable


@dataclass(frozen=True, slots=True)
class Grant:
    """Who a token speaks for: an installation on a location or a company, with scopes."""

    user_type: UserType
    company_id: str
    location_id: str | None
    scopes: tuple[str, ...]
    user_id: str

    @property
    def scope(self) -> str:
        """The scopes space-separated, as the token endpoint reports them."""
        return " ".join(self.scopes)


@dataclass(slots=True, eq=False)
class AccessToken:
    """A bearer token. Private-integration tokens never expire; they can be revoked."""

    value: str
    grant: Grant
    expires_at: float | None
    private: bool = False
    revoked: bool = False

    def live(self, now: float) -> bool:
        """Usable right now."""
        return not self.revoked and (self.expires_at is None or now < self.expires_at)

    def __repr__(self) -> str:
        return f"AccessToken(user_type={self.grant.user_type!r}, private={self.private})"


@dataclass(slots=True, eq=False)
class RefreshToken:
    """A single-use refresh token."""

    value: str
    grant: Grant
    spent: bool = False
    revoked: bool = False

    def __repr__(self) -> str:
        return f"RefreshToken(user_type={self.grant.user_type!r}, spent={self.spent})"


@dataclass(slots=True, eq=False)
class AuthCode:
    """An authorization code from the consent page (single-use, ten minutes)."""

    value: str
    grant: Grant
    redirect_uri: str | None
    expires_at: float
    used: bool = False

    def __repr__(self) -> str:
        return f"AuthCode(user_type={self.grant.user_type!r}, used={self.used})"


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer of the token endpoint."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, object]:
        """The JSON error object."""
        return {"error": self.error, "error_description": self.description}


def _require(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise OAuthError(400, "invalid_request", f"{name} is required")
    return value


class TokenRegistry:
    """Every code and token the fake issued, with their state."""

    def __init__(self, *, token_lifetime: float) -> None:
        self.token_lifetime = token_lifetime
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}

    def mint_code(self, grant: Grant, redirect_uri: str | None, now: float) -> str:
        """A fresh authorization code for ``grant``."""
        value = secrets.token_hex(20)
        self.codes[value] = AuthCode(value, grant, redirect_uri, now + CODE_LIFETIME)
        return value

    def mint_pair(
        self, grant: Grant, now: float, lifetime: float | None = None
    ) -> tuple[AccessToken, RefreshToken]:
        """A new access token and refresh token for ``grant``."""
        seconds = self.token_lifetime if lifetime is None else lifetime
        access = AccessToken(secrets.token_urlsafe(32), grant, now + seconds)
        refresh = RefreshToken(secrets.token_urlsafe(32), grant)
        self.access[access.value] = access
        self.refresh[refresh.value] = refresh
        return access, refresh

    def mint_private(self, grant: Grant) -> AccessToken:
        """A private-integration token: no expiry, no refresh token."""
        token = AccessToken(f"pit-{uuid.uuid4()}", grant, None, private=True)
        self.access[token.value] = token
        return token

    def lookup(self, value: str, now: float) -> AccessToken | None:
        """The live access token ``value``, or None (unknown, expired or revoked)."""
        token = self.access.get(value)
        if token is None or not token.live(now):
            return None
        return token

    def redeem_code(
        self, code: str, redirect_uri: str | None, user_type: str | None, now: float
    ) -> Grant:
        """Spend an authorization code, or raise :class:`OAuthError` naming why it is unusable.

        A user type that differs from the install's is ``invalid_request``, not ``invalid_grant``:
        the code is still good (it is not spent) with the right ``user_type``, and calling it a
        dead grant would send the developer to re-authorise for nothing.
        """
        found = self.codes.get(code)
        if found is None:
            raise OAuthError(
                400, "invalid_grant", "Unknown authorization code: this server never issued it"
            )
        if found.used:
            raise OAuthError(
                400,
                "invalid_grant",
                "The authorization code was already used (codes are single-use)",
            )
        if now >= found.expires_at:
            raise OAuthError(
                400,
                "invalid_grant",
                f"The authorization code expired (codes live {CODE_LIFETIME:g} seconds)",
            )
        if redirect_uri and found.redirect_uri and redirect_uri != found.redirect_uri:
            raise OAuthError(
                400,
                "invalid_grant",
                f"redirect_uri {redirect_uri!r} differs from the authorization request's "
                f"({found.redirect_uri!r})",
            )
        installed = found.grant.user_type
        if user_type and user_type != installed:
            raise OAuthError(
                400,
                "invalid_request",
                f"user_type={user_type} does not match the install: this code comes from a "
                f"{installed}-level install, so exchange it with user_type={installed} (or "
                f"install at {user_type} level on the consent page: user_type={user_type})",
            )
        found.used = True
        return found.grant

    def redeem_refresh(self, value: str) -> Grant:
        """Spend a refresh token; :class:`OAuthError` ``invalid_grant`` if unusable."""
        found = self.refresh.get(value)
        if found is None:
            raise OAuthError(400, "invalid_grant", "Invalid refresh token")
        if found.revoked:
            raise OAuthError(400, "invalid_grant", "The refresh token has been revoked")
        if found.spent:
            raise OAuthError(400, "invalid_grant", "The refresh token has already been used")
        found.spent = True
        return found.grant

    def expire_all(self, now: float) -> int:
        """Expire every live OAuth access token now (private tokens are untouched)."""
        expired = 0
        for token in self.access.values():
            if not token.private and token.live(now):
                token.expires_at = now
                expired += 1
        return expired

    def revoke_all(self, *, private: bool) -> None:
        """Revoke every access and refresh token (and private tokens when ``private``)."""
        for token in self.access.values():
            if private or not token.private:
                token.revoked = True
        for refresh in self.refresh.values():
            refresh.revoked = True

    def exchange(
        self,
        form: Mapping[str, str],
        *,
        client_id: str,
        client_secret: str,
        now: float,
    ) -> tuple[AccessToken, RefreshToken]:
        """Run ``POST /oauth/token`` for a parsed form."""
        given_id = _require(form, "client_id")
        given_secret = _require(form, "client_secret")
        grant_type = _require(form, "grant_type")
        if given_id != client_id:
            raise OAuthError(
                401, "invalid_client", f"Unknown client_id {given_id!r}: this app is {client_id!r}"
            )
        if not secrets.compare_digest(given_secret, client_secret):
            raise OAuthError(
                401, "invalid_client", f"client_secret is not the secret of client_id {client_id!r}"
            )
        user_type = form.get("user_type") or None
        if user_type is not None and user_type not in ("Location", "Company"):
            raise OAuthError(400, "invalid_request", "user_type must be Location or Company")
        if grant_type == "authorization_code":
            grant = self.redeem_code(
                _require(form, "code"), form.get("redirect_uri") or None, user_type, now
            )
        elif grant_type == "refresh_token":
            grant = self.redeem_refresh(_require(form, "refresh_token"))
        elif grant_type == "client_credentials":
            raise OAuthError(
                400, "unauthorized_client", "This app may not use the client_credentials grant"
            )
        else:
            raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r}")
        return self.mint_pair(grant, now)


def token_response(
    access: AccessToken,
    refresh: RefreshToken,
    *,
    lifetime: float,
    camel_case: bool,
    approved_locations: Iterable[str],
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The token endpoint's success body (v2 mixed casing, or v3 all-camelCase)."""
    grant = access.grant
    body: dict[str, object] = {
        "access_token": access.value,
        "token_type": "Bearer",
        # Whole seconds like HighLevel, except the sub-second lifetimes tests use.
        "expires_in": int(lifetime) if float(lifetime).is_integer() else lifetime,
        "refresh_token": refresh.value,
        "scope": grant.scope,
        "userType": grant.user_type,
    }
    if grant.location_id is not None:
        body["locationId"] = grant.location_id
    body["companyId"] = grant.company_id
    if grant.user_type == "Company":
        body["approvedLocations"] = list(approved_locations)
    body["userId"] = grant.user_id
    body["isBulkInstallation"] = False
    if extra:
        body.update(extra)
    if camel_case:
        renames = {
            "access_token": "accessToken",
            "token_type": "tokenType",
            "expires_in": "expiresIn",
            "refresh_token": "refreshToken",
        }
        body = {renames.get(key, key): value for key, value in body.items()}
    return body
