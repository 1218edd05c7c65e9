"""``python -m ghl_async.testing``: the standalone fake server."""

from __future__ import annotations

import asyncio
import json
import queue
import signal
import subprocess
import sys
import threading
from typing import IO, Any

import aiohttp
import pytest
from aiohttp import web

from ghl_async.testing.__main__ import main, parser, serve
from ghl_async.webhooks import (
    RECEIVER_KEY,
    Dispatcher,
    WebhookEvent,
    WebhookVerifier,
    create_app,
)


def _lines(stream: IO[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _read_until(lines: queue.Queue[str], marker: str, timeout: float = 30.0) -> list[str]:
    seen: list[str] = []
    while not any(marker in line for line in seen):
        seen.append(lines.get(timeout=timeout))
    return seen


async def _business_page(facts: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    headers = {"Authorization": f"Bearer {facts['private_token']}", "Version": "2021-07-28"}
    params = {"locationId": facts["location_id"], "limit": "100"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{facts['base_url']}/contacts/business/biz_1", params=params, headers=headers
        ) as response,
    ):
        return response.status, await response.json(), response.headers["X-RateLimit-Max"]


def test_subprocess_prints_the_url_serves_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "ghl_async.testing", "--port", "0", "--seed", "5"]
    command += ["--rate-limit", "50/10"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        printed = _read_until(_lines(process.stdout), "Press Ctrl-C")
        assert printed[0].startswith("FakeHighLevel serving at http://127.0.0.1:")
        facts = {"base_url": printed[0].split()[-1]}
        for line in printed[1:-1]:
            key, value = line.split(maxsplit=1)
            facts[key] = value.strip()
        assert not facts["base_url"].endswith(":0")
        assert facts["seeded_contacts"] == "5"
        assert facts["private_token"].startswith("pit-")
        status, page, burst = asyncio.run(_business_page(facts))
        assert (status, page["count"], burst) == (200, 5, "50")
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert errors == ""


def test_subprocess_json_output_and_sigint() -> None:
    command = [sys.executable, "-m", "ghl_async.testing", "--port", "0", "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        facts = json.loads(_lines(process.stdout).get(timeout=30))
        assert set(facts) >= {"base_url", "client_id", "client_secret", "location_id"}
        status, page, _ = asyncio.run(_business_page(facts))
        assert (status, page["count"]) == (200, 0)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0


async def test_serve_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(
        ["--port", "0", "--seed", "3", "--business-id", "biz_x", "--daily-limit", "none"]
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(args, stop))
    for _ in range(200):
        out = capsys.readouterr().out
        if out:
            break
        await asyncio.sleep(0.01)
    assert "FakeHighLevel serving at http://127.0.0.1:" in out
    assert "seeded_contacts 3" in " ".join(out.split())
    stop.set()
    await asyncio.wait_for(task, 10)


def test_bad_options_exit_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", "--rate-limit", "lots"]) == 2
    assert "rate_limit must look like" in capsys.readouterr().err
    assert parser().parse_args(["--daily-limit", "1000"]).daily_limit == 1000


async def test_a_receiver_in_another_process_verifies_the_fakes_webhooks() -> None:
    dispatcher = Dispatcher()
    got: list[WebhookEvent] = []
    dispatcher.on_any(got.append)
    app = create_app(dispatcher, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    command = [sys.executable, "-m", "ghl_async.testing", "--port", "0", "--json"]
    command += ["--webhook-url", f"http://{host}:{port}/hook"]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        facts = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        key = facts["webhook_public_key"]
        assert key.startswith("-----BEGIN PUBLIC KEY-----")
        assert facts["webhook_public_key_url"].endswith("/.well-known/ghl-fake/webhook-public-key")
        # Only the printed key (and the app id) configure the receiver.
        app[RECEIVER_KEY].verifier = WebhookVerifier(
            ed25519_public_key=key, app_id=facts["client_id"].split("-")[0]
        )
        headers = {"Authorization": f"Bearer {facts['private_token']}", "Version": "2021-07-28"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(facts["webhook_public_key_url"]) as response:
                assert await response.text() == key
            body = {"locationId": facts["location_id"], "email": "far@example.com"}
            async with http.post(f"{facts['base_url']}/contacts", json=body) as response:
                assert response.status == 201
        for _ in range(500):
            if got:
                break
            await asyncio.sleep(0.02)
        assert [type(event).__name__ for event in got] == ["ContactCreate"]
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)
        await runner.cleanup()
    assert process.returncode == 0


async def test_text_output_shows_the_key_and_the_faults(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(
        [
            "--port", "0", "--webhook-url", "http://127.0.0.1:9/hook", "--faults", "heavy",
            "--fault-seed", "7", "--slow-seconds", "0.5",
        ]
    )  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(serve(args, stop))
    for _ in range(200):
        out = capsys.readouterr().out
        if out:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    lines = out.splitlines()
    assert "  faults          25% of requests, seed 7" in lines
    assert any(line.startswith("  webhook_public_key_url http://127.0.0.1:") for line in lines)
    start = lines.index("Webhook public key (Ed25519, verifies x-ghl-signature):")
    assert lines[start + 1] == "-----BEGIN PUBLIC KEY-----"
    assert lines[start + 3] == "-----END PUBLIC KEY-----"
    assert lines[-1] == "Press Ctrl-C to stop."
