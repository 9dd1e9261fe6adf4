"""AI replies: a client's settings and the log of model calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AISettings:
    client_id: int
    enabled: bool
    model: str | None
    system_prompt: str
    business_context: str
    history_window: int
    max_reply_tokens: int
    daily_token_budget: int
    fallback_text: str | None
    pause_s: int
    debounce_s: float
    groups_enabled: bool
    opt_out_keywords: tuple[str, ...]
    rule_replies: str = ""
    opt_out_reply: str | None = None
    handoff_reply: str | None = None


@dataclass(frozen=True)
class AICall:
    """One model call as stored: outcome and tokens (failures are kept for operators)."""

    client_id: int
    contact_id: int | None
    at: datetime
    purpose: str
    model: str
    ok: bool
    tokens: int
    error_kind: str | None = None
    detail: str | None = None
