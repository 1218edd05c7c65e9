"""ContactMapping: rules, per-record errors, transforms, and mapping files."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from ghl_async.errors import ConfigError
from ghl_async.mapping import (
    ContactMapping,
    CustomFieldRule,
    FieldRule,
    MappingError,
    TagRule,
    from_dict,
    load,
)
from ghl_async.mapping import transforms as t
from ghl_async.models import UpsertContact

DATA = Path(__file__).resolve().parent.parent / "ghl_async" / "data"


def wire(body: UpsertContact) -> dict[str, object]:
    decoded = msgspec.json.decode(msgspec.json.encode(body))
    assert isinstance(decoded, dict)
    return decoded


# -- transforms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "given", "expected"),
    [
        ("trim", "  a b  ", "a b"),
        ("lower", "AbC", "abc"),
        ("upper", "abc", "ABC"),
        ("title", "ada lovelace", "Ada Lovelace"),
        ("collapse", "  a   b ", "a b"),
        ("digits", "(415) 555", "415555"),
        ("email", " Ada@Example.COM ", "ada@example.com"),
        ("name_case", "ADA de LA cruz", "Ada de la Cruz"),
        ("name_case", "mary-jane o'neil", "Mary-Jane O'Neil"),
        ("name_case", "McCarthy", "McCarthy"),
        ("number", "$1,200.50", 1200.5),
        ("number", "42", 42),
        ("number", 7, 7),
        ("integer", "1,200", 1200),
        ("integer", "3.0", 3),
        ("bool", "Yes", True),
        ("bool", "off", False),
        ("bool", True, True),
        ("split", "a, b,,c ", ["a", "b", "c"]),
        ("split:;", "a;b", ["a", "b"]),
        ("split", ["x ", " y"], ["x", "y"]),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone:GB", "020 7946 0958", "+442079460958"),
        ("date", "3/5/1990", "1990-03-05"),
        ("date:DMY", "3/5/1990", "1990-05-03"),
        ("date:MDY", "3/5/1990", "1990-03-05"),
        ("date:%d.%m.%Y", "05.03.1990", "1990-03-05"),
        ("date:%d.%m.%Y", "1990-03-05", "1990-03-05"),  # falls back to the usual spellings
        ("trim", True, "true"),
        ("trim", False, "false"),
        ({"map": {"M": "male", "F": "female"}}, " m ", "male"),
        ({"phone": "GB"}, "020 7946 0958", "+442079460958"),
    ],
)
def test_transform_specs(spec: str | dict[str, object], given: t.Value, expected: t.Value) -> None:
    assert t.from_spec(spec)(given) == expected


@pytest.mark.parametrize(
    ("spec", "given", "reason"),
    [
        ("email", "ada@", "not an email address"),
        ("email", "a..b@example.com", "not an email address"),
        ("email", "ada@example", "not an email address"),
        ("number", "lots", "not a number"),
        ("integer", "1.5", "not a whole number"),
        ("bool", "perhaps", "not a yes/no value"),
        ("phone", "4155550123", "no country code"),
        ("date", "someday", "bad date"),
        ("trim", ["a"], "expected one value"),
        ({"map": {"M": "male"}}, "x", "unexpected value 'x'"),
    ],
)
def test_transform_refusals(spec: str | dict[str, object], given: t.Value, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        t.from_spec(spec)(given)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("shout", "unknown transform 'shout'"),
        ("trim:x", "takes no argument"),
        ("phone:XX", "unknown country"),
        ({"map": "x"}, "table of value = replacement"),
        ({"map": {"a": {"b": 1}}}, "table of value = replacement"),
        ({"a": 1, "b": 2}, "exactly one key"),
        ({"shout": 1}, "unknown transform table"),
    ],
)
def test_bad_transform_specs(spec: str | dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        t.from_spec(spec)


def test_map_values_lenient_and_repr() -> None:
    lenient = t.map_values({"a": "b"}, strict=False)
    assert lenient("A") == "b"
    assert lenient("z") == "z"
    assert repr(lenient) == "Transform('map')"


# -- rules ---------------------------------------------------------------------------------


def basic(**kwargs: object) -> ContactMapping:
    settings: dict[str, object] = {
        "fields": {"email": "Email", "phone": "Phone", "dateOfBirth": "DOB"},
        "default_country": "US",
        "location_id": "loc1",
    }
    settings.update(kwargs)
    return ContactMapping(**settings)  # type: ignore[arg-type]


def test_maps_a_good_record() -> None:
    mapping = basic(
        full_name=FieldRule("Name", transforms=[t.collapse(), t.name_case()]),
        tags=["imported", TagRule("Interests", split=";"), TagRule("News", value="newsletter")],
        custom_fields=[
            CustomFieldRule("Budget", key="budget", transforms=[t.number()]),
            CustomFieldRule("Colour", id="cf_123"),
        ],
    )
    body = mapping.apply(
        {
            "Email": " ADA@Example.com ",
            "Phone": "(415) 555-0123",
            "DOB": "March 5, 1990",
            "Name": "ADA   LOVELACE",
            "Interests": "math; engines;;math",
            "News": "yes",
            "Budget": "$1,200",
            "Colour": " green ",
        }
    )
    assert wire(body) == {
        "locationId": "loc1",
        "email": "ada@example.com",
        "phone": "+14155550123",
        "dateOfBirth": "1990-03-05",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "tags": ["imported", "math", "engines", "newsletter"],
        "customFields": [
            {"key": "budget", "field_value": 1200},
            {"id": "cf_123", "field_value": "green"},
        ],
    }


def test_every_bad_field_is_reported_with_field_column_and_reason() -> None:
    mapping = basic(tags=[TagRule("News", value="newsletter")])
    result = mapping.map(
        {"Email": "ada@", "Phone": "555-0123", "DOB": "1990-02-30", "News": "maybe"}, index=41
    )
    assert not result.ok
    assert result.contact is None
    assert [(e.record_index, e.field, e.column) for e in result.errors] == [
        (41, "email", "Email"),
        (41, "phone", "Phone"),
        (41, "date_of_birth", "DOB"),
        (41, "tags", "News"),
    ]
    assert "not an email address: 'ada@'" in result.errors[0].reason
    assert "10 digits" in result.errors[1].reason
    assert "no such date: 1990-02-30" in result.errors[2].reason
    assert str(result.errors[0]) == (
        "record 41: email (column 'Email'): not an email address: 'ada@'"
    )


def test_apply_raises_the_first_error_carrying_all() -> None:
    with pytest.raises(MappingError) as caught:
        basic().apply({"Email": "x", "Phone": "y"}, index=3)
    assert caught.value.field == "email"
    assert [e.field for e in caught.value.errors] == ["email", "phone"]


def test_missing_fields_need_email_or_phone() -> None:
    result = basic().map({"DOB": "1990-01-01"}, index=2)
    assert [(e.field, e.reason) for e in result.errors] == [
        ("email|phone", "needs email or phone to match the contact on")
    ]
    # A bad email already explains the record; no second "needs email" error.
    assert len(basic().map({"Email": "bad"}).errors) == 1
    assert basic(require_one_of=()).map({}).ok


def test_required_default_constant_and_fallback_columns() -> None:
    mapping = basic(
        fields={
            "email": FieldRule(["E-mail", "Email"], required=True),
            "first_name": FieldRule("First", required=True, transforms=[t.trim()]),
            "source": FieldRule(value="form"),
            "country": FieldRule("Country", default="gb"),
            "city": FieldRule("address.city"),
            "dnd": "DND",
            "postal_code": "ZIP",
        }
    )
    body = wire(
        mapping.apply(
            {
                "Email": "a@example.com",
                "First": "Ada",
                "address": {"city": "Paris"},
                "DND": "yes",
                "ZIP": 75001,
            }
        )
    )
    assert body["email"] == "a@example.com"
    assert body["source"] == "form"
    assert body["country"] == "GB"
    assert body["city"] == "Paris"
    assert body["dnd"] is True
    assert body["postalCode"] == "75001"
    errors = mapping.map({"First": "  ", "Email": ""}).errors
    assert [(e.field, e.reason) for e in errors] == [
        ("email", "missing required column 'Email'"),
        ("first_name", "missing required column 'First'"),
    ]
    assert mapping.map({"Email": "a@example.com", "First": "x", "address": "flat"}).ok
    blank_after = basic(fields={"email": FieldRule("E", required=True, transforms=[t.digits()])})
    assert blank_after.map({"E": "abc"}).errors[0].reason == "blank after transforms"
    optional_blank = basic(fields={"phone": FieldRule("P", transforms=[t.digits()])})
    assert optional_blank.map({"P": "abc"}).errors[0].field == "email|phone"


@pytest.mark.parametrize(
    ("fields", "record", "reason"),
    [
        ({"phone": FieldRule("P", transforms=[t.trim()])}, {"P": "4155550123"}, "not an E.164"),
        ({"date_of_birth": FieldRule("D", transforms=[t.trim()])}, {"D": "5/3/90"}, "YYYY-MM-DD"),
        ({"date_of_birth": "D"}, {"D": "1850-01-01"}, "before 1900"),
        ({"country": "C"}, {"C": "France"}, "two-letter country code"),
        ({"city": FieldRule("C", transforms=[t.split()])}, {"C": "a,b"}, "expected one value"),
        ({"city": "C"}, {"C": {"nested": 1}}, "unsupported value of type dict"),
        ({"dnd": FieldRule("D", transforms=[])}, {"D": "sometimes"}, "not a yes/no value"),
    ],
)
def test_final_checks(
    fields: dict[str, FieldRule | str], record: dict[str, object], reason: str
) -> None:
    result = basic(fields={"email": "Email", **fields}).map({"Email": "a@b.co", **record})
    assert reason in result.errors[0].reason


def test_scalars_become_text() -> None:
    mapping = basic(
        fields={
            "email": "E",
            "city": FieldRule("C", transforms=[]),
            "state": FieldRule("S", transforms=[]),
        }
    )
    body = wire(mapping.apply({"E": "a@b.co", "C": 12, "S": True}))
    assert (body["city"], body["state"]) == ("12", "true")
    listed = basic(fields={"email": "E", "city": "C"}).map({"E": "a@b.co", "C": ["x", 1]})
    assert "expected one value" in listed.errors[0].reason


def test_full_name_only_when_names_are_not_mapped() -> None:
    mapping = basic(fields={"email": "E", "first_name": "F"}, full_name="Name")
    assert "last_name" not in wire(mapping.apply({"E": "a@b.co", "F": "Ada", "Name": "X Y"}))
    only_first = wire(mapping.apply({"E": "a@b.co", "Name": "Cher"}))
    assert only_first["firstName"] == "Cher"
    assert "lastName" not in only_first
    bad = basic(fields={"email": "E"}, full_name=FieldRule("Name", transforms=[t.integer()]))
    assert bad.map({"E": "a@b.co", "Name": "Ada"}).errors[0].field == "name"


def test_custom_field_prefix_and_known_keys() -> None:
    mapping = basic(
        fields={"email": "E"},
        custom_field_prefix="cf:",
        known_custom_fields={"color": "id1", "size": "id2"},
        custom_fields=[CustomFieldRule("Size", key="size", required=True)],
    )
    ok = mapping.apply(
        {"E": "a@b.co", "cf:color": " red ", "cf:size": "", "Size": "L", "cf:tags": None}
    )
    assert wire(ok)["customFields"] == [
        {"key": "size", "field_value": "L"},
        {"key": "color", "field_value": "red"},
    ]
    result = mapping.map({"E": "a@b.co", "cf:colour": "red", "Size": "L"}, index=9)
    (error,) = result.errors
    assert (error.record_index, error.field, error.column) == (
        9,
        "customFields.colour",
        "cf:colour",
    )
    assert error.reason == "unknown custom field key 'colour' (did you mean 'color'?)"
    missing = mapping.map({"E": "a@b.co"}).errors
    assert missing[0].field == "customFields.size"
    open_mapping = basic(fields={"email": "E"}, custom_field_prefix="cf:")
    listed = open_mapping.apply({"E": "a@b.co", "cf:multi": ["a", "b"], "cf:n": 3})
    assert wire(listed)["customFields"] == [
        {"key": "multi", "field_value": ["a", "b"]},
        {"key": "n", "field_value": 3},
    ]
    assert "unsupported" in open_mapping.map({"E": "a@b.co", "cf:x": {"a": 1}}).errors[0].reason


def test_tag_rules() -> None:
    mapping = basic(
        fields={"email": "E"},
        tags=[
            "a",
            TagRule(value=""),
            TagRule(["T1", "T2"], transforms=[t.lower()]),
            TagRule("Flag", value="flagged"),
            TagRule("Empty"),
            TagRule("Numbers", transforms=[t.integer()]),
        ],
    )
    body = wire(mapping.apply({"E": "a@b.co", "T2": "X, Y", "Flag": "no"}))
    assert body["tags"] == ["a", "x", "y"]
    assert "tags" not in wire(basic(fields={"email": "E"}).apply({"E": "a@b.co"}))
    numbers = mapping.map({"E": "a@b.co", "Numbers": "1, 2"})
    assert numbers.ok
    assert wire(numbers.contact)["tags"] == ["a"] if numbers.contact else False  # ints dropped


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fields": {"emial": "E"}}, "unknown contact field 'emial' (did you mean 'email'?)"),
        ({"fields": {"firstName": "A", "first_name": "B"}}, "mapped twice"),
        ({"fields": {"email": FieldRule()}}, "either a source column"),
        ({"fields": {"email": FieldRule("E", value="x")}}, "either a source column"),
        ({"custom_fields": [CustomFieldRule("X")]}, "by 'key' or by 'id'"),
        ({"custom_fields": [CustomFieldRule("X", key="a", id="b")]}, "by 'key' or by 'id'"),
        (
            {"known_custom_fields": ["color"], "custom_fields": [CustomFieldRule("X", key="colr")]},
            "unknown custom field key 'colr' (did you mean 'color'?)",
        ),
        ({"tags": [TagRule()]}, "a tag rule needs"),
        ({"require_one_of": ["emale"]}, "unknown fields: emale"),
        ({"default_country": "Narnia"}, "default_country: unknown country"),
        ({"date_order": "YMD"}, "date_order must be"),
    ],
)
def test_bad_rules_fail_at_construction(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        basic(**kwargs)


def test_location_is_required() -> None:
    mapping = basic(location_id=None)
    with pytest.raises(ConfigError, match="no location id"):
        mapping.map({"Email": "a@b.co"})
    assert mapping.apply({"Email": "a@b.co"}, location_id="L2").location_id == "L2"


# -- files ---------------------------------------------------------------------------------


def test_demo_mapping_over_demo_csv() -> None:
    mapping = ContactMapping.from_file(DATA / "demo_mapping.toml")
    with (DATA / "demo_submissions.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2000
    results = [mapping.map(row, index=i, location_id="L") for i, row in enumerate(rows)]
    bad = [r for r in results if not r.ok]
    assert len(bad) == 100
    fields = Counter(e.field for r in bad for e in r.errors)
    assert set(fields) == {
        "email",
        "phone",
        "date_of_birth",
        "customFields.budget",
        "tags",
        "email|phone",
    }
    first = results[1].contact
    assert first is not None
    assert wire(first)["phone"] == "+12125550100"


def test_demo_csv_is_what_the_generator_makes() -> None:
    from ghl_async.data import make_demo_csv

    assert make_demo_csv.render() == (DATA / "demo_submissions.csv").read_text()


def test_generator_main_prints(capsys: pytest.CaptureFixture[str]) -> None:
    from ghl_async.data import make_demo_csv

    make_demo_csv.main()
    assert capsys.readouterr().out.startswith("Submitted At,Full Name,Email")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_json_mapping_equivalent(tmp_path: Path) -> None:
    spec = {
        "default_country": "GB",
        "date_order": "DMY",
        "location_id": "L",
        "full_name": ["Name", "Full"],
        "custom_field_prefix": "cf.",
        "known_custom_fields": ["a", "b"],
        "require_one_of": ["phone"],
        "fields": {
            "phone": {"from": "Tel", "required": True},
            "dateOfBirth": "Born",
            "source": {"value": "json"},
            "city": {
                "from": "City",
                "default": "Leeds",
                "transforms": ["trim", {"map": {"LDN": "London"}}],
            },
        },
        "custom_fields": [{"id": "x1", "from": "X"}, {"key": "b", "value": 2}],
        "tags": [
            "t",
            {"from": "Tags", "split": "|", "transforms": ["upper"]},
            {"from": "VIP", "value": "vip"},
        ],
    }
    mapping = load(write(tmp_path, "m.json", json.dumps(spec, indent=2)))
    body = wire(
        mapping.apply(
            {
                "Tel": "020 7946 0958",
                "Born": "5/3/1990",
                "Full": "Ada Byron",
                "City": "ldn",
                "X": "1",
                "Tags": "a|b",
                "VIP": "y",
                "cf.a": "z",
            }
        )
    )
    assert body == {
        "locationId": "L",
        "phone": "+442079460958",
        "dateOfBirth": "1990-03-05",
        "source": "json",
        "city": "London",
        "firstName": "Ada",
        "lastName": "Byron",
        "customFields": [
            {"id": "x1", "field_value": "1"},
            {"key": "b", "field_value": 2},
            {"key": "a", "field_value": "z"},
        ],
        "tags": ["t", "A", "B", "vip"],
    }


def test_toml_custom_fields_list_form(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.toml",
        """
[fields]
email = "E"

[[custom_fields]]
key = "budget"
from = "Budget"
transforms = ["number"]
""",
    )
    assert wire(load(path).apply({"E": "a@b.co", "Budget": "9"}, location_id="L"))[
        "customFields"
    ] == [{"key": "budget", "field_value": 9}]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("m.toml", "[fields]\nemail = \n", r"m.toml: invalid TOML: .*line 2"),
        ("m.json", '{\n  "fields": {\n    "email": "E",\n  }\n}', r"m.json:4: invalid JSON"),
        ("m.json", "[1, 2]", "must be a table/object at the top level"),
        ("m.yaml", "fields: {}", r"ends in .toml or .json"),
        (
            "m.toml",
            "version = 1\n\n[fields]\nemail = 'E'\nemial = 'F'\n",
            r"m.toml:5: fields.emial: unknown contact field 'emial' \(did you mean 'email'\?\)",
        ),
        ("m.toml", "versoin = 1\n", r"m.toml:1: versoin: unknown key \(did you mean 'version'\?\)"),
        ("m.toml", "version = 2\n", r"version: unsupported mapping version 2"),
        (
            "m.toml",
            "[fields]\nemail = { from = 'E', transform = ['trim'] }\n",
            r"m.toml:2: fields.email.transform: unknown key \(did you mean 'transforms'\?\)",
        ),
        (
            "m.toml",
            "[fields]\n\nphone = { from = 'P', transforms = ['trim', 'shout'] }\n",
            r"m.toml:3: fields.phone.transforms.shout: unknown transform 'shout'",
        ),
        (
            "m.toml",
            "[fields]\nphone = { from = 'P', transforms = 'trim' }\n",
            r"fields.phone.transforms: expected a list of transforms, got a string",
        ),
        (
            "m.toml",
            "[fields]\nphone = { from = 'P', transforms = [1] }\n",
            r"fields.phone.transforms\[0\]: expected a transform name or table, got a number",
        ),
        ("m.toml", "[fields]\nphone = { from = 1 }\n", r"fields.phone.from: expected a column"),
        (
            "m.toml",
            "[fields]\nphone = { value = {a = 1} }\n",
            r"fields.phone.value: expected a string, number, boolean or list",
        ),
        (
            "m.toml",
            "[fields]\nphone = { from = 'P', required = 'yes' }\n",
            r"fields.phone.required: expected true or false, got a string",
        ),
        ("m.toml", "fields = 3\n", r"fields: expected a table, got a number"),
        ("m.toml", "default_country = 1\n", r"default_country: expected a string"),
        ("m.toml", "date_order = 'YMD'\n", r"date_order: expected 'MDY' or 'DMY'"),
        ("m.toml", "custom_fields = 'x'\n", r"custom_fields: expected a table or a list"),
        (
            "m.toml",
            "[[custom_fields]]\nkey = 'a'\nfrom = 'A'\nname = 'x'\n",
            r"m.toml:4: custom_fields\[0\].name: unknown key",
        ),
        ("m.toml", "[[custom_fields]]\nfrom = 'A'\n", r"by 'key' or by 'id'"),
        ("m.toml", "tags = 'a'\n", r"tags: expected a list, got a string"),
        (
            "m.toml",
            "tags = [{ form = 'A' }]\n",
            r"tags\[0\].form: unknown key \(did you mean 'from'\?\)",
        ),
        ("m.toml", "tags = [{ split = ';' }]\n", r"a tag rule needs"),
        ("m.toml", "known_custom_fields = 3\n", r"known_custom_fields: expected a table"),
        ("m.toml", "require_one_of = 'email'\n", r"require_one_of: expected a list"),
        ("m.toml", "default_country = 'Narnia'\n", r"m.toml:1: default_country: unknown country"),
        (
            "m.toml",
            "known_custom_fields = ['color']\n[custom_fields]\ncolr = 'C'\n",
            r"m.toml:3: custom_fields.colr: unknown custom field key 'colr'",
        ),
        ("m.toml", "full_name = 3\n", r"full_name: expected a column name"),
        ("m.toml", "full_name = { from = 'N', case = 'x' }\n", r"full_name.case: unknown key"),
        ("m.toml", "[custom_fields]\nbudget = 3\n", r"custom_fields.budget: expected a table"),
    ],
)
def test_bad_mapping_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, name, text))


def test_full_name_table_in_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.toml",
        "full_name = { from = 'N', transforms = ['upper'] }\n[fields]\nemail = 'E'\n",
    )
    assert (
        wire(load(path).apply({"E": "a@b.co", "N": "ada byron"}, location_id="L"))["lastName"]
        == "BYRON"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read mapping file"):
        load(tmp_path / "missing.toml")


def test_toml_without_tomllib_or_tomli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import name` raise ImportError, as on a bare 3.10.
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(ConfigError, match=r"pip install 'ghl-async\[toml\]'"):
        load(write(tmp_path, "m.toml", "[fields]\nemail = 'E'\n"))


def test_from_dict_without_text_has_no_line() -> None:
    with pytest.raises(ConfigError, match=r"^<mapping>: fields.emial: unknown contact field"):
        from_dict({"fields": {"emial": "E"}})
    with pytest.raises(ConfigError, match=r"^<mapping>: require_one_of names unknown fields: x$"):
        from_dict({"require_one_of": ["x"]})
