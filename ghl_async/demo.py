"""``ghl-async demo``: the whole SDK end to end against an in-process FakeHighLevel.

1. OAuth: the consent ("choose location") URL, the redirect caught on a loopback port, the code
   exchanged for tokens kept in a token file.
2. Import the bundled CSV of 2,000 form submissions through the bundled mapping file, at the
   fake's (scaled-down) burst rule, with a journal; bad rows are reported, not fatal.
3. Rerun the import: the journal skips everything, nothing is duplicated.
4. Walk the business's contacts with the async generator.
5. A webhook: a new lead tagged ``hot-lead`` makes the fake send a signed ``ContactCreate``; the
   receiver verifies it and its handler creates a follow-up task through the client.
6. Fetch that contact's bundle (contact, tasks, notes, appointments) in one call.

It prints a summary: counts, the request rate achieved against the rule, and 429s seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import math
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TextIO

import aiohttp
from aiohttp import web

from ghl_async.auth import FileTokenStore, OAuthApp
from ghl_async.bulk import Progress, upsert_contacts
from ghl_async.cli.loopback import RedirectCatcher
from ghl_async.cli.progress import ProgressBar, format_duration
from ghl_async.client import Client
from ghl_async.mapping import ContactMapping, RecordSource, SourceRecord, load
from ghl_async.ratelimit import RateLimit
from ghl_async.testing import FakeHighLevel

__all__ = ["BUSINESS_ID", "DemoSummary", "run_demo"]

BUSINESS_ID = "biz_demo_imports"
HOT_LEAD_TAG = "hot-lead"


@dataclass(slots=True)
class DemoSummary:
    """What the demo did and measured."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    invalid: int = 0
    failed: int = 0
    rerun_skipped: int = 0
    rerun_sent: int = 0
    rerun_created: int = 0
    contacts: int = 0
    duplicates: int = 0
    walked: int = 0
    pages: int = 0
    webhooks_received: int = 0
    task_id: str | None = None
    webhooks_skipped: bool = False  # the `webhooks` extra (cryptography) is not installed
    bundle_tasks: int = 0
    import_requests: int = 0
    import_seconds: float = 0.0
    steady_rate: float = 0.0
    busiest_window: int = 0
    rule: tuple[int, float] = (100, 10.0)
    requests: int = 0
    rate_limited: int = 0
    elapsed: float = 0.0

    @property
    def achieved_rate(self) -> float:
        """Requests per second during the import, its first burst included."""
        return self.import_requests / self.import_seconds if self.import_seconds else 0.0

    @property
    def allowed_rate(self) -> float:
        """The rule's sustained rate, requests per second."""
        return self.rule[0] / self.rule[1]

    @property
    def ok(self) -> bool:
        """No 429s, no duplicates, nothing re-sent, every valid row accepted, the task made."""
        return (
            self.rate_limited == 0
            and self.duplicates == 0
            and self.rerun_sent == 0
            and self.rerun_created == 0
            and self.failed == 0
            and (self.task_id is not None or self.webhooks_skipped)
        )


def window_stats(stamps: list[float], period: float) -> tuple[float, int]:
    """The rate after the first window (the opening burst excluded) and the most requests
    seen in any ``period`` seconds, from sorted arrival times."""
    if len(stamps) < 2:
        return 0.0, len(stamps)
    busiest, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= period:
            first += 1
        busiest = max(busiest, last - first + 1)
    after = [t for t in stamps if t >= stamps[0] + period]
    span = after[-1] - after[0] if len(after) > 1 else 0.0
    steady = (len(after) - 1) / span if span > 0 else 0.0
    return steady, busiest


def _rows(path: Path, limit: int | None) -> Iterator[SourceRecord]:
    return itertools.islice(RecordSource(path), limit)


class _Out:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


async def _authorise(fake: FakeHighLevel, store: FileTokenStore, say: _Out) -> OAuthApp:
    async with RedirectCatcher() as catcher:
        app = OAuthApp(
            client_id=fake.client_id,
            client_secret=fake.client_secret,
            store=store,
            redirect_uri=catcher.redirect_uri,
            chooser_url=fake.chooser_url,
            scopes=["contacts.readonly", "contacts.write"],
        )
        url = app.authorization_url(state=catcher.state)
        say(f"   consent URL: {url.split('?')[0]}?client_id=…&redirect_uri={catcher.redirect_uri}")
        # The demo plays the user's browser: open the consent page, follow its redirect.
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as browser, browser.get(url) as page:
            await page.read()
        code = await catcher.wait(10)
    token = await app.exchange_code(code, base_url=fake.base_url)
    lifetime = format_duration((token.expires_at or time.time()) - time.time())
    say(
        f"   redirect caught on {catcher.redirect_uri}; code exchanged: location "
        f"{token.location_id}, scopes {token.scope!r}, expires in {lifetime}"
    )
    return app


async def run_demo(
    *,
    out: TextIO,
    err: TextIO,
    rate: tuple[int, float] = (100, 1.0),
    records: int | None = None,
    quiet: bool = False,
) -> DemoSummary:
    """Run the demo, printing as it goes; return the numbers."""
    say = _Out(out)
    summary = DemoSummary(rule=rate)
    started = time.monotonic()
    data = resources.files("ghl_async") / "data"
    csv_path = Path(str(data / "demo_submissions.csv"))
    mapping = load(Path(str(data / "demo_mapping.toml")))
    say(
        f"ghl-async demo: FakeHighLevel in-process, burst rule {rate[0]} requests per "
        f"{rate[1]:g} s (HighLevel's is 100 per 10 s)\n"
    )

    # The webhook receiver listens first: the fake needs its URL when it starts.
    from ghl_async.webhooks import (
        ContactCreate,
        CryptographyMissingError,
        Dispatcher,
        WebhookReceiver,
        WebhookVerifier,
    )
    from ghl_async.webhooks.crypto import require_cryptography

    dispatcher = Dispatcher()
    lead_task: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    client_box: list[Client] = []

    @dispatcher.on_any
    async def count(event: object) -> None:
        summary.webhooks_received += 1

    @dispatcher.on(ContactCreate)
    async def follow_up(event: ContactCreate) -> None:
        if HOT_LEAD_TAG not in event.tags or not client_box:
            return
        due = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat(
            timespec="seconds"
        )
        task = await client_box[0].contacts.tasks.create(
            event.id,
            title=f"Call {event.first_name or 'the new lead'} back within the hour",
            due_date=due,
        )
        if not lead_task.done():
            lead_task.set_result(task.id)

    try:
        require_cryptography()  # signing (the fake) and verifying (the receiver) need it
    except CryptographyMissingError:
        summary.webhooks_skipped = True
    hooks = web.Application()
    receiver: WebhookReceiver | None = None
    if not summary.webhooks_skipped:
        receiver = WebhookReceiver(dispatcher)
        receiver.attach(hooks, "/webhooks")
    runner = web.AppRunner(hooks, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook_url = None if receiver is None else f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks"

    try:
        with tempfile.TemporaryDirectory(prefix="ghl-async-demo-") as tmp:
            async with FakeHighLevel(rate_limit=rate, webhook_url=hook_url) as fake:
                if receiver is not None:
                    # The fake made its signing key on start; trust it (and only it, its app).
                    receiver.verifier = WebhookVerifier(
                        ed25519_public_key=fake.webhook_public_key or "", app_id=fake.app_id
                    )
                say(f"1. OAuth code flow against {fake.base_url}")
                app = await _authorise(fake, FileTokenStore(Path(tmp) / "tokens.json"), say)
                async with Client(
                    auth=app,
                    location_id=fake.location_id,
                    base_url=fake.base_url,
                    rate_limit=RateLimit(rate[0], rate[1]),
                ) as ghl:
                    client_box.append(ghl)
                    await _import(
                        ghl, fake, mapping, csv_path, records, Path(tmp), summary, say, err, quiet
                    )
                    await _walk(ghl, summary, say)
                    await _webhook(ghl, lead_task, summary, say)
                    if fake.webhooks is not None:
                        # Deliveries trail the requests that caused them; let them land.
                        with contextlib.suppress(asyncio.TimeoutError):
                            await asyncio.wait_for(fake.webhooks.drain(), 30)
                summary.requests = fake.count()
                summary.rate_limited = fake.count(status=429)
    finally:
        await runner.cleanup()
    summary.elapsed = time.monotonic() - started
    _report(summary, say)
    return summary


async def _import(
    ghl: Client,
    fake: FakeHighLevel,
    mapping: ContactMapping,
    csv_path: Path,
    records: int | None,
    tmp: Path,
    summary: DemoSummary,
    say: _Out,
    err: TextIO,
    quiet: bool,
) -> None:
    total = sum(1 for _ in _rows(csv_path, records))
    summary.rows = total
    journal = tmp / "import.journal"
    say(
        f"\n2. Import {csv_path.name} ({total:,} form submissions) through demo_mapping.toml, "
        f"attaching each contact to business {BUSINESS_ID}"
    )
    bar = ProgressBar(err, "   importing", total=total, enabled=False if quiet else None)

    def show(p: Progress) -> None:
        bar.update(p.done, extra=f"created {p.created} invalid/failed {p.failed}")

    before = fake.count()
    since = time.time()
    report = await upsert_contacts(
        ghl,
        _rows(csv_path, records),
        mapping,
        journal=journal,
        business_id=BUSINESS_ID,
        concurrency=8,
        on_progress=show,
        total=total,
    )
    bar.close()
    summary.import_requests = fake.count() - before
    stamps = sorted(r.timestamp for r in fake.requests if r.timestamp >= since)
    summary.steady_rate, summary.busiest_window = window_stats(stamps, summary.rule[1])
    summary.import_seconds = report.elapsed
    summary.created, summary.updated = report.created, report.updated
    summary.invalid = len(report.invalid)
    summary.failed = len(report.failed) - summary.invalid
    say(
        f"   created {report.created:,}, updated {report.updated:,}, invalid rows "
        f"{summary.invalid} (reported, not sent), failed {summary.failed}, in "
        f"{report.elapsed:.1f} s"
    )
    for failure in report.invalid[:5]:
        say(f"     line {failure.line}: {failure.reason}")
    if summary.invalid > 5:
        say(f"     … and {summary.invalid - 5} more")

    say("\n3. Run the same import again")
    rerun = await upsert_contacts(
        ghl,
        _rows(csv_path, records),
        mapping,
        journal=journal,
        business_id=BUSINESS_ID,
        concurrency=8,
    )
    summary.rerun_skipped = rerun.skipped
    summary.rerun_sent = rerun.requests
    say(f"   skipped {rerun.skipped:,} done already, sent {rerun.requests} requests")
    # Without the journal nothing is skipped, and still nothing duplicates: upsert matches.
    sample = min(total, 100)
    bare = await upsert_contacts(ghl, _rows(csv_path, sample), mapping, concurrency=8)
    summary.rerun_created = bare.created
    say(
        f"   without the journal, the first {sample} rows again: created {bare.created}, "
        f"updated {bare.updated} (upsert matched them by email)"
    )
    contacts = fake.find_contacts(location_id=fake.location_id)
    emails = [c.email for c in contacts if c.email]
    summary.contacts = len(contacts)
    summary.duplicates = len(emails) - len(set(emails))
    say(f"   the location holds {len(contacts):,} contacts, {summary.duplicates} duplicates")


async def _walk(ghl: Client, summary: DemoSummary, say: _Out) -> None:
    say(f"\n4. Walk business {BUSINESS_ID} with ghl.contacts.iter_by_business()")
    async for _contact in ghl.contacts.iter_by_business(BUSINESS_ID):
        summary.walked += 1
    summary.pages = max(1, math.ceil(summary.walked / 100))
    say(f"   {summary.walked:,} contacts in {summary.pages} pages of up to 100")


async def _webhook(
    ghl: Client, lead_task: asyncio.Future[str], summary: DemoSummary, say: _Out
) -> None:
    say("\n5. Webhook: a new lead arrives, tagged hot-lead")
    if summary.webhooks_skipped:
        say("   skipped: signed webhooks need `pip install 'ghl-async[webhooks]'`")
        return
    lead = await ghl.contacts.upsert(
        first_name="Grace",
        last_name="Hopper",
        email="grace.hopper@example.com",
        tags=[HOT_LEAD_TAG],
    )
    try:
        task_id = await asyncio.wait_for(asyncio.shield(lead_task), 30)
    except asyncio.TimeoutError:
        say("   no ContactCreate webhook arrived within 30 s")
        return
    summary.task_id = task_id
    say(
        f"   fake → signed ContactCreate → receiver (signature verified) → handler created "
        f"task {task_id}"
    )
    say(f"\n6. Bundle of contact {lead.contact.id}: ghl.contacts.get_bundle()")
    bundle = await ghl.contacts.get_bundle(lead.contact.id)
    summary.bundle_tasks = len(bundle.tasks)
    titles = ", ".join(repr(t.title) for t in bundle.tasks)
    say(
        f"   {bundle.contact.first_name} {bundle.contact.last_name}: {len(bundle.tasks)} "
        f"task(s) {titles}, {len(bundle.notes)} notes, {len(bundle.appointments)} appointments"
    )


def _report(s: DemoSummary, say: _Out) -> None:
    say("\nSummary")
    say(
        f"  rows {s.rows:,}: created {s.created:,}, updated {s.updated:,}, invalid "
        f"{s.invalid}, failed {s.failed}; rerun skipped {s.rerun_skipped:,}, sent "
        f"{s.rerun_sent}"
    )
    say(
        f"  contacts in the location {s.contacts:,}, duplicates {s.duplicates}; walked "
        f"{s.walked:,}; webhooks received {s.webhooks_received:,}"
    )
    percent = 100 * s.steady_rate / s.allowed_rate
    say(
        f"  import: {s.import_requests:,} requests in {s.import_seconds:.1f} s; steady rate "
        f"{s.steady_rate:.1f}/s of {s.allowed_rate:g}/s allowed ({percent:.1f}%); busiest "
        f"{s.rule[1]:g} s window {s.busiest_window} of {s.rule[0]} allowed"
    )
    say(f"  429s seen: {s.rate_limited}; requests in all: {s.requests:,}")
    say(f"  total time {s.elapsed:.1f} s — {'OK' if s.ok else 'PROBLEMS (see above)'}")
