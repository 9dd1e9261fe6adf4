"""``catch_up`` through the bridge (``catchUp`` in bridge/inbound.js: ``WPP.chat.list`` then
``WPP.chat.getMessages``): what the page's store holds, serialised and filtered as the live
``chat.new_message`` path does, after the browser was closed and opened again."""

from __future__ import annotations

import time

import pytest

from engine.whatsapp import MessageReceived
from engine.whatsapp.simulator import SimulatorClient
from tests.engine.whatsapp.conftest import SESSION, Launch, pair

pytestmark = pytest.mark.browser

ANA = "5491122223333"
BETO = "5491122224444"
GROUP = "120363025555555555@g.us"


async def test_the_page_store_is_read_back_after_a_new_browser_like_live_messages(
    launch: Launch, control: SimulatorClient
) -> None:
    driver, events = await launch()
    await pair(control, events)
    hello = await control.inbound(SESSION, ANA, "hola", name="Ana")
    photo = await control.inbound(SESSION, ANA, type="image", caption="¿este?", name="Ana")
    await control.inbound(SESSION, ANA, type="e2e_notification", body="")
    await control.inbound(SESSION, ANA, "mi estado", status=True)
    await control.phone_message(SESSION, BETO, "te escribo yo")
    beto = await control.inbound(SESSION, BETO, "dale", name="Beto")
    await control.inbound(SESSION, "5491122225555", "en el grupo", group=GROUP, name="Carla")
    live = [(await events.expect(MessageReceived)).message for _ in range(5)]
    same_page = await driver.catch_up(int(time.time()) - 60, max_chats=10, per_chat=10)
    assert same_page.messages == (), "what this page forwarded is not handed over twice"
    await driver.stop()

    again, _ = await launch()  # the same profile: what the page stored is still there
    backlog = await again.catch_up(int(time.time()) - 60, max_chats=10, per_chat=10)

    by_id = {m.id: m for m in live if not m.from_me}

    def of(chat: str) -> list[str]:
        return [m.id for m in backlog.messages if m.chat_id == chat]

    # Oldest first within a chat (chats written in the same second may come in any order).
    assert (of(f"{ANA}@c.us"), of(f"{BETO}@c.us"), len(of(GROUP))) == ([hello, photo], [beto], 1)
    assert len(backlog.messages) == 4, "no notification, status post or message of ours"
    assert all(m == by_id[m.id] for m in backlog.messages), "serialised as the live path does"
    assert by_id[photo].body == "¿este?", "a caption, never the thumbnail"
    assert beto in backlog.newest and photo in backlog.newest and backlog.complete

    future = await again.catch_up(int(time.time()) + 60, max_chats=10, per_chat=10)
    assert future.messages == () and future.complete
    bounded = await again.catch_up(int(time.time()) - 60, max_chats=1, per_chat=1)
    assert len(bounded.messages) == 1 and not bounded.complete
