"""A mapping's columns checked against an input's, before anything is sent.

A misspelt column (``email = "E-mail"`` for a file whose column is ``Email``) would otherwise map
every row to "no email" without a word. Names match exactly unless the mapping opts in to
``match_columns = "loose"``: then case and spaces do not count (``" e Mail"`` is ``"EMail"``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["ColumnCheck", "ColumnMatch", "check_columns", "fold"]

ColumnMatch = Literal["exact", "loose"]
"""How column names are compared: exactly, or ignoring case and whitespace."""

_LISTED: Final = 30  # columns named in an error, closest first; a wide export has hundreds


def fold(name: str) -> str:
    """A column name without case or whitespace, for loose matching."""
    return "".join(name.split()).casefold()


def _closest(name: str, available: Sequence[str]) -> list[str]:
    key = fold(name)
    unique = list(dict.fromkeys(available))
    scores = {c: difflib.SequenceMatcher(None, key, fold(c)).ratio() for c in unique}
    return sorted(unique, key=lambda c: -scores[c])  # stable: file order breaks ties


@dataclass(frozen=True, slots=True)
class ColumnCheck:
    """How a mapping's columns meet an input's.

    ``found`` maps each column the mapping reads to the input's column (they differ only under
    loose matching); ``missing`` lists the columns the input lacks, each with the rules that
    read it (``fields.email``); ``ambiguous`` those matching several input columns (a header
    naming one column twice, or loose matches); ``unused`` the input's columns no rule reads.
    """

    available: tuple[str, ...]
    match: ColumnMatch
    found: dict[str, str]
    missing: dict[str, tuple[str, ...]]
    ambiguous: dict[str, tuple[str, ...]]
    unused: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether every column the mapping reads is found, once."""
        return not self.missing and not self.ambiguous

    def explain(self, origin: str = "the input") -> str:
        """The error text for missing and ambiguous columns (empty when :attr:`ok`)."""
        if self.ok:
            return ""
        lines = []
        for column, rules in self.missing.items():
            closest = _closest(column, self.available)
            listed = ", ".join(repr(c) for c in closest[:_LISTED])
            if len(closest) > _LISTED:
                listed += f", ... ({len(closest) - _LISTED} more)"
            line = f"  {column!r} (read by {', '.join(rules)}): no such column"
            loose = [c for c in closest if fold(c) == fold(column)]
            if loose and self.match == "exact":
                line += (
                    f"; {loose[0]!r} matches ignoring case and spaces: set "
                    'match_columns = "loose" in the mapping (or pass --loose-columns)'
                )
            lines.append(line + (f"; the columns, closest first: {listed}" if listed else ""))
        for column, matches in self.ambiguous.items():
            names = ", ".join(repr(m) for m in matches)
            lines.append(f"  {column!r}: matches {len(matches)} columns ({names}); rename them")
        count = len(self.missing) + len(self.ambiguous)
        head = f"{origin}: {count} column(s) of the mapping cannot be read, nothing was sent:"
        return "\n".join([head, *lines])


def check_columns(
    wanted: Mapping[str, Sequence[str]],
    available: Sequence[str],
    *,
    match: ColumnMatch = "exact",
    prefix: str | None = None,
) -> ColumnCheck:
    """Check the columns a mapping reads (``wanted``: column -> rules) against ``available``.

    ``prefix`` is the mapping's custom-field prefix: columns starting with it are used.
    """
    counts: dict[str, int] = {}
    for column in available:
        counts[column] = counts.get(column, 0) + 1
    folded: dict[str, list[str]] = {}
    for column in counts:
        folded.setdefault(fold(column), []).append(column)
    found: dict[str, str] = {}
    missing: dict[str, tuple[str, ...]] = {}
    ambiguous: dict[str, tuple[str, ...]] = {}
    for column, rules in wanted.items():
        if column in counts:
            candidates = [column] * counts[column]
        elif match == "loose":
            candidates = [c for c in folded.get(fold(column), []) for _ in range(counts[c])]
        else:
            candidates = []
        if not candidates:
            missing[column] = tuple(rules)
        elif len(candidates) > 1:
            ambiguous[column] = tuple(candidates)
        else:
            found[column] = candidates[0]
    used = set(found.values())
    unused = []
    for column in counts:
        parent = column.rpartition(".")[0]
        if parent and parent in counts:
            continue  # a nested JSON key: its top-level key stands for it
        if column in used or any(u.startswith(f"{column}.") for u in used):
            continue
        if prefix and column.startswith(prefix):
            continue
        unused.append(column)
    return ColumnCheck(
        available=tuple(available),
        match=match,
        found=found,
        missing=missing,
        ambiguous=ambiguous,
        unused=tuple(unused),
    )
