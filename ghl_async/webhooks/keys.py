"""HighLevel's published webhook public keys, the defaults of :class:`WebhookVerifier`.

Both are settings: pass your own to the verifier when HighLevel rotates them (announced by e-mail
and on its developer Slack) or when testing against the fake server's keys.
"""

from __future__ import annotations

from typing import Final

__all__ = ["HIGHLEVEL_ED25519_PUBLIC_KEY", "HIGHLEVEL_RSA_PUBLIC_KEY"]

# Signs ``x-ghl-signature``. Absent from HighLevel's docs repository; this is the key several
# independent public integrations embed, citing HighLevel's Webhook Integration Guide
# (https://marketplace.gohighlevel.com/docs/webhook/WebhookIntegrationGuide). Confirm it in your
# app's settings. Raw key: 8b61d1d6cacbe28d7c3bc0516bb815258ec6edbba96cddc7f40c09ac708388e8.
HIGHLEVEL_ED25519_PUBLIC_KEY: Final = """\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=
-----END PUBLIC KEY-----
"""

# Signs the legacy ``x-wh-signature`` (RSA-4096, PKCS#1 v1.5, SHA-256), verbatim from HighLevel's
# WebhookAuthentication.md. HighLevel is retiring this header during 2026.
HIGHLEVEL_RSA_PUBLIC_KEY: Final = """\
-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
"""
