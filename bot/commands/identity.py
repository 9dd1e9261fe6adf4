"""Help and identity: /help, /whoami, /start, /language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands.base import Command, CommandContext, CommandError, Proposal, usage_line
from bot.commands.registry import CommandRegistry
from bot.texts import LANGUAGES, is_language, t
from storage.records import Operator, Role
from storage.repos import OperatorRepo

StartHook = Callable[[CommandContext], Awaitable[None]]
"""Called on /start after the greeting; the Telegram adapter marks the chat reachable there."""


def scope_text(ctx: CommandContext, operator: Operator) -> str:
    """The clients an operator sees, or "all clients", or "no clients" (all deleted)."""
    if operator.all_clients:
        return ctx.t("scope.all_clients")
    return ", ".join(operator.client_slugs) or ctx.t("scope.no_clients")


class IdentityCommands:
    """Who am I, what may I do, and in which language do I want it."""

    def __init__(
        self,
        registry: CommandRegistry,
        operators: OperatorRepo,
        *,
        on_start: StartHook | None = None,
    ) -> None:
        self._registry = registry
        self._operators = operators
        self._on_start = on_start

    def commands(self) -> list[Command]:
        viewer = Role.VIEWER
        return [
            Command("help", self.help, role=viewer, max_args=2),
            Command("whoami", self.whoami, role=viewer, max_args=0),
            Command("start", self.start, role=viewer),
            Command("language", self.language, role=viewer, max_args=1),
        ]

    async def help(self, ctx: CommandContext) -> Proposal | None:
        wanted = " ".join(ctx.args).lower().removeprefix("/")
        allowed = self._registry.allowed(ctx.operator)
        if wanted:
            allowed = [c for c in allowed if wanted in (c.name, c.name.partition(" ")[0])]
            if not allowed:
                raise CommandError(
                    "help.no_such", command=ctx.command_text(wanted), help=ctx.command_text("help")
                )
        lines = [ctx.t("help.header")] if not wanted else []
        for command in allowed:
            line = f"{usage_line(command, ctx.lang, ctx.reply.command_prefix)} — "
            line += ctx.t(command.help_key)
            if command.destructive:
                line += " " + ctx.t("help.confirm_mark")
            lines.append(line)
        await ctx.send("\n".join(lines), filename="help.txt")
        return None

    async def whoami(self, ctx: CommandContext) -> Proposal | None:
        operator = ctx.operator
        await ctx.say(
            "whoami.body",
            actor=operator.platform_id,
            role=operator.role.value,
            clients=scope_text(ctx, operator),
            language=ctx.lang,
        )
        return None

    async def start(self, ctx: CommandContext) -> Proposal | None:
        name = ctx.operator.display_name or ctx.operator.platform_id
        await ctx.say("start.greeting", name=name, help=ctx.command_text("help"))
        if self._on_start is not None:
            await self._on_start(ctx)
        return None

    async def language(self, ctx: CommandContext) -> Proposal | None:
        if not ctx.args:
            await ctx.say("language.current", language=ctx.lang, choices=", ".join(LANGUAGES))
            return None
        wanted = ctx.args[0].lower()
        if not is_language(wanted):
            raise CommandError("language.unknown", value=ctx.args[0], choices=", ".join(LANGUAGES))
        await self._operators.update(ctx.operator.platform_id, language=wanted)
        await ctx.reply.text(t(wanted, "language.set", language=wanted))
        return None
