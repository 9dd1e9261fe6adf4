"""The listener on a bad day: a full disk under the spool, a lone surrogate in a body, one
client's model hanging while another client's contact writes BAJA."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from engine.events import ContactOptedOut, InboundSpoolFailed
from engine.ia.openai_client import OpenAIClient
from engine.inbound.conversations import Conversations
from engine.inbound.spool import InboundSpool
from engine.inbound.steps import DEFAULT_OPT_OUT_REPLY
from engine.listener import ListenerPolicy
from engine.retry import Backoff
from storage.repos import AISettingsRepo, ContactRepo
from tests.engine.inbound.env import CONTACT, Env
from tests.support.listener import make_listener

OTHER = "5491166660000"


def _fill_the_disk_under(path: Path) -> None:
    """Make the spool's open file descriptor write to /dev/full (ENOSPC on every write), as
    a full disk would; found through /proc, so the spool's code is not touched."""
    fd_dir = Path("/proc/self/fd")
    for entry in fd_dir.iterdir():
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target == str(path):
            full = os.open("/dev/full", os.O_WRONLY)
            os.dup2(full, int(entry.name))
            os.close(full)
            return
    raise AssertionError(f"no open descriptor for {path}")


async def test_a_full_disk_under_the_spool_loses_no_message_and_tells_operators(
    env: Env,
) -> None:
    failures: list[InboundSpoolFailed] = []

    async def record(event: InboundSpoolFailed) -> None:
        failures.append(event)

    env.bus.subscribe(InboundSpoolFailed, record)
    await AISettingsRepo(env.db).update(env.haby.client_id, enabled=False)
    _fill_the_disk_under(env.spool_path)
    await env.inbound("hola")
    await env.inbound("BAJA")
    await env.listener.run_until_idle()
    assert await env.conversation() == [
        ("in", "contact", "hola"),
        ("in", "contact", "BAJA"),
        ("out", "rule", DEFAULT_OPT_OUT_REPLY["es"]),
    ]
    assert (await ContactRepo(env.db).get(env.haby.client_id, CONTACT)).opted_out_at is not None
    assert len(failures) == 1, "one alert for the failing streak, not one per message"


async def test_a_lone_surrogate_is_stored_not_dropped(env: Env) -> None:
    await AISettingsRepo(env.db).update(env.haby.client_id, enabled=False)
    await env.inbound("hola \ud83d y chau 😀")
    await env.listener.run_until_idle()
    assert await env.conversation() == [("in", "contact", "hola \ufffd y chau 😀")]


async def test_a_hung_model_of_one_client_does_not_hold_another_clients_baja(
    env: Env, tmp_path: Path
) -> None:
    """haby's model stops answering in the middle of classifying a message; marketing's
    contact writes BAJA meanwhile and is opted out and answered before haby's call ends."""
    await env.listener.stop()  # this test wants a classifier timeout far above its waits
    async with OpenAIClient(api_key="k", base_url=env.fake.base_url, timeout_s=30) as llm:
        listener = make_listener(
            env.db,
            env.bus,
            env.sender,
            llm=llm,
            default_model="gpt-test",
            spool=InboundSpool(tmp_path / "spool"),
            policy=ListenerPolicy(
                storage_backoff=Backoff(0.05, 0.2), typing_scale=0.0, classify_timeout_s=30
            ),
        )
        await listener.start()
        opted_out = asyncio.Event()

        async def on_opt_out(_event: ContactOptedOut) -> None:
            opted_out.set()

        env.bus.subscribe(ContactOptedOut, on_opt_out)
        env.fake.hang_classifications()
        await env.inbound("hola, tienen el sillón gris?")
        async with asyncio.timeout(10):
            await env.fake.classification_arrived.wait()
        await env.inbound("BAJA", ref=env.marketing, sender=OTHER)
        async with asyncio.timeout(10):
            await opted_out.wait()
        assert [to for _s, to, _t, _ms in env.sender.sent] == [f"{OTHER}@c.us"]
        assert env.fake.requests == [], "haby's message is still waiting for its model"

        env.fake.hang_classifications(False)
        await listener.run_until_idle()
        await listener.stop()
    assert [to for _s, to, _t, _ms in env.sender.sent][-1] == f"{CONTACT}@c.us"


async def test_the_spool_is_compacted_as_it_goes(env: Env, tmp_path: Path) -> None:
    await env.listener.stop()
    spool = InboundSpool(tmp_path / "small.spool", compact_after_lines=10)
    listener = make_listener(env.db, env.bus, env.sender, llm=None, default_model="m", spool=spool)
    await listener.start()
    for n in range(40):
        await env.inbound(f"mensaje {n}")
        await listener.run_until_idle()
    await listener.stop()
    lines = (tmp_path / "small.spool").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 11, f"{len(lines)} lines for 40 messages: the spool is not compacted"
    assert not any("mensaje 1" in line for line in lines)


async def test_forget_removes_the_contacts_bodies_from_the_spool(env: Env) -> None:
    await AISettingsRepo(env.db).update(env.haby.client_id, enabled=False)
    await env.inbound("mi dirección es Corrientes 1234")
    await env.listener.run_until_idle()
    assert "Corrientes 1234" in env.spool_path.read_text(encoding="utf-8")
    await Conversations(env.db, env.sender, env.bus).forget("haby", CONTACT)
    assert "Corrientes 1234" not in env.spool_path.read_text(encoding="utf-8")
