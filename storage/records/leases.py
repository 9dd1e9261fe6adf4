"""The split deployment across processes (issue 17): leases, workers, and the event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Lease:
    """A session a worker owns: valid until `expires_at` unless renewed; `epoch` names this
    ownership (it grows with every change of owner) and fences the writes made under it."""

    session_id: int
    owner: str
    epoch: int
    expires_at: datetime


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker says of itself with each heartbeat."""

    id: str
    capacity: int
    version: str
    started_at: datetime
    heartbeat_at: datetime


class LeaseLost(Exception):
    """The worker no longer holds the session's lease at `epoch`: it must not write for it."""

    def __init__(self, session_id: int, owner: str, epoch: int) -> None:
        super().__init__(
            f"worker {owner} no longer holds session {session_id} at epoch {epoch}:"
            " another worker took it over; this one must stop its browser"
        )
        self.session_id = session_id
        self.owner = owner
        self.epoch = epoch


@dataclass(frozen=True)
class LoggedEvent:
    """An engine event as the event log keeps it: `id` orders the log, `kind` names the event
    type and `payload` is its JSON; `source` is the worker that published it."""

    id: int
    kind: str
    source: str
    payload: str
    created_at: datetime
