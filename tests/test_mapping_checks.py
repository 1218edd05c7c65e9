"""Mappings that get the data right: phone countries per rule and per row, column checks,
failures with their line and value (secrets redacted), and no exception escaping a record."""

from __future__ import annotations

import io
import re
from pathlib import Path

import msgspec
import pytest

from ghl_async.errors import ConfigError
from ghl_async.mapping import (
    ContactMapping,
    CustomFieldRule,
    FieldRule,
    RecordSource,
    SourceLimits,
    SourceRecord,
    TagRule,
    from_dict,
    load,
    write_rejects,
)
from ghl_async.mapping import transforms as t
from ghl_async.mapping._rejects import check_rejects_path
from ghl_async.mapping._sources import record_kind
from ghl_async.models import UpsertContact


def wire(body: UpsertContact | None) -> dict[str, object]:
    assert body is not None
    decoded = msgspec.json.decode(msgspec.json.encode(body))
    assert isinstance(decoded, dict)
    return decoded


def phones(**rule: object) -> ContactMapping:
    return ContactMapping(
        fields={"email": "E", "phone": FieldRule("P", **rule)},  # type: ignore[arg-type]
        custom_fields=[
            CustomFieldRule("W", key="work_phone", transforms=[t.phone()], default_country="DE")
        ],
        default_country="US",
        location_id="L",
    )


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("020 7946 0958", "", "+442079460958"),  # the rule's country: GB
        ("0151 87064754", "Germany", "+4915187064754"),  # the row's, by name
        ("0151 87064754", "de", "+4915187064754"),  # ... by code
        ("0151 87064754", "+49", "+4915187064754"),  # ... by calling code
        ("+1 415 555 0123", "Narnia", "+14155550123"),  # international: no country needed
        ("0044 20 7946 0958", "Narnia", "+442079460958"),
    ],
)
def test_phone_countries_per_rule_and_per_row(phone: str, country: str, expected: str) -> None:
    mapping = phones(default_country="GB", country_from="C")
    body = mapping.apply({"E": "a@b.co", "P": phone, "C": country, "W": "0151 87064755"})
    assert body.phone == expected
    assert wire(body)["customFields"] == [{"key": "work_phone", "field_value": "+4915187064755"}]


def test_an_unknown_row_country_fails_national_numbers_only() -> None:
    result = phones(country_from="C").map({"E": "a@b.co", "P": "0151 87064754", "C": "Narnia"})
    (error,) = result.errors
    assert error.field == "phone"
    assert "unknown country 'Narnia'" in error.reason


def test_phone_country_settings_in_files(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        'default_country = "US"\n'
        "[fields]\n"
        'email = "E"\n'
        'phone = { from = "P", default_country = "GB", country_from = ["C", "Land"] }\n'
        "[custom_fields]\n"
        'work = { from = "W", transforms = ["phone"], default_country = "DE" }\n'
        'fax = { from = "F", transforms = [{ phone = { country = "FR", extension = "reject" } }] }'
        "\n"
    )
    mapping = load(path)
    body = mapping.apply(
        {"E": "a@b.co", "P": "0151 87064754", "Land": "Germany", "W": "030 1234 5678"},
        location_id="L",
    )
    assert body.phone == "+4915187064754"
    fax = mapping.map({"E": "a@b.co", "F": "01 23 45 67 89 x12"}, location_id="L")
    assert "has an extension (12)" in fax.errors[0].reason
    assert set(mapping.columns) == {"E", "P", "C", "Land", "W", "F"}
    assert mapping.columns["Land"] == ("fields.phone.country_from",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fields]\nemail = { from = 'E', country_from = 'C' }\n", "apply to phone numbers"),
        ("[fields]\nphone = { from = 'P', default_country = 'XX' }\n", "unknown country 'XX'"),
        ("[fields]\nphone = { from = 'P', default_country = 'Narnia' }\n", "unknown country"),
        ("match_columns = 'fuzzy'\n", "expected 'exact' or 'loose'"),
        ("[fields]\nphone = { from = 'P', transforms = [{ phone = 1 }] }\n", "unknown transform"),
        (
            "[fields]\nphone = { from = 'P', transforms = [{ phone = { land = 'FR' } }] }\n",
            "'phone' takes 'country' and 'extension'",
        ),
        (
            "[fields]\nphone = { from = 'P', transforms = [{ phone = { country = 1 } }] }\n",
            "'phone' country is a code",
        ),
        (
            "[fields]\nphone = { from = 'P', transforms = [{ phone = { extension = 'x' } }] }\n",
            "'phone' extension is 'drop' or 'reject'",
        ),
    ],
)
def test_bad_phone_settings_fail_at_load(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(path)


def test_match_columns_must_be_known() -> None:
    with pytest.raises(ConfigError, match="match_columns"):
        ContactMapping(fields={"email": "E"}, match_columns="fuzzy")  # type: ignore[arg-type]


def test_fingerprints_ignore_form_and_follow_rules(tmp_path: Path) -> None:
    toml = tmp_path / "a.toml"
    toml.write_text('# comment\n[fields]\nemail = "E"   # trailing\nphone = "P"\n')
    same = from_dict({"fields": {"phone": "P", "email": "E"}})
    other = from_dict({"fields": {"phone": "P", "email": "Mail"}})
    assert load(toml).fingerprint == same.fingerprint
    assert same.fingerprint != other.fingerprint
    assert ContactMapping(fields={"email": "E"}).fingerprint is None


# -- what a failure says ------------------------------------------------------------------


def test_failures_carry_line_value_and_redact_secrets() -> None:
    mapping = ContactMapping(
        fields={"email": "E", "company_name": FieldRule("Code", secret=True)},
        custom_fields=[
            CustomFieldRule("API Key", key="api_key", transforms=[t.integer()]),
            CustomFieldRule("Size", key="size", transforms=[t.integer()]),
        ],
        location_id="L",
    )
    record = SourceRecord(
        {"E": "a@b.co", "API Key": "sk-live-123", "Size": "XL", "Code": " "},
        index=4,
        line=9,
    )
    result = mapping.map(record, index=4)
    assert result.line == 9
    secret, size = result.errors
    assert (secret.value, secret.line, secret.column) == ("<redacted>", 9, "API Key")
    assert "sk-live-123" not in secret.reason
    assert secret.reason == "not a number: '<redacted>'"
    assert (size.value, str(size)) == (
        "XL",
        "line 9: customFields.size (column 'Size'): not a number: 'XL'",
    )
    flagged = mapping.map({"E": "a@b.co", "Code": "x" * 300}, index=1)
    assert flagged.ok  # a secret that maps fine is just sent
    custom = ContactMapping(
        fields={"email": "E", "company_name": FieldRule("Code", secret=True, transforms=[boom])},
        location_id="L",
    )
    (error,) = custom.map({"E": "a@b.co", "Code": "hunter2"}).errors
    assert (error.value, "hunter2" in error.reason) == ("<redacted>", False)


def boom(value: t.Value) -> t.Value:
    raise KeyError(f"no {value}")


class Crash(Exception):
    pass


def explode(value: t.Value) -> t.Value:
    raise Crash("deep inside")


def test_whatever_a_custom_transform_raises_fails_only_that_record() -> None:
    mapping = ContactMapping(
        fields={"email": "E", "city": FieldRule("City", transforms=[explode])},
        custom_fields=[CustomFieldRule("N", key="n", transforms=[t.Transform("lookup", boom)])],
        tags=[TagRule("T", transforms=[explode])],
        location_id="L",
    )
    result = mapping.map({"E": "a@b.co", "City": "Paris", "N": "x", "T": "a,b"})
    assert [e.reason for e in result.errors] == [
        "transform 'explode' raised Crash: deep inside",
        "transform 'lookup' raised KeyError: 'no x'",
        "a tag transform raised Crash: deep inside",
    ]
    assert mapping.map({"E": "a@b.co"}).ok


def test_odd_values_and_types_are_that_records_errors() -> None:
    mapping = ContactMapping(
        fields={"email": "E", "city": FieldRule("City")},
        custom_fields=[
            CustomFieldRule("N", key="n"),
            CustomFieldRule("Obj", key="obj", transforms=[lambda v: {1, 2}]),  # type: ignore[arg-type, return-value]
        ],
        custom_field_prefix="cf_",
        location_id="L",
    )
    cases: list[tuple[dict[str, object], str]] = [
        ({"City": float("nan")}, "not a finite number: nan"),
        ({"City": 10**300}, "an integer of 997 bits is not a value to import"),
        ({"N": 2**60}, "a number beyond 2**53"),
        ({"N": float("inf")}, "not a finite number"),
        ({"cf_big": 2**60}, "a number beyond 2**53"),
        ({"Obj": "x"}, "not a contact HighLevel takes"),
    ]
    for extra, reason in cases:
        result = mapping.map({"E": "a@b.co", **extra})
        assert not result.ok, extra
        assert reason in result.errors[0].reason, (extra, result.errors[0].reason)
    weird: dict[object, object] = {"E": "a@b.co", 7: "not a string key"}
    odd = ContactMapping(fields={"email": "E"}, custom_field_prefix="cf", location_id="L")
    (error,) = odd.map(weird).errors  # type: ignore[arg-type]
    assert (error.field, error.reason.split(":")[0]) == ("input", "unexpected AttributeError")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NaN", "not a finite number: nan"),
        ("-inf", "not a finite number: -inf"),
        ("Infinity", "not a finite number: inf"),
        ("1e999", "not a finite number: inf"),
        ("9007199254740993", "a number beyond 2**53"),
        ("9" * 5000, "not a number HighLevel can store: 5000 characters"),
    ],
)
def test_number_refuses_what_json_cannot_carry(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        t.number()(text)
    assert t.number()("9007199254740992") == 2**53


# -- columns ------------------------------------------------------------------------------


def test_check_and_bind_columns() -> None:
    mapping = ContactMapping(
        fields={"email": "Email", "phone": FieldRule("Phone", country_from="Country")},
        custom_fields=[CustomFieldRule(["Budget", "Budget 2"], key="b")],
        tags=[TagRule("Tags"), "constant"],
        full_name="Full Name",
        custom_field_prefix="cf_",
        location_id="L",
    )
    header = ["full name", "EMAIL", "Phone", " country ", "Budget", "Budget 2", "Tags", "cf_x", "Z"]
    check = mapping.check_columns(header)
    assert not check.ok
    assert set(check.missing) == {"Email", "Country", "Full Name"}
    assert check.missing["Country"] == ("fields.phone.country_from",)
    assert check.unused == ("full name", "EMAIL", " country ", "Z")
    with pytest.raises(ConfigError) as caught:
        mapping.bind_columns(header, origin="x.csv")
    text = str(caught.value)
    assert text.startswith("x.csv: 3 column(s) of the mapping cannot be read")
    assert "'EMAIL' matches ignoring case and spaces" in text
    bound = mapping.bind_columns(header, match="loose")
    assert bound is not mapping
    row = {
        "full name": "Ada Lovelace",
        "EMAIL": "ada@example.com",
        "Phone": "030 1234 5678",
        " country ": "DE",
        "Budget": "",
        "Budget 2": "7",
        "Tags": "x, y",
    }
    body = bound.apply(row)
    assert (body.first_name, body.email, body.phone) == ("Ada", "ada@example.com", "+493012345678")
    assert wire(body)["tags"] == ["x", "y", "constant"]
    assert wire(body)["customFields"] == [{"key": "b", "field_value": "7"}]
    exact = ["Full Name", "Email", "Phone", "Country", "Budget", "Budget 2", "Tags"]
    assert mapping.bind_columns(exact) is mapping
    nested = ContactMapping(fields={"email": "contact.email", "city": "address.city"})
    json_keys = ["contact", "contact.email", "address", "address.city", "extra"]
    assert nested.check_columns(json_keys).unused == ("extra",)
    assert "no such column" in nested.check_columns(["contact"]).explain()
    assert nested.check_columns(json_keys).explain() == ""


# -- sources ------------------------------------------------------------------------------


def test_csv_lines_count_every_physical_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"\n"  # a blank line before the header
        b"Name,Note\r\n"
        b'a,"one\rtwo"\r\n'  # a lone CR inside quotes is a line break too
        b"\r\n"
        b'b,"x\n\ny"\n'
        b"c,z"  # no newline at the end
    )
    source = RecordSource(path)
    records = list(source)
    assert [(r.index, r.line, r.get("Name")) for r in records] == [
        (0, 3, "a"),
        (1, 6, "b"),
        (2, 9, "c"),
    ]
    assert records[1].raw == 'b,"x\n\ny"\n'
    assert repr(records[1]) == "SourceRecord(line=6, columns=['Name', 'Note'])"
    assert source.check().records == 3
    assert source.columns == ("Name", "Note")
    assert source.identity == str(path.resolve())


def test_decode_errors_name_their_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    # Past the first 64 KiB read, and after a BOM: the offset is still the file's.
    path.write_bytes(b"\xef\xbb\xbfName\n" + b"a\n" * 40_000 + b"caf\xe9\n")
    with pytest.raises(ConfigError, match=r"byte 0xe9 at byte offset 80,011 \(line 40002\)"):
        RecordSource(path).check()
    assert len(list(RecordSource(path, encoding="latin-1"))) == 40_001
    truncated = tmp_path / "t.csv"
    truncated.write_bytes(b"Name\nab\xc3")  # a character cut off by the end of the file
    with pytest.raises(ConfigError, match=r"byte 0xc3 at byte offset 7 \(line 2\)"):
        RecordSource(truncated).check()


def test_stdin_is_read_once_as_bytes_or_text() -> None:
    raw = io.TextIOWrapper(io.BytesIO("\ufeffName\nZoë\n".encode()), encoding="latin-1")
    source = RecordSource("-", stdin=raw)
    assert source.check().records == 1
    assert [r["Name"] for r in source] == ["Zoë"]  # our decoding, not the wrapper's
    text = RecordSource("-", stdin=io.StringIO("Name\nAda\n"))
    assert [r["Name"] for r in text] == ["Ada"]
    assert text.identity == "<stdin>"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.json", "[]x", None),
        ("a.json", "[{}, {}} ", "a.json:1: invalid JSON: expected ',' or ']'"),
        ("a.json", "[" + "[" * 5000 + "]" * 5000 + "]", "a.json:1: invalid JSON: nested too"),
        ("a.csv", "\n\n", "empty file"),
    ],
)
def test_file_level_problems(tmp_path: Path, name: str, content: str, message: str | None) -> None:
    path = tmp_path / name
    path.write_text(content)
    if message is None:
        assert RecordSource(path).check().records == 0
        return
    with pytest.raises(ConfigError, match=re.escape(message)):
        RecordSource(path).check()


def test_source_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        SourceLimits(max_field=0)
    with pytest.raises(ConfigError, match="records come from"):
        record_kind("leads.xlsx")
    assert record_kind("-") == "csv"
    assert record_kind("A.NDJSON") == "jsonl"
    with pytest.raises(ConfigError, match="No such file"):
        RecordSource("missing.csv").check()


def test_json_values_too_long_or_too_deep(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    deep = '{"a": ' * 80 + "1" + "}" * 80
    path.write_text(
        '{"E": "x", "tags": ["ok", "'
        + "y" * 50
        + '"]}\n'
        + deep
        + "\n"
        + '{"E": "'
        + "z" * 1200
        + '"}\n'
    )
    source = RecordSource(path, limits=SourceLimits(max_field=40, max_record=1000))
    problems = [(r.line, r.problem, r.problem_column) for r in source]
    assert problems == [
        (1, "the value of 'tags' is 50 characters long; the limit is 40", "tags"),
        (2, "nested deeper than 64 levels", "a"),
        (3, "the record is 1,210 characters long; the limit is 1,000", None),
    ]


def test_rejects_paths_and_round_trips(tmp_path: Path) -> None:
    source = RecordSource(tmp_path / "in.csv")
    (tmp_path / "in.csv").write_text('import_error,Name\n"old, ""quoted"" reason",Ada\nx,Bob')
    with pytest.raises(ConfigError, match=r"a \.csv file"):
        check_rejects_path(tmp_path / "out.jsonl", source)
    with pytest.raises(ConfigError, match="that is the input file"):
        check_rejects_path(tmp_path / "in.csv", source)
    with pytest.raises(ConfigError, match="cannot write in"):
        check_rejects_path(tmp_path / "missing" / "out.csv", source)
    out = tmp_path / "out.csv"
    check_rejects_path(out, source)
    assert write_rejects(source, {0: "new", 1: 'say "why"'}, out) == 2
    assert out.read_bytes() == b'\xef\xbb\xbfimport_error,Name\nnew,Ada\n"say ""why""",Bob\n'
    with pytest.raises(ConfigError, match="cannot write the rejects file"):
        write_rejects(source, {}, tmp_path / "missing" / "out.csv")
    header_only = tmp_path / "h.csv"
    header_only.write_text("Name")
    empty = tmp_path / "e.csv"
    assert write_rejects(RecordSource(header_only), {}, empty) == 0
    assert empty.read_bytes() == b"\xef\xbb\xbfimport_error,Name\r\n"
    listed = tmp_path / "in.json"
    listed.write_text('[{"import_error": "old", "E": 1}, {}, [1]]')
    rejects = tmp_path / "out.json"
    assert write_rejects(RecordSource(listed), {0: "a", 1: "b", 2: "c"}, rejects) == 3
    assert rejects.read_text() == (
        '[\n{"import_error": "a", "E": 1},\n{"import_error": "b"},\n'
        '{"import_error": "c", "raw": "[1]"}\n]\n'
    )
    none = tmp_path / "none.json"
    assert write_rejects(RecordSource(listed), {}, none) == 0
    assert none.read_text() == "[\n]\n"
