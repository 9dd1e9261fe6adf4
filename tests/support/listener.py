"""A `Listener` wired the way bot/app.py wires it, for tests that run the inbound pipeline."""

from __future__ import annotations

from engine.clock import Clock, SystemClock
from engine.events import EventBus
from engine.ia.llm import LLMClient
from engine.inbound.ai_turns import AIReplies
from engine.inbound.outbound import MessageSender, Outbound
from engine.inbound.spool import InboundSpool
from engine.inbound.steps import InboundSteps
from engine.listener import Listener, ListenerPolicy
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
    )
    return Listener(bus, steps, ai, spool=spool, policy=policy)
