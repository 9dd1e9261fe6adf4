"""A campaign process killed with SIGKILL mid-send: after a restart nobody gets it twice,
whether the campaign sends text or an image with the text as its caption."""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.app import App
from engine.media_store import MediaStore
from engine.settings import load_settings
from storage.records import CampaignMedia, CampaignStatus, ContactInput, RecipientState
from storage.repos import CampaignRepo, ContactRepo
from tests.support.poll import poll_until
from tests.support.sim_world import POLICY, World
from tests.support.waops_process import spawn_waops

pytestmark = pytest.mark.browser

PHONES = [f"54911600000{i:02d}" for i in range(1, 7)]
PACING = {"gap_s": "0.3", "long_pause_every": 0, "warmup": [], "window": "always"}
FLYER = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 40


@pytest.mark.parametrize("with_image", [False, True], ids=["text", "image"])
async def test_sigkill_mid_send_leaves_one_unknown_and_no_duplicate(
    world: World, tmp_path: Path, with_image: bool
) -> None:
    manager = world.manager()
    session = await manager.add("haby", "main")
    await manager.start()
    await world.connect(manager, "haby", "main", "5491100000001")
    await manager.stop()

    await ContactRepo(world.db).upsert_many(
        session.client_id, [ContactInput(p, f"C{p[-2:]}", ("feria",)) for p in PHONES]
    )
    repo = CampaignRepo(world.db)
    campaign = await repo.create(
        session.client_id, session.id, "feria", "Hola {name}", {"tag": "feria"}, pacing=PACING
    )
    if with_image:
        stored = await MediaStore(world.data_dir / "media").put(FLYER, max_bytes=len(FLYER))
        media = CampaignMedia(stored.sha256, "image", "image/jpeg", "flyer.jpg", stored.size)
        await repo.attach_media(campaign.id, media)
    await repo.materialize(campaign)
    await repo.set_status(campaign.id, CampaignStatus.RUNNING)

    env = {
        **os.environ,
        "WAOPS_DATABASE_URL": str(world.db.engine.url),
        "WAOPS_DATA_DIR": str(world.data_dir),
        "WAOPS_WHATSAPP_URL": world.simulator.whatsapp_url,
        "WAOPS_WA_JS_PATH": world.simulator.wa_js_path,
        "WAOPS_SEND_WINDOW": "always",
        "WAOPS_HEALTH_PORT": "0",
    }
    for name in (
        "WAOPS_OPENAI_API_KEY",
        "WAOPS_OPENAI_BASE_URL",
        "WAOPS_TELEGRAM_TOKEN",
        "WAOPS_SLACK_BOT_TOKEN",
    ):
        env.pop(name, None)
    log = (tmp_path / "run.log").open("wb")
    process = await spawn_waops(env, tmp_path, log, new_session=True)

    async def sent_count() -> int:
        return len(await world.sim.sent("haby-main"))

    try:
        await poll_until(
            lambda: _at_least(sent_count, 2), "two messages sent by the engine process", 60
        )
        await world.sim.action("haby-main", "stall-sends")
        before = await sent_count()
        await poll_until(lambda: _at_least(sent_count, before + 1), "a send in flight", 60)
        # The message reached the phone; the engine is waiting for WhatsApp's answer. Kill it all.
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        log.close()
    await world.sim.action("haby-main", "release-sends")
    in_flight = (await world.sim.sent("haby-main"))[-1]["to"]

    settings = load_settings(
        database_url=str(world.db.engine.url),
        data_dir=world.data_dir,
        whatsapp_url=world.simulator.whatsapp_url,
        wa_js_path=world.simulator.wa_js_path,
        send_window="always",
        openai_api_key=None,
        openai_base_url=None,
        health_port=0,
    )
    async with App(settings, session_policy=POLICY) as app:

        async def finished() -> bool:
            return (await app.campaigns.get(campaign.id)).status is CampaignStatus.COMPLETED

        await poll_until(finished, "the campaign to finish after the restart", 60)

    sent = await world.sim.sent("haby-main")
    recipients = [row["to"] for row in sent]
    assert sorted(recipients) == sorted(f"{p}@c.us" for p in PHONES), "everyone exactly once"
    if with_image:
        assert {row.get("kind") for row in sent} == {"image"}, "every send carried the flyer"
        assert {row.get("sha256") for row in sent} == {hashlib.sha256(FLYER).hexdigest()}
        assert sorted(row.get("caption") for row in sent) == sorted(
            f"Hola C{p[-2:]}" for p in PHONES
        ), "each prospect's own caption"
    states = {r.phone: r.state async for r in repo.recipients(campaign.id)}
    interrupted = in_flight.split("@")[0]
    assert states.pop(interrupted) is RecipientState.UNKNOWN
    assert set(states.values()) == {RecipientState.SENT}


async def _at_least(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() >= n
