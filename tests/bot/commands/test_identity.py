"""Help shows only what the caller may run, in their language; whoami, start and language."""

from __future__ import annotations

from tests.bot.commands.recording import RecordingReply
from tests.bot.commands.world import ADMIN_HABY, OWNER, VIEWER, World


async def test_help_lists_only_what_a_viewer_may_run(world: World) -> None:
    reply = await world.run(VIEWER, "/help")
    assert reply.texts == [
        "Commands you can run:\n"
        "/clients — the clients you can see\n"
        "/help [command] — what you can run here\n"
        "/language [es|en] — show or change your language\n"
        "/start — greeting; this chat will receive alerts\n"
        "/whoami — your id, role and clients"
    ]


async def test_help_for_an_owner_marks_confirmations(world: World) -> None:
    reply = await world.run(OWNER, "/help")
    assert "/operator remove <id> — take someone's access away (asks for confirmation)" in (
        reply.said
    )
    assert "/audit [n]" in reply.said


async def test_help_in_spanish_with_the_slack_prefix(world: World) -> None:
    reply = await world.run(ADMIN_HABY, "help operator", RecordingReply(command_prefix="/waops "))
    assert reply.texts == [
        "/waops operator add <id> <rol> [cliente...] — dar acceso a alguien\n"
        "/waops operator remove <id> — quitarle el acceso a alguien (pide confirmación)\n"
        "/waops operator role <id> <rol> — cambiar el rol de alguien"
    ]
    viewer = await world.run(VIEWER, "/help operator")
    assert viewer.texts == ["No command /operator that you can run. Send /help to see the list."]


async def test_whoami_and_start(world: World) -> None:
    me = await world.run(ADMIN_HABY, "/whoami")
    assert me.texts == ["Sos slack:UA\nRol: admin\nClientes: haby\nIdioma: es"]
    hello = await world.run(OWNER, "/start")
    assert hello.texts == ["Hello Olga, waops is ready. Send /help to see what you can do."]
    [ctx] = world.started
    assert (ctx.request.actor, ctx.request.channel) == (OWNER, "chat-1")


async def test_language_is_per_operator(world: World) -> None:
    assert (await world.run(VIEWER, "/language")).texts == [
        "Your language is en. Available: es, en."
    ]
    changed = await world.run(VIEWER, "/language ES")
    assert changed.texts == ["Listo, te respondo en español (es)."]
    assert (await world.run(VIEWER, "/whoami")).texts[0].startswith("Sos tg:4")
    bad = await world.run(VIEWER, "/language fr")
    assert bad.texts == ["Idioma desconocido 'fr': elegí uno de es, en."]
