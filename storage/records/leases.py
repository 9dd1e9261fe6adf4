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
    taken_from: str | None = None
    """Set by a claim that took the session from an owner whose lease had expired (it died or
    stalled without giving it up)."""


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


@dataclass(frozen=True)
class LeaderLease:
    """The active `waops bot`: `holder` until `expires_at` unless renewed; `epoch` names this
    tenure; `cursor` is the last engine event it published (None: none yet)."""

    name: str
    holder: str
    epoch: int
    expires_at: datetime
    cursor: int | None


@dataclass(frozen=True)
class WorkerCommand:
    """A command for the worker that owns `session_id`, and its answer once `done_at` is set:
    `result` (JSON) when it worked, else `error` (the engine error's name) and `detail`."""

    id: int
    session_id: int
    kind: str
    args: str
    created_at: datetime
    taken_by: str | None = None
    taken_at: datetime | None = None
    done_at: datetime | None = None
    result: str | None = None
    error: str | None = None
    detail: str | None = None
