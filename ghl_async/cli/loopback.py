"""Catch an OAuth redirect on a loopback port, as cloud CLIs do.

The user's browser is sent to HighLevel's consent page with ``redirect_uri`` pointing at
``http://127.0.0.1:<port>/callback``; this module serves that one URL until the redirect
arrives, checks ``state`` and hands back the authorization ``code``. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import secrets
from types import TracebackType

from aiohttp import web

from ghl_async.errors import AuthenticationError, ConfigError

__all__ = ["RedirectCatcher"]

_PAGE = (
    "<!doctype html><meta charset=utf-8><title>ghl-async</title>"
    "<body style='font-family:sans-serif'><h2>{title}</h2><p>{text}</p></body>"
)


class RedirectCatcher:
    """Serve ``/callback`` on 127.0.0.1 until HighLevel redirects there with a code.

    ::

        async with RedirectCatcher() as catcher:
            app = OAuthApp(..., redirect_uri=catcher.redirect_uri)
            print(app.authorization_url(state=catcher.state))
            code = await catcher.wait(timeout=300)
    """

    def __init__(self, *, port: int = 0, path: str = "/callback") -> None:
        self.port = port
        self.path = path
        self.state = secrets.token_urlsafe(16)
        self._result: asyncio.Future[str] | None = None
        self._runner: web.AppRunner | None = None

    @property
    def redirect_uri(self) -> str:
        """The URL to register as (and send as) the app's redirect URI."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def __aenter__(self) -> RedirectCatcher:
        self._result = asyncio.get_running_loop().create_future()
        app = web.Application()
        app.router.add_get(self.path, self._callback)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        try:
            await site.start()
        except OSError as err:
            await self._runner.cleanup()
            raise ConfigError(f"cannot listen on 127.0.0.1:{self.port}: {err.strerror}") from None
        self.port = int(self._runner.addresses[0][1])  # the real port when 0 was asked
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _callback(self, request: web.Request) -> web.Response:
        assert self._result is not None
        query = request.query
        # HighLevel may not echo `state` (CONTACTS-API.md §7.1): a missing one is accepted, a
        # different one is not.
        if query.get("state") not in (None, self.state):
            # Not our flow (or a forged redirect): refuse it, keep waiting for the real one.
            return self._page(400, "Wrong state", "This link is not from this login; ignored.")
        if "error" in query:
            reason = query.get("error_description") or query["error"]
            if not self._result.done():
                self._result.set_exception(
                    AuthenticationError(
                        status=400,
                        operation="oauth.authorize",
                        method="GET",
                        url=self.path,
                        messages=[f"consent refused: {reason}"],
                    )
                )
            return self._page(400, "Not authorised", "You can close this tab.")
        code = query.get("code")
        if not code:
            return self._page(400, "No code", "The redirect carried no authorization code.")
        if not self._result.done():
            self._result.set_result(code)
        return self._page(200, "Authorised", "ghl-async has the code. You can close this tab.")

    @staticmethod
    def _page(status: int, title: str, text: str) -> web.Response:
        return web.Response(
            status=status, text=_PAGE.format(title=title, text=text), content_type="text/html"
        )

    async def wait(self, timeout: float | None = None) -> str:
        """Wait for the redirect and return its code.

        Raises:
            AuthenticationError: the user refused consent.
            TimeoutError: nothing arrived within ``timeout`` seconds.
        """
        if self._result is None:
            raise ConfigError("use RedirectCatcher as `async with` before wait()")
        return await asyncio.wait_for(asyncio.shield(self._result), timeout)
