"""What operators do with campaigns: create (from a selection and a template), attach a file,
preview, plan, launch now or at a time, pause, resume, cancel, report. The sending is
`CampaignEngine`'s."""

from __future__ import annotations

import builtins
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.campaign.pacing import PacingPolicy, merged
from engine.campaign.templates import MAX_TEMPLATE_CHARS, FieldWarning, Template
from engine.campaign.worker import ACTIVE, CampaignControl
from engine.errors import InvalidInput
from engine.exports import csv_bytes
from engine.media import check_outgoing, kind_for, normalise_mimetype
from engine.media_store import MediaMissing, MediaStore
from storage.db import Database, NotFound
from storage.records import Campaign, CampaignMedia, CampaignStatus, SkipReason, WaSession
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, SessionRepo

# A file may change only before or between sends (a running campaign would send half its
# recipients one file and half another); a paused one is resumed with the new file.
ATTACHABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED)


def parse_selection(text: str) -> dict[str, Any]:
    """`all`, `tag:feria` (or just `feria`), `field:ciudad=Rosario` -> the stored selection."""
    text = text.strip()
    if text.lower() in ("all", "todos"):
        return {"all": True}
    if text.startswith("field:"):
        field, sep, value = text[len("field:") :].partition("=")
        if not sep or not field.strip():
            raise InvalidInput("audience.bad_field", raw=text)
        return {"field": field.strip().lower(), "value": value.strip()}
    tag = text.removeprefix("tag:").strip()
    if not tag:
        raise InvalidInput("audience.missing")
    return {"tag": tag}


@dataclass(frozen=True)
class LaunchPlan:
    """What a launch would do, for the confirmation an operator sees first."""

    campaign: Campaign
    recipients: int
    opted_out: int
    policy: PacingPolicy


@dataclass(frozen=True)
class Draft:
    """A campaign just created, and what its template may have meant otherwise."""

    campaign: Campaign
    warnings: tuple[FieldWarning, ...]


@dataclass(frozen=True)
class Preview:
    """(phone, text) for a few recipients, and the template's warnings."""

    samples: list[tuple[str, str]]
    warnings: tuple[FieldWarning, ...]
    media: CampaignMedia | None = None
    """The file every text is the caption of; its bytes in `data` (None when missing)."""
    data: bytes | None = None


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    counts: dict[str, int]
    reply_rate: float
    csv: bytes


class CampaignService:
    """What operators do with campaigns; the engine does the sending."""

    def __init__(
        self,
        db: Database,
        engine: CampaignControl,
        defaults: PacingPolicy,
        rng: random.Random | None = None,
        media: MediaStore | None = None,
    ):
        self._engine = engine
        self._media = media
        self._defaults = defaults
        self._rng = rng or random.Random()
        self._repo = CampaignRepo(db)
        self._clients = ClientRepo(db)
        self._sessions = SessionRepo(db)
        self._contacts = ContactRepo(db)

    async def create_draft(
        self,
        client_slug: str,
        session_name: str,
        selection: str,
        template: str,
        *,
        name: str | None = None,
        pacing: dict[str, Any] | None = None,
        created_by: str | None = None,
    ) -> Draft:
        """Create a draft campaign; its template is checked (errors explain, warnings return)."""
        client = await self._clients.get(client_slug)
        session = await self._sessions.get(client_slug, session_name)
        parsed = Template.parse(
            template, await self._contacts.field_keys(client.id), max_chars=MAX_TEMPLATE_CHARS
        )
        if pacing:
            PacingPolicy.from_dict(pacing)
        chosen = parse_selection(selection)
        label = name or f"{client_slug} {selection.strip()}"
        campaign = await self._repo.create(
            client.id,
            session.id,
            label[:200],
            template,
            chosen,
            pacing=pacing,
            created_by=created_by,
        )
        return Draft(campaign, parsed.warnings)

    async def sessions_of(self, client_slug: str) -> builtins.list[WaSession]:
        """The numbers a client's campaign can go out from."""
        return await self._sessions.list(client_slug)

    async def tags_of(self, client_slug: str) -> dict[str, int]:
        """The audiences a client's campaign can choose from: tags and their sizes."""
        client = await self._clients.get(client_slug)
        tags = await self._contacts.count_by_tag(client.id)
        return {"all": await self._contacts.count(client.id), **tags}

    async def number_pacing(
        self, client_slug: str, session_name: str, changes: dict[str, str] | None = None
    ) -> PacingPolicy:
        """A number's pacing (process defaults with its overrides); `changes` (`key: value`
        text, `default` to drop an override) are validated and saved first."""
        session = await self._sessions.get(client_slug, session_name)
        overrides = dict(await self._sessions.pacing(session.id) or {})
        if changes:
            for key, value in changes.items():
                if value == "default":
                    overrides.pop(key, None)
                else:
                    overrides[key] = value
            PacingPolicy.from_dict(overrides)  # InvalidInput names the bad key
            await self._sessions.set_pacing(session.id, overrides or None)
            self._engine.poke(session.id)
        return merged(self._defaults, overrides)

    async def get(self, campaign_id: int) -> Campaign:
        return await self._repo.get(campaign_id)

    async def all(self, client_slug: str | None = None) -> list[Campaign]:
        client_id = None if client_slug is None else (await self._clients.get(client_slug)).id
        return await self._repo.list(client_id=client_id)

    async def attach(
        self, campaign_id: int, data: bytes, *, filename: str | None, mimetype: str
    ) -> Campaign:
        """Attach one image, video or document: the texts become its caption. Checked against
        WhatsApp's limits first (`MediaRejected` says what is wrong and what to do), stored
        once by content, and only while the campaign is a draft, scheduled or paused."""
        campaign = await self._repo.get(campaign_id)
        self._attachable(campaign)
        mimetype = normalise_mimetype(mimetype, filename)
        kind = kind_for(mimetype, filename)
        check_outgoing(kind, mimetype, len(data))
        if self._media is None:
            raise InvalidInput("attach.no_store")
        put = await self._media.put(data, max_bytes=len(data))
        media = CampaignMedia(put.sha256, kind, mimetype, filename, put.size)
        try:
            return await self._repo.attach_media(campaign_id, media, expect=list(ATTACHABLE))
        except NotFound as exc:
            # It was launched (or cancelled) meanwhile: say where it is now.
            self._attachable(await self._repo.get(campaign_id))
            raise InvalidInput(
                "attach.not_editable", id=campaign_id, status=campaign.status
            ) from exc

    async def detach(self, campaign_id: int) -> Campaign:
        """Send the texts alone again (the stored file goes with the retention sweep)."""
        campaign = await self._repo.get(campaign_id)
        self._attachable(campaign)
        return await self._repo.attach_media(campaign_id, None, expect=list(ATTACHABLE))

    def _attachable(self, campaign: Campaign) -> None:
        if campaign.status not in ATTACHABLE:
            raise InvalidInput("attach.not_editable", id=campaign.id, status=campaign.status)

    async def preview(self, campaign_id: int, count: int = 3) -> list[tuple[str, str]]:
        """(phone, text) rendered for the first `count` recipients the selection matches."""
        return (await self.preview_checked(campaign_id, count)).samples

    async def preview_checked(self, campaign_id: int, count: int = 3) -> Preview:
        """The preview with the template's warnings (fields may have been imported since)."""
        campaign = await self._repo.get(campaign_id)
        template = Template.parse(
            campaign.template, await self._contacts.field_keys(campaign.client_id)
        )
        audience = await self._contacts.audience(
            campaign.client_id, campaign.selection, limit=count
        )
        rendered = []
        for contact in audience:
            phone = contact.phone or ""  # audiences hold only contacts with a phone
            fields = {**contact.fields, "name": contact.name or "", "phone": phone}
            rendered.append((phone, template.render(fields, self._rng)))
        return Preview(rendered, template.warnings, campaign.media, await self._file(campaign))

    async def _file(self, campaign: Campaign) -> bytes | None:
        if campaign.media is None or self._media is None:
            return None
        try:
            return await self._media.read(campaign.media.sha256)
        except MediaMissing:
            return None

    async def plan(self, campaign_id: int) -> LaunchPlan:
        campaign = await self._repo.get(campaign_id)
        audience = await self._contacts.audience_size(campaign.client_id, campaign.selection)
        policy = merged(
            self._defaults, await self._sessions.pacing(campaign.session_id), campaign.pacing
        )
        return LaunchPlan(campaign, audience.contacts, audience.opted_out, policy)

    async def launch(self, campaign_id: int, at: datetime | None = None) -> Campaign:
        """Freeze the recipients and start now, or at `at` (aware) in the schedule."""
        campaign = await self._repo.get(campaign_id)
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise InvalidInput("launch.not_draft", id=campaign_id, status=campaign.status)
        if campaign.media is not None and (
            self._media is None or not self._media.exists(campaign.media.sha256)
        ):
            raise InvalidInput("attach.missing", id=campaign_id)
        if await self._repo.materialize(campaign) == 0 and not (
            await self._repo.counts(campaign_id)
        ).get("queued"):
            raise InvalidInput("audience.nobody", selection=campaign.selection)
        if at is not None and at > self._engine.clock.now():
            return await self._engine.change(
                campaign_id, CampaignStatus.SCHEDULED, None, scheduled_at=at
            )
        return await self._engine.change(campaign_id, CampaignStatus.RUNNING, None)

    async def pause(self, campaign_id: int) -> Campaign:
        return await self._engine.change(
            campaign_id,
            CampaignStatus.PAUSED,
            "paused by an operator",
            expect=[CampaignStatus.RUNNING, CampaignStatus.SCHEDULED],
        )

    async def resume(self, campaign_id: int) -> Campaign:
        campaign = await self._repo.get(campaign_id)
        if campaign.status_reason == "number banned":
            raise InvalidInput("resume.banned")
        return await self._engine.change(
            campaign_id, CampaignStatus.RUNNING, None, expect=[CampaignStatus.PAUSED]
        )

    async def cancel(self, campaign_id: int) -> Campaign:
        campaign = await self._engine.change(
            campaign_id,
            CampaignStatus.CANCELLED,
            "cancelled by an operator",
            expect=[CampaignStatus.DRAFT, *ACTIVE],
        )
        await self._repo.skip_all_queued(campaign_id, SkipReason.CANCELLED.value)
        return campaign

    async def report(self, campaign_id: int) -> CampaignReport:
        campaign = await self._repo.get(campaign_id)
        counts = await self._repo.counts(campaign_id)
        delivered = sum(counts.get(state, 0) for state in ("sent", "delivered", "read"))
        rows = [
            [
                r.phone,
                r.name,
                r.state,
                r.reason,
                _iso(r.sent_at),
                _iso(r.replied_at),
                r.wa_message_id,
                r.body,
            ]
            async for r in self._repo.recipients(campaign_id)
        ]
        header = ["phone", "name", "state", "reason", "sent_at", "replied_at", "message_id", "text"]
        rate = counts.get("replied", 0) / delivered if delivered else 0.0
        # Names and texts come from contacts: csv_bytes keeps them from starting a formula.
        return CampaignReport(campaign, counts, rate, csv_bytes(header, rows))


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()
