"""The simulator's control API over HTTP, without a browser."""

from __future__ import annotations

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
