"""`/peek`, a viewer command whose output is private: the adapters' privacy tests run it."""

from __future__ import annotations

from bot.commands.base import Command, CommandContext, Proposal
from storage.records import Role

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CONTACT_TEXT = "Ana +5491150000001: hola, tienen envíos?"


async def peek(ctx: CommandContext) -> Proposal | None:
    """Stands for /digest, /conv or /pair: a picture, a file and a text with a contact's words."""
    await ctx.reply.image(PNG, "QR for haby/main")
    await ctx.reply.file("digest.csv", CONTACT_TEXT.encode(), "digest of haby")
    await ctx.send(CONTACT_TEXT)
    return None


PEEK = Command(
    "peek",
    peek,
    role=Role.VIEWER,
    private_output=True,
    help_key="help.help",
    usage_key="whoami.usage",
)
