"""The SessionManager hands media calls to the connected session's driver, and refuses them
(NotLoggedIn, as for texts) when the session is not connected."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine.whatsapp.errors import MediaUnavailable, NotLoggedIn
from engine.whatsapp.types import OutgoingMedia
from storage.db import Database
from tests.support.session_rig import make_rig

PHOTO = b"\xff\xd8\xff\xe0photo"


async def test_downloads_and_file_sends_go_through_the_connected_session(
    db: Database, tmp_path: Path
) -> None:
    rig = await make_rig(db, tmp_path)
    manager = rig.manager()
    session = await manager.add("haby", "main")
    file = OutgoingMedia("image", "image/jpeg", "a.jpg", PHOTO, hashlib.sha256(PHOTO).hexdigest())
    with pytest.raises(NotLoggedIn):
        await manager.download_media(session.id, "false_1@c.us_A", max_bytes=100)
    with pytest.raises(NotLoggedIn):
        await manager.send_media(session.id, "1@c.us", file, caption="hola")
    await manager.start()
    try:
        await rig.connected(manager)
        rig.account.files["false_1@c.us_A"] = PHOTO
        assert await manager.download_media(session.id, "false_1@c.us_A", max_bytes=100) == PHOTO
        with pytest.raises(MediaUnavailable) as large:
            await manager.download_media(session.id, "false_1@c.us_A", max_bytes=4)
        assert large.value.code == "too_large"
        sent = await manager.send_media(session.id, "1@c.us", file, caption="mirá")
        assert sent.id.startswith("true_1@c.us_")
        assert rig.account.sent_media == [("1@c.us", file, "mirá")]
    finally:
        await manager.stop()
