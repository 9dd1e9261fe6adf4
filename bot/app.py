"""The composition root: builds the engine from the settings and runs it.

Parts start in dependency order and stop in reverse (storage, sessions, listener, campaigns),
so a shutdown lets in-flight sends finish before browsers close.
"""

from __future__ import annotations

import logging
import random
from contextlib import AsyncExitStack
from types import TracebackType

from engine.campaigns import CampaignEngine, CampaignService
from engine.clock import Clock, SystemClock
from engine.conversations import AIControl, Conversations
from engine.events import EventBus
from engine.ia.llm import LLMClient
from engine.ia.openai_client import OpenAIClient
from engine.inbox import InboundSpool
from engine.listener import Listener, ListenerPolicy
from engine.pacing import PacingPolicy
from engine.receipts import ReceiptTracker
from engine.session_runner import SessionPolicy
from engine.sessions import DriverFactory, SessionManager, playwright_factory
from engine.settings import Settings
from storage.db import Database
from storage.migrate import ensure_schema

logger = logging.getLogger(__name__)


class App:
    """Everything `waops run` and `waops demo` run in one process."""

    def __init__(
        self,
        settings: Settings,
        *,
        llm: LLMClient | None = None,
        make_driver: DriverFactory | None = None,
        session_policy: SessionPolicy | None = None,
        listener_policy: ListenerPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.bus = EventBus()
        self._llm = llm
        self._stack = AsyncExitStack()
        self.sessions = SessionManager(
            self.db,
            self.bus,
            make_driver or playwright_factory(settings),
            settings.data_dir,
            session_policy,
        )
        self.receipts = ReceiptTracker(self.db, self.bus)
        self.pacing = PacingPolicy.from_settings(settings)
        self.campaign_engine = CampaignEngine(
            self.db, self.bus, self.sessions, self.pacing, clock=clock or SystemClock(), rng=rng
        )
        self.campaigns = CampaignService(self.db, self.campaign_engine, self.pacing, rng)
        self.conversations = Conversations(self.db, self.sessions, self.bus)
        self.ai = AIControl(self.db)
        self._listener_policy = listener_policy or ListenerPolicy(language=settings.language)
        self.listener: Listener | None = None

    def _make_llm(self) -> LLMClient | None:
        if self._llm is not None:
            return self._llm
        key = self.settings.openai_api_key
        if key is None and self.settings.openai_base_url is None:
            logger.warning("no WAOPS_OPENAI_API_KEY or WAOPS_OPENAI_BASE_URL: AI replies are off")
            return None
        client = OpenAIClient(
            api_key=key.get_secret_value() if key is not None else "unused",
            base_url=self.settings.openai_base_url,
        )
        self._stack.push_async_callback(client.aclose)
        return client

    async def start(self) -> None:
        await ensure_schema(self.db)
        self._stack.push_async_callback(self.db.shutdown)
        await self.sessions.start()
        self._stack.push_async_callback(self.sessions.stop)
        self.listener = Listener(
            self.db,
            self.bus,
            self.sessions,
            llm=self._make_llm(),
            default_model=self.settings.openai_model,
            spool=InboundSpool(self.settings.data_dir / "inbound.spool"),
            policy=self._listener_policy,
        )
        await self.listener.start()
        self._stack.push_async_callback(self.listener.stop)
        await self.campaign_engine.start()
        self._stack.push_async_callback(self.campaign_engine.stop)
        logger.info("waops engine started")

    async def stop(self) -> None:
        await self._stack.aclose()
        logger.info("waops engine stopped")

    async def __aenter__(self) -> App:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
