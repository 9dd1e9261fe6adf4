"""From what an operator typed to a `CommandRequest`: `/cmd@bot args "quoted arg" free text`."""

from __future__ import annotations

from bot.commands.base import CommandRequest

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_QUOTES = "\"'"


def tokenize(text: str) -> list[tuple[str, int]]:
    """Words with where they start; a quote opens only at the start of a word.

    Like shell quoting, `"two words"` is one argument, but an apostrophe inside a word
    (`don't`) or a quote that is never closed stays literal: chat text is not shell code.
    """
    text = text.translate(_SMART_QUOTES)
    tokens: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        if text[i] in _QUOTES:
            close = _closing_quote(text, i)
            if close is not None:
                tokens.append((text[i + 1 : close], start))
                i = close + 1
                continue
        while i < n and not text[i].isspace():
            i += 1
        tokens.append((text[start:i], start))
    return tokens


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

    The leading `/` is optional (the Slack slash command and the console pass the rest of the
    line). `cmd@name` is Telegram's way to address a bot in a group: kept when `name` is
    `bot_username` (or when the adapter does not say), ignored otherwise.
    """
    tokens = tokenize(text)
    if not tokens:
        return None
    head = tokens[0][0].removeprefix("/")
    name, _, addressee = head.partition("@")
    if addressee and bot_username and addressee.lower() != bot_username.lower().lstrip("@"):
        return None
    if not name:
        return None
    rest = tokens[1:]
    return CommandRequest(
        name=name.lower(),
        args=tuple(word for word, _ in rest),
        raw_text=text.translate(_SMART_QUOTES),
        actor=actor,
        platform=platform,
        channel=channel,
        language=language,
        arg_offsets=tuple(offset for _, offset in rest),
    )
