"""The fake page keeps its messages as WhatsApp Web does (MsgStore in the profile's IndexedDB) and
answers the WA-JS 4.6.0 reads of it: ``WPP.chat.list`` (src/chat/functions/list.ts) and
``WPP.chat.getMessages`` (src/chat/functions/getMessages.ts)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from engine.whatsapp.simulator import SimulatorClient
from tests.engine.whatsapp import simulator_page
from tests.engine.whatsapp.conftest import SESSION
from tests.engine.whatsapp.simulator_page import OpenPage, pair, rejection, seen, wait_seen

browser = simulator_page.browser
open_page = simulator_page.open_page

pytestmark = pytest.mark.browser

ANA = "5491122223333"
BETO = "5491122224444"

READ = """async ([chat, options]) => {
  const models = await WPP.chat.getMessages(chat, options);
  return models.map((m) => ({ id: m.id._serialized, body: m.body, fromMe: m.id.fromMe,
                              isNewMsg: m.isNewMsg, t: m.t }));
}"""
LIST = """async (options) => (await WPP.chat.list(options)).map((c) => ({
  id: c.id._serialized, t: c.t, last: c.lastReceivedKey && c.lastReceivedKey._serialized,
  unread: c.unreadCount, hasUnread: c.hasUnread }))"""


@pytest.fixture
async def page(open_page: OpenPage, control: SimulatorClient) -> Page:
    opened = await open_page()
    await pair(control, opened)
    return opened


async def _read(page: Page, chat: str, **options: Any) -> list[dict[str, Any]]:
    return list(await page.evaluate(READ, [chat, options]))


async def test_messages_survive_a_reload_and_are_not_new_again(
    page: Page, control: SimulatorClient
) -> None:
    await control.inbound(SESSION, ANA, "hola", name="Ana")
    await control.inbound(SESSION, ANA, "¿precio?", name="Ana")
    await control.phone_message(SESSION, ANA, "ya te digo")
    await wait_seen(page, "chat.new_message", 3)

    await page.reload()
    await page.wait_for_function("WPP.isReady && WPP.conn.isMainReady()")
    chat = f"{ANA}@c.us"
    stored = await _read(page, chat)
    assert [(m["body"], m["fromMe"]) for m in stored] == [
        ("hola", False),
        ("¿precio?", False),
        ("ya te digo", True),
    ], "oldest first, up to the chat's newest message (lastReceivedKey)"
    assert not any(m["isNewMsg"] for m in stored), "restored from the store, not new"
    [listed] = await page.evaluate(LIST, {})
    assert (listed["id"], listed["last"]) == (chat, stored[-1]["id"])

    # registerNewMessageEvent.ts fires for new messages only: the reload replays nothing.
    await control.inbound(SESSION, ANA, "¿sigue?", name="Ana")
    await wait_seen(page, "chat.new_message", 1)
    assert [e["args"][0]["body"] for e in await seen(page, "chat.new_message")] == ["¿sigue?"]


async def test_get_messages_and_list_follow_the_wa_js_options(
    page: Page, control: SimulatorClient
) -> None:
    for body in ("uno", "dos", "tres"):
        await control.inbound(SESSION, ANA, body, name="Ana")
    await control.inbound(SESSION, BETO, "hola", name="Beto")
    await wait_seen(page, "chat.new_message", 4)
    ana = f"{ANA}@c.us"

    # getMessages.ts: `count` includes the appended lastReceivedKey; -1 is every message.
    assert [m["body"] for m in await _read(page, ana, count=2)] == ["dos", "tres"]
    assert [m["body"] for m in await _read(page, ana, count=-1)] == ["uno", "dos", "tres"]
    everything = await _read(page, ana)
    first = everything[0]["id"]
    # An explicit id is the anchor and is not itself returned.
    assert [m["body"] for m in await _read(page, ana, id=first, direction="after")] == [
        "dos",
        "tres",
    ]
    assert await _read(page, ana, id=first) == []
    unread = await _read(page, ana, onlyUnread=True, count=-1)
    assert [m["body"] for m in unread] == ["uno", "dos", "tres"]
    assert all(m["isNewMsg"] for m in unread)

    # list.ts: ChatStore by last activity (the ChatCollection comparator), filters, a window.
    chats = await page.evaluate(LIST, {})
    assert [c["id"] for c in chats] == [f"{BETO}@c.us", ana]
    assert [c["id"] for c in await page.evaluate(LIST, {"count": 1})] == [f"{BETO}@c.us"]
    assert await page.evaluate(LIST, {"onlyGroups": True}) == []
    assert all(c["hasUnread"] for c in await page.evaluate(LIST, {"onlyWithUnreadMessage": True}))

    missing = await rejection(page, "(c) => WPP.chat.getMessages(c)", "5491100009999@c.us")
    assert (missing["code"], missing["wpp"]) == ("chat_not_found", True)  # assertGetChat.ts


async def test_an_unlinked_device_forgets_its_messages(
    page: Page, control: SimulatorClient
) -> None:
    await control.inbound(SESSION, ANA, "hola", name="Ana")
    await wait_seen(page, "chat.new_message", 1)
    async with page.expect_event("load"):  # WhatsApp Web reloads itself to a fresh QR
        await control.action(SESSION, "logout")
    await page.wait_for_function("WPP.isReady && WPP.conn.getAuthCode()")
    await pair(control, page)
    assert await page.evaluate(LIST, {}) == []
