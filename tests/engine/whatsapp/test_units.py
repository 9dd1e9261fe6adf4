"""Pieces that need neither a browser nor a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.whatsapp import (
    AckChanged,
    LoggedOut,
    MessageReceived,
    ProfileInUse,
    QrCodeChanged,
    StreamMode,
    StreamModeChanged,
)
from engine.whatsapp.page_events import decode
from engine.whatsapp.profile_lock import ProfileLock
from engine.whatsapp.simulator import ids


def test_profile_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    with ProfileLock(tmp_path / "profile"), pytest.raises(ProfileInUse, match="already open"):
        ProfileLock(tmp_path / "profile").acquire()
    with ProfileLock(tmp_path / "profile") as again:
        assert again.held


def test_decode_bridge_payloads() -> None:
    assert decode({"event": "conn.auth_code_change", "data": "2@x,a,b,c"}) == QrCodeChanged(
        "2@x,a,b,c"
    )
    assert decode({"event": "conn.logout", "data": None}) == LoggedOut(None)
    assert decode({"event": "conn.stream", "data": {"mode": "NEW_MODE", "info": "NORMAL"}}) == (
        StreamModeChanged(StreamMode.UNKNOWN, "NORMAL")
    )
    assert decode({"event": "chat.msg_ack_change", "data": {"ack": 2, "ids": ["a"]}}) == (
        AckChanged(("a",), 2)
    )
    message = {"id": "false_1@c.us_A", "chat_id": "1@c.us", "sender_id": "1@c.us", "from_me": 0}
    decoded = decode({"event": "chat.new_message", "data": message})
    assert isinstance(decoded, MessageReceived) and decoded.message.body == ""


@pytest.mark.parametrize(
    "payload",
    [{"event": "chat.new_message", "data": {}}, {"event": "nope"}, "garbage", None],
)
def test_malformed_payloads_are_dropped(payload: object) -> None:
    assert decode(payload) is None


def test_wids() -> None:
    assert ids.to_wid("+54 9 11 1234-5678") == "5491112345678@c.us"
    assert ids.canonical_wid("541112345678@c.us") == "5491112345678@c.us"
    assert ids.canonical_wid("5491112345678@c.us") == "5491112345678@c.us"
    assert ids.canonical_wid("34612345678@c.us") == "34612345678@c.us"
    with pytest.raises(ids.BadAddress):
        ids.to_wid("hola")
    assert ids.split_key(ids.serialized_key(True, "1@c.us", "ABC")) == (True, "1@c.us", "ABC")
