"""Declarative field mapping: how an external record (a CSV row, a form submission, a JSON
object) becomes the body of a contact upsert.

One description, written in Python or loaded from a TOML/JSON file (the no-code path)::

    from ghl_async.mapping import ContactMapping, FieldRule, CustomFieldRule, TagRule

    mapping = ContactMapping(
        fields={"email": "Email", "phone": "Phone", "date_of_birth": "Birthday",
                "source": FieldRule(value="web form")},
        full_name="Name",                       # split into first/last name
        custom_fields=[CustomFieldRule("Budget", key="budget", transforms=[number()])],
        tags=["imported", TagRule("Interests", split=";")],
        default_country="US",
    )
    body = mapping.apply(row, location_id=location_id)   # models.UpsertContact

Bad values never stop a batch: :meth:`ContactMapping.map` returns the per-field
:class:`MappingError` list of a record; a bad mapping file fails at load with
:class:`~ghl_async.errors.ConfigError` naming the file, line and key.

Files of records (CSV, JSON lines, JSON arrays) are read by :class:`RecordSource`, which gives
each record its line; :meth:`ContactMapping.bind_columns` checks the mapping against the file's
columns before anything is sent, and :func:`write_rejects` writes the records that failed, as
they were, with the reason. Phone numbers need the ``phones`` extra (``phonenumbers``).
"""

from ghl_async.mapping import transforms
from ghl_async.mapping._columns import ColumnCheck, ColumnMatch
from ghl_async.mapping._dates import DateOrder, parse_date
from ghl_async.mapping._files import from_dict, load
from ghl_async.mapping._phone import HAVE_PHONENUMBERS, to_e164
from ghl_async.mapping._rejects import REASON_COLUMN, write_rejects
from ghl_async.mapping._rules import (
    TARGETS,
    ContactMapping,
    CustomFieldRule,
    FieldRule,
    MappingError,
    MapResult,
    Record,
    TagRule,
    split_name,
)
from ghl_async.mapping._sources import (
    RecordKind,
    RecordSource,
    SourceLimits,
    SourceRecord,
    SourceSummary,
)
from ghl_async.mapping.transforms import Transform, Value

__all__ = [
    "HAVE_PHONENUMBERS",
    "REASON_COLUMN",
    "TARGETS",
    "ColumnCheck",
    "ColumnMatch",
    "ContactMapping",
    "CustomFieldRule",
    "DateOrder",
    "FieldRule",
    "MapResult",
    "MappingError",
    "Record",
    "RecordKind",
    "RecordSource",
    "SourceLimits",
    "SourceRecord",
    "SourceSummary",
    "TagRule",
    "Transform",
    "Value",
    "from_dict",
    "load",
    "parse_date",
    "split_name",
    "to_e164",
    "transforms",
    "write_rejects",
]
