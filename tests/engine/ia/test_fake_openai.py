"""The fake OpenAI server itself fails loudly on anything but a well-formed chat completion."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.fakes.openai_server import FakeOpenAI

AUTH = {"Authorization": "Bearer k"}


async def test_unknown_paths_and_bad_bodies_are_recorded() -> None:
    async with FakeOpenAI() as fake, aiohttp.ClientSession() as http:
        base = fake.base_url
        async with http.get(f"{base}/models", headers=AUTH) as response:
            assert response.status == 404
        async with http.post(f"{base}/chat/completions", data="{", headers=AUTH) as response:
            assert response.status == 400
        bad = {"model": "m", "messages": [{"role": "tool", "content": "x"}]}
        async with http.post(f"{base}/chat/completions", json=bad, headers=AUTH) as response:
            assert response.status == 400
        good = {"model": "m", "messages": [{"role": "user", "content": "hola"}]}
        async with http.post(f"{base}/chat/completions", json=good) as response:
            assert response.status == 401

        assert len(fake.unexpected) == 4
        assert fake.requests == []
        with pytest.raises(AssertionError, match="unexpected requests"):
            fake.assert_no_unexpected()


async def test_default_answer_counts_words() -> None:
    async with FakeOpenAI() as fake, aiohttp.ClientSession() as http:
        body = {"model": "m", "messages": [{"role": "user", "content": "hola qué tal"}]}
        async with http.post(f"{fake.base_url}/chat/completions", json=body, headers=AUTH) as r:
            payload = await r.json()

    assert payload["choices"][0]["message"]["content"] == "Recibido: hola qué tal"
    assert payload["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert fake.messages == [body["messages"]]
