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

Limits: groups nest at most `MAX_NESTING` deep; a new campaign's text has at most
`MAX_TEMPLATE_CHARS` characters (`max_chars`), and imported fields at most `MAX_FIELD_CHARS`.
Parsing and rendering take time linear in the text and the field values.
A `{word|...}` whose word resembles a known field, and a `{word}` no contact has, are kept as
written but reported in `Template.warnings`, so a typo like `{nmae|amigo}` is seen before sending.
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import prod

from engine.errors import InvalidInput
from engine.texts import Text, phrase

BUILTIN_FIELDS = frozenset({"name", "phone"})
# A campaign message is read on a phone: 4,096 characters is several screens already.
MAX_TEMPLATE_CHARS = 4_096
# A field value (a name, a city, a plan) imported from a CSV cell.
MAX_FIELD_CHARS = 1_000
# Real templates nest two or three deep; the bound keeps recursion far from Python's limit.
MAX_NESTING = 10
# How alike a word and a field name must be to call it a typo (difflib ratio; nmae/name: 0.75).
SIMILAR_FIELD_RATIO = 0.75
EMPTY = "\x00"  # marks where a group rendered empty, so the spacing around it can be mended
_PUNCTUATION = frozenset(",.;:!?)")
# Maximal runs only: each blank is looked at once, so mending is linear in the text. (Patterns
# like `[ \t]*\n` restart at every blank of a long run and made 60,000 spaces take seconds.)
_BLANK_RUN = re.compile(f"[ \t\n{EMPTY}]+")


@dataclass(frozen=True)
class FieldWarning:
    """A group that may not do what its author meant.

    `as_choice`: `{nmae|amigo}` is spintax between "nmae" and "amigo", not the field `name`.
    Otherwise `{nmae}` is a field no contact has (it renders empty). `suggestion` is the known
    field it resembles, if any.
    """

    written: str  # casefolded
    suggestion: str | None
    as_choice: bool


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
    warnings: tuple[FieldWarning, ...] = ()

    @classmethod
    def parse(
        cls, text: str, fields: Iterable[str] = (), *, max_chars: int | None = None
    ) -> Template:
        """Parse and validate `text`; `fields` are the custom field names contacts may have.

        `max_chars` caps the text (new campaigns pass `MAX_TEMPLATE_CHARS`; a stored campaign
        is parsed without it, so a limit lowered later never stops one already running).
        """
        if not text.strip():
            raise InvalidInput("template.empty")
        if max_chars is not None and len(text) > max_chars:
            raise InvalidInput("template.too_long", chars=len(text), max=max_chars)
        known = BUILTIN_FIELDS | {name.casefold() for name in fields}
        parser = _Parser(text, known)
        nodes = parser.parse()
        return cls(text, nodes, tuple(parser.warnings.values()))

    def render(self, fields: Mapping[str, str], rng: random.Random) -> str:
        """The message for one contact; `rng` picks the spintax options."""
        values = {key.casefold(): value.replace(EMPTY, "").strip() for key, value in fields.items()}
        parts: list[str] = []
        _render(self.nodes, values, rng, parts)
        return tidy("".join(parts))

    def placeholders(self) -> frozenset[str]:
        """Field names (casefolded) the template uses anywhere, defaults and choices included."""
        return frozenset(_placeholders(self.nodes))

    def variant_count(self) -> int:
        """How many different texts spintax can give one contact whose fields are all set.

        Counts combinations of options (a repeated option, which weights the pick, counts once);
        different combinations that happen to read the same are counted apart.
        """
        return _count(self.nodes)


def tidy(text: str) -> str:
    """Mend the spacing of a rendered text, in one pass over its runs of blanks.

    A run with line breaks becomes those line breaks (no spaces around them); a run holding an
    empty group's mark and followed by punctuation disappears; any other run of two or more
    spaces or tabs becomes one space. Then the text is trimmed.
    """

    def mend(match: re.Match[str]) -> str:
        run = match.group()
        newlines = run.count("\n")
        if newlines:
            return "\n" * newlines
        if EMPTY in run:
            if text[match.end() : match.end() + 1] in _PUNCTUATION:
                return ""
            run = run.replace(EMPTY, "")
        return " " if len(run) > 1 else run

    return _BLANK_RUN.sub(mend, text).strip()


class _Parser:
    """Recursive descent over the template text, remembering offsets for error messages."""

    def __init__(self, text: str, known_fields: frozenset[str]) -> None:
        self._text = text
        self._known = known_fields
        self._at = 0
        self.warnings: dict[tuple[str, bool], FieldWarning] = {}

    def parse(self) -> _Nodes:
        nodes = self._sequence(depth=0)
        if self._at < len(self._text):  # only a stray `}` or `|` stops the top level early
            raise self._error(self._at, phrase("template.stray_close"))
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
                nodes.append(self._group(depth + 1))
            elif char == "}" or (char == "|" and depth > 0):
                break
            else:
                literal.append(char)
                self._at += 1
        if literal:
            nodes.append("".join(literal))
        return tuple(nodes)

    def _group(self, depth: int) -> _Node:
        start = self._at
        if depth > MAX_NESTING:
            raise self._error(start, phrase("template.too_deep", max=MAX_NESTING))
        self._at += 1
        options = [self._sequence(depth)]
        while self._text.startswith("|", self._at):
            self._at += 1
            options.append(self._sequence(depth))
        if not self._text.startswith("}", self._at):
            raise self._error(start, phrase("template.unclosed"))
        self._at += 1
        first = options[0]
        head = first[0].strip() if len(first) == 1 and isinstance(first[0], str) else ""
        name = head.casefold() if head.isidentifier() else None
        if len(options) == 1:
            if name is None:
                group = self._text[start : self._at]
                raise self._error(start, phrase("template.not_field_or_choice", group=group))
            if name not in self._known:
                self._warn(name, as_choice=False)
            return _Field(name, None)
        if name is not None and name in self._known:
            rest = tuple(options[1:])
            return _Field(name, rest[0] if len(rest) == 1 else (_Choice(rest),))
        if name is not None:
            self._warn(name, as_choice=True)
        return _Choice(tuple(options))

    def _warn(self, name: str, *, as_choice: bool) -> None:
        """Note a word that may be a misspelt field; a choice counts only if it resembles one."""
        if (name, as_choice) in self.warnings:
            return
        close = difflib.get_close_matches(name, sorted(self._known), 1, SIMILAR_FIELD_RATIO)
        if as_choice and not close:
            return  # `{Hola|Buenas}`: plain spintax
        self.warnings[name, as_choice] = FieldWarning(name, close[0] if close else None, as_choice)

    def _error(self, offset: int, problem: Text) -> InvalidInput:
        line = self._text.count("\n", 0, offset) + 1
        column = offset - (self._text.rfind("\n", 0, offset) + 1) + 1
        return InvalidInput("template.at", line=line, column=column, problem=problem)


def _render(nodes: _Nodes, values: Mapping[str, str], rng: random.Random, out: list[str]) -> None:
    """Append the rendering of `nodes` to `out` (one list for the whole text: no re-joining per
    level); a group that renders nothing leaves `EMPTY` so `tidy` can mend the space around it."""
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        start = len(out)
        if isinstance(node, _Field):
            value = values.get(node.name, "")
            if value:
                out.append(value)
            elif node.default is not None:
                _render(node.default, values, rng, out)
        else:
            _render(node.options[rng.randrange(len(node.options))], values, rng, out)
        if not any(out[start:]):
            del out[start:]
            out.append(EMPTY)


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
