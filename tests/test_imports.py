"""Imports that get the data right: the corpus in tests/data/imports through the CLI entry point
(`ghl_async.cli.main`, the console script's function) against FakeHighLevel on a real socket.

The expected E.164 values below were written by hand from each country's numbering plan (drop
the trunk prefix - 0, or 8 in Russia - keep Italy's leading 0, prepend the country code), and
the expected lines by counting the file's physical lines (its header is line 1).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghl_async.cli import main
from ghl_async.cli.output import ExitCode
from ghl_async.testing import FakeHighLevel

DATA = Path(__file__).resolve().parent / "data" / "imports"
MESSY = DATA / "messy.csv"
CORPUS_MAPPING = DATA / "corpus.toml"
CONTACT_MAPPING = DATA / "contact.toml"

# email -> (the Phone cell as written in messy.csv, the E.164 number it must become)
GOOD_ROWS: dict[str, tuple[str, str]] = {
    "ada@example.com": ("(415) 555-0123", "+14155550123"),
    "juergen@example.de": ("+49 (0)151 87064754", "+4915187064754"),
    "taro@example.jp": ("090-1234-5678", "+819012345678"),
    "xiaolong@example.cn": ("+86 138 0013 8000", "+8613800138000"),
    "zoe@example.co.uk": ("020 7946 0958", "+442079460958"),
    "priya@example.in": ("+91 (0)98765 43210", "+919876543210"),
    "liam@example.ie": ("087 123 4567", "+353871234567"),
    "chloe@example.fr": ("06 12 34 56 78", "+33612345678"),
    "giulia@example.it": ("06 1234 5678", "+390612345678"),
    "lucas@example.com.br": ("(11) 91234-5678", "+5511912345678"),
    "olivia@example.com.au": ("+61 (0)412 345 678", "+61412345678"),
    "noah@example.nl": ("+31 (0)20 123 4567", "+31201234567"),
    "sofia@example.mx": ("+52 55 1234 5678", "+525512345678"),
    "minjun@example.kr": ("010-1234-5678", "+821012345678"),
    "ivan@example.ru": ("8 (912) 345-67-89", "+79123456789"),
    "thabo@example.co.za": ("+27 (0)21 123 4567", "+27211234567"),
    "emma@example.com": ("0044 20 7946 0959", "+442079460959"),
    "noah.m@example.com": ("44 20 7946 0960", "+442079460960"),
    "mia@example.com": ("011 49 151 87064755", "+4915187064755"),
    "hans@example.ch": ("044 668 18 00", "+41446681800"),
    "weiming@example.sg": ("+65 6123 4567", "+6561234567"),
    "taiman@example.hk": ("+852 2123 4567", "+85221234567"),
    "aroha@example.nz": ("021 123 4567", "+64211234567"),
    "fatima@example.ae": ("050-123-4567", "+971501234567"),
    "ana@example.com.br": ("+55 11 3123-4567", "+551131234567"),
    "grace@example.com": ("+1 212 555 0187 ext. 42", "+12125550187"),
    "jean@example.ca": ("(604) 555-0199", "+16045550199"),
    "ines@example.es": ("0034 91 123 45 67", "+34911234567"),
    "hiroshi@example.jp": ("+81 (0)3 1234 5678", "+81312345678"),
    "pierre@example.fr": ("0033 1 23 45 67 89", "+33123456789"),
    "lena@example.de": ("(030) 1234 5678", "+493012345678"),
    "arjun@example.in": ("+91-22-2345-6789", "+912223456789"),
    "marco@example.it": ("+39 333 123 4567", "+393331234567"),
    "wangfang@example.cn": ("010 6552 9988", "+861065529988"),
    "oliver@example.co.uk": ("+44 (0)113 496 0123", "+441134960123"),
    "sipho@example.co.za": ("082 123 4567", "+27821234567"),
    "bill@example.com": ("+1 (646) 555-0142", "+16465550142"),
    "no.phone@example.com": ("", ""),
    "max@example.de": ("+49 30 12345679", "+493012345679"),
    "lea@example.fr": ("+33 6 12 34 56 79", "+33612345679"),
    "jack@example.com.au": ("+61 2 9876 5433", "+61298765433"),
    "olga@example.ru": ("+7 495 123-45-68", "+74951234568"),
    "omar@example.ae": ("+971 50 123 4568", "+971501234568"),
    "saoirse@example.ie": ("+353 1 234 5679", "+35312345679"),
    "daan@example.nl": ("00 31 20 123 4568", "+31201234568"),
    "seoyeon@example.kr": ("+82 10-1234-5679", "+821012345679"),
    "nikau@example.nz": ("+64 21 123 4568", "+64211234568"),
    "pablo@example.es": ("+34 612 34 56 79", "+34612345679"),
    "yuki@example.jp": ("011 81 3 1234 5679", "+81312345679"),
    "lerato@example.co.za": ("+27 82 123 4568", "+27821234568"),
    "ada.two@example.com": ("(415) 555-0126", "+14155550126"),
}
# line -> (field, part of the reason)
BAD_ROWS: dict[int, tuple[str, str]] = {
    56: ("phone", "bad phone '+49 (0)151 8706': not a number in the numbering plan of +49 (DE)"),
    57: ("phone", "too short for +1 (US): 7 digits"),
    58: ("phone", "bad phone 'call me': not a phone number"),
    59: ("email", "not an email address: 'jane.doe at example.com'"),
    60: ("date_of_birth", "no such date: 1990-02-31"),
    61: ("customFields.budget", "not a finite number"),
    62: ("customFields.budget", "not a finite number"),
    63: ("input", "the row has 9 cells and the header 8 (an unquoted comma in a value?)"),
    64: ("input", "the row has 3 cells and the header 8"),
    65: ("email|phone", "needs email or phone to match the contact on"),
    66: ("phone", "unknown country 'Narnia'"),
    67: ("phone", "too short for +44 (GB): 8 digits"),
    68: ("phone", "bad phone '+44 (0)7700 900123': not a number in the numbering plan of +44"),
    70: ("customFields.budget", "not a number HighLevel can store: 5000 characters"),
}


@pytest.fixture
def fake() -> Iterator[FakeHighLevel]:
    with FakeHighLevel.serve_in_thread(rate_limit=(5000, 1.0)) as server:
        yield server


@pytest.fixture
def env(fake: FakeHighLevel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("GHL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("GHL_TOKEN", fake.private_token)
    monkeypatch.setenv("GHL_LOCATION_ID", fake.location_id)
    monkeypatch.setenv("GHL_BASE_URL", fake.base_url)
    monkeypatch.setenv("GHL_RATE_LIMIT", "5000/1")
    return tmp_path


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    assert "Traceback" not in err.getvalue()
    assert "internal error" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()


def report_of(out: str) -> dict[str, object]:
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def failures_of(out: str) -> dict[int, dict[str, object]]:
    failures = report_of(out)["failures"]
    assert isinstance(failures, list)
    return {int(f["line"]): f for f in failures}


def import_(*argv: str | Path) -> tuple[int, str, str]:
    return run("contacts", "import", *argv)


def test_the_corpus_is_what_the_issue_asks_for() -> None:
    raw = MESSY.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM
    assert b"\r\n" in raw
    assert b'"Line one\r\nline two' in raw
    assert b'"A note\nover' in raw
    text = raw.decode("utf-8-sig")
    assert "Jürgen" in text
    assert "山田太郎" in text
    assert "김민준" in text
    assert "Иван" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    written = {row["Email"]: row["Phone"] for row in rows if row["Email"]}
    for email, (cell, _) in GOOD_ROWS.items():
        assert written[email] == cell, email
    international = [c for c, e in GOOD_ROWS.values() if c.startswith(("+", "00", "011", "44 "))]
    assert len(international) >= 30
    countries = {email.split("@example")[1] for email in GOOD_ROWS}  # .de, .co.uk, .jp, ...
    assert len(countries) >= 20


def test_messy_csv_imports_every_valid_row_rightly_and_reports_every_bad_row_on_its_line(
    env: Path, fake: FakeHighLevel
) -> None:
    rejects = env / "rejects.csv"
    code, out, err = import_(MESSY, "--mapping", CORPUS_MAPPING, "--rejects", rejects)
    assert code == ExitCode.PARTIAL
    report = report_of(out)
    assert (report["total"], report["created"], report["failed"]) == (65, 51, 14)
    assert report["unused_columns"] == ["Signed Up"]
    assert err.count("columns the mapping does not read: 'Signed Up'") == 1
    failures = failures_of(out)
    assert set(failures) == set(BAD_ROWS)
    for line, (field, reason) in BAD_ROWS.items():
        assert failures[line]["field"] == field, line
        assert reason in str(failures[line]["reason"]), (line, failures[line]["reason"])
        assert failures[line]["stage"] == "mapping"
    assert failures[59]["value"] == "jane.doe at example.com"
    assert failures[70]["value"] == "9" * 200 + "... (5,000 characters)"
    # Every valid row, with the right number.
    for email, (_, e164) in GOOD_ROWS.items():
        (contact,) = fake.find_contacts(email=email)
        assert (contact.phone or "") == e164, email
    assert len(fake.find_contacts(location_id=fake.location_id)) == 51
    names = {c.email: (c.first_name, c.last_name) for c in fake.find_contacts()}
    assert names["juergen@example.de"] == ("Jürgen", "Müller")
    assert names["taro@example.jp"] == ("山田太郎", None)
    assert names["ivan@example.ru"] == ("Иван", "Петров")
    assert names["bill@example.com"] == ("Bill", "Murray")
    (bill,) = fake.find_contacts(email="bill@example.com")
    (taro,) = fake.find_contacts(email="taro@example.jp")
    assert (taro.date_of_birth, bill.tags) == ("1990-01-15", ["corpus"])
    notes = {f.value for f in bill.custom_fields}
    assert "Line one\r\nline two\r\nline three" in notes  # the quoted line breaks, kept


def test_rejects_file_holds_the_failed_rows_as_they_were_and_imports_again(
    env: Path, fake: FakeHighLevel
) -> None:
    rejects = env / "rejects.csv"
    code, out, _ = import_(MESSY, "--mapping", CORPUS_MAPPING, "--rejects", rejects)
    assert report_of(out)["rejects"] == {"file": str(rejects), "records": 14}
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    original = re.split(r"\r\n|\n", MESSY.read_bytes().decode("utf-8-sig"))  # physical lines
    text = rejects.read_bytes().decode("utf-8-sig")
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbf")  # written like it was read
    assert text.startswith("import_error,Full Name,Email,Phone,Country,Birthday,Notes,Budget,")
    for line in (56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 70):
        assert "," + original[line - 1] + "\r\n" in text, line  # byte for byte
    drama = ',Drama Mobile,drama@example.co.uk,+44 (0)7700 900123,,,"A note\nover two lines",'
    assert drama in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 15
    assert rows[4][0] == "email (column 'Email'): not an email address: 'jane.doe at example.com'"
    assert rows[8][1:] == original[62].split(",")  # the ragged row keeps its extra cell
    # Fix two rows in the rejects file and import it: those two go in, the rest fail again,
    # and the old reason column is one more column the mapping does not read.
    fixed = text.replace("call me", "+1 415 555 0135").replace("jane.doe at example", "jane@x")
    rejects.write_text(fixed, encoding="utf-8-sig")
    again = env / "again.csv"
    code, out, err = import_(rejects, "--mapping", CORPUS_MAPPING, "--rejects", again)
    assert code == ExitCode.PARTIAL
    assert (report_of(out)["created"], report_of(out)["failed"]) == (2, 12)
    assert "'import_error'" in err
    assert fake.find_contacts(email="callme@example.com")[0].phone == "+14155550135"
    second = again.read_text(encoding="utf-8-sig")
    assert second.startswith("import_error,Full Name,")  # replaced, not piled up
    assert second.count("import_error") == 1


def test_jsonl_corpus(env: Path, fake: FakeHighLevel) -> None:
    rejects = env / "rejects.jsonl"
    code, out, _ = import_(
        DATA / "messy.jsonl",
        "--mapping",
        CORPUS_MAPPING,
        "--max-field-size",
        "1000",
        "--rejects",
        rejects,
    )
    assert code == ExitCode.PARTIAL
    report = report_of(out)
    assert (report["total"], report["created"]) == (12, 4)
    assert report["unused_columns"] == ["address"]
    failures = failures_of(out)
    expected = {
        3: "invalid JSON: Expecting value",
        4: "expected a JSON object, got a list",
        5: "invalid JSON: nested too deeply",
        6: "a number with 5,000 digits",
        7: "NaN is not a number JSON allows",
        8: "not a finite number",
        9: "the number 1e400 is too large",
        12: "the value of 'Notes' is 2,000 characters long; the limit is 1,000",
    }
    assert {line: f["reason"] for line, f in failures.items()}.keys() == expected.keys()
    for line, reason in expected.items():
        assert reason in str(failures[line]["reason"]), line
    phones = {
        "json1@example.com": "+442079460961",
        "phonenum@example.com": "+14155550127",  # a JSON number, read as text
        "ichiro@example.jp": "+819012345679",
        "lastline@example.com": "+4915187064756",  # the last line has no newline
    }
    for email, e164 in phones.items():
        assert fake.find_contacts(email=email)[0].phone == e164
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8
    rejected = [json.loads(line) for line in lines]
    assert all(next(iter(r)) == "import_error" for r in rejected)
    assert rejected[0]["raw"] == '{"Email": "broken@example.com", "Phone":'
    assert rejected[1]["raw"] == '["not", "an", "object"]'
    assert rejected[4]["raw"] == '{"Email": "nan@example.com", "Budget": NaN}'
    assert rejected[5]["Email"] == "nanstr@example.com"  # an object keeps its keys
    assert rejected[5]["Budget"] == "NaN"


def test_json_array_elements_have_their_lines(env: Path, fake: FakeHighLevel) -> None:
    rejects = env / "rejects.json"
    code, out, _ = import_(DATA / "array.json", "--mapping", CONTACT_MAPPING, "--rejects", rejects)
    assert code == ExitCode.PARTIAL
    failures = failures_of(out)
    assert failures[3]["reason"] == "input: expected a JSON object, got a number"
    assert "bad phone 'not a phone'" in str(failures[4]["reason"])
    assert fake.find_contacts(email="arr1@example.com")[0].phone == "+33123456788"
    listed = json.loads(rejects.read_text())
    assert [r["import_error"][:5] for r in listed] == ["input", "phone"]
    assert listed[1]["Email"] == "arr3@example.com"


def test_a_typo_in_the_mapping_stops_before_anything_is_sent(
    env: Path, fake: FakeHighLevel
) -> None:
    before = fake.count()
    for extra in ((), ("--dry-run",)):
        code, out, err = import_(MESSY, "--mapping", DATA / "typo.toml", *extra)
        assert code == ExitCode.USAGE
        assert out == ""
        assert "1 column(s) of the mapping cannot be read, nothing was sent" in err
        assert "'E-mail' (read by fields.email): no such column" in err
        assert "the columns, closest first: 'Email', " in err
        assert err.index("'Email'") < err.index("'Full Name'")
    code, _, err = import_(MESSY, "--mapping", CORPUS_MAPPING, "--key", "Email,Emial")
    assert code == ExitCode.USAGE
    assert "'Emial' (read by --key): no such column; the columns, closest first: 'Email'" in err
    assert fake.count() == before


def test_loose_column_matching_is_opt_in(env: Path, fake: FakeHighLevel) -> None:
    rows = env / "rows.csv"
    rows.write_text("FULL NAME, e mail ,Phone\nAda Lovelace,ada@example.com,+1 415 555 0123\n")
    mapping = env / "m.toml"
    mapping.write_text('full_name = "Full Name"\n[fields]\nemail = "EMail"\nphone = "phone"\n')
    code, _, err = import_(rows, "--mapping", mapping)
    assert code == ExitCode.USAGE
    assert "' e mail ' matches ignoring case and spaces" in err
    code, out, _ = import_(rows, "--mapping", mapping, "--loose-columns", "--key", "email")
    assert (code, report_of(out)["created"]) == (ExitCode.OK, 1)
    mapping.write_text('match_columns = "loose"\n' + mapping.read_text())
    assert import_(rows, "--mapping", mapping)[0] == ExitCode.OK
    (ada,) = fake.find_contacts(email="ada@example.com")
    assert (ada.first_name, ada.phone) == ("Ada", "+14155550123")
    twice = env / "twice.csv"
    twice.write_text("Email,email,Phone,Full Name\na@example.com,b@example.com,,A\n")
    code, _, err = import_(twice, "--mapping", mapping)
    assert code == ExitCode.USAGE
    assert "'EMail': matches 2 columns ('Email', 'email')" in err


def test_encodings(env: Path, fake: FakeHighLevel) -> None:
    cp1252 = DATA / "cp1252.csv"
    code, _, err = import_(cp1252, "--mapping", CONTACT_MAPPING)
    assert code == ExitCode.USAGE
    assert "cannot read byte 0xe9 at byte offset 26 (line 2) as utf-8-sig" in err
    assert "--encoding cp1252" in err
    assert "latin-1" in err
    code, out, _ = import_(cp1252, "--mapping", CONTACT_MAPPING, "--encoding", "cp1252")
    assert (code, report_of(out)["created"]) == (ExitCode.OK, 2)
    assert fake.find_contacts(email="renee@example.com")[0].first_name == "Renée"
    utf16 = DATA / "utf16.csv"
    code, _, err = import_(utf16, "--mapping", CONTACT_MAPPING)
    assert code == ExitCode.USAGE
    assert "UTF-16 byte order mark: use the encoding utf-16" in err
    code, out, _ = import_(utf16, "--mapping", CONTACT_MAPPING, "--encoding", "utf-16")
    assert code == ExitCode.OK
    assert fake.find_contacts(email="lukasz@example.com")[0].last_name == "Żak"
    code, _, err = import_(utf16, "--mapping", CONTACT_MAPPING, "--encoding", "klingon")
    assert (code, "unknown encoding 'klingon'" in err) == (ExitCode.USAGE, True)


def test_limits_per_field_and_per_record(env: Path, fake: FakeHighLevel) -> None:
    # The issue's traceback: a field over 128 KiB. Now that record fails, the rest go in.
    big = env / "big.csv"
    notes = "n" * 200_000
    big.write_text(
        "Full Name,Email,Phone\n"
        f'Big Notes,big@example.com,"{notes}"\n'
        "Small,small@example.com,+1 415 555 0140\n"
    )
    code, out, _ = import_(big, "--mapping", CONTACT_MAPPING)
    assert code == ExitCode.PARTIAL
    failure = failures_of(out)[2]
    assert failure["reason"] == (
        "input (column 'Phone'): the value of 'Phone' is 200,000 characters long; "
        "the limit is 131,072"
    )
    assert fake.find_contacts(email="small@example.com")
    # An unclosed quote that swallows the rest of the file: stop before sending anything.
    swallowed = env / "swallowed.csv"
    swallowed.write_text(
        'Full Name,Email,Phone\nA,a@example.com,+1 415 555 0141\nB,"b@example.com,\n'
        + "".join(f"R{i},r{i}@example.com,+1 415 555 {i:04d}\n" for i in range(500))
    )
    before = fake.count()
    code, _, err = import_(swallowed, "--mapping", CONTACT_MAPPING, "--max-record-size", "2000")
    assert code == ExitCode.USAGE
    assert "swallowed.csv:3: the record starting on this line is longer than 2,000" in err
    assert "an unclosed quote?" in err
    assert fake.count() == before


# Every file of the corpus, what the CLI must answer, and a line of what it must say.
SWEEP: dict[str, tuple[tuple[str, ...], int, str]] = {
    "messy.csv": (("--mapping", "corpus.toml"), 1, "'Signed Up'"),
    "messy.jsonl": (("--mapping", "corpus.toml"), 1, "'address'"),
    "array.json": (("--mapping", "contact.toml"), 1, ""),
    "not-a-list.json": (("--mapping", "contact.toml"), 2, "holds a list of objects"),
    "broken-array.json": (("--mapping", "contact.toml"), 2, "broken-array.json:4: invalid JSON"),
    "cp1252.csv": (("--mapping", "contact.toml"), 2, "--encoding cp1252"),
    "utf16.csv": (("--mapping", "contact.toml"), 2, "utf-16"),
    "empty.csv": (("--mapping", "contact.toml"), 2, "empty file"),
    "header-only.csv": (("--mapping", "contact.toml"), 0, ""),
    "nul.csv": (("--mapping", "contact.toml"), 1, ""),
    "unclosed-quote.csv": (("--mapping", "contact.toml"), 1, ""),
    "ragged.csv": (("--mapping", "contact.toml", "--key", "hash"), 1, ""),
    "deep.jsonl": (("--mapping", "contact.toml"), 1, ""),
    "corpus.toml": (("--mapping", "contact.toml"), 2, "records come from .csv"),
    "contact.toml": (("--mapping", "corpus.toml"), 2, "records come from .csv"),
    "typo.toml": (("--mapping", "typo.toml"), 2, "records come from .csv"),
    "README.md": (("--mapping", "README.md"), 2, "a mapping file ends in .toml or .json"),
}


def test_no_file_of_the_corpus_makes_a_traceback(env: Path) -> None:
    assert set(SWEEP) == {p.name for p in DATA.iterdir()}, "add new corpus files to SWEEP"
    for name, (options, expected, says) in SWEEP.items():
        args = [a if not a.endswith((".toml", ".md")) else str(DATA / a) for a in options]
        for extra in ((), ("--dry-run",)):
            code, out, err = import_(DATA / name, *args, *extra)
            assert code == expected, (name, extra, err)
            assert says in err, (name, err)
            if code == ExitCode.USAGE:
                assert out == "", name
                assert err.startswith("ghl-async: error: "), name


def test_the_small_corpus_files_fail_the_right_records(env: Path, fake: FakeHighLevel) -> None:
    code, out, _ = import_(DATA / "nul.csv", "--mapping", CONTACT_MAPPING)
    assert code == ExitCode.PARTIAL
    assert {k: v["reason"] for k, v in failures_of(out).items()} == {
        2: "input: the row holds a NUL character (is this a binary file?)"
    }
    code, out, _ = import_(DATA / "unclosed-quote.csv", "--mapping", CONTACT_MAPPING)
    assert code == ExitCode.PARTIAL
    assert failures_of(out)[2]["reason"] == (
        "input: a quote opened on line 2 is never closed; the row runs to the end"
    )
    for key in ((), ("--key", "hash"), ("--key", "Email")):
        _, out, _ = import_(DATA / "ragged.csv", "--mapping", CONTACT_MAPPING, *key)
        failures = failures_of(out)
        assert sorted(failures) == [2, 3], (key, failures)
        assert "the row has 4 cells and the header 3" in str(failures[2]["reason"])
    assert fake.find_contacts(email="fine@example.com")
    assert not fake.find_contacts(email="extra@example.com")
    _, out, _ = import_(DATA / "deep.jsonl", "--mapping", CONTACT_MAPPING)
    assert failures_of(out)[2]["reason"] == "input: invalid JSON: nested too deeply"
    assert fake.find_contacts(email="deep1@example.com")


# -- the journal --------------------------------------------------------------------------


def _rows(path: Path, count: int, start: int = 0) -> Path:
    path.write_text(
        "Full Name,Email,Phone\n"
        + "".join(f"Row {i},row{i}@example.com,+1 415 555 {i:04d}\n" for i in range(start, count))
    )
    return path


def test_a_second_run_on_a_journal_exits_at_once_naming_the_first(
    env: Path, fake: FakeHighLevel
) -> None:
    rows = _rows(env / "rows.csv", 60)
    journal = env / "import.journal"
    # The first import, in its own process, held to 20 requests a second: it takes 3 s.
    first = subprocess.Popen(
        [
            sys.executable, "-m", "ghl_async", "contacts", "import", str(rows),
            "--mapping", str(CONTACT_MAPPING), "--journal", str(journal), "-q",
            "--rate-limit", "20/1",
        ],
        env={**os.environ, "GHL_RATE_LIMIT": "20/1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while f'"pid":{first.pid}' not in (journal.read_text() if journal.exists() else ""):
            assert time.monotonic() < deadline, "the first import never started"
            assert first.poll() is None, first.communicate()
            time.sleep(0.02)
        code, out, err = import_(rows, "--mapping", CONTACT_MAPPING, "--journal", journal)
        assert (code, out) == (ExitCode.USAGE, "")
        assert f"journal in use by process {first.pid}, running since " in err
        stdout, stderr = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, stderr
    assert json.loads(stdout)["created"] == 60
    assert fake.count(operation="contacts.upsert") == 60  # not 60 + what a second run sent
    code, out, _ = import_(rows, "--mapping", CONTACT_MAPPING, "--journal", journal)
    assert (code, report_of(out)["skipped"], report_of(out)["requests"]) == (0, 60, 0)


def test_the_journal_refuses_files_that_are_not_journals(env: Path, fake: FakeHighLevel) -> None:
    rows = _rows(env / "rows.csv", 3)
    mapping = env / "mapping.toml"
    shutil.copy(CONTACT_MAPPING, mapping)
    before = mapping.read_bytes()
    for wrong in (mapping, rows):
        code, _, err = import_(rows, "--mapping", mapping, "--journal", wrong)
        assert code == ExitCode.USAGE
        assert "not a ghl_async journal" in err
    assert mapping.read_bytes() == before
    assert fake.count(operation="contacts.upsert") == 0


def test_the_journal_is_private_and_bound_to_its_input_and_mapping(
    env: Path, fake: FakeHighLevel
) -> None:
    rows = _rows(env / "rows.csv", 5)
    journal = env / "j"
    assert import_(rows, "--mapping", CONTACT_MAPPING, "--journal", journal)[0] == 0
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    # The same rules in another file, with other comments and spacing: the same mapping.
    same = env / "same.json"
    same.write_text(
        json.dumps(
            {
                "version": 1,
                "default_country": "US",
                "full_name": "Full Name",
                "fields": {"email": "Email", "phone": "Phone"},
            }
        )
    )
    code, out, _ = import_(rows, "--mapping", same, "--journal", journal)
    assert (code, report_of(out)["skipped"]) == (0, 5)
    other = env / "other.toml"
    other.write_text(CONTACT_MAPPING.read_text().replace('"US"', '"CA"'))
    code, _, err = import_(rows, "--mapping", other, "--journal", journal)
    assert code == ExitCode.USAGE
    assert "last used with another mapping" in err
    assert "--force" in err
    code, out, _ = import_(rows, "--mapping", other, "--journal", journal, "--force")
    assert (code, report_of(out)["skipped"]) == (0, 5)  # same bodies: nothing to resend
    more = _rows(env / "more.csv", 7)
    code, _, err = import_(more, "--mapping", other, "--journal", journal)
    assert code == ExitCode.USAGE
    assert f"another input ({rows}, not {more})" in err
    code, out, _ = import_(more, "--mapping", other, "--journal", journal, "--force")
    assert (code, report_of(out)["skipped"], report_of(out)["created"]) == (0, 5, 2)
    # A journal from before the guard (0644, no binding) is made private and taken as it is.
    old = env / "old.journal"
    old.write_text('{"journal":"ghl_async.bulk","version":1,"started":"2024-01-01"}\n')
    old.chmod(0o644)
    assert import_(rows, "--mapping", CONTACT_MAPPING, "--journal", old)[0] == 0
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def test_without_phonenumbers_the_core_imports_and_phone_mappings_name_the_extra(
    tmp_path: Path,
) -> None:
    script = textwrap.dedent(
        f"""
        import io, sys
        sys.modules["phonenumbers"] = None  # as if the extra were not installed
        import ghl_async, ghl_async.mapping as m
        from ghl_async.errors import ConfigError
        assert not m.HAVE_PHONENUMBERS
        m.ContactMapping(fields={{"email": "Email"}}, default_country="GB")
        try:
            m.ContactMapping(fields={{"phone": "Phone"}})
        except ConfigError as err:
            print("mapping:", err)
        from ghl_async.cli import main
        err = io.StringIO()
        code = main(["contacts", "import", {str(MESSY)!r}, "--mapping",
                     {str(CONTACT_MAPPING)!r}, "--dry-run"], stdout=io.StringIO(), stderr=err)
        print("cli:", code, err.getvalue())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "mapping: normalising phone numbers needs the 'phonenumbers' package" in result.stdout
    assert "pip install 'ghl-async[phones]'" in result.stdout
    assert "cli: 2 ghl-async: error: " in result.stdout
    assert "ghl-async[cli]" in result.stdout
