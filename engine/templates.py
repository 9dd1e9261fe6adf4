"""Campaign message templates: contact-field placeholders and spintax, validated up front.

Syntax (a group is text between `{` and `}`; `|` separates its options):
- `{field}`: an identifier (letters, digits, `_`) alone in a group is always a placeholder for
  that contact field, case-insensitive (`{Name}` is `{name}`). Missing or blank renders empty.
- `{field|default}`: a placeholder with a default, when `field` is a known field: `name`, `phone`
  or one of the field names given to `Template.parse` (the client's custom field keys). With more
  options, `{name|amigo|che}`, the default is itself a choice between them.
- Any other group with two or more options is spintax: `{Hola|Buenas|Qué tal}` picks one.
  Options may hold placeholders and groups: `{Hola {name|}|Buenas}`. Empty options are allowed.
- Outside groups `{{` and `}}` are a literal `{` and `}`; inside a group braces always nest (so
  `{a|{b|c}}` works), and a group cannot start with a group at the top level: `{ {a|b} x|y}`.
- Anything else is refused when parsing, with the line and column: an unclosed `{`, a stray `}`,
  `{}`, or a one-option group that is not a field name (`{Hola amigo}`).

Rendering trims the text, collapses runs of spaces and drops the space an empty field leaves
before punctuation, so `Hola {name}, ¿cómo estás?` reads `Hola, ¿cómo estás?` without a name.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import prod

from engine.errors import InvalidInput

BUILTIN_FIELDS = frozenset({"name", "phone"})
_EMPTY = "\x00"  # marks where a group rendered empty, so the spacing around it can be mended
_EMPTY_BEFORE_PUNCTUATION = re.compile(rf"[ \t]*{_EMPTY}[{_EMPTY} \t]*(?=[,.;:!?)])")
_SPACES = re.compile(r"[ \t]{2,}")
_LINE_EDGES = re.compile(r"[ \t]*\n[ \t]*")


@dataclass(frozen=True)
class _Field:
    name: str  # casefolded
    default: _Nodes | None


@dataclass(frozen=True)
class _Choice:
    options: tuple[_Nodes, ...]


_Node = str | _Field | _Choice
_Nodes = tuple[_Node, ...]


@dataclass(frozen=True)
class Template:
    """A parsed, valid message template; render it once per recipient."""

    text: str
    nodes: _Nodes

    @classmethod
    def parse(cls, text: str, fields: Iterable[str] = ()) -> Template:
        """Parse and validate `text`; `fields` are the custom field names contacts may have."""
        if not text.strip():
            raise InvalidInput("the message template is empty; write the text to send")
        known = BUILTIN_FIELDS | {name.casefold() for name in fields}
        return cls(text, _Parser(text, known).parse())

    def render(self, fields: Mapping[str, str], rng: random.Random) -> str:
        """The message for one contact; `rng` picks the spintax options."""
        values = {
            key.casefold(): value.replace(_EMPTY, "").strip() for key, value in fields.items()
        }
        text = _render(self.nodes, values, rng)
        text = _EMPTY_BEFORE_PUNCTUATION.sub("", text).replace(_EMPTY, "")
        text = _SPACES.sub(" ", text)
        return _LINE_EDGES.sub("\n", text).strip()

    def placeholders(self) -> frozenset[str]:
        """Field names (casefolded) the template uses anywhere, defaults and choices included."""
        return frozenset(_placeholders(self.nodes))

    def variant_count(self) -> int:
        """How many different texts spintax can give one contact whose fields are all set.

        Counts combinations of options (a repeated option, which weights the pick, counts once);
        different combinations that happen to read the same are counted apart.
        """
        return _count(self.nodes)


class _Parser:
    """Recursive descent over the template text, remembering offsets for error messages."""

    def __init__(self, text: str, known_fields: frozenset[str]) -> None:
        self._text = text
        self._known = known_fields
        self._at = 0

    def parse(self) -> _Nodes:
        nodes = self._sequence(depth=0)
        if self._at < len(self._text):  # only a stray `}` or `|` stops the top level early
            raise self._error(self._at, "'}' has no matching '{'; write '}}' for a literal brace")
        return nodes

    def _sequence(self, depth: int) -> _Nodes:
        nodes: list[_Node] = []
        literal: list[str] = []
        text = self._text
        while self._at < len(text):
            char = text[self._at]
            pair = text[self._at : self._at + 2]
            if depth == 0 and pair in ("{{", "}}"):
                literal.append(char)
                self._at += 2
            elif char == "{":
                if literal:
                    nodes.append("".join(literal))
                    literal = []
                nodes.append(self._group())
            elif char == "}" or (char == "|" and depth > 0):
                break
            else:
                literal.append(char)
                self._at += 1
        if literal:
            nodes.append("".join(literal))
        return tuple(nodes)

    def _group(self) -> _Node:
        start = self._at
        self._at += 1
        options = [self._sequence(depth=1)]
        while self._text.startswith("|", self._at):
            self._at += 1
            options.append(self._sequence(depth=1))
        if not self._text.startswith("}", self._at):
            raise self._error(start, "'{' is never closed; write '{{' for a literal brace")
        self._at += 1
        first = options[0]
        head = first[0].strip() if len(first) == 1 and isinstance(first[0], str) else ""
        name = head.casefold() if head.isidentifier() else None
        if len(options) == 1:
            if name is None:
                group = self._text[start : self._at]
                raise self._error(
                    start,
                    f"{group} is neither a field like {{name}} nor a choice like "
                    "{Hola|Buenas}; write {{ and }} for literal braces",
                )
            return _Field(name, None)
        if name is not None and name in self._known:
            rest = tuple(options[1:])
            return _Field(name, rest[0] if len(rest) == 1 else (_Choice(rest),))
        return _Choice(tuple(options))

    def _error(self, offset: int, message: str) -> InvalidInput:
        line = self._text.count("\n", 0, offset) + 1
        column = offset - (self._text.rfind("\n", 0, offset) + 1) + 1
        return InvalidInput(f"template, line {line}, column {column}: {message}")


def _render(nodes: _Nodes, values: Mapping[str, str], rng: random.Random) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(node)
            continue
        if isinstance(node, _Field):
            text = values.get(node.name, "")
            if not text and node.default is not None:
                text = _render(node.default, values, rng)
        else:
            text = _render(node.options[rng.randrange(len(node.options))], values, rng)
        parts.append(text or _EMPTY)
    return "".join(parts)


def _placeholders(nodes: _Nodes) -> Iterable[str]:
    for node in nodes:
        if isinstance(node, _Field):
            yield node.name
            yield from _placeholders(node.default or ())
        elif isinstance(node, _Choice):
            for option in node.options:
                yield from _placeholders(option)


def _count(nodes: _Nodes) -> int:
    return prod(
        sum(_count(option) for option in set(node.options)) if isinstance(node, _Choice) else 1
        for node in nodes
    )
