"""What operators type becomes a request: quotes, free text, Telegram's @botname."""

from __future__ import annotations

import random

import pytest

from bench.parsing import tokenize_before
from bot.commands.base import CommandError, CommandRequest
from bot.commands.parsing import MAX_COMMAND_CHARS, parse_request, read_arguments, tokenize


def parse(text: str, bot_username: str | None = "waops_bot") -> CommandRequest | None:
    """The request as the dispatcher sees it once the sender is known (arguments read)."""
    request = parse_request(
        text, actor="tg:1", platform="telegram", channel="42", bot_username=bot_username
    )
    return None if request is None else read_arguments(request)


def test_name_and_args() -> None:
    request = parse("/Operator add tg:5 viewer haby")
    assert request is not None
    assert request.name == "operator"
    assert request.args == ("add", "tg:5", "viewer", "haby")
    assert (request.actor, request.platform, request.channel) == ("tg:1", "telegram", "42")


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ('/ai haby prompt "be brief" now', ("haby", "prompt", "be brief", "now")),
        ("/x 'single quoted' b", ("single quoted", "b")),
        ("/x “smart quotes” ok", ("smart quotes", "ok")),
        ("/reply haby 549 don't worry", ("haby", "549", "don't", "worry")),
        ('/x "never closed', ('"never', "closed")),
        ("/x 'don't stop' now", ("don't stop", "now")),
        ('/x ""', ("",)),
        ("/x \t  spaced\n\nlines  ", ("spaced", "lines")),
    ],
)
def test_quotes(text: str, args: tuple[str, ...]) -> None:
    request = parse(text)
    assert request is not None and request.args == args


def test_telegram_bot_suffix() -> None:
    mine = parse("/help@WAOPS_bot clients")
    assert mine is not None and mine.name == "help" and mine.args == ("clients",)
    assert parse("/help@other_bot") is None, "a command for another bot in the group"
    anyone = parse("/help@other_bot", bot_username=None)
    assert anyone is not None and anyone.name == "help"


def test_slash_is_optional_for_slack_and_console() -> None:
    request = parse("sessions haby")
    assert request is not None and request.name == "sessions" and request.args == ("haby",)


@pytest.mark.parametrize("text", ["", "   ", "/", "/@waops_bot"])
def test_nothing_to_run(text: str) -> None:
    assert parse(text) is None


def test_rest_keeps_free_text_as_typed() -> None:
    request = parse("/reply haby 5491112345678 Hola Ana,\n  ¿cómo   estás?")
    assert request is not None
    assert request.rest(2) == "Hola Ana,\n  ¿cómo   estás?"
    assert request.rest(9) == ""
    quoted = parse('/ai haby prompt "be brief"')
    assert quoted is not None and quoted.rest(2) == "be brief"


def test_only_the_first_word_is_read_until_the_dispatcher_asks() -> None:
    request = parse_request('/x "a b" c', actor="tg:1", platform="telegram", channel="42")
    assert request is not None
    assert (request.name, request.args, request.args_pending) == ("x", (), True)
    full = read_arguments(request)
    assert (full.args, full.arg_offsets, full.args_pending) == (("a b", "c"), (3, 9), False)
    assert read_arguments(full) is full


def test_an_over_long_text_is_an_error_naming_the_limit() -> None:
    text = "/x " + "a" * MAX_COMMAND_CHARS
    request = parse_request(text, actor="tg:1", platform="telegram", channel="42")
    assert request is not None and request.name == "x"
    with pytest.raises(CommandError) as error:
        read_arguments(request)
    assert str(MAX_COMMAND_CHARS) in error.value.text("en")
    assert str(len(text)) in error.value.text("en")
    at_limit = parse_request(text[:MAX_COMMAND_CHARS], actor="tg:1", platform="t", channel="1")
    assert at_limit is not None and len(read_arguments(at_limit).args) == 1


# Quotes of every kind, the separators str.isspace() knows beyond the space, and letters.
_ALPHABET = [*"\"'“”„«»", " ", " ", "\t", "\n", "\u00a0", "\u2003", "a", "b", "/"]


# The reference is the tokenizer as it was before issue 13 (quadratic on unclosed quotes), kept
# in bench/parsing.py as the statement of the quoting rules the linear one must follow exactly.
def test_the_linear_tokenizer_quotes_exactly_like_the_reference() -> None:
    rng = random.Random(13)
    for _ in range(20_000):
        text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 40)))
        assert tokenize(text) == tokenize_before(text), repr(text)
    for words in ('"x"x ', "'a\"b ", '"a ', "' \"", "“x”x "):
        text = words * 200
        assert tokenize(text) == tokenize_before(text), words
