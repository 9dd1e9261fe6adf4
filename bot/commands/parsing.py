"""From what an operator typed to a `CommandRequest`: `/cmd@bot args "quoted arg" free text`.

Reading happens in two steps so that a stranger costs nothing: `parse_request` reads only the
command word, and the dispatcher calls `read_arguments` once it knows who is asking. Both are
one linear pass, and the text read is capped at `MAX_COMMAND_CHARS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Final

from bot.commands.base import CommandError, CommandRequest

MAX_COMMAND_CHARS: Final = 16_000
"""The longest command text read. Telegram messages stop at 4,096 characters; Slack's go to
40,000, more than any template (4,096) or AI text an operator types needs."""

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_QUOTES = "\"'"
# For str patterns `\s` is exactly str.isspace() (both use Py_UNICODE_ISSPACE).
_SPACES = re.compile(r"\s*")
_WORD = re.compile(r"\S+")


def tokenize(text: str) -> list[tuple[str, int]]:
    """Words with where they start; a quote opens only at the start of a word.

    Like shell quoting, `"two words"` is one argument, but an apostrophe inside a word
    (`don't`) or a quote that is never closed stays literal: chat text is not shell code.
    """
    return list(_tokens(text.translate(_SMART_QUOTES)))


def _tokens(text: str) -> Iterator[tuple[str, int]]:
    """The words of `text` (smart quotes already translated), lazily, in linear time.

    A quote closes at the first same quote that ends a word. Searches for a closer cover
    disjoint stretches, and once none is found for a kind of quote there is none further on
    either, so that kind is never searched for again: `"x"x "x"x ...` costs one scan, not one
    per word.
    """
    unclosed: set[str] = set()
    i, n = 0, len(text)
    while (i := _end(_SPACES.match(text, i))) < n:
        start, quote = i, text[i]
        if quote in _QUOTES and quote not in unclosed:
            close = _closing_quote(text, i)
            if close is not None:
                yield text[i + 1 : close], start
                i = close + 1
                continue
            unclosed.add(quote)
        i = _end(_WORD.match(text, i))
        yield text[start:i], start


def _end(match: re.Match[str] | None) -> int:
    assert match is not None  # both patterns match at any position before the end
    return match.end()


def _closing_quote(text: str, open_at: int) -> int | None:
    """The matching quote that ends a word (followed by whitespace or the end), if any."""
    quote = text[open_at]
    search = open_at + 1
    while (close := text.find(quote, search)) != -1:
        if close + 1 == len(text) or text[close + 1].isspace():
            return close
        search = close + 1
    return None


def parse_request(
    text: str,
    *,
    actor: str,
    platform: str,
    channel: str,
    language: str | None = None,
    bot_username: str | None = None,
) -> CommandRequest | None:
    """The command in `text`, or None when there is none or it is addressed to another bot.

    Only the command word is read: the arguments stay pending (`args_pending`) until the
    dispatcher has identified the sender and calls `read_arguments`.
    The leading `/` is optional (the Slack slash command and the console pass the rest of the
    line). `cmd@name` is Telegram's way to address a bot in a group: kept when `name` is
    `bot_username` (or when the adapter does not say), ignored otherwise.
    """
    text = text.translate(_SMART_QUOTES)
    first = next(_tokens(text), None)
    if first is None:
        return None
    head = first[0].removeprefix("/")
    name, _, addressee = head.partition("@")
    if addressee and bot_username and addressee.lower() != bot_username.lower().lstrip("@"):
        return None
    if not name:
        return None
    return CommandRequest(
        name=name.lower(),
        args=(),
        raw_text=text,
        actor=actor,
        platform=platform,
        channel=channel,
        language=language,
        args_pending=True,
    )


def read_arguments(request: CommandRequest) -> CommandRequest:
    """`request` with its arguments read from its text (as is when they already were).

    CommandError when the text is longer than `MAX_COMMAND_CHARS`.
    """
    if not request.args_pending:
        return request
    text = request.raw_text
    if len(text) > MAX_COMMAND_CHARS:
        raise CommandError("limits.too_long", chars=len(text), limit=MAX_COMMAND_CHARS)
    rest = list(_tokens(text))[1:]
    return replace(
        request,
        args=tuple(word for word, _ in rest),
        arg_offsets=tuple(offset for _, offset in rest),
        args_pending=False,
    )
