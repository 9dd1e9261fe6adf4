"""/healthz and /metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp

from bot.ops.server import Metrics, OpsServer
from engine.events import AIFailed, EventBus, MessageSent, SessionRef, SessionStateChanged
from storage.db import Database
from storage.records import Origin, SessionState

REF = SessionRef(1, 1, "haby", "main")


async def test_health_and_metrics_follow_the_engine(db: Database) -> None:
    bus = EventBus()
    metrics = Metrics(bus)
    await metrics.start()
    await bus.publish(
        SessionStateChanged(
            REF, SessionState.STARTING, SessionState.CONNECTED, None, datetime.now(UTC)
        )
    )
    await bus.publish(MessageSent(1, 1, Origin.AI, True))
    await bus.publish(MessageSent(1, 1, Origin.CAMPAIGN, False))
    await bus.publish(AIFailed(REF, 1, "549", "unavailable", None, True))
    metrics.alert_deliveries.labels("sent").inc()
    server = OpsServer(db, metrics, port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                assert response.status == 200 and (await response.json())["status"] == "ok"
            async with http.get(f"http://127.0.0.1:{server.port}/metrics") as response:
                body = await response.text()
    finally:
        await server.stop()
    assert 'waops_sessions{state="connected"} 1.0' in body
    assert 'waops_sessions{state="stopped"} 0.0' in body
    assert 'waops_messages_out_total{ok="true",origin="ai"} 1.0' in body
    assert 'waops_messages_out_total{ok="false",origin="campaign"} 1.0' in body
    assert 'waops_ai_failures_total{kind="unavailable"} 1.0' in body
    assert 'waops_alert_deliveries_total{outcome="sent"} 1.0' in body


async def test_health_reports_a_dead_database() -> None:
    broken = Database("mysql+aiomysql://nobody@127.0.0.1:9/none")
    server = OpsServer(broken, Metrics(EventBus()), port=0)
    await server.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{server.port}/healthz") as response,
        ):
            assert response.status == 503
            assert (await response.json())["status"] == "unhealthy"
    finally:
        await server.stop()
        await broken.shutdown()


async def test_health_is_degraded_while_an_operator_channel_is_down(db: Database) -> None:
    states = {"telegram": {"state": "retrying", "error": "Bad Gateway"}}
    server = OpsServer(db, Metrics(EventBus()), port=0, channels=lambda: states)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                assert response.status == 200, "the engine runs: no restart for this"
                body = await response.json()
            assert body == {"status": "degraded", "channels": states}
            states["telegram"] = {"state": "up"}
            async with http.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                assert (await response.json())["status"] == "ok"
    finally:
        await server.stop()


async def test_a_standby_bot_is_healthy_and_one_that_lost_its_lease_is_not(db: Database) -> None:
    state = "standby"
    server = OpsServer(db, Metrics(EventBus()), port=0, leader=lambda: state)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{server.port}/healthz"
            async with http.get(url) as response:
                assert response.status == 200, "a rolling update waits for a ready standby"
                assert await response.json() == {"status": "ok", "bot": "standby"}
            state = "active"
            async with http.get(url) as response:
                assert await response.json() == {"status": "ok", "bot": "active"}
            state = "lost"
            async with http.get(url) as response:
                assert response.status == 503
                assert await response.json() == {"status": "unhealthy", "bot": "lost"}
    finally:
        await server.stop()
