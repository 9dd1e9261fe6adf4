"""What operators type becomes a request: quotes, free text, Telegram's @botname."""

from __future__ import annotations

import pytest

from bot.commands.base import CommandRequest
from bot.commands.parsing import parse_request


def parse(text: str, bot_username: str | None = "waops_bot") -> CommandRequest | None:
    return parse_request(
        text, actor="tg:1", platform="telegram", channel="42", bot_username=bot_username
    )


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
