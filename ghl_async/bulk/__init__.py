"""Bulk work: upsert thousands of records with a journal, tag and attach contacts in bulk.

::

    from ghl_async.bulk import upsert_contacts
    from ghl_async.mapping import RecordSource, load

    report = await upsert_contacts(ghl, RecordSource("leads.csv"), load("mapping.toml"),
                                   journal="import.journal", on_progress=print)
    print(report.created, report.updated, report.skipped, len(report.failed))
    for failure in report.failed:
        print(failure.line, failure.field, failure.reason)
"""

from ghl_async.bulk._helpers import BulkResult, add_tags, remove_tags, set_business
from ghl_async.bulk._journal import Journal, JournalEntry, JournalLockedError
from ghl_async.bulk._report import Progress, RecordFailure, StopReason, SyncReport
from ghl_async.bulk._sync import (
    DEFAULT_QUOTA_RESERVE,
    KeySpec,
    Prepared,
    prepare_record,
    record_key,
    upsert_contacts,
)

__all__ = [
    "DEFAULT_QUOTA_RESERVE",
    "BulkResult",
    "Journal",
    "JournalEntry",
    "JournalLockedError",
    "KeySpec",
    "Prepared",
    "Progress",
    "RecordFailure",
    "StopReason",
    "SyncReport",
    "add_tags",
    "prepare_record",
    "record_key",
    "remove_tags",
    "set_business",
    "upsert_contacts",
]
