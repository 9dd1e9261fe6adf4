"""A campaign's file: /campaign attach ID as the caption of an image, video or document sent to
the bot, and /campaign detach ID. /campaign preview shows the file (bot/commands/campaigns.py).

The file is checked against WhatsApp's limits by the engine (engine/media.py): a refusal says
what is wrong and what to do, and is shown as it is. Only a draft, scheduled or paused campaign
takes a file (engine/campaign/service.py `attach`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands.base import Command, CommandContext, CommandError, MediaFile, Proposal
from bot.push.media_lines import file_label
from engine.campaign.service import CampaignService
from storage.records import Campaign, CampaignMedia, Role

CampaignLookup = Callable[[CommandContext], Awaitable[Campaign]]
"""The campaign the first argument names, if the operator may see it (CampaignCommands)."""


class CampaignFileCommands:
    def __init__(self, service: CampaignService, lookup: CampaignLookup) -> None:
        self._service = service
        self._lookup = lookup

    def commands(self) -> list[Command]:
        op = Role.OPERATOR
        return [
            Command(
                "campaign attach",
                self.attach,
                role=op,
                min_args=1,
                max_args=1,
                takes_file=True,
            ),
            Command("campaign detach", self.detach, role=op, min_args=1, max_args=1),
        ]

    async def attach(self, ctx: CommandContext) -> Proposal | None:
        campaign = await self._lookup(ctx)  # the operator's campaign, before the file is read
        data = await ctx.file()
        if data is None:
            command = ctx.command_text(f"campaign attach {campaign.id}")
            raise CommandError("campaign.attach_needs_file", command=command)
        updated = await self._service.attach(
            campaign.id,
            data,
            filename=ctx.request.attachment_name,
            mimetype=ctx.request.attachment_mimetype or "application/octet-stream",
        )
        media = updated.media
        assert media is not None
        await ctx.say(
            "campaign.attached",
            id=campaign.id,
            file=file_label(media.kind, media.filename, media.size, ctx.lang),
            preview=ctx.command_text(f"campaign preview {campaign.id}"),
        )
        return None

    async def detach(self, ctx: CommandContext) -> Proposal | None:
        campaign = await self._lookup(ctx)
        await self._service.detach(campaign.id)
        await ctx.say("campaign.detached", id=campaign.id)
        return None


def campaign_file(media: CampaignMedia, data: bytes) -> MediaFile:
    """A campaign's file to show an operator, under its own name or one made from its kind."""
    name = media.filename or f"campaign.{media.mimetype.rsplit('/', 1)[-1]}"
    return MediaFile(media.kind, name, data, media.mimetype)
