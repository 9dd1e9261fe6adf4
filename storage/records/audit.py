"""The audit log: who ran which command, with what result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AuditResult(StrEnum):
    OK = "ok"
    DENIED = "denied"
    ERROR = "error"
    PROPOSED = "proposed"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    platform: str
    command: str
    args: str
    client_slug: str | None
    result: AuditResult
    detail: str | None
