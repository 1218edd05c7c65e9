"""Models of the agency OAuth routes that are ordinary API calls: installed locations.

``GET /oauth/installedLocations`` (v2, ``skip``/``limit``) and ``GET /oauth/installed-locations``
(v3, ``pageSize``/``pageToken`` with AIP-158 ``pagination`` metadata) list the locations of a
company and whether the app is installed on each. Both need an agency (Company) token with scope
``oauth.readonly``. The token endpoints themselves are not routes: :mod:`ghl_async.auth` owns them.
"""

from __future__ import annotations

from msgspec import UNSET, UnsetType, field

from ghl_async.models import Query, Wire

__all__ = [
    "InstalledLocation",
    "InstalledLocationsPage",
    "InstalledLocationsPageV3",
    "InstalledLocationsQuery",
    "InstalledLocationsQueryV3",
    "PaginationMeta",
]


class InstalledLocation(Wire, kw_only=True, frozen=True):
    """A location of the company, and whether the app is installed there."""

    id: str = field(default="", name="_id")
    name: str | None = None
    address: str | None = None
    is_installed: bool | None = None
    version_id: str | None = None
    installed_at: str | None = None


class InstalledLocationsPage(Wire, kw_only=True, frozen=True):
    """One page of ``GET /oauth/installedLocations`` (v2): ``locations`` and ``count``."""

    locations: list[InstalledLocation] = field(default_factory=list)
    count: int | None = None
    install_to_future_locations: bool | None = None

    @property
    def items(self) -> list[InstalledLocation]:
        """The locations of this page."""
        return self.locations

    @property
    def total_count(self) -> int | None:
        """Every location of the company."""
        return self.count


class PaginationMeta(Wire, kw_only=True, frozen=True):
    """AIP-158 paging metadata of v3 list responses."""

    total_records: int | None = None
    has_next_page: bool = False
    has_prev_page: bool = False
    next_page_token: str | None = None
    prev_page_token: str | None = None
    current_page_size: int | None = None
    estimated_total_records: int | None = None


class InstalledLocationsPageV3(Wire, kw_only=True, frozen=True):
    """One page of ``GET /oauth/installed-locations`` (v3): ``items`` and ``pagination``."""

    items: list[InstalledLocation] = field(default_factory=list)
    pagination: PaginationMeta = PaginationMeta()
    install_to_future_locations: bool | None = None

    @property
    def total_count(self) -> int | None:
        """Every matching location, when the server counted them."""
        return self.pagination.total_records

    @property
    def next_page_token(self) -> str | None:
        """The token of the next page; ``None`` after the last one."""
        meta = self.pagination
        return meta.next_page_token if meta.has_next_page else None


class InstalledLocationsQuery(Query, kw_only=True):
    """Query of ``GET /oauth/installedLocations`` (v2); ``skip``/``limit`` are strings (spec)."""

    company_id: str
    app_id: str
    skip: str | UnsetType = UNSET
    limit: str | UnsetType = UNSET
    query: str | UnsetType = UNSET
    is_installed: bool | UnsetType = UNSET
    version_id: str | UnsetType = UNSET
    on_trial: bool | UnsetType = UNSET
    plan_id: str | UnsetType = UNSET
    location_id: str | UnsetType = UNSET


class InstalledLocationsQueryV3(Query, kw_only=True):
    """Query of ``GET /oauth/installed-locations`` (v3)."""

    company_id: str
    app_id: str
    page_size: int | UnsetType = UNSET
    page_token: str | UnsetType = UNSET
    query: str | UnsetType = UNSET
    is_installed: bool | UnsetType = UNSET
    restrict_to_user_locations: bool | UnsetType = UNSET
    version_id: str | UnsetType = UNSET
    on_trial: bool | UnsetType = UNSET
    plan_id: str | UnsetType = UNSET
    location_id: str | UnsetType = UNSET
