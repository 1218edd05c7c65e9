"""Regenerate ``demo_submissions.csv``: 2,000 made-up website form submissions.

Deterministic (fixed seed), so the committed file is exactly what this prints; a test checks
that. About one row in twenty is deliberately bad (a broken email, an impossible phone or date,
no way to reach the person) so the demo shows per-record errors that do not stop the import.
Every address is on the reserved ``example.*`` domains and every phone number is a fictional
``555-01xx`` line.

    python -m ghl_async.data.make_demo_csv > ghl_async/data/demo_submissions.csv
"""

from __future__ import annotations

import csv
import io
import random
import sys

__all__ = ["COLUMNS", "ROWS", "render"]

ROWS = 2000
SEED = 20240521
COLUMNS = (
    "Submitted At", "Full Name", "Email", "Phone", "Birthday", "Company", "Street", "City",
    "State", "ZIP", "Country", "Interests", "Newsletter", "Budget", "Heard About Us",
)  # fmt: skip


def _words(text: str) -> list[str]:
    return text.split()


_FIRST = _words(
    "Ada Alan Grace Linus Margaret Dennis Barbara Ken Frances Edsger Radia Tim Hedy Claude "
    "Katherine John Mary Donald Sophie Guido Anita Bjarne Karen Niklaus Jean Leslie Shafi "
    "Lynn Brian Carol Adele Fernando Ivan Lois Whitfield Joan Seymour Evelyn Butler Rosalind"
)
_LAST = _words(
    "Lovelace Turing Hopper Torvalds Hamilton Ritchie Liskov Thompson Allen Dijkstra Perlman "
    "Berners-Lee Lamarr Shannon Johnson McCarthy Jackson Knuth Wilson Rossum Borg Stroustrup "
    "Jones Wirth Sammet Lamport Goldwasser Conway Kernighan Shaw Goldberg Corbato Sutherland "
    "Haibt Diffie Clarke Papert Boyd Lampson Picard"
)
_PARTICLE_NAMES = ("Ludwig van Beethoven", "Maria de la Cruz", "Dr. Ana da Silva", "Kim, Lee")
_COMPANIES = ("Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "")
_PLACES = (
    ("Springfield", "IL", "62701"), ("Austin", "TX", "73301"), ("Portland", "OR", "97201"),
    ("Boston", "MA", "02108"), ("Denver", "CO", "80202"), ("Miami", "FL", "33101"),
    ("Seattle", "WA", "98101"), ("Chicago", "IL", "60601"), ("new york", "ny", "10001"),
)  # fmt: skip
_AREAS = _words("201 212 213 305 312 415 503 512 602 617 702 713 720 801 804 808 813 917 919 971")
_INTERESTS = ("pricing", "demo", "support", "partnership", "careers", "newsletter")
_HEARD = ("Search engine", "Friend", "Podcast", "Conference", "Social media", "")

# (column, bad value, what is wrong) - each used for a slice of the bad rows.
_BAD: tuple[tuple[str, str], ...] = (
    ("Email", "jane.doe at example.com"),
    ("Email", "someone@"),
    ("Email", "two@@example.com"),
    ("Phone", "555-0199"),  # 7 digits: no area code
    ("Phone", "(123) 456-7890"),  # area codes never start with 1
    ("Phone", "call me maybe"),
    ("Birthday", "31/02/1990"),  # no such date
    ("Birthday", "someday"),
    ("Birthday", "2090-01-01"),  # in the future
    ("Budget", "a lot"),
    ("Newsletter", "perhaps"),
    ("Email+Phone", ""),  # nothing to match the contact on
)


def _phone_formats(area: str, line: str, rng: random.Random) -> str:
    number = f"{area}555{line}"
    style = rng.randrange(6)
    if style == 0:
        return f"({area}) 555-{line}"
    if style == 1:
        return f"{area}.555.{line}"
    if style == 2:
        return f"+1 {area} 555 {line}"
    if style == 3:
        return f"1-{area}-555-{line}"
    if style == 4:
        return number
    return f"{area}-555-{line} x{rng.randrange(10, 99)}"


def _birthday(rng: random.Random) -> str:
    year, month, day = rng.randrange(1950, 2005), rng.randrange(1, 13), rng.randrange(1, 29)
    style = rng.randrange(5)
    if style == 0:
        return f"{year}-{month:02d}-{day:02d}"
    if style == 1:
        return f"{month}/{day}/{year}"
    if style == 2:
        months = _words("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec")
        return f"{months[month - 1]} {day}, {year}"
    if style == 3:
        return f"{month:02d}-{day:02d}-{year % 100:02d}"
    return ""


def render(rows: int = ROWS, seed: int = SEED) -> str:
    """Return the CSV text."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in range(rows):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = f"{first} {last}"
        if i % 97 == 5:
            name = _PARTICLE_NAMES[(i // 97) % len(_PARTICLE_NAMES)]
        elif i % 13 == 0:
            name = f"  {first.lower()}   {last.upper()} "
        # Unique per row, so each row is one contact and reruns match them one to one.
        email = f"{first}.{last}.{i}@example.{rng.choice(('com', 'org', 'net'))}".lower()
        if i % 11 == 0:
            email = f" {email.upper()} "
        phone = _phone_formats(_AREAS[i % 20], f"{100 + i // 20:04d}", rng)
        if i % 50 == 7:
            phone = f"+44 20 7946 0{i // 50:03d}"  # Ofcom's range for drama: never real
        if i % 9 == 0:
            phone = ""
        city, state, zip_code = rng.choice(_PLACES)
        row = {
            "Submitted At": f"2024-05-{1 + i % 28:02d}T{8 + i % 12:02d}:{i % 60:02d}:00Z",
            "Full Name": name,
            "Email": email,
            "Phone": phone,
            "Birthday": _birthday(rng),
            "Company": rng.choice(_COMPANIES),
            "Street": f"{rng.randrange(1, 9999)} {rng.choice(_LAST)} St",
            "City": city,
            "State": state,
            "ZIP": zip_code,
            "Country": "US" if i % 50 != 7 else "GB",
            "Interests": ";".join(rng.sample(_INTERESTS, rng.randrange(0, 3))),
            "Newsletter": rng.choice(("yes", "no", "", "Y", "true")),
            "Budget": rng.choice(("$500", "$1,200", "2500", "", "$10,000.50")),
            "Heard About Us": rng.choice(_HEARD),
        }
        if i % 20 == 3:  # one row in twenty is bad, cycling through the kinds of bad
            column, value = _BAD[(i // 20) % len(_BAD)]
            if column == "Email+Phone":
                row["Email"] = row["Phone"] = ""
            else:
                row[column] = value
        writer.writerow(row[c] for c in COLUMNS)
    return out.getvalue()


def main() -> None:
    """Print the CSV to standard output."""
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
