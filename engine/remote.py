"""Commands across processes (issue 17): what `waops bot` asks of the worker owning a number.

In `waops run` the chat commands call the engine in-process. In a split deployment the engine
runs in `waops worker` processes, so the bot's commands that act on a number (`/pair`,
`/usehere`, `/restart`, `/logout`, `/reply` and its files, campaign moves, `/forget`) become
rows of `worker_commands` (storage/repos/worker_commands.py) for that number's session:

- `RemoteEngine`, in the bot, stands where the SessionManager and the CampaignEngine stand in
  one process (the same methods the commands call), writes the row and waits for its answer.
  What only reads the database (the session list, stored states) it reads itself.
- `CommandTaker`, in each worker, takes the rows of the sessions whose lease it holds every
  `poll_every_s` (0.5 s), runs them on its engine one at a time per session (two replies to one
  chat keep their order) and writes each answer.

At-most-once holds across the two: a command nobody took within `take_within_s` is withdrawn
(an UPDATE guarded by `taken_at IS NULL`: withdrawn or taken, never both) and the operator is
told no worker runs the number; a send a worker took but did not answer in time is
`SendUnknown` (stored `pending`), never sent again. Engine errors come back by class name with
what they carry (`_encode_error`), so the bot tells operators the same as in one process.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import TypeAdapter

from engine.campaign.ports import CampaignStatuses
from engine.clock import Clock, SystemClock
from engine.errors import InvalidInput, NoWorker, RemoteFailed, Text
from engine.events import ContactForgotten, EventBus
from engine.lifecycle import TwoPhase
from engine.media_store import MediaStore
from engine.senders import MediaSender, MessageSender
from engine.session.policy import InConflict
from engine.tasks import TaskOwner
from engine.whatsapp.errors import (
    MediaUnavailable,
    NotInConflict,
    NotLoggedIn,
    ProfileInUse,
    SendFailed,
    SendUnknown,
    SessionLost,
    WAJSNotReady,
    WhatsAppError,
)
from engine.whatsapp.types import OutgoingMedia, SentMessage
from storage.db import Database, NotFound, StorageUnavailable
from storage.records import Campaign, CampaignStatus, LeaseLost, SessionState, WaSession
from storage.repos import CampaignRepo, SessionRepo
from storage.repos.worker_commands import WITHDRAWN, WorkerCommandRepo

logger = logging.getLogger(__name__)

_SENT = TypeAdapter(SentMessage)
_CAMPAIGN = TypeAdapter(Campaign)
KEEP_ANSWERED = timedelta(days=1)


# -- errors across the table -----------------------------------------------------------------

_BY_NAME: dict[str, type[WhatsAppError]] = {
    cls.__name__: cls
    for cls in (
        NotLoggedIn,
        NotInConflict,
        InConflict,
        SendFailed,
        ProfileInUse,
        WAJSNotReady,
        NoWorker,
    )
}


def _encode_param(value: object) -> object:
    """A text's parameter as JSON: a text inside it (a phone's reason inside "not a phone")
    keeps its key and parameters, so the bot says it in the operator's language too."""
    if isinstance(value, Text):
        params = {k: _encode_param(v) for k, v in value.params.items()}
        return {"text": value.key, "english": str(value), "params": params}
    return str(value)


def _decode_param(value: object) -> object:
    if isinstance(value, dict) and "text" in value:
        params = {k: _decode_param(v) for k, v in value["params"].items()}
        return Text(value["text"], value["english"], params)
    return value


def _encode_error(exc: BaseException) -> tuple[str, str]:
    """An engine error as (class name, JSON of what it carries)."""
    detail: dict[str, Any] = {"message": str(exc)}
    if isinstance(exc, InvalidInput):
        params = {k: _encode_param(v) for k, v in exc.text.params.items()}
        detail.update(key=exc.text.key, params=params)
    elif isinstance(exc, SessionLost):
        detail.update(maybe_sent=exc.maybe_sent, message_id=exc.message_id)
    elif isinstance(exc, SendUnknown):
        detail.update(message_id=exc.message_id)
    elif isinstance(exc, MediaUnavailable):
        detail.update(code=exc.code)
    return type(exc).__name__, json.dumps(detail)


def _decode_error(name: str, detail: str | None) -> Exception:
    """The exception a worker's answer names, as the engine in one process would raise it."""
    fields: dict[str, Any] = json.loads(detail) if detail else {}
    message = str(fields.get("message", name))
    if name == "InvalidInput" and "key" in fields:
        params = {k: _decode_param(v) for k, v in fields.get("params", {}).items()}
        return InvalidInput(fields["key"], **params)
    if name == "SessionLost":
        return SessionLost(
            message, maybe_sent=bool(fields.get("maybe_sent")), message_id=fields.get("message_id")
        )
    if name == "SendUnknown":
        return SendUnknown(message, message_id=fields.get("message_id"))
    if name == "MediaUnavailable":
        return MediaUnavailable(str(fields.get("code", "")), message)
    if name == "NotFound":
        return NotFound(message)
    if name == "LeaseLost":
        return NoWorker(f"the worker lost the number while running the command: {message}")
    known = _BY_NAME.get(name)
    if known is not None:
        return known(message)
    return RemoteFailed(f"{name}: {message}")


# -- the worker side -------------------------------------------------------------------------


class WorkerEngine(MessageSender, MediaSender, Protocol):
    """What a worker's commands run on: its SessionManager (it sends, and pairs, takes over,
    restarts and logs out a session)."""

    async def pair(self, client_slug: str, name: str = "main", phone: str | None = None) -> str: ...
    async def take_over(self, client_slug: str, name: str = "main") -> SessionState: ...
    async def restart(self, client_slug: str, name: str = "main") -> None: ...
    async def logout(self, client_slug: str, name: str = "main") -> None: ...


class CampaignMoves(CampaignStatuses, Protocol):
    def poke(self, session_id: int) -> None: ...


Handler = Callable[[int, dict[str, Any]], Awaitable[str]]


class CommandTaker(TwoPhase):
    """In a worker: the commands for the sessions it holds, taken, run and answered."""

    def __init__(
        self,
        db: Database,
        worker_id: str,
        held: Callable[[], Collection[int]],
        sessions: WorkerEngine,
        campaigns: CampaignMoves,
        bus: EventBus,
        media: MediaStore,
        *,
        clock: Clock | None = None,
        poll_every_s: float = 0.5,
    ) -> None:
        """`held`: the sessions whose lease this worker holds now (engine/ownership.py)."""
        self._repo = WorkerCommandRepo(db)
        self._sessions_repo = SessionRepo(db)
        self._worker_id = worker_id
        self._held = held
        self._sessions = sessions
        self._campaigns = campaigns
        self._bus = bus
        self._media = media
        self._clock = clock or SystemClock()
        self._poll_every_s = poll_every_s
        self._lanes: dict[int, asyncio.Lock] = {}
        self._tasks = TaskOwner("worker-commands")
        self._running = TaskOwner("worker-commands-run")
        self._stopping = asyncio.Event()
        self._pruned_at: datetime | None = None
        self._handlers: dict[str, Handler] = {
            "pair": self._pair,
            "take_over": self._take_over,
            "restart": self._restart,
            "logout": self._logout,
            "send_text": self._send_text,
            "send_media": self._send_media,
            "campaign_change": self._campaign_change,
            "poke": self._poke,
            "contact_forgotten": self._contact_forgotten,
        }

    async def start(self) -> None:
        self._stopping.clear()
        self._tasks.spawn("worker-commands:poll", self._run())

    async def stop(self) -> None:
        """Stop taking commands; those running finish (a send in flight is answered)."""
        self._stopping.set()
        await self._tasks.shutdown(grace_s=5.0)
        await self._running.shutdown(grace_s=30.0)

    async def poll(self) -> int:
        """Take the waiting commands of the held sessions and start them; how many."""
        taken = await self._repo.take(self._worker_id, self._held(), self._clock.now())
        for command in taken:
            lane = self._lanes.setdefault(command.session_id, asyncio.Lock())
            self._running.spawn(
                f"worker-command:{command.id}:{command.kind}",
                self._answer(lane, command.id, command.session_id, command.kind, command.args),
            )
        await self._prune()
        return len(taken)

    async def _answer(
        self, lane: asyncio.Lock, command_id: int, session_id: int, kind: str, args: str
    ) -> None:
        async with lane:
            handler = self._handlers.get(kind)
            result: str | None = None
            error: str | None = None
            detail: str | None = None
            if handler is None:
                error, detail = (
                    "RemoteFailed",
                    json.dumps(
                        {
                            "message": f"this worker does not know the command {kind!r}: run the"
                            " same waops version on the bot and the workers"
                        }
                    ),
                )
            elif session_id not in self._held():
                error, detail = _encode_error(LeaseLost(session_id, self._worker_id, -1))
            else:
                try:
                    result = await handler(session_id, json.loads(args))
                except (WhatsAppError, InvalidInput, NotFound) as exc:
                    error, detail = _encode_error(exc)
                except Exception as exc:  # answered, so the bot does not wait in vain
                    logger.exception("worker command %s (%s) failed", command_id, kind)
                    error, detail = "RemoteFailed", json.dumps({"message": repr(exc)})
            await self._repo.finish(
                command_id, self._clock.now(), result=result, error=error, detail=detail
            )

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.poll()
            except StorageUnavailable as exc:
                logger.warning("worker commands: %s; looking again shortly", exc)
            except Exception:  # a bug must not leave this worker deaf to the bot's commands
                logger.exception("worker commands: taking them failed; looking again shortly")
            await self._clock.sleep_until(
                self._clock.now() + timedelta(seconds=self._poll_every_s), self._stopping
            )

    async def _prune(self) -> None:
        now = self._clock.now()
        if self._pruned_at is not None and now - self._pruned_at < timedelta(hours=1):
            return
        self._pruned_at = now
        await self._repo.prune(now - KEEP_ANSWERED)

    # -- the commands ---------------------------------------------------------------------

    async def _session(self, session_id: int) -> WaSession:
        return await self._sessions_repo.get_by_id(session_id)

    async def _pair(self, session_id: int, args: dict[str, Any]) -> str:
        session = await self._session(session_id)
        code = await self._sessions.pair(session.client_slug, session.name, args.get("phone"))
        return json.dumps({"code": code})

    async def _take_over(self, session_id: int, args: dict[str, Any]) -> str:
        session = await self._session(session_id)
        state = await self._sessions.take_over(session.client_slug, session.name)
        return json.dumps({"state": state.value})

    async def _restart(self, session_id: int, args: dict[str, Any]) -> str:
        session = await self._session(session_id)
        await self._sessions.restart(session.client_slug, session.name)
        return "{}"

    async def _logout(self, session_id: int, args: dict[str, Any]) -> str:
        session = await self._session(session_id)
        await self._sessions.logout(session.client_slug, session.name)
        return "{}"

    async def _send_text(self, session_id: int, args: dict[str, Any]) -> str:
        sent = await self._sessions.send_text(
            session_id, args["chat_id"], args["text"], typing_ms=int(args.get("typing_ms", 0))
        )
        return _SENT.dump_json(sent).decode("utf-8")

    async def _send_media(self, session_id: int, args: dict[str, Any]) -> str:
        data = await self._media.read(args["sha256"])
        media = OutgoingMedia(
            args["kind"], args["mimetype"], args.get("filename"), data, args["sha256"]
        )
        sent = await self._sessions.send_media(
            session_id,
            args["chat_id"],
            media,
            caption=args.get("caption", ""),
            typing_ms=int(args.get("typing_ms", 0)),
            timeout_s=float(args.get("timeout_s", 120.0)),
        )
        return _SENT.dump_json(sent).decode("utf-8")

    async def _campaign_change(self, session_id: int, args: dict[str, Any]) -> str:
        expect = args.get("expect")
        scheduled_at = args.get("scheduled_at")
        campaign = await self._campaigns.change(
            int(args["campaign_id"]),
            CampaignStatus(args["status"]),
            args.get("reason"),
            expect=None if expect is None else [CampaignStatus(s) for s in expect],
            scheduled_at=None if scheduled_at is None else datetime.fromisoformat(scheduled_at),
        )
        return _CAMPAIGN.dump_json(campaign).decode("utf-8")

    async def _poke(self, session_id: int, args: dict[str, Any]) -> str:
        self._campaigns.poke(session_id)
        return "{}"

    async def _contact_forgotten(self, session_id: int, args: dict[str, Any]) -> str:
        await self._bus.publish(ContactForgotten(int(args["client_id"]), int(args["contact_id"])))
        return "{}"


# -- the bot side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RemotePolicy:
    """How long the bot waits: for a worker to take a command (it looks every 0.5 s), and for
    its answer beyond what the command itself may take."""

    take_within_s: float = 10.0
    answer_margin_s: float = 30.0
    pair_timeout_s: float = 90.0
    take_over_timeout_s: float = 60.0
    stop_timeout_s: float = 30.0
    look_every_s: float = 0.2


class RemoteEngine:
    """In the bot: the engine's session and campaign operations, run by the worker that owns
    the number. Reads (the session list, stored states) come straight from the database."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        clock: Clock | None = None,
        policy: RemotePolicy | None = None,
    ) -> None:
        self._repo = WorkerCommandRepo(db)
        self._sessions = SessionRepo(db)
        self._campaigns = CampaignRepo(db)
        self._bus = bus
        self.clock: Clock = clock or SystemClock()
        self.policy = policy or RemotePolicy()
        self._pokes = TaskOwner("remote-pokes")

    # -- what the session commands call (as on SessionManager) ----------------------------

    async def list(self, client_slug: str | None = None) -> list[WaSession]:
        return await self._sessions.list(client_slug)

    async def get(self, client_slug: str, name: str = "main") -> WaSession:
        return await self._sessions.get(client_slug, name)

    def state(self, session_id: int) -> SessionState | None:
        """No live state here: the stored one is what the owning worker last wrote."""
        return None

    async def pair(self, client_slug: str, name: str = "main", phone: str | None = None) -> str:
        session = await self.get(client_slug, name)
        answer = await self._call(
            session.id, "pair", {"phone": phone}, answer_within_s=self.policy.pair_timeout_s
        )
        return str(answer["code"])

    async def take_over(self, client_slug: str, name: str = "main") -> SessionState:
        session = await self.get(client_slug, name)
        answer = await self._call(
            session.id, "take_over", {}, answer_within_s=self.policy.take_over_timeout_s
        )
        return SessionState(answer["state"])

    async def restart(self, client_slug: str, name: str = "main") -> None:
        session = await self.get(client_slug, name)
        await self._call(session.id, "restart", {}, answer_within_s=self.policy.stop_timeout_s)

    async def logout(self, client_slug: str, name: str = "main") -> None:
        session = await self.get(client_slug, name)
        await self._call(session.id, "logout", {}, answer_within_s=self.policy.stop_timeout_s)

    # -- what conversations send through (MessageSender, MediaSender) ---------------------

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        args = {"chat_id": chat_id, "text": text, "typing_ms": typing_ms}
        answer = await self._call_send(session_id, "send_text", args, typing_ms / 1000 + 60.0)
        return answer

    async def send_media(
        self,
        session_id: int,
        chat_id: str,
        media: OutgoingMedia,
        *,
        caption: str,
        typing_ms: int = 0,
        timeout_s: float = 120.0,
    ) -> SentMessage:
        """The file is in the shared media store already (the caller put it there): the worker
        reads it by its SHA-256."""
        args = {
            "chat_id": chat_id,
            "kind": media.kind,
            "mimetype": media.mimetype,
            "filename": media.filename,
            "sha256": media.sha256,
            "caption": caption,
            "typing_ms": typing_ms,
            "timeout_s": timeout_s,
        }
        return await self._call_send(session_id, "send_media", args, typing_ms / 1000 + timeout_s)

    async def _call_send(
        self, session_id: int, kind: str, args: dict[str, Any], within_s: float
    ) -> SentMessage:
        try:
            raw = await self._call_raw(session_id, kind, args, answer_within_s=within_s)
        except _Unanswered as exc:
            raise SendUnknown(
                f"worker {exc.worker} took the message for session {session_id} and gave no"
                " answer in time; it is not sent again (a receipt may still settle it)"
            ) from None
        return _SENT.validate_json(raw)

    # -- what the campaign service calls (CampaignControl) ---------------------------------

    async def change(
        self,
        campaign_id: int,
        status: CampaignStatus,
        reason: str | None,
        *,
        expect: builtins.list[CampaignStatus] | None = None,
        scheduled_at: datetime | None = None,
    ) -> Campaign:
        """Moved by the worker that owns the campaign's number: it arms the start time and
        tells its number's sender, as in one process."""
        session_id = await self._campaign_session(campaign_id)
        args = {
            "campaign_id": campaign_id,
            "status": status.value,
            "reason": reason,
            "expect": None if expect is None else [s.value for s in expect],
            "scheduled_at": None if scheduled_at is None else scheduled_at.isoformat(),
        }
        raw = await self._call_raw(
            session_id, "campaign_change", args, answer_within_s=self.policy.answer_margin_s
        )
        return _CAMPAIGN.validate_json(raw)

    def poke(self, session_id: int) -> None:
        """Let the owning worker look at the number's campaigns again (pacing changed)."""
        self._pokes.spawn(f"remote-poke:{session_id}", self._notify(session_id, "poke", {}))

    async def forgotten(self, client_id: int, contact_id: int) -> None:
        """A contact was forgotten: every worker running one of the client's numbers drops
        the contact's bodies from its inbound spool."""
        args = {"client_id": client_id, "contact_id": contact_id}
        for session in await self._sessions.list():
            if session.client_id == client_id:
                await self._notify(session.id, "contact_forgotten", args)

    async def on_forgotten(self, event: ContactForgotten) -> None:
        await self.forgotten(event.client_id, event.contact_id)

    async def start(self) -> None:
        self._bus.subscribe(ContactForgotten, self.on_forgotten)

    async def stop(self) -> None:
        self._bus.unsubscribe(ContactForgotten, self.on_forgotten)
        await self._pokes.shutdown(grace_s=5.0)

    async def _notify(self, session_id: int, kind: str, args: dict[str, Any]) -> None:
        """A command whose answer nobody waits for; a number no worker runs has nothing to
        tell (the worker that takes it later reads the campaigns afresh)."""
        await self._repo.submit(session_id, kind, json.dumps(args), self.clock.now())

    async def _campaign_session(self, campaign_id: int) -> int:
        return (await self._campaigns.get(campaign_id)).session_id

    # -- the table -------------------------------------------------------------------------

    async def _call(
        self, session_id: int, kind: str, args: dict[str, Any], *, answer_within_s: float
    ) -> dict[str, Any]:
        try:
            raw = await self._call_raw(session_id, kind, args, answer_within_s=answer_within_s)
        except _Unanswered as exc:
            raise NoWorker(
                f"worker {exc.worker} took the command ({kind}) for session {session_id} and"
                " gave no answer in time; look at /workers and /sessions before trying again"
            ) from None
        loaded: dict[str, Any] = json.loads(raw)
        return loaded

    async def _call_raw(
        self, session_id: int, kind: str, args: dict[str, Any], *, answer_within_s: float
    ) -> str:
        """Submit, wait to be taken (else withdraw: `NoWorker`), wait for the answer (else
        `_Unanswered`); the result JSON, or the worker's error raised here."""
        command_id = await self._repo.submit(session_id, kind, json.dumps(args), self.clock.now())
        policy = self.policy
        loop = asyncio.get_running_loop()
        take_by = loop.time() + policy.take_within_s
        answer_by: float | None = None
        while True:
            command = await self._repo.get(command_id)
            if command.done_at is not None:
                break
            now = loop.time()
            if command.taken_at is None and now >= take_by:
                if await self._repo.withdraw(command_id, self.clock.now()):
                    raise NoWorker(
                        f"no waops worker took the command ({kind}) for session {session_id}"
                        f" within {policy.take_within_s:.0f} s, so nothing was done: is a"
                        " worker running with room for it? See /workers"
                    )
                continue  # taken just now
            if command.taken_at is not None:
                if answer_by is None:
                    answer_by = now + answer_within_s
                elif now >= answer_by:
                    raise _Unanswered(command.taken_by or "?")
            await asyncio.sleep(policy.look_every_s)
        if command.error == WITHDRAWN:
            raise NoWorker(f"the command ({kind}) for session {session_id} was withdrawn")
        if command.error is not None:
            raise _decode_error(command.error, command.detail)
        return command.result or "{}"


class _Unanswered(Exception):
    def __init__(self, worker: str) -> None:
        super().__init__(worker)
        self.worker = worker
