"""The fake WPP's send path follows WA-JS 4.6.0: find, generateMessageID, prepareRawMessage's
messageId rules, sendRawMessage's return shape and sendMsgResult."""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import Page

from engine.whatsapp.simulator import SimulatorClient
from tests.engine.whatsapp import simulator_page
from tests.engine.whatsapp.conftest import BUSINESS_PHONE, SESSION
from tests.engine.whatsapp.simulator_page import OpenPage, pair, rejection, seen, wait_seen

browser = simulator_page.browser
open_page = simulator_page.open_page

pytestmark = pytest.mark.browser

CONTACT = "5491122223333"
LID = "111222333444555"
ME = f"{BUSINESS_PHONE}@c.us"


@pytest.fixture
async def page(open_page: OpenPage, control: SimulatorClient) -> Page:
    """A paired page."""
    opened = await open_page()
    await pair(control, opened)
    return opened


SEND_WITH = """async ([to, text, messageId]) =>
    WPP.chat.sendTextMessage(to, text, messageId === null ? {} : { messageId })"""


async def test_a_bare_or_foreign_message_id_throws_the_real_errors(
    page: Page, control: SimulatorClient
) -> None:
    chat = f"{CONTACT}@c.us"
    bare = await rejection(page, SEND_WITH, [chat, "hola", "3EB0C0FFEE"])
    # MsgKey.fromString of a bare id: WhatsApp's own MsgKey error, not a WPPError.
    assert bare == {
        "code": None,
        "message": "MsgKey error: don't have a matching constructor",
        "name": "Error",
        "wpp": False,
    }
    theirs = await rejection(page, SEND_WITH, [chat, "hola", f"false_{chat}_3EB0C0FFEE"])
    assert (theirs["code"], theirs["message"], theirs["wpp"]) == (
        "message_key_is_not_from_me",
        "Message key is not from me",
        True,
    )
    other = await rejection(page, SEND_WITH, [chat, "hola", "true_5491144445555@c.us_3EB0C0FFEE"])
    assert other["code"] == "message_key_remote_id_is_not_same_of_chat"
    assert other["message"] == "Message key remote ID is not same of chat"
    invalid = await rejection(page, SEND_WITH, ["nobody", "hola", None])
    assert (invalid["code"], invalid["message"]) == ("invalid_wid", "Invalid WID value for nobody")
    assert await control.sent(SESSION) == []


async def test_a_generated_id_is_accepted_and_the_return_has_the_real_shape(
    page: Page, control: SimulatorClient
) -> None:
    chat = f"{CONTACT}@c.us"
    key, result = await page.evaluate(
        """async (to) => {
            const chat = await WPP.chat.find(to);
            const key = await WPP.chat.generateMessageID(chat);
            const r = await WPP.chat.sendTextMessage(to, 'Hola Ana', { messageId: key });
            return [key.toString(), r];
        }""",
        chat,
    )
    assert key.startswith(f"true_{chat}_3EB0")
    assert result == {
        "id": key,
        "ack": 1,
        "from": ME,
        "to": chat,
        "sendMsgResult": {"messageSendResult": "OK"},
    }
    [record] = await control.sent(SESSION)
    assert record["id"] == key and record["chat"] == chat and record["to"] == chat
    assert (record["body"], record["result"], record["type"]) == ("Hola Ana", "OK", "chat")

    # Its string form is accepted too (MsgKey.fromString), and so is no messageId at all.
    again = await page.evaluate(
        """async (to) => {
            const key = (await WPP.chat.generateMessageID(to)).toString();
            return (await WPP.chat.sendTextMessage(to, 'otra', { messageId: key })).id;
        }""",
        chat,
    )
    assert again.startswith(f"true_{chat}_")
    plain = await page.evaluate(SEND_WITH, [chat, "sin id", None])
    assert plain["id"].startswith(f"true_{chat}_") and plain["ack"] == 1


async def test_own_sends_fire_new_message_then_ack_1(page: Page) -> None:
    result = await page.evaluate(SEND_WITH, [f"{CONTACT}@c.us", "eco", None])
    await wait_seen(page, "chat.msg_ack_change")
    [new] = await seen(page, "chat.new_message")
    msg = new["args"][0]
    assert msg["id"] == result["id"] and msg["isSentByMe"] and msg["ack"] == 0
    assert (msg["from"], msg["to"], msg["body"], msg["type"]) == (ME, result["to"], "eco", "chat")
    [ack] = await seen(page, "chat.msg_ack_change")
    assert ack["args"][0] == {"ack": 1, "chat": result["to"], "ids": [result["id"]]}


async def test_find_of_a_lid_contact_returns_the_lid_chat(
    page: Page, control: SimulatorClient
) -> None:
    await control.lids({CONTACT: LID})
    phone_chat, lid_chat = f"{CONTACT}@c.us", f"{LID}@lid"
    found = await page.evaluate("async (to) => (await WPP.chat.find(to)).id.toString()", phone_chat)
    assert found == lid_chat
    # A key made for the @c.us id is foreign to the @lid chat WA-JS resolves.
    wrong = await rejection(
        page,
        """async (to) => {
            const key = await WPP.chat.generateMessageID(to);
            return WPP.chat.sendTextMessage(to, 'hola', { messageId: key });
        }""",
        phone_chat,
    )
    assert wrong["code"] == "message_key_remote_id_is_not_same_of_chat"

    result = await page.evaluate(
        """async (to) => {
            const chat = await WPP.chat.find(to);
            const key = await WPP.chat.generateMessageID(chat);
            return WPP.chat.sendTextMessage(to, 'hola', { messageId: key });
        }""",
        phone_chat,
    )
    me_lid = (await control.session(SESSION))["lid"]
    assert result["to"] == lid_chat and result["from"] == f"{me_lid}@lid"
    assert result["id"].startswith(f"true_{lid_chat}_")
    [record] = await control.sent(SESSION)
    assert (record["to"], record["chat"]) == (phone_chat, lid_chat)


async def test_a_marked_number_gets_its_send_result_and_no_delivery(
    page: Page, control: SimulatorClient
) -> None:
    await control.send_results({CONTACT: "ERROR_NETWORK"})
    result = await page.evaluate(SEND_WITH, [f"{CONTACT}@c.us", "no sale", None])
    assert result["ack"] == 0
    assert result["sendMsgResult"] == {"messageSendResult": "ERROR_NETWORK"}
    [record] = await control.sent(SESSION)
    assert record["result"] == "ERROR_NETWORK"
    await asyncio.sleep(0.2)
    assert await seen(page, "chat.msg_ack_change") == []  # ack stays 0; -1 is never emitted

    await control.send_results({CONTACT: None})
    ok = await page.evaluate(SEND_WITH, [f"{CONTACT}@c.us", "ahora sí", None])
    assert ok["sendMsgResult"] == {"messageSendResult": "OK"}


async def test_wait_for_ack_false_and_delay(page: Page) -> None:
    quick = await page.evaluate(
        "(to) => WPP.chat.sendTextMessage(to, 'ya', { waitForAck: false })", f"{CONTACT}@c.us"
    )
    assert quick["sendMsgResult"] is None and quick["ack"] == 0
    started = time.monotonic()
    await page.evaluate(
        "(to) => WPP.chat.sendTextMessage(to, 'pensando', { delay: 400 })", f"{CONTACT}@c.us"
    )
    assert time.monotonic() - started >= 0.4


async def test_a_send_while_offline_waits_for_the_connection(
    page: Page, control: SimulatorClient
) -> None:
    await control.action(SESSION, "drop")
    await page.wait_for_function("!WPP.conn.isOnline()")
    send = asyncio.ensure_future(page.evaluate(SEND_WITH, [f"{CONTACT}@c.us", "en cola", None]))
    await wait_seen(page, "chat.new_message")  # in the chat with ack 0 (clock)
    await asyncio.sleep(0.3)
    assert not send.done() and await control.sent(SESSION) == []
    await control.action(SESSION, "restore")
    result = await asyncio.wait_for(send, 10)
    assert result["sendMsgResult"] == {"messageSendResult": "OK"}
    assert [r["body"] for r in await control.sent(SESSION)] == ["en cola"]


async def test_mark_is_read_and_composing_need_an_existing_chat(page: Page) -> None:
    missing = await rejection(page, "(to) => WPP.chat.markIsRead(to)", "5491188887777@c.us")
    assert missing["code"] == "chat_not_found"
    read = await page.evaluate(
        "async (to) => { await WPP.chat.find(to); return WPP.chat.markIsRead(to); }",
        f"{CONTACT}@c.us",
    )
    assert read["wid"]["_serialized"] == f"{CONTACT}@c.us" and read["unreadCount"] == 0
