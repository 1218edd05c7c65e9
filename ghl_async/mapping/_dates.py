"""Date parsing for mapped records: many human spellings in, a ``datetime.date`` out.

HighLevel wants ``dateOfBirth`` as ``YYYY-MM-DD`` (it also accepts a few other orders, but one
unambiguous spelling is what we send). Numeric dates with the year last are read in the
mapping's ``date_order`` (``MDY`` by default, as HighLevel's own formats are); when only the
other order makes a real date (``25/12/1990`` under ``MDY``) that one is used, because it is the
only possible reading.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final, Literal

__all__ = ["DateOrder", "parse_date"]

DateOrder = Literal["MDY", "DMY"]

_MONTHS: Final[dict[str, int]] = {}
_NAMES = "january february march april may june july august september october november december"
for _number, _name in enumerate(_NAMES.split(), start=1):
    _MONTHS[_name] = _number
    _MONTHS[_name[:3]] = _number
_MONTHS["sept"] = 9

# A time part after the date ("1990-03-05T00:00:00Z", "03/05/1990 14:00") is ignored.
_TIME = re.compile(r"[T\s]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2}|[AP]M)?$", re.I)
_YEAR_FIRST = re.compile(r"^(\d{4})[-/._](\d{1,2})[-/._](\d{1,2})$")
_YEAR_LAST = re.compile(r"^(\d{1,2})[-/._](\d{1,2})[-/._](\d{2}|\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TOKENS = re.compile(r"[A-Za-z]+|\d+")


def _year(text: str, today: dt.date) -> int:
    if len(text) == 4:
        return int(text)
    # Two-digit years: the most recent past year with those digits (birth dates are past).
    year = 2000 + int(text)
    return year if year <= today.year else year - 100


def _make(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"no such date: {year:04d}-{month:02d}-{day:02d}") from None


def _numeric_year_last(a: int, b: int, year: int, order: DateOrder) -> dt.date:
    month, day = (a, b) if order == "MDY" else (b, a)
    if month > 12 and day <= 12:
        # The configured order is impossible and the other one is not: it is the only reading.
        month, day = day, month
    return _make(year, month, day)


def _with_month_name(text: str, today: dt.date) -> dt.date | None:
    tokens = _TOKENS.findall(text)
    words = [t for t in tokens if t.isalpha()]
    numbers = [t for t in tokens if t.isdigit()]
    if len(words) != 1 or len(numbers) != 2:
        return None
    month = _MONTHS.get(words[0].lower())
    if month is None:
        return None
    # One number is the day (1-2 digits), the other the year (4 digits, or the one > 31).
    first, second = numbers
    if len(first) == 4 or (len(second) <= 2 and int(first) > 31):
        year_text, day_text = first, second
    else:
        day_text, year_text = first, second
    return _make(_year(year_text, today), month, int(day_text))


def parse_date(text: str, *, order: DateOrder = "MDY", today: dt.date | None = None) -> dt.date:
    """Parse one date written the way people write dates.

    Accepts ``YYYY-MM-DD`` (any of ``-/._`` as separator, optionally followed by a time),
    ``YYYYMMDD``, numeric dates with the year last in ``order``, two-digit years, and month
    names in English (``March 5, 1990``, ``5 Mar 1990``, ``05-Mar-90``).

    Raises:
        ValueError: with the reason the text is not a date.
    """
    today = today or dt.date.today()
    raw = _TIME.sub("", text.strip())
    if not raw:
        raise ValueError("empty date")
    if match := _YEAR_FIRST.match(raw) or _COMPACT.match(raw):
        return _make(int(match[1]), int(match[2]), int(match[3]))
    if match := _YEAR_LAST.match(raw):
        return _numeric_year_last(int(match[1]), int(match[2]), _year(match[3], today), order)
    named = _with_month_name(raw, today)
    if named is not None:
        return named
    raise ValueError(f"not a date: {text.strip()!r}")
