"""Parser for Graph ``fields`` expressions with modifiers and nested field lists.

``id,reactions.summary(total_count).limit(0),insights.metric(a,b).period(lifetime),from{name}``
parses into one :class:`FieldSpec` per top-level field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from tap_facebook_pages.sandbox.errors import syntax_error

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@dataclass(frozen=True)
class FieldSpec:
    """One requested field: its name, ``.modifier(args)`` calls and ``{sub,fields}``."""

    name: str
    modifiers: tuple[tuple[str, str], ...] = ()
    subfields: tuple[FieldSpec, ...] | None = None

    def modifier(self, name: str) -> str | None:
        """The raw argument text of modifier ``name`` (last one wins), or None."""
        found = None
        for key, value in self.modifiers:
            if key == name:
                found = value
        return found

    @property
    def output_key(self) -> str:
        """The key the field appears under in the response (``.as(alias)`` or its name)."""
        return self.modifier("as") or self.name


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text.replace(" ", "")
        self.pos = 0

    def fail(self, expected: str) -> NoReturn:
        found = self.text[self.pos] if self.pos < len(self.text) else "end of string"
        raise syntax_error(
            f'"Expected {expected} instead of "{found}"." at character {self.pos}: {self.text}'
        )

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() in _NAME_CHARS:
            self.pos += 1
        if start == self.pos:
            self.fail("a field name")
        return self.text[start : self.pos]

    def arguments(self) -> str:
        depth, start = 1, self.pos
        while depth:
            if self.pos >= len(self.text):
                self.fail('")"')
            depth += {"(": 1, ")": -1}.get(self.text[self.pos], 0)
            self.pos += 1
        return self.text[start : self.pos - 1]

    def field(self) -> FieldSpec:
        name = self.name()
        modifiers: list[tuple[str, str]] = []
        subfields: tuple[FieldSpec, ...] | None = None
        while self.peek() in (".", "{"):
            if self.peek() == ".":
                self.pos += 1
                modifier = self.name()
                if self.peek() != "(":
                    self.fail('"("')
                self.pos += 1
                modifiers.append((modifier, self.arguments()))
            else:
                self.pos += 1
                subfields = tuple(self.field_list("}"))
                self.pos += 1
        return FieldSpec(name, tuple(modifiers), subfields)

    def field_list(self, terminator: str) -> list[FieldSpec]:
        specs = [self.field()]
        while self.peek() == ",":
            self.pos += 1
            specs.append(self.field())
        if self.peek() != terminator:
            self.fail("end of string" if not terminator else f'"{terminator}"')
        return specs


def parse_fields(text: str) -> list[FieldSpec]:
    """Parse a ``fields`` parameter; a malformed one raises a code-2500 ``GraphError``."""
    parser = _Parser(text)
    if not parser.text:
        return []
    return parser.field_list("")
