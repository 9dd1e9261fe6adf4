"""The simulator's media control API over HTTP, without a browser: inbound files, the media
servers the fake page downloads from and uploads to, failure injection."""

from __future__ import annotations

import base64
import hashlib
import os

import aiohttp
import pytest

from engine.whatsapp.simulator import Simulator, SimulatorClient
from engine.whatsapp.simulator.client import SimulatorControlError
from engine.whatsapp.simulator.messages import filehash_of

CONTACT = "5491122223333"


@pytest.fixture
async def known(simulator: Simulator) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{simulator.base_url}/s/haby-main") as r:
        assert r.status == 200
    return "haby-main"


async def _download(simulator: Simulator, session: str, filehash: str) -> tuple[int, bytes]:
    url = f"{simulator.base_url}/s/{session}/media"
    async with aiohttp.ClientSession() as http, http.get(url, params={"hash": filehash}) as r:
        return r.status, await r.read()


async def test_a_file_sent_in_is_on_the_media_servers_by_its_filehash(
    known: str, simulator: Simulator, control: SimulatorClient
) -> None:
    # Larger than aiohttp's default 1 MiB body limit, in base64.
    data = os.urandom(3 * 1024 * 1024)
    answer = await control.inbound_media(known, CONTACT, "video", data, caption="mirá")
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert answer["filehash"] == expected == filehash_of(data)
    assert answer["size"] == len(data)
    assert await _download(simulator, known, expected) == (200, data)
    status, _ = await _download(simulator, known, filehash_of(b"never sent"))
    assert status == 404


async def test_the_next_downloads_fail_when_told_to(
    known: str, simulator: Simulator, control: SimulatorClient
) -> None:
    answer = await control.inbound_media(known, CONTACT, "ptt", b"OggS voice", duration=3)
    await control.media_failures(known, 2)
    statuses = [(await _download(simulator, known, answer["filehash"]))[0] for _ in range(3)]
    assert statuses == [404, 404, 200]
    with pytest.raises(SimulatorControlError, match='"count" must be 0 or more'):
        await control.media_failures(known, -1)


@pytest.mark.parametrize(
    ("media", "extra", "error"),
    [
        ({"kind": "gif", "data": "AAAA"}, {}, '"media.kind" must be one of'),
        ({"kind": "image", "data": "not base64!"}, {}, "not valid base64"),
        ({"kind": "image", "data": ""}, {}, '"data" is empty'),
        ({"kind": "image"}, {}, '"data" must be a str'),
        ({"kind": "image", "data": "AAAA", "size": 3}, {}, 'unknown "media" fields'),
        ({"kind": "image", "data": "AAAA"}, {"type": "video"}, "contradicts"),
        ({"kind": "image", "data": "AAAA"}, {"mimetype": "image/png"}, 'put "mimetype" inside'),
        ({"kind": "sticker", "data": "AAAA"}, {"caption": "x"}, "no caption for sticker"),
        ({"kind": "image", "data": "AAAA", "filename": "a.jpg"}, {}, "only for document"),
        ({"kind": "image", "data": "AAAA", "duration": 3}, {}, 'has no "duration"'),
        ({"kind": "ptt", "data": "AAAA", "duration": -1}, {}, "seconds >= 0"),
    ],
)
async def test_bad_media_is_a_400_saying_what_is_wrong(
    known: str,
    control: SimulatorClient,
    media: dict[str, object],
    extra: dict[str, str],
    error: str,
) -> None:
    path = f"/control/sessions/{known}/inbound"
    with pytest.raises(SimulatorControlError, match=error) as refused:
        await control.request("POST", path, {"from": CONTACT, "media": media, **extra})
    assert refused.value.status == 400


async def test_an_upload_needs_a_connected_phone(known: str, simulator: Simulator) -> None:
    url = f"{simulator.base_url}/s/{known}/upload"
    async with aiohttp.ClientSession() as http, http.post(url, data=b"file") as r:
        assert r.status == 503 and "no connection" in (await r.json())["error"]
