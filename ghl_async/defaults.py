"""Every default in one place: endpoints, API version, timeouts, retries, rates, paging."""

from __future__ import annotations

from typing import Final

BASE_URL: Final = "https://services.leadconnectorhq.com"
API_VERSION: Final = "2021-07-28"  # the Contacts API v2 (`contacts.json`)
API_V3: Final = "v3"  # the Contacts API v3 (`contacts-v3.json`): same paths, other shapes
# The `Version` values this SDK speaks (route rows, OAuthApp, token transports).
API_VERSIONS: Final = (API_VERSION, API_V3)
# Every value HighLevel publishes for its `Version` header (other APIs use 2021-04-15): what a
# route row may name, so another HighLevel API can be added as rows. Anything else is a typo.
KNOWN_VERSIONS: Final = ("2021-04-15", API_VERSION, "2023-02-21", API_V3)
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
RETRY_AFTER_CAP: Final = 60.0  # a server asking to wait longer than this gets an error at once
# Exactly-once creates: after an ambiguous failure, look the object up before resending.
RECONCILE_WRITES: Final = True
# After a create timed out, "not found" is believed only once it held this long (or the
# request timeout, if longer): the server may still be applying the request.
RECONCILE_SETTLE: Final = 10.0

# HighLevel's burst rule: 100 requests per 10 s per app per location (or company).
RATE_LIMIT_REQUESTS: Final = 100
RATE_LIMIT_PERIOD: Final = 10.0
DAILY_LIMIT: Final = 200_000
# Once a response says the daily quota is spent and HighLevel gave no reset time, calls fail
# at once (DailyQuotaExceeded) for this many seconds; then one goes out to look again.
DAILY_QUOTA_PROBE: Final = 60.0

# The largest response body read, decoded (after gzip/deflate); larger ones raise
# ResponseTooLargeError. A 500-contact search page is about 1 MiB.
MAX_RESPONSE_SIZE: Final = 32 * 1024 * 1024

# OAuth: refresh this many seconds before the access token expires.
REFRESH_SKEW: Final = 60.0

# Paging.
BUSINESS_PAGE_LIMIT: Final = 100  # max `limit` of GET /contacts/business/{businessId}
LIST_PAGE_LIMIT: Final = 100  # max `limit` of GET /contacts/
SEARCH_PAGE_LIMIT: Final = 500  # max `pageLimit` of POST /contacts/search
SEARCH_PAGE_CEILING: Final = 10_000  # page/pageLimit reach at most this many records
INSTALLED_PAGE_LIMIT: Final = 100  # page size of the installed-locations listings (v2 and v3)
