"""State knobs: rate limits, locations, seed data, what the fake holds, and its request log."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator, Mapping, Sequence

import msgspec

from ghl_async import models as m
from ghl_async.errors import ConfigError
from ghl_async.testing import shapes
from ghl_async.testing.core import FakeCore
from ghl_async.testing.faults import RequestRecord
from ghl_async.testing.knobs_faults import operation_name
from ghl_async.testing.ratelimit import RateRule, parse_rate_rule
from ghl_async.testing.seed import seed_contacts
from ghl_async.testing.store import ContactRecord

__all__ = ["ContactsView", "StateKnobs"]


def _model(record: ContactRecord) -> m.Contact:
    return msgspec.convert(shapes.contact_full(record), m.Contact)


class ContactsView(Mapping[str, m.Contact]):
    """Read-only mapping of contact id -> :class:`ghl_async.models.Contact` (every location)."""

    def __init__(self, fake: FakeCore) -> None:
        self._fake = fake

    def __getitem__(self, contact_id: str) -> m.Contact:
        def read() -> m.Contact | None:
            record = self._fake.store.contacts.get(contact_id)
            return None if record is None else _model(record)

        found = self._fake._sync(read)
        if found is None:
            raise KeyError(contact_id)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._fake._sync(lambda: list(self._fake.store.contacts)))

    def __len__(self) -> int:
        return self._fake._sync(lambda: len(self._fake.store.contacts))


class StateKnobs(FakeCore):
    """Rate limits, locations, seeding, inspection and the request log."""

    # --- rate limits ------------------------------------------------------------------------

    def set_rate_limit(self, rate_limit: RateRule | str | None) -> None:
        """Change the burst rule (``None`` disables it); counters restart."""
        rule = parse_rate_rule(rate_limit)

        def apply() -> None:
            self.limiter.rule = rule
            self.limiter.reset()

        self._sync(apply)

    def set_daily_limit(self, daily_limit: int | None) -> None:
        """Change the daily quota (``None`` disables it)."""
        if daily_limit is not None and daily_limit <= 0:
            raise ConfigError("daily_limit must be positive or None")

        def apply() -> None:
            self.limiter.daily_limit = daily_limit

        self._sync(apply)

    def exhaust_rate_limit(self, location_id: str | None = None, *, daily: bool = False) -> None:
        """Spend the burst window (or, with ``daily=True``, the daily quota) of a location."""
        target = location_id or self.location_id
        self._sync(lambda: self.limiter.exhaust(target, daily=daily))

    def reset_rate_limits(self) -> None:
        """Forget every rate-limit counter."""
        self._sync(self.limiter.reset)

    # --- locations --------------------------------------------------------------------------

    def add_location(
        self,
        location_id: str | None = None,
        *,
        allow_duplicates: bool = False,
        name: str | None = None,
    ) -> str:
        """Add a sub-account to the company and return its id."""

        def add() -> str:
            new_id = location_id or self.store.new_id()
            self.store.add_location(
                new_id, self.company_id, allow_duplicates=allow_duplicates, name=name
            )
            return new_id

        return self._sync(add)

    def set_allow_duplicates(self, allow: bool, location_id: str | None = None) -> None:
        """Change a location's "Allow Duplicate Contact" setting."""

        def apply() -> None:
            self._location(location_id).allow_duplicates = allow

        self._sync(apply)

    # --- seed data and assertions -----------------------------------------------------------

    def seed_contacts(
        self,
        n: int,
        business_id: str | None = "biz_1",
        seed: int = 0,
        tasks: int = 2,
        notes: int = 1,
        appointments: int = 1,
        tags: Sequence[str] | None = None,
        custom_fields: bool = True,
        *,
        location_id: str | None = None,
    ) -> list[str]:
        """Create ``n`` realistic contacts (with tasks, notes, appointments); return their ids.

        Deterministic for a given ``seed`` and call order. ``tags=None`` draws a few from a
        small vocabulary; pass a list to give every contact exactly those tags.
        """
        if n < 0 or min(tasks, notes, appointments) < 0:
            raise ConfigError("counts must not be negative")

        def run() -> list[str]:
            # Records hold no reference cycles, so pausing the cyclic GC is safe; without it,
            # collections triggered by the allocations dominate seeding large sets.
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                return seed_contacts(
                    self.store,
                    self._location(location_id),
                    n,
                    business_id=business_id,
                    seed=seed,
                    tasks=tasks,
                    notes=notes,
                    appointments=appointments,
                    tags=tags,
                    custom_fields=custom_fields,
                )
            finally:
                if was_enabled:
                    gc.enable()

        return self._sync(run)

    @property
    def contacts(self) -> ContactsView:
        """Every contact, as :class:`ghl_async.models.Contact`, by id."""
        return ContactsView(self)

    def get_contact(self, contact_id: str) -> m.Contact | None:
        """A contact as ``GET /contacts/{id}`` would return it, or None."""

        def read() -> m.Contact | None:
            record = self.store.contacts.get(contact_id)
            return None if record is None else _model(record)

        return self._sync(read)

    def find_contacts(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        tag: str | None = None,
        business_id: str | None = None,
        location_id: str | None = None,
    ) -> list[m.Contact]:
        """Contacts matching every given criterion (e-mail case-insensitive), oldest first."""

        def read() -> list[m.Contact]:
            found = []
            for record in self.store.contacts.values():
                if location_id is not None and record.location_id != location_id:
                    continue
                if email is not None and (record.email or "").lower() != email.lower():
                    continue
                if phone is not None and record.phone != phone:
                    continue
                if tag is not None and tag not in record.tags:
                    continue
                if business_id is not None and record.business_id != business_id:
                    continue
                found.append(record)
            found.sort(key=lambda record: record.key)
            return [_model(record) for record in found]

        return self._sync(read)

    def tasks_of(self, contact_id: str) -> list[m.Task]:
        """The tasks of a contact (empty when unknown)."""
        return self._sync(
            lambda: [
                msgspec.convert(shapes.task_wire(task), m.Task)
                for task in self._record(contact_id).tasks.values()
            ]
        )

    def notes_of(self, contact_id: str) -> list[m.Note]:
        """The notes of a contact."""
        return self._sync(
            lambda: [
                msgspec.convert(shapes.note_wire(note), m.Note)
                for note in self._record(contact_id).notes.values()
            ]
        )

    def appointments_of(self, contact_id: str) -> list[m.Appointment]:
        """The appointments of a contact."""
        return self._sync(
            lambda: [
                msgspec.convert(shapes.appointment_wire(item), m.Appointment)
                for item in self._record(contact_id).appointments
            ]
        )

    def campaigns_of(self, contact_id: str) -> list[str]:
        """Campaign ids the contact is in."""
        return self._sync(lambda: list(self._record(contact_id).campaigns))

    def workflows_of(self, contact_id: str) -> list[str]:
        """Workflow ids the contact is in."""
        return self._sync(lambda: list(self._record(contact_id).workflows))

    # --- the request log --------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far (a copy)."""
        return self._log.snapshot()

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        operation: str | None = None,
        *,
        status: int | None = None,
    ) -> int:
        """How many requests matched ``method``, ``path``, ``operation`` and ``status``."""
        wanted = operation_name(operation) if operation is not None else None
        return self._log.count(method, path, wanted, status)

    def reset_log(self) -> None:
        """Forget the logged requests."""
        self._sync(self._log.reset)

    # --- webhooks ---------------------------------------------------------------------------

    def drain_webhooks(self, timeout: float = 10.0) -> None:
        """Wait (from any thread but the server's) until emitted webhooks were delivered."""
        emitter, loop = self.webhooks, self._loop
        if emitter is None or loop is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("on the server's own loop, use `await fake.webhooks.drain()`")
        future = asyncio.run_coroutine_threadsafe(emitter.drain(), loop)
        future.result(timeout)
