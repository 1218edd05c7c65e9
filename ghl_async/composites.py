"""Conveniences that compose several routes, mixed into the generated namespaces.

Hand-written on purpose: a method that runs several requests (concurrency, cancellation)
deserves ordinary review and tests, while ``_endpoints.py`` stays one mechanical method per
route. The generator mixes each class here into the namespaces ``_codegen.MIXINS`` names
(``ContactBundles`` into ``ghl.contacts`` and ``ghl.v3.contacts``), so a composition works on
every API version whose routes have the shapes it needs (the protocol below says which).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from ghl_async.models import Appointment, Contact, ContactBundle, Note, Task
from ghl_async.session import check_id

__all__ = ["ContactBundles"]


class _ListsTasks(Protocol):
    async def list(self, contact_id: str) -> list[Task]: ...


class _ListsNotes(Protocol):
    async def list(self, contact_id: str) -> list[Note]: ...


class _ListsAppointments(Protocol):
    async def list(self, contact_id: str) -> list[Appointment]: ...


class _ContactsNamespace(Protocol):
    """What :meth:`ContactBundles.get_bundle` calls: a contacts namespace of any version."""

    async def get(self, contact_id: str) -> Contact: ...

    @property
    def tasks(self) -> _ListsTasks: ...

    @property
    def notes(self) -> _ListsNotes: ...

    @property
    def appointments(self) -> _ListsAppointments: ...


class ContactBundles:
    """``get_bundle``: a contact with its tasks, notes and appointments."""

    __slots__ = ()

    async def get_bundle(self: _ContactsNamespace, contact_id: str) -> ContactBundle:
        """Fetch a contact with its tasks, notes and appointments, concurrently.

        Four requests; if one fails the others are cancelled and the error is raised.
        """
        check_id("contact_id", contact_id)
        contact = asyncio.ensure_future(self.get(contact_id))
        tasks = asyncio.ensure_future(self.tasks.list(contact_id))
        notes = asyncio.ensure_future(self.notes.list(contact_id))
        appointments = asyncio.ensure_future(self.appointments.list(contact_id))
        try:
            results = await asyncio.gather(contact, tasks, notes, appointments)
        except BaseException:
            for future in (contact, tasks, notes, appointments):
                future.cancel()
            raise
        return ContactBundle(
            contact=results[0], tasks=results[1], notes=results[2], appointments=results[3]
        )
