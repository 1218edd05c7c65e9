"""How the fake answers: HighLevel's error bodies, JSON encoding, validation messages.

HighLevel is a NestJS service, so its errors carry ``{"statusCode", "message", "error"}`` with
the reason phrase in ``error``, and validation failures (422) carry a *list* of messages written
the way ``class-validator`` writes them (``"property gender should not exist"``). msgspec reports
the first problem it meets; :func:`validation_messages` rewrites that report into the same style.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

import msgspec

__all__ = [
    "ApiFailure",
    "Reply",
    "error_body",
    "reason",
    "validation_messages",
]

ENCODER: Final = msgspec.json.Encoder()


def reason(status: int) -> str:
    """The HTTP reason phrase NestJS puts in ``error`` ("Unprocessable Entity")."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiFailure(Exception):
    """Raised by handlers to answer with a HighLevel-shaped error."""

    def __init__(
        self,
        status: int,
        message: str | list[str],
        *,
        meta: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.meta = dict(meta) if meta else None
        self.headers = dict(headers) if headers else {}


def error_body(status: int, message: str | list[str], meta: Mapping[str, object] | None) -> bytes:
    """Encode ``{"statusCode", "message", "error"}`` (plus ``meta`` when given)."""
    body: dict[str, object] = {"statusCode": status, "message": message, "error": reason(status)}
    if meta:
        body["meta"] = dict(meta)
    return ENCODER.encode(body)


@dataclass(slots=True)
class Reply:
    """A handler's answer: the JSON payload and whether the request changed state."""

    payload: object
    applied: bool = False
    status: int | None = None  # None: the route's declared success status
    headers: dict[str, str] = field(default_factory=dict)


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`")
_EXPECTED = re.compile(r"^Expected `(?P<type>[^`]+)`, got `(?P<got>[^`]+)`")
_ENUM = re.compile(r"^Invalid enum value (?P<value>.+?)(?= - at |$)")
# class-validator's wording for each JSON type msgspec names.
_MUST_BE: Final = {
    "str": "must be a string",
    "int": "must be an integer number",
    "float": "must be a number conforming to the specified constraints",
    "bool": "must be a boolean value",
    "array": "must be an array",
    "object": "must be an object",
}


def _dotted(path: str) -> str:
    # msgspec: ".customFields[0].id" -> class-validator: "customFields.0.id"
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def validation_messages(err: msgspec.ValidationError, *, root: str = "") -> list[str]:
    """Rewrite msgspec's report of the first invalid field into class-validator wording.

    ``root`` names what was decoded when the error sits at the top (``"query"`` for query
    strings), so a wrong top-level type still reads sensibly.
    """
    text = str(err)
    where = _AT.search(text)
    path = _dotted(where.group("path")) if where else ""
    head = text[: where.start()] if where else text
    if match := _UNKNOWN.match(head):
        return [f"property {_join(path, match.group('name'))} should not exist"]
    if match := _MISSING.match(head):
        return [f"{_join(path, match.group('name'))} should not be empty"]
    if match := _EXPECTED.match(head):
        subject = path or root or "body"
        types = [t.strip() for t in match.group("type").split("|") if t.strip() != "null"]
        if len(types) == 1 and types[0] in _MUST_BE:
            return [f"{subject} {_MUST_BE[types[0]]}"]
        return [f"{subject} must be one of: {', '.join(types)} (got {match.group('got')})"]
    if match := _ENUM.match(head):
        return [f"{path or root or 'value'} must be one of the allowed values"]
    return [f"{path}: {head}" if path else head]
