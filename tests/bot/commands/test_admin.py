"""Administration rules: who may grant which role, scopes, the last owner, lists and audit."""

from __future__ import annotations

from sqlalchemy import text as sql

from bot.commands.confirmations import ConfirmOutcome
from storage.records import AuditResult, Role
from tests.bot.commands.world import (
    ADMIN,
    ADMIN_HABY,
    OPERATOR_HABY,
    OWNER,
    VIEWER,
    World,
)


async def test_owners_grant_any_role_admins_only_lower_ones(world: World) -> None:
    added = await world.run(OWNER, "/operator add tg:10 owner")
    assert added.texts == ["tg:10 can now use waops as owner (all clients)."]
    for role in ("owner", "admin"):
        denied = await world.run(ADMIN, f"/operator add tg:11 {role}")
        assert denied.texts == [f"You cannot grant the {role} role."]
    await world.run(ADMIN, "/operator add tg:11 operator marketing")
    assert await world.role_of("tg:11") is Role.OPERATOR
    promote = await world.run(ADMIN, "/operator role tg:11 owner")
    assert promote.texts == ["You cannot grant the owner role."]
    assert (await world.audit())[-1].result is AuditResult.DENIED


async def test_admins_manage_only_lower_roles_in_their_clients(world: World) -> None:
    other_admin = await world.run(ADMIN, "/operator role slack:UA viewer")
    assert other_admin.texts == ["You cannot change operator slack:UA."]
    await world.run(OWNER, "/operator add tg:12 operator marketing")
    scoped = await world.run(ADMIN_HABY, "/operator role tg:12 viewer")
    assert scoped.texts == ["No podés modificar al operador tg:12."]
    unscoped_target = await world.run(ADMIN_HABY, "/operator remove tg:4")
    assert unscoped_target.texts == ["No podés modificar al operador tg:4."]
    mine = await world.run(ADMIN_HABY, "/operator role tg:3 viewer")
    assert mine.texts == ["tg:3 ahora es viewer."]
    assert await world.role_of(OPERATOR_HABY) is Role.VIEWER
    needs = await world.run(ADMIN_HABY, "/operator add tg:13 viewer")
    assert needs.texts == ["Indicá qué clientes puede ver este operador (los tuyos: haby)."]


async def test_the_last_owner_stays(world: World) -> None:
    demote = await world.run(OWNER, "/operator role tg:1 admin")
    assert demote.texts == ["tg:1 is the last owner: add another owner first."]
    remove = await world.run(OWNER, "/operator remove tg:1")
    assert (
        remove.texts == ["tg:1 is the last owner: add another owner first."] and not remove.prompts
    )
    await world.run(OWNER, "/operator add tg:20 owner")
    proposal = await world.run(OWNER, "/operator remove tg:1")
    token = proposal.prompts[0].token  # leaving is fine while another owner stays
    await world.run("tg:20", "/operator role tg:20 admin")  # ...but tg:20 steps down meanwhile
    outcome, reply = await world.press(OWNER, token)
    assert outcome is ConfirmOutcome.DENIED
    assert reply.texts == ["tg:1 is the last owner: add another owner first."]
    assert await world.role_of(OWNER) is Role.OWNER and await world.role_of("tg:20") is Role.ADMIN


async def test_bad_arguments_are_explained(world: World) -> None:
    cases = {
        "/operator add tg:30 boss": (
            "Unknown role 'boss': choose one of owner, admin, operator, viewer."
        ),
        "/operator add @ana viewer": (
            "'@ana' is not an operator id: use tg:<numeric user id>, slack:<user id> or console."
        ),
        "/operator add tg:4 viewer": (
            "tg:4 is already an operator; use /operator role to change the role."
        ),
        "/operator add tg:30 viewer nope": (
            "Some of these clients do not exist: nope. See /clients."
        ),
        "/operator role tg:404 viewer": "There is no operator tg:404. See /operators.",
        "/operator role tg:4 viewer": "tg:4 is already viewer.",
        "/audit lots": "'lots' is not a count: use a number from 1 to 200.",
        "/audit 0": "'0' is not a count: use a number from 1 to 200.",
    }
    for text, expected in cases.items():
        reply = await world.run(OWNER, text)
        assert reply.texts == [expected], text


async def test_lists_show_only_visible_clients_and_operators(world: World) -> None:
    everything = await world.run(OWNER, "/clients")
    assert everything.texts == [
        "Clients (2):\n"
        "haby — Haby (AR, America/Argentina/Buenos_Aires)\n"
        "marketing — Marketing (AR, America/Argentina/Buenos_Aires)"
    ]
    scoped = await world.run(OPERATOR_HABY, "/clients")
    assert "marketing" not in scoped.said and "haby — Haby" in scoped.said
    await world.run(OWNER, "/operator add tg:40 viewer marketing")
    people = await world.run(ADMIN_HABY, "/operators")
    assert people.texts == [
        "Operadores (2):\nslack:UA — admin — haby — es\ntg:3 — operator — haby — -"
    ]
    everyone = await world.run(ADMIN, "/operators")
    assert everyone.said.count("\n") == 6 and "tg:40 — viewer — marketing" in everyone.said


async def test_audit_lists_recent_commands_scoped_to_visible_clients(world: World) -> None:
    await world.run(OWNER, "/operator add tg:50 viewer haby")
    await world.run(OWNER, "/operator add tg:51 viewer marketing")
    log = await world.run(ADMIN, "/audit 2")
    lines = log.texts[0].split("\n")
    assert lines[0] == "Last 2 commands (UTC, newest first):"
    assert lines[1].endswith("tg:1 /operator add tg:51 viewer marketing → ok")
    scoped = await world.run(ADMIN_HABY, "/audit")
    assert "tg:50" in scoped.said and "tg:51" not in scoped.said
    denied = await world.run(VIEWER, "/audit")
    assert denied.texts == ["You need the admin role or higher for audit."]


async def test_a_scoped_admin_whose_clients_are_deleted_sees_and_grants_nothing(
    world: World,
) -> None:
    """An empty scope used to mean every client: deleting haby made its admin global."""
    await world.run(OWNER, "/operator add tg:51 viewer marketing")
    async with world.db.engine.begin() as connection:
        await connection.execute(sql("DELETE FROM clients WHERE slug = 'haby'"))
    asks = {
        "/clients": "No hay clientes que puedas ver.",
        "/audit": "El registro de auditoría está vacío.",
        "/operators": "Operadores (1):\nslack:UA — admin — ningún cliente — es",
        "/operator add tg:60 viewer": (
            "Indicá qué clientes puede ver este operador (los tuyos: ningún cliente)."
        ),
        "/operator add tg:60 viewer marketing": "No tenés acceso al cliente 'marketing'.",
        "/operator role tg:4 operator": "No podés modificar al operador tg:4.",
        "/operator remove tg:51": "No podés modificar al operador tg:51.",
    }
    for ask, expected in asks.items():
        reply = await world.run(ADMIN_HABY, ask)
        assert reply.texts == [expected], ask
    assert await world.role_of("tg:60") is None and await world.role_of(VIEWER) is Role.VIEWER
    whoami = await world.run(ADMIN_HABY, "/whoami")
    assert "Clientes: ningún cliente" in whoami.said
    listed = await world.run(OWNER, "/operators")
    assert "tg:3 — operator — no clients — -" in listed.said
    assert "tg:4 — viewer — all clients — -" in listed.said


async def test_only_operators_of_every_client_grant_every_client(world: World) -> None:
    await world.run(ADMIN, "/operator add tg:61 viewer")
    added = await world.run(OWNER, "/operators")
    assert "tg:61 — viewer — all clients" in added.said
    scoped = await world.run(ADMIN_HABY, "/operator add tg:62 viewer")
    assert scoped.texts == ["Indicá qué clientes puede ver este operador (los tuyos: haby)."]
