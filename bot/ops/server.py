"""`/healthz` and Prometheus `/metrics` for `waops run`, fed by engine events.

Counters are kept in a registry of this service (not the global default one), so tests and
several apps in one process do not share figures.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.events import (
    AIFailed,
    CampaignProgress,
    EventBus,
    Handler,
    MessageSent,
    MessageStored,
    SessionStateChanged,
    Subscriber,
)
from storage.db import Database
from storage.records import Direction, SessionState

logger = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _SessionGauge(Collector):
    def __init__(self, states: dict[int, SessionState]) -> None:
        self._states = states

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("waops_sessions", "WhatsApp sessions by state", labels=["state"])
        tally = Tally(state.value for state in self._states.values())
        for state in SessionState:
            gauge.add_metric([state.value], tally.get(state.value, 0))
        yield gauge


class Metrics(Subscriber):
    """The figures operators graph: sessions, messages, campaign sends, AI, alert deliveries;
    the engine's figures count from `start()`, which subscribes to its events."""

    def __init__(self, bus: EventBus) -> None:
        super().__init__(bus)
        self.session_states: dict[int, SessionState] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_SessionGauge(self.session_states))
        self.messages_in = Counter(
            "waops_messages_in", "Inbound messages stored", ["direction"], registry=self.registry
        )
        self.messages_out = Counter(
            "waops_messages_out",
            "Messages sent by origin and outcome",
            ["origin", "ok"],
            registry=self.registry,
        )
        self.ai_failures = Counter(
            "waops_ai_failures", "AI turns that failed", ["kind"], registry=self.registry
        )
        self.campaign_events = Counter(
            "waops_campaign_progress_events",
            "Campaign sends and skips reported",
            registry=self.registry,
        )
        self.alert_deliveries = Counter(
            "waops_alert_deliveries",
            "Alert and digest deliveries by outcome",
            ["outcome"],
            registry=self.registry,
        )

    def handlers(self) -> list[tuple[type, Handler]]:
        return [
            (MessageStored, self._stored),
            (MessageSent, self._sent),
            (AIFailed, self._ai_failed),
            (CampaignProgress, self._progress),
            (SessionStateChanged, self._session),
        ]

    async def _session(self, event: SessionStateChanged) -> None:
        self.session_states[event.session.session_id] = event.new

    async def _stored(self, event: MessageStored) -> None:
        self.messages_in.labels("in" if event.message.direction is Direction.IN else "phone").inc()

    async def _sent(self, event: MessageSent) -> None:
        self.messages_out.labels(event.origin.value, str(event.ok).lower()).inc()

    async def _ai_failed(self, event: AIFailed) -> None:
        self.ai_failures.labels(event.kind).inc()

    async def _progress(self, _event: CampaignProgress) -> None:
        self.campaign_events.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


ChannelReport = Callable[[], dict[str, dict[str, object]]]


class OpsServer:
    """aiohttp server on 127.0.0.1 (or `host`) with `/healthz` and `/metrics`.

    `/healthz` is 503 only when the database does not answer: an operator channel that is down
    makes it `degraded` (with each channel's state) but the engine runs, so a supervisor must not
    restart waops for it. A `waops bot` adds `bot` (`leader()`): a standby is healthy and ready
    while it waits, or a rolling update would wait forever for a pod that cannot be active yet;
    one that lost the lease is 503, it is on its way out.
    """

    def __init__(
        self,
        db: Database,
        metrics: Metrics,
        *,
        host: str = "127.0.0.1",
        port: int = 9108,
        channels: ChannelReport | None = None,
        leader: Callable[[], str] | None = None,
    ) -> None:
        self._db = db
        self._metrics = metrics
        self._host = host
        self.port = port
        self._channels = channels
        self._leader = leader
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._render)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self.port).start()
        self.port = self._runner.addresses[0][1]
        logger.info(
            "health and metrics on http://%s:%d/healthz and /metrics", self._host, self.port
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, _request: web.Request) -> web.Response:
        try:
            await self._db.ping()
        except Exception as exc:  # any failure means unhealthy; the reason goes to the probe
            return web.json_response(
                {"status": "unhealthy", "database": str(exc)[:200]}, status=503
            )
        channels = self._channels() if self._channels is not None else {}
        down = any(status.get("state") != "up" for status in channels.values())
        body: dict[str, object] = {"status": "degraded" if down else "ok"}
        if channels:
            body["channels"] = channels
        if self._leader is not None:
            body["bot"] = bot = self._leader()
            if bot == "lost":
                body["status"] = "unhealthy"
                return web.json_response(body, status=503)
        return web.json_response(body)

    async def _render(self, _request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE})
