"""A `Listener` wired the way bot/app.py wires it, for tests that run the inbound pipeline."""

from __future__ import annotations

from collections.abc import Callable

from engine.clock import Clock, SystemClock
from engine.events import EventBus
from engine.ia.llm import LLMClient
from engine.ia.responder import MediaReader
from engine.inbound.ai_turns import AIReplies
from engine.inbound.media import MediaIntake
from engine.inbound.outbound import Outbound
from engine.inbound.spool import InboundSpool
from engine.inbound.steps import InboundSteps
from engine.listener import Listener, ListenerPolicy
from engine.senders import MessageSender
from storage.db import Database


def make_listener(
    db: Database,
    bus: EventBus,
    sender: MessageSender,
    *,
    llm: LLMClient | None,
    default_model: str,
    spool: InboundSpool,
    policy: ListenerPolicy | None = None,
    clock: Clock | None = None,
    media: MediaIntake | None = None,
    images: MediaReader | None = None,
    accepts_images: Callable[[str], bool] | None = None,
) -> Listener:
    """One `Outbound` on `sender` for the steps and the AI turns, as in the composition root."""
    policy = policy or ListenerPolicy()
    clock = clock or SystemClock()
    outbound = Outbound(db, sender, bus)
    ai = AIReplies(
        db,
        bus,
        outbound,
        llm,
        default_model,
        policy.typing_scale,
        policy.reply_timeout_s,
        clock,
        media=images,
        accepts_images=accepts_images,
    )
    steps = InboundSteps(
        db,
        bus,
        outbound,
        ai,
        llm,
        default_model,
        language=policy.language,
        classify_timeout_s=policy.classify_timeout_s,
        clock=clock,
        media=media,
    )
    return Listener(bus, steps, ai, spool=spool, policy=policy)
