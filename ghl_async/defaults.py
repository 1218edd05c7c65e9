"""Every default in one place: endpoints, API version, timeouts, retries, rates, paging."""

from __future__ import annotations

from typing import Final

BASE_URL: Final = "https://services.leadconnectorhq.com"
API_VERSION: Final = "2021-07-28"
# The consent page lives on another host than the API (CONTACTS-API.md §7.1).
CHOOSER_URL: Final = "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"
USER_AGENT: Final = "ghl-async"

# Timeouts, seconds.
TIMEOUT_TOTAL: Final = 30.0
TIMEOUT_CONNECT: Final = 5.0

# Retries: attempts after the first one.
MAX_RETRIES: Final = 3
BACKOFF_BASE: Final = 0.5  # seconds; full jitter on base * 2**attempt
BACKOFF_MAX: Final = 30.0
RETRY_AFTER_CAP: Final = 60.0  # a 429 asking for longer than this is raised, not slept on

# HighLevel's burst rule: 100 requests per 10 s per app per location (or company).
RATE_LIMIT_REQUESTS: Final = 100
RATE_LIMIT_PERIOD: Final = 10.0
DAILY_LIMIT: Final = 200_000

# OAuth: refresh this many seconds before the access token expires.
REFRESH_SKEW: Final = 60.0

# Paging.
BUSINESS_PAGE_LIMIT: Final = 100  # max `limit` of GET /contacts/business/{businessId}
LIST_PAGE_LIMIT: Final = 100  # max `limit` of GET /contacts/
SEARCH_PAGE_LIMIT: Final = 500  # max `pageLimit` of POST /contacts/search
SEARCH_PAGE_CEILING: Final = 10_000  # page/pageLimit reach at most this many records
