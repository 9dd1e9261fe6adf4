"""The dispatcher: strangers refused, roles and client scope enforced, one error path, audit."""

from __future__ import annotations

import logging

import pytest

from bot.commands.base import Command, CommandContext, CommandError, CommandRequest, Proposal
from bot.commands.parsing import MAX_COMMAND_CHARS, parse_request
from engine.errors import InvalidInput
from storage.records import AuditResult, Role
from tests.bot.commands.recording import RecordingReply
from tests.bot.commands.world import (
    ADMIN,
    ADMIN_HABY,
    OPERATOR_HABY,
    OWNER,
    STRANGER,
    VIEWER,
    World,
)


def _add_probe_commands(world: World) -> list[tuple[str, ...]]:
    """Test-only commands: one naming a client, and some that fail in each way."""
    seen: list[tuple[str, ...]] = []

    async def probe(ctx: CommandContext) -> Proposal | None:
        seen.append(ctx.args)
        await ctx.reply.text(f"probed {ctx.args[0]}")
        return None

    async def boom(ctx: CommandContext) -> Proposal | None:
        await ctx.reply.text("working on it")
        raise RuntimeError("kaboom: secret internals")

    async def refuse(ctx: CommandContext) -> Proposal | None:
        raise CommandError("operator.not_found", id="tg:77", hint="/operators")

    async def invalid(ctx: CommandContext) -> Proposal | None:
        raise InvalidInput("unknown time zone 'Mars/Base': use an IANA name")

    async def forgot_to_propose(ctx: CommandContext) -> Proposal | None:
        return None

    world.dispatcher.registry.extend(
        [
            Command("probe", probe, role=Role.OPERATOR, client_arg=0, min_args=1),
            Command("boom", boom, role=Role.VIEWER),
            Command("refuse", refuse, role=Role.VIEWER),
            Command("invalid", invalid, role=Role.VIEWER),
            Command("sloppy", forgot_to_propose, role=Role.VIEWER, destructive=True),
        ]
    )
    return seen


async def test_strangers_get_one_refusal_and_nothing_else(world: World) -> None:
    replies = [
        await world.run(STRANGER, text)
        for text in ["/help", "/operators", "/nonsense", "/operator add tg:999 owner"]
    ]
    first = replies[0]
    assert len(first.texts) == 1 and not first.sent_anything_but_text
    assert "not allowed" in first.texts[0] and "tg:999" in first.texts[0]
    assert "/" not in first.texts[0], "no command names, no hints"
    for reply in replies[1:]:
        assert reply.texts == [] and not reply.sent_anything_but_text, "one per window"
    entries = await world.audit()
    assert [(e.actor, e.result, e.detail) for e in entries] == [
        (STRANGER, AuditResult.DENIED, "unknown user")
    ]
    assert await world.role_of(STRANGER) is None


async def test_a_stranger_is_refused_in_the_platform_language(world: World) -> None:
    reply = RecordingReply()
    await world.dispatcher.dispatch(_request("tg:55", "/start", "es-AR"), reply)
    assert reply.texts == ["No tenés permiso para usar este bot. (Tu id: tg:55)"]


async def test_a_viewer_cannot_run_operator_commands(world: World) -> None:
    reply = await world.run(VIEWER, "/operator add tg:50 viewer")
    assert reply.texts == ["You need the admin role or higher for operator add."]
    assert await world.role_of("tg:50") is None
    reply = await world.run(VIEWER, "/operator")
    assert reply.texts == ["You need the admin role or higher for operator."]
    last = (await world.audit())[-2]
    assert (last.command, last.result, last.args) == (
        "operator add",
        AuditResult.DENIED,
        "tg:50 viewer",
    )


async def test_an_operator_of_one_client_cannot_name_another(world: World) -> None:
    seen = _add_probe_commands(world)
    denied = await world.run(OPERATOR_HABY, "/probe marketing")
    assert denied.texts == ["You don't have access to client 'marketing'."]
    allowed = await world.run(OPERATOR_HABY, "/probe HABY")
    assert allowed.texts == ["probed haby"], "slugs are compared lowercase"
    assert seen == [("haby",)]
    assert [(e.client_slug, e.result) for e in (await world.audit())] == [
        ("marketing", AuditResult.DENIED),
        ("haby", AuditResult.OK),
    ]
    viewer = await world.run(VIEWER, "/probe haby")
    assert viewer.texts == ["You need the operator role or higher for probe."]


async def test_a_scoped_admin_cannot_grant_another_client(world: World) -> None:
    denied = await world.run(ADMIN_HABY, "/operator add tg:60 viewer haby marketing")
    assert denied.texts == ["No tenés acceso al cliente 'marketing'."]
    assert await world.role_of("tg:60") is None
    await world.run(ADMIN_HABY, "/operator add tg:60 viewer haby")
    assert await world.role_of("tg:60") is Role.VIEWER


async def test_unknown_commands_usage_and_groups(world: World) -> None:
    unknown = await world.run(ADMIN, "/frobnicate now")
    assert unknown.texts == ["Unknown command /frobnicate. Send /help to see what you can run."]
    group = await world.run(ADMIN, "/operator")
    assert group.texts == [
        "Use one of:\n/operator add <id> <role> [client...]\n/operator remove <id>"
        "\n/operator role <id> <role>"
    ]
    usage = await world.run(ADMIN, "/operator add tg:70")
    assert usage.texts == ["Usage: /operator add <id> <role> [client...]"]
    slack = await world.run(ADMIN_HABY, "operator role slack:UB")
    assert slack.texts == ["Uso: /operator role <id> <rol>"]
    results = [(e.command, e.result) for e in await world.audit()]
    assert results == [
        ("frobnicate", AuditResult.ERROR),
        ("operator", AuditResult.ERROR),
        ("operator add", AuditResult.ERROR),
        ("operator role", AuditResult.ERROR),
    ]


async def test_expected_errors_say_what_to_do(world: World) -> None:
    _add_probe_commands(world)
    refused = await world.run(VIEWER, "/refuse")
    assert refused.texts == ["There is no operator tg:77. See /operators."]
    invalid = await world.run(VIEWER, "/invalid")
    assert invalid.texts == ["Could not do it: unknown time zone 'Mars/Base': use an IANA name"]
    entries = await world.audit()
    assert [(e.result, e.detail) for e in entries] == [
        (AuditResult.ERROR, "There is no operator tg:77. See /operators."),
        (AuditResult.ERROR, "unknown time zone 'Mars/Base': use an IANA name"),
    ]


async def test_unexpected_errors_give_a_reference_and_log_the_details(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _add_probe_commands(world)
    with caplog.at_level(logging.ERROR, logger="bot.commands.dispatcher"):
        reply = await world.run(VIEWER, "/boom")
    assert reply.texts[0] == "working on it"
    [answer] = reply.texts[1:]
    assert "kaboom" not in answer and "Traceback" not in answer
    [incident] = world.incidents
    assert f"reference {incident.ref}" in answer
    assert incident.request.actor == VIEWER and "kaboom" in incident.traceback
    [record] = caplog.records
    assert incident.ref in record.getMessage() and record.exc_info is not None
    [entry] = await world.audit()
    assert entry.result is AuditResult.ERROR and entry.detail is not None
    assert entry.detail.startswith(f"ref {incident.ref}: RuntimeError: kaboom")


async def test_a_failing_hook_or_platform_does_not_escape(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _add_probe_commands(world)

    async def broken_hook(_: object) -> None:
        raise OSError("admin channel down")

    world.dispatcher.on_unexpected = broken_hook
    with caplog.at_level(logging.ERROR):
        result = await world.dispatcher.dispatch(
            _request(VIEWER, "/boom"), RecordingReply(broken=True)
        )
    assert result is AuditResult.ERROR
    assert "on_unexpected hook failed" in caplog.text
    assert "could not deliver a reply" in caplog.text
    assert [e.result for e in await world.audit()] == [AuditResult.ERROR]


async def test_a_destructive_command_that_does_not_propose_is_a_bug(world: World) -> None:
    _add_probe_commands(world)
    reply = await world.run(VIEWER, "/sloppy")
    assert "reference" in reply.said and not reply.prompts
    assert "did not propose" in world.incidents[0].traceback


async def test_every_outcome_is_audited(world: World) -> None:
    await world.run(OWNER, "/whoami")
    await world.run(VIEWER, "/audit")
    await world.run(OWNER, "/operator role tg:404 viewer")
    await world.run(OWNER, "/operator remove tg:4")
    await world.run(STRANGER, "/whoami")
    entries = await world.audit()
    assert [(e.actor, e.platform, e.command, e.args, e.result) for e in entries] == [
        (OWNER, "telegram", "whoami", "", AuditResult.OK),
        (VIEWER, "telegram", "audit", "", AuditResult.DENIED),
        (OWNER, "telegram", "operator role", "tg:404 viewer", AuditResult.ERROR),
        (OWNER, "telegram", "operator remove", "tg:4", AuditResult.PROPOSED),
        (STRANGER, "telegram", "whoami", "", AuditResult.DENIED),
    ]


def _request(actor: str, text: str, language: str | None = None) -> CommandRequest:
    request = parse_request(text, actor=actor, platform="telegram", channel="1", language=language)
    assert request is not None
    return request


# Every word opens a quote that nothing closes: 40,000 characters the old parser took ~16 s on.
HOSTILE_ARGS = '"x"x ' * 8_000


async def test_a_stranger_is_refused_before_the_rest_of_the_text_is_read(world: World) -> None:
    reply = await world.run(STRANGER, "/operator add " + HOSTILE_ARGS)
    assert reply.texts == ["You are not allowed to use this bot. (Your id: tg:999)"]
    [entry] = await world.audit()
    assert (entry.actor, entry.command, entry.result, entry.detail) == (
        STRANGER,
        "operator",
        AuditResult.DENIED,
        "unknown user",
    )
    assert entry.args == "", "nothing past the first word was parsed for a stranger"


async def test_an_over_long_command_is_refused_saying_the_limit(world: World) -> None:
    text = "/campaign new haby main feria " + "Hola " * (MAX_COMMAND_CHARS // 5)
    reply = await world.run(OWNER, text)
    assert reply.texts == [
        f"That command has {len(text)} characters; at most {MAX_COMMAND_CHARS} are read. "
        "Shorten it."
    ]
    [entry] = await world.audit()
    assert (entry.command, entry.args, entry.result) == ("campaign", "", AuditResult.ERROR)
    assert world.incidents == []
    hostile = await world.run(OWNER, "/operator add " + HOSTILE_ARGS)
    assert f"at most {MAX_COMMAND_CHARS} are read" in hostile.said
