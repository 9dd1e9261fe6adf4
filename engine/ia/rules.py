"""Rule replies: per-client canned answers to keywords ("horario => Abrimos de 9 a 18").

Triggers match accent/case-insensitively on whole words; the first matching rule wins.
Operators write rules as text, one per line: `trigger | other trigger => answer`.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InvalidInput
from engine.ia.text import contains_phrase, words

SEPARATOR = "=>"
ALTERNATIVES = "|"


@dataclass(frozen=True)
class RuleReply:
    """Answer `answer` when a message mentions any of `triggers`."""

    triggers: tuple[str, ...]
    answer: str

    def matches(self, text_words: list[str]) -> bool:
        """Whether any trigger appears as whole words in the (normalised) message words."""
        return any(contains_phrase(text_words, trigger) for trigger in self.triggers)


@dataclass(frozen=True)
class RuleSet:
    """A client's rules in priority order."""

    rules: tuple[RuleReply, ...] = ()

    def match(self, text: str) -> RuleReply | None:
        """The first rule that matches `text`, or None."""
        text_words = words(text)
        return next((rule for rule in self.rules if rule.matches(text_words)), None)

    def answer_for(self, text: str) -> str | None:
        """The canned answer for `text`, or None when no rule matches."""
        rule = self.match(text)
        return rule.answer if rule is not None else None

    def to_text(self) -> str:
        """The rules in the same line format `parse_rules` reads."""
        return "\n".join(
            f" {ALTERNATIVES} ".join(rule.triggers) + f" {SEPARATOR} {rule.answer}"
            for rule in self.rules
        )


def parse_rules(text: str) -> RuleSet:
    """Read `trigger | trigger => answer` lines; blank lines and `#` comments are skipped.

    Raises `InvalidInput` naming the line number for a line without `=>`, without a trigger
    or without an answer.
    """
    rules: list[RuleReply] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if SEPARATOR not in line:
            raise InvalidInput("rules.no_arrow", line=number)
        left, answer = (part.strip() for part in line.split(SEPARATOR, 1))
        triggers = tuple(t.strip() for t in left.split(ALTERNATIVES) if words(t))
        if not triggers:
            raise InvalidInput("rules.no_keyword", line=number)
        if not answer:
            raise InvalidInput("rules.no_answer", line=number)
        rules.append(RuleReply(triggers, answer))
    return RuleSet(tuple(rules))
