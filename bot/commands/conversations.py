"""Conversations and AI: /chats, /conv, /reply (text, or a file whose caption is the command),
/takeover, /release, /forget (confirm), /ai. /media is in bot/commands/media.py."""

from __future__ import annotations

from bot.commands.base import Command, CommandContext, CommandError, Proposal
from bot.push.digests import file_key, shown_body
from bot.push.media_lines import file_label
from engine.inbound.conversations import AIControl, ChatFilter, Conversations
from storage.records import Direction, Role

CHAT_FILTERS: tuple[ChatFilter, ...] = ("recent", "unanswered", "hot")
CONV_DEFAULT, CONV_MAX = 15, 200


class ConversationCommands:
    def __init__(self, conversations: Conversations, ai: AIControl) -> None:
        self._conversations = conversations
        self._ai = ai

    def commands(self) -> list[Command]:
        op, viewer = Role.OPERATOR, Role.VIEWER
        return [
            Command(
                "chats",
                self.chats,
                role=viewer,
                client_arg=0,
                min_args=1,
                max_args=2,
                private_output=True,
            ),
            Command(
                "conv",
                self.conv,
                role=viewer,
                client_arg=0,
                min_args=2,
                max_args=3,
                private_output=True,
            ),
            # Two arguments are enough with a file (its caption is the command): the text is
            # then the file's caption, and may be empty.
            Command("reply", self.reply, role=op, client_arg=0, min_args=2, takes_file=True),
            Command("takeover", self.takeover, role=op, client_arg=0, min_args=2, max_args=2),
            Command("release", self.release, role=op, client_arg=0, min_args=2, max_args=2),
            Command(
                "forget",
                self.forget,
                role=Role.ADMIN,
                client_arg=0,
                min_args=2,
                max_args=2,
                destructive=True,
            ),
            Command("ai", self.ai, role=op, client_arg=0, min_args=2),
        ]

    async def chats(self, ctx: CommandContext) -> Proposal | None:
        client = ctx.args[0].lower()
        kind = ctx.args[1].lower() if len(ctx.args) > 1 else "recent"
        if kind not in CHAT_FILTERS:
            raise CommandError("chats.bad_filter", value=kind, choices=", ".join(CHAT_FILTERS))
        found = await self._conversations.chats(client, kind)
        if not found:
            await ctx.say("chats.none", client=client, kind=ctx.t(f"chats.kind.{kind}"))
            return None
        label = ctx.t(f"chats.kind.{kind}")
        lines = [ctx.t("chats.header", client=client, kind=label, count=len(found))]
        for chat in found:
            arrow = "←" if chat.last_direction is Direction.IN else "→"
            who = f"{chat.name} " if chat.name else ""
            when = f"{chat.last_at:%m-%d %H:%M}"
            lines.append(f"{who}{chat.label} · {when} {arrow} {_clip(chat.last_body, 80)}")
        await ctx.send("\n".join(lines), filename=f"chats-{client}.txt")
        return None

    async def conv(self, ctx: CommandContext) -> Proposal | None:
        client, phone = ctx.args[0].lower(), ctx.args[1]
        limit = _count(ctx.args[2]) if len(ctx.args) > 2 else CONV_DEFAULT
        contact, messages = await self._conversations.read(client, phone, limit)
        title = f"{contact.name} " if contact.name else ""
        lines = [
            ctx.t("conv.header", who=f"{title}{contact.label}", client=client, count=len(messages))
        ]
        if contact.opted_out_at is not None:
            lines.append(ctx.t("conv.opted_out"))
        for m in messages:
            arrow = "←" if m.direction is Direction.IN else "→"
            body = shown_body(m, ctx.lang)
            lines.append(f"{m.sent_at:%m-%d %H:%M} {arrow} [{m.origin.value}] {body}")
        await ctx.send("\n".join(lines), filename=f"conv-{file_key(contact.label)}.txt")
        return None

    async def reply(self, ctx: CommandContext) -> Proposal | None:
        client, phone, text = ctx.args[0].lower(), ctx.args[1], ctx.request.rest(2)
        data = await ctx.file()
        if data is None:
            if not text.strip():
                usage = f"{ctx.command_text('reply')} {client} {phone}"
                raise CommandError("reply.needs_text", usage=usage)
            await self._conversations.reply(client, phone, text)
            await ctx.say("reply.sent", phone=phone, client=client)
            return None
        # WhatsApp's limits are checked by the engine (MediaRejected says what to do).
        name, mimetype = ctx.request.attachment_name, ctx.request.attachment_mimetype
        sent = await self._conversations.reply_media(
            client, phone, data, name, mimetype or "application/octet-stream", text
        )
        kind = sent.media.kind if sent.media is not None else "document"
        shown = file_label(kind, name, len(data), ctx.lang)
        await ctx.say("reply.sent_file", file=shown, phone=phone, client=client)
        return None

    async def takeover(self, ctx: CommandContext) -> Proposal | None:
        until = await self._conversations.take_over(ctx.args[0].lower(), ctx.args[1])
        await ctx.say("takeover.done", phone=ctx.args[1], until=f"{until:%Y-%m-%d %H:%M} UTC")
        return None

    async def release(self, ctx: CommandContext) -> Proposal | None:
        await self._conversations.release(ctx.args[0].lower(), ctx.args[1])
        await ctx.say("release.done", phone=ctx.args[1])
        return None

    async def forget(self, ctx: CommandContext) -> Proposal | None:
        client, phone = ctx.args[0].lower(), ctx.args[1]
        contact, messages = await self._conversations.read(client, phone, CONV_MAX)

        async def forget_now(confirmed: CommandContext) -> None:
            await self._conversations.forget(client, phone)
            await confirmed.say("forget.done", phone=contact.label)

        return Proposal(
            ctx.t("forget.confirm", phone=contact.label, client=client, count=len(messages)),
            forget_now,
        )

    async def ai(self, ctx: CommandContext) -> Proposal | None:
        client, action = ctx.args[0].lower(), ctx.args[1].lower()
        if action in ("on", "off"):
            await self._ai.set_enabled(client, action == "on")
            await ctx.say(f"ai.{action}", client=client)
        elif action == "status":
            status = await self._ai.status(client)
            s = status.settings
            await ctx.send(
                ctx.t(
                    "ai.status",
                    client=client,
                    state=ctx.t("ai.state_on" if s.enabled else "ai.state_off"),
                    model=s.model or "-",
                    tokens=status.tokens_today,
                    budget=s.daily_token_budget,
                    failures=status.failures_today,
                    prompt=_clip(s.system_prompt, 300) or "-",
                    context=_clip(s.business_context, 300) or "-",
                )
            )
        elif action in ("prompt", "context"):
            text = ctx.request.rest(2)
            if not text:
                usage = f"{ctx.command_text('ai')} {client} {action} {ctx.t('arg.text')}"
                raise CommandError("ai.needs_text", usage=usage)
            if action == "prompt":
                await self._ai.set_prompt(client, text)
            else:
                await self._ai.set_context(client, text)
            await ctx.say(f"ai.{action}_set", client=client, chars=len(text))
        else:
            raise CommandError("ai.bad_action", value=action)
        return None


def _count(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) <= CONV_MAX:
        raise CommandError("conv.bad_count", value=raw, max=CONV_MAX)
    return int(raw)


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
