"""What the driver makes of the bridge's answers, without a browser."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from engine.whatsapp import (
    DriverConfig,
    LinkCodeExpired,
    LinkCodeFailed,
    MessageReceived,
    NotLoggedIn,
    QrIdle,
    SendFailed,
    SendUnknown,
    SessionLost,
    playwright_driver,
)
from engine.whatsapp.page_events import bridge_config_script, decode
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.playwright_host import PlaywrightHost, PlaywrightLease
from engine.whatsapp.sending import OwnKeys, PreparedSend, outcome, prepared
from engine.whatsapp.types import CONVERSATION_TYPES

SEND = PreparedSend(
    chat="123456789012345@lid", key="true_123456789012345@lid_3EB0AA", key_id="3EB0AA"
)
TO = "5491122223333@c.us"


def answer(result: str | None, *, ack: int = 1) -> dict[str, Any]:
    value = {"id": SEND.key, "ack": ack, "to": SEND.chat, "result": result}
    return {"ok": True, "value": value}


def test_only_ok_is_a_send() -> None:
    sent = outcome(answer("OK"), SEND, TO)
    assert (sent.id, sent.to, sent.key_id, sent.ack) == (SEND.key, SEND.chat, "3EB0AA", 1)


@pytest.mark.parametrize("result", ["ERROR_NETWORK", "ERROR_UNKNOWN", None, "ERROR_NEW_KIND"])
def test_results_that_may_have_gone_out_are_unknown(result: str | None) -> None:
    with pytest.raises(SendUnknown) as unknown:
        outcome(answer(result, ack=0), SEND, TO)
    assert unknown.value.message_id == SEND.key


@pytest.mark.parametrize("result", ["ERROR_EXPIRED", "ERROR_CANCELLED", "ERROR_UPLOAD"])
def test_results_that_did_not_go_out_are_failures(result: str) -> None:
    with pytest.raises(SendFailed, match=result):
        outcome(answer(result, ack=0), SEND, TO)


def test_page_answers_of_a_send_that_started() -> None:
    refused = {"ok": False, "code": "refused", "wpp": "message_key_is_not_from_me", "message": "x"}
    with pytest.raises(SendFailed, match="message_key_is_not_from_me"):
        outcome(refused, SEND, TO)
    with pytest.raises(SendUnknown):
        outcome({"ok": False, "code": "unknown", "wpp": None, "message": "boom"}, SEND, TO)
    # Refusals checked again just before the call: nothing was tried.
    with pytest.raises(SessionLost) as lost:
        outcome({"ok": False, "code": "offline", "message": "not connected"}, SEND, TO)
    assert not lost.value.maybe_sent
    with pytest.raises(NotLoggedIn):
        outcome({"ok": False, "code": "not_logged_in", "message": "no"}, SEND, TO)


def test_prepare_answers() -> None:
    value = {"chat": SEND.chat, "key": SEND.key, "keyId": SEND.key_id}
    assert prepared({"ok": True, "value": value}, TO) == SEND
    with pytest.raises(SendFailed, match="chat_not_found"):
        prepared({"ok": False, "code": "chat_not_found", "message": "Chat not found"}, TO)
    with pytest.raises(SendFailed, match="TOS_BLOCK"):
        prepared({"ok": False, "code": "banned", "message": "number is blocked (TOS_BLOCK)"}, TO)


def test_own_keys_are_bounded() -> None:
    keys = OwnKeys(limit=3)
    for key in "abcd":
        keys.add(key)
    keys.add("d")
    assert "a" not in keys and all(k in keys for k in "bcd")


def _config(tmp_path: Path, **limits: float) -> DriverConfig:
    """A driver's configuration that no test here opens a page with."""
    return DriverConfig(
        session_name="unit",
        chromium_path=Path("/usr/bin/chromium"),
        whatsapp_url="http://127.0.0.1:9/",
        wa_js_path=tmp_path / "wa.js",
        profile_dir=tmp_path / "profile",
        device_name="unit",
        **limits,
    )


def _echo(key_id: str) -> dict[str, Any]:
    data = {"id": f"true_{TO}_{key_id}", "key_id": key_id, "chat_id": TO, "sender_id": "me"}
    return {"event": "chat.new_message", "data": {**data, "from_me": True, "body": "hola"}}


def test_the_driver_drops_the_echo_of_its_own_send_even_without_the_pages_set(
    tmp_path: Path,
) -> None:
    driver = PlaywrightDriver(_config(tmp_path))
    driver._own.add("3EB0OURS")  # what send_text records before the page is asked to send
    driver._on_binding(None, [_echo("3EB0OURS")])
    driver._on_binding(None, [_echo("3EB0PHONE")])  # typed on the phone: a real message
    queued = driver._queue.get_nowait()
    assert isinstance(queued, MessageReceived) and queued.message.key_id == "3EB0PHONE"
    assert driver._queue.empty()


def test_events_the_page_sent_together_are_queued_in_their_order(tmp_path: Path) -> None:
    driver = PlaywrightDriver(_config(tmp_path))
    driver._own.add("3EB0OURS")
    batch = [_echo("3EB0A"), _echo("3EB0OURS"), {"event": "conn.qrcode_idle", "data": None}]
    driver._on_binding(None, [*batch, _echo("3EB0B")])
    queued = [driver._queue.get_nowait() for _ in range(3)]
    assert driver._queue.empty(), "the echo of our own send is dropped from inside a batch"
    assert [type(e) for e in queued] == [MessageReceived, QrIdle, MessageReceived]
    assert [e.message.key_id for e in queued if isinstance(e, MessageReceived)] == [
        "3EB0A",
        "3EB0B",
    ]


def test_decode_new_payloads() -> None:
    assert decode({"event": "conn.link_code_expired", "data": None}) == LinkCodeExpired()
    assert decode({"event": "conn.link_code_error", "data": "boom"}) == LinkCodeFailed("boom")
    assert decode({"event": "conn.qrcode_idle", "data": None}) == QrIdle()
    image = {
        "id": "false_1@lid_A",
        "key_id": "A",
        "chat_id": "1@lid",
        "sender_id": "1@lid",
        "from_me": False,
        "body": "mirá",
        "type": "image",
        "peer_phone": "5491122223333@c.us",
        "peer_lid": "1@lid",
        "mimetype": "image/jpeg",
        "size": 1234,
        "duration": None,
    }
    event = decode({"event": "chat.new_message", "data": image})
    assert isinstance(event, MessageReceived)
    message = event.message
    assert message.is_media and message.body == "mirá" and message.size_bytes == 1234
    assert (message.peer_phone, message.peer_lid, message.key_id) == (TO, "1@lid", "A")
    # A kind the page should have dropped is dropped here too.
    assert decode({"event": "chat.new_message", "data": {**image, "type": "call_log"}}) is None


def test_bridge_config_names_the_kinds_types_py_names() -> None:
    script = bridge_config_script(peer_lookup_ms=1500)
    config = json.loads(script.removeprefix("window.__waopsConfig = ").removesuffix(";"))
    assert set(config["conversationTypes"]) == CONVERSATION_TYPES
    assert "image" in config["mediaTypes"] and config["peerLookupMs"] == 1500


class _NoNodeHost(PlaywrightHost):
    """A host that hands out a lease without starting Playwright's Node driver."""

    async def acquire(self, on_lost: Callable[[], None]) -> PlaywrightLease:
        return cast(PlaywrightLease, SimpleNamespace(playwright=None))


async def test_starting_chromium_is_bounded_by_its_own_limit_not_a_page_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short call_timeout_s (a page that stops answering) once made a slow browser start on a
    # loaded machine a lost session.
    limits: list[float] = []

    async def launch(_playwright: object, *, timeout_s: float, **_: object) -> None:
        limits.append(timeout_s)
        raise SessionLost("not launched in this test")

    monkeypatch.setattr(playwright_driver, "launch_session_browser", launch)
    config = _config(tmp_path, launch_timeout_s=45.0, call_timeout_s=2.0)
    with pytest.raises(SessionLost):
        await PlaywrightDriver(config, host=_NoNodeHost())._launch()
    assert limits == [45.0]
