"""Administration: /clients, /operators, /operator add|remove|role, /audit.

Who may grant or change what is a rule about the *target*, so it lives here; whether the caller
may run the command at all is declared on each `Command` and checked by the dispatcher.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.commands.base import Command, CommandContext, CommandError, Denied, Proposal
from bot.commands.identity import scope_text
from engine.directory import Directory, check_platform_id
from engine.errors import InvalidInput
from storage.db import AlreadyExists, LastOwner, NotFound
from storage.records import ALL_CLIENTS, AuditEntry, Operator, Role
from storage.repos import AuditRepo

AUDIT_DEFAULT = 20
AUDIT_MAX = 200


def may_grant(actor: Operator, role: Role) -> bool:
    """Owners grant any role; everyone else only roles below their own."""
    return actor.role is Role.OWNER or role.rank < actor.role.rank


def may_manage(actor: Operator, target: Operator) -> bool:
    """Owners manage anyone in their scope; admins manage lower roles scoped to their clients.
    A scoped caller never manages an operator of every client, nor one left with no client."""
    if actor.role is not Role.OWNER and target.role.rank >= actor.role.rank:
        return False
    if actor.all_clients:
        return True
    if target.all_clients or not target.client_slugs:
        return False
    return all(actor.may_see(s) for s in target.client_slugs)


def may_list(actor: Operator, other: Operator) -> bool:
    """Scoped callers see themselves and operators sharing one of their clients."""
    if actor.all_clients or other.platform_id == actor.platform_id:
        return True
    return any(actor.may_see(slug) for slug in other.client_slugs)


def parse_role(value: str) -> Role:
    try:
        return Role(value.lower())
    except ValueError:
        raise CommandError(
            "operator.bad_role", value=value, choices=", ".join(r.value for r in Role)
        ) from None


class AdminCommands:
    """Clients, operators and the audit log, backed by the directory and the audit repo."""

    def __init__(self, directory: Directory, audit: AuditRepo) -> None:
        self._directory = directory
        self._audit = audit

    def commands(self) -> list[Command]:
        admin = Role.ADMIN
        return [
            Command("clients", self.clients, role=Role.VIEWER, max_args=0),
            Command("operators", self.operators, role=admin, max_args=0),
            Command(
                "operator add",
                self.add,
                role=admin,
                client_arg=2,
                client_arg_repeats=True,
                min_args=2,
            ),
            Command(
                "operator remove",
                self.remove,
                role=admin,
                destructive=True,
                min_args=1,
                max_args=1,
            ),
            Command("operator role", self.set_role, role=admin, min_args=2, max_args=2),
            Command("audit", self.audit, role=admin, max_args=1),
        ]

    async def clients(self, ctx: CommandContext) -> Proposal | None:
        clients = [c for c in await self._directory.clients.list() if ctx.operator.may_see(c.slug)]
        if not clients:
            await ctx.say("clients.none")
            return None
        lines = [ctx.t("clients.header", count=len(clients))]
        lines += [f"{c.slug} — {c.name} ({c.region}, {c.timezone})" for c in clients]
        await ctx.send("\n".join(lines), filename="clients.txt")
        return None

    async def operators(self, ctx: CommandContext) -> Proposal | None:
        found = [o for o in await self._directory.operators.list() if may_list(ctx.operator, o)]
        lines = [ctx.t("operators.header", count=len(found))]
        lines += [
            f"{o.platform_id} — {o.role.value} — {scope_text(ctx, o)} — {o.language or '-'}"
            for o in found
        ]
        await ctx.send("\n".join(lines), filename="operators.txt")
        return None

    async def add(self, ctx: CommandContext) -> Proposal | None:
        platform_id, role, clients = ctx.args[0], parse_role(ctx.args[1]), ctx.args[2:]
        try:
            check_platform_id(platform_id)
        except InvalidInput:
            raise CommandError("operator.bad_id", value=platform_id) from None
        if not may_grant(ctx.operator, role):
            raise Denied("operator.denied_grant", role=role.value)
        # No clients named means every client, which only an operator of every client grants;
        # named clients are checked against the caller's scope by the dispatcher.
        if not clients and not ctx.operator.all_clients:
            raise Denied("operator.needs_clients", clients=scope_text(ctx, ctx.operator))
        try:
            added = await self._directory.add_operator(
                platform_id, role.value, clients or ALL_CLIENTS
            )
        except AlreadyExists:
            raise CommandError(
                "operator.exists", id=platform_id, hint=ctx.command_text("operator role")
            ) from None
        except NotFound:
            raise CommandError(
                "operator.unknown_clients",
                clients=", ".join(clients),
                hint=ctx.command_text("clients"),
            ) from None
        await ctx.say(
            "operator.added", id=added.platform_id, role=role.value, clients=scope_text(ctx, added)
        )
        return None

    async def remove(self, ctx: CommandContext) -> Proposal | None:
        target = await self._manageable(ctx, ctx.args[0])
        await self._keep_an_owner(target)

        async def remove_now(confirmed: CommandContext) -> None:
            again = await self._manageable(confirmed, target.platform_id)
            await self._keep_an_owner(again)
            try:
                await self._directory.operators.remove(again.platform_id, keep_an_owner=True)
            except LastOwner:
                raise Denied("operator.last_owner", id=again.platform_id) from None
            await confirmed.say("operator.removed", id=again.platform_id)

        text = ctx.t(
            "operator.remove_confirm",
            id=target.platform_id,
            role=target.role.value,
            clients=scope_text(ctx, target),
        )
        return Proposal(text, remove_now)

    async def set_role(self, ctx: CommandContext) -> Proposal | None:
        target = await self._manageable(ctx, ctx.args[0])
        role = parse_role(ctx.args[1])
        if not may_grant(ctx.operator, role):
            raise Denied("operator.denied_grant", role=role.value)
        if role is target.role:
            await ctx.say("operator.role_unchanged", id=target.platform_id, role=role.value)
            return None
        if role is not Role.OWNER:
            await self._keep_an_owner(target)
        try:
            await self._directory.operators.update(
                target.platform_id, role=role, keep_an_owner=True
            )
        except LastOwner:
            raise Denied("operator.last_owner", id=target.platform_id) from None
        await ctx.say("operator.role_set", id=target.platform_id, role=role.value)
        return None

    async def audit(self, ctx: CommandContext) -> Proposal | None:
        count = _audit_count(ctx.args)
        # Scoped admins see only their clients' entries (none once their clients are gone).
        entries = await self._audit.recent(count, client_slugs=ctx.operator.scope)
        if not entries:
            await ctx.say("audit.none")
            return None
        lines = [ctx.t("audit.header", count=len(entries))]
        lines += [_audit_line(ctx, e) for e in entries]
        await ctx.send("\n".join(lines), filename="audit.txt")
        return None

    async def _manageable(self, ctx: CommandContext, platform_id: str) -> Operator:
        target = await self._directory.operators.find(platform_id)
        if target is None:
            raise CommandError(
                "operator.not_found", id=platform_id, hint=ctx.command_text("operators")
            )
        if not may_manage(ctx.operator, target):
            raise Denied("operator.denied_manage", id=platform_id)
        return target

    async def _keep_an_owner(self, target: Operator) -> None:
        """Nobody removes or demotes the last owner, themselves included."""
        if target.role is not Role.OWNER:
            return
        owners = [o for o in await self._directory.operators.list() if o.role is Role.OWNER]
        if len(owners) <= 1:
            raise Denied("operator.last_owner", id=target.platform_id)


def _audit_count(args: Sequence[str]) -> int:
    if not args:
        return AUDIT_DEFAULT
    try:
        count = int(args[0])
    except ValueError:
        count = 0
    if not 1 <= count <= AUDIT_MAX:
        raise CommandError("audit.bad_count", value=args[0], max=AUDIT_MAX)
    return count


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _audit_line(ctx: CommandContext, entry: AuditEntry) -> str:
    line = f"{entry.at:%Y-%m-%d %H:%M} {entry.actor} {ctx.command_text(entry.command)}"
    if entry.args:
        line += f" {_clip(entry.args)}"
    line += f" → {entry.result.value}"
    if entry.detail:
        line += f" ({_clip(entry.detail)})"
    return line
