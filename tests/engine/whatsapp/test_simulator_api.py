"""The simulator's control API over HTTP, without a browser."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from engine.whatsapp.simulator import Simulator, SimulatorClient
from engine.whatsapp.simulator.client import SimulatorControlError


@pytest.fixture
async def known(simulator: Simulator) -> str:
    """A phone that exists because its page was opened once (and closed)."""
    async with aiohttp.ClientSession() as http, http.get(f"{simulator.base_url}/s/haby-main") as r:
        assert r.status == 200
        assert "WhatsApp Web simulator" in await r.text()
    return "haby-main"


async def test_unknown_session_is_a_404_naming_the_known_ones(
    known: str, control: SimulatorClient
) -> None:
    with pytest.raises(SimulatorControlError) as error:
        await control.inbound("haby-typo", "5491122223333", "hola")
    assert error.value.status == 404
    assert "haby-typo" in error.value.message and known in error.value.message


async def test_bad_json_is_a_400_saying_what_is_wrong(
    known: str, simulator: Simulator, control: SimulatorClient
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{simulator.base_url}/control/sessions/{known}/inbound", data="{nope") as r,
    ):
        assert r.status == 400
        assert "not valid JSON" in (await r.json())["error"]
    for body, complaint in [
        ({"from": "5491122223333"}, '"body" must be a str'),
        ({"from": "abc", "body": "x"}, "not a phone number"),
        (
            {"from": "5491122223333", "body": "x", "ciphertext": "yes"},
            '"ciphertext" must be a bool',
        ),
    ]:
        with pytest.raises(SimulatorControlError, match=complaint) as error:
            await control.request("POST", f"/control/sessions/{known}/inbound", body)
        assert error.value.status == 400
    with pytest.raises(SimulatorControlError, match="must be a int"):
        await control.request(
            "POST", f"/control/sessions/{known}/ack", {"id": "true_1@c.us_A", "ack": True}
        )


async def test_scan_without_a_qr_on_screen_is_a_409(known: str, control: SimulatorClient) -> None:
    with pytest.raises(SimulatorControlError, match="no page is showing a QR") as error:
        await control.scan(known, "5491100000000")
    assert error.value.status == 409


async def test_messages_wait_for_a_page(known: str, control: SimulatorClient) -> None:
    first = await control.inbound(known, "5491122223333", "hola", name="Ana")
    again = await control.inbound(known, "5491122223333", "hola", message_id=first)
    assert first == again and first.startswith("false_5491122223333@c.us_")
    entry = await control.session(known)
    assert entry["state"] == "no_page" and entry["queued"] == 2 and entry["auth_code"] is None
    assert await control.sent(known) == []


async def test_numbers_and_listing(known: str, control: SimulatorClient) -> None:
    await control.not_on_whatsapp(["+54 11 9999-8888"])
    listed = await control.request("POST", "/control/numbers", {"not_on_whatsapp": []})
    assert set(listed["not_on_whatsapp"]) == {"541199998888@c.us", "5491199998888@c.us"}
    assert list(await control.sessions()) == [known]


async def test_phone_message_needs_a_paired_phone(known: str, control: SimulatorClient) -> None:
    with pytest.raises(SimulatorControlError, match="not paired"):
        await control.phone_message(known, "5491122223333", "hola")


async def test_lid_table(known: str, control: SimulatorClient) -> None:
    assert await control.lids({"+54 9 11 2222-3333": "111222333444555"}) == {
        "5491122223333": "111222333444555"
    }
    tables: list[tuple[dict[str, Any], str]] = [
        ({"5491144445555": "111222333444555"}, "already belongs to .5491122223333"),
        ({"5491144445555": "abc"}, "not a LID"),
        ({"5491144445555": 123}, "string of digits or null"),
        ({"nope": "1"}, "not a phone number"),
    ]
    for table, complaint in tables:
        with pytest.raises(SimulatorControlError, match=complaint) as error:
            await control.request("POST", "/control/lids", table)
        assert error.value.status == 400
    assert await control.lids({"5491122223333": None}) == {}
    key = await control.inbound(known, "5491144445555", "hola", lid="999888777666555")
    assert key.startswith("false_999888777666555@lid_")
    assert await control.lids() == {"5491144445555": "999888777666555"}


async def test_inbound_kinds_are_validated(known: str, control: SimulatorClient) -> None:
    base = f"/control/sessions/{known}/inbound"
    for body, complaint in [
        ({"from": "5491122223333", "type": "gif"}, '"type" must be one of'),
        ({"from": "5491122223333", "type": "gp2"}, "happens in a group"),
        ({"from": "5491122223333", "type": "ptt", "caption": "x"}, "no caption for ptt"),
        ({"from": "5491122223333", "type": "image", "filename": "a"}, "only for document"),
        ({"from": "5491122223333", "body": "x", "lid": True}, "has no LID"),
        ({"from": "5491122223333", "body": "x", "lid": 3}, '"lid" must be true, false'),
        ({"from": "120363025@g.us", "body": "x"}, "must be a person"),
    ]:
        with pytest.raises(SimulatorControlError, match=complaint) as error:
            await control.request("POST", base, body)
        assert error.value.status == 400
    media = await control.request(
        "POST", base, {"from": "5491122223333", "type": "image", "caption": "foto"}
    )
    assert media["chat"] == "5491122223333@c.us"


async def test_numbers_send_results_and_reload_are_validated(
    known: str, control: SimulatorClient
) -> None:
    await control.send_results({"541122223333": "ERROR_EXPIRED"})
    listed = await control.request("POST", "/control/numbers", {"send_result": {}})
    assert listed["send_result"] == {"5491122223333": "ERROR_EXPIRED"}
    for body, complaint in [
        ({"send_result": {"5491122223333": "FAILED"}}, "send_result must be one of"),
        ({"send_result": {"5491122223333": 1}}, "result name or null"),
        ({}, 'give "not_on_whatsapp"'),
        ({"not_on_whatsapp": [], "other": 1}, 'give "not_on_whatsapp"'),
    ]:
        with pytest.raises(SimulatorControlError, match=complaint):
            await control.request("POST", "/control/numbers", body)
    with pytest.raises(SimulatorControlError, match="seconds >= 0") as error:
        await control.reload(known, ready_after_s=-1)
    assert error.value.status == 400
    with pytest.raises(SimulatorControlError, match="no page is open") as error:
        await control.reload(known, ready_after_s=2)
    assert error.value.status == 409
    for action, complaint in [("conflict", "not linked"), ("qr-idle", "shows no QR")]:
        with pytest.raises(SimulatorControlError, match=complaint) as error:
            await control.action(known, action)
        assert error.value.status == 409
