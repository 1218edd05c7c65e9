"""App installs: which locations and agencies installed the app, and their webhooks.

A consent (the chooser page, or ``issue_code()``) installs the app where the user chose, once:
the first consent sends a signed ``INSTALL`` webhook, later ones only mint codes.
``uninstall()`` removes the install, revokes every OAuth token of it (HighLevel's tokens die with
the install), and sends ``UNINSTALL``. Shapes follow ``webhook-events/AppInstall.md`` and
``AppUninstall.md`` (CONTACTS-API.md §11.2): an agency-level event has no ``locationId``.
"""

from __future__ import annotations

from ghl_async.testing.core import FakeCore
from ghl_async.testing.oauth import Grant, UserType

__all__ = ["install", "install_key", "uninstall"]


def install_key(user_type: UserType, target: str) -> str:
    """``"location:<id>"`` or ``"company:<id>"``."""
    return f"{'company' if user_type == 'Company' else 'location'}:{target}"


def install(core: FakeCore, grant: Grant) -> bool:
    """Record the install ``grant`` stands for; True (and ``INSTALL`` sent) when it is new."""
    target = grant.company_id if grant.user_type == "Company" else grant.location_id
    assert target is not None  # a Location grant always names its location
    key = install_key(grant.user_type, target)
    if key in core.installs:
        return False
    core.installs.add(key)
    event: dict[str, object] = {
        "appId": core.app_id,
        "versionId": core.app_id,
        "installType": grant.user_type,
        "companyId": grant.company_id,
        "planId": core.plan_id,
        "trial": {"onTrial": False, "trialDuration": 0},
    }
    if grant.user_type == "Location":
        event["locationId"] = grant.location_id
        event["userId"] = grant.user_id
        event["isWhitelabelCompany"] = False
        event["whitelabelDetails"] = {}
        event["companyName"] = "Fake Agency"
    else:
        event["locationId"] = None  # the emitter leaves it out: agency installs name none
    core._emit("INSTALL", event)
    return True


def uninstall(core: FakeCore, user_type: UserType, target: str) -> int:
    """Remove an install, revoke its OAuth tokens (returns how many) and send ``UNINSTALL``.

    An agency uninstall also kills the location tokens minted from the agency token.
    """
    core.installs.discard(install_key(user_type, target))

    def hit(grant: Grant) -> bool:
        return (grant.company_id if user_type == "Company" else grant.location_id) == target

    revoked = 0
    for token in core.tokens.access.values():
        if hit(token.grant) and not token.private and not token.revoked:
            token.revoked = True
            revoked += 1
    for refresh in core.tokens.refresh.values():
        if hit(refresh.grant):
            refresh.revoked = True
    event: dict[str, object] = {"appId": core.app_id}
    if user_type == "Company":
        event["companyId"] = target
        event["locationId"] = None
    else:
        event["locationId"] = target
    core._emit("UNINSTALL", event)
    return revoked
