"""A campaign's file, read from the media store once and kept while the campaign runs.

Every recipient of a campaign gets the same bytes, so the worker reads them once per campaign
(not once per send) and drops them when no running campaign uses them any more.
"""

from __future__ import annotations

from engine.media_store import MediaMissing, MediaStore
from engine.whatsapp.types import OutgoingMedia
from storage.records import CampaignMedia, MediaInfo, MediaState


class CampaignFiles:
    """The files of one number's running campaigns, by content hash."""

    def __init__(self, store: MediaStore | None) -> None:
        self._store = store
        self._files: dict[str, OutgoingMedia] = {}

    async def get(self, media: CampaignMedia) -> OutgoingMedia | None:
        """The file to send, None when it is not in the store (or there is no store)."""
        cached = self._files.get(media.sha256)
        if cached is not None:
            return cached
        if self._store is None:
            return None
        try:
            data = await self._store.read(media.sha256)
        except MediaMissing:
            return None
        file = OutgoingMedia(media.kind, media.mimetype, media.filename, data, media.sha256)
        self._files[media.sha256] = file
        return file

    def keep(self, sha256s: set[str]) -> None:
        """Forget every file but these (the running campaigns' ones)."""
        self._files = {sha: f for sha, f in self._files.items() if sha in sha256s}


def sent_info(file: OutgoingMedia) -> MediaInfo:
    """The media fields of the stored outbound message: our bytes, kept under their hash.
    WhatsApp re-encodes images and voice notes (WA-JS 4.6.0 src/dev/sendTests.ts l.76-151), so
    this hash is of what we sent, not of what the contact receives."""
    return MediaInfo(
        kind=file.kind,
        mimetype=file.mimetype,
        size_bytes=len(file.data),
        filename=file.filename,
        sha256=file.sha256,
        state=MediaState.STORED,
    )
