"""`waops demo`: the whole system on the bundled simulator, operated from the terminal.

Two demo clients with three sessions, a local "demo model" standing in for OpenAI (unless
WAOPS_OPENAI_API_KEY or WAOPS_OPENAI_BASE_URL is set), QR codes drawn in the terminal, and
`/sim ...` commands that play the phones and the contacts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from contextlib import AsyncExitStack
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from bot.app import App
from bot.console import ConsoleAdapter, ConsoleChannel
from engine.directory import Directory
from engine.events import EventBus, QrUpdated, SessionStateChanged
from engine.ia.demo_model import DemoModel
from engine.ia.openai_client import OpenAIClient
from engine.session.qr import qr_text
from engine.settings import Settings
from engine.tasks import TaskOwner
from engine.whatsapp.simulator.client import SimulatorClient, SimulatorControlError
from engine.whatsapp.simulator.server import Simulator
from storage.db import AlreadyExists, Database
from storage.migrate import upgrade
from storage.records import ContactInput, SessionState
from storage.repos import AISettingsRepo, ContactRepo

logger = logging.getLogger(__name__)

CLIENTS = (
    ("haby", "Haby Hogar", ("main", "ventas")),
    ("marketing", "Marketing Sur", ("main",)),
)
HABY_CONTEXT = (
    "Haby Hogar vende muebles y colchones; la dirección es Honduras 4800, Palermo. "
    "Nuestro horario: lunes a viernes de 9 a 18 y sábados de 10 a 14. "
    "Los envíos son gratis en CABA y cuestan 5000 pesos en el GBA. "
    "Precio del sillón de 3 cuerpos: 480000 pesos; precio del colchón de 2 plazas: 350000 pesos. "
    "Pagos: tarjetas con 6 cuotas sin interés, transferencia o efectivo."
)
DEMO_PROSPECTS = [
    ("5491150000001", "Ana", "Palermo"),
    ("5491150000002", "Bruno", "Belgrano"),
    ("5491150000003", "Carla", "Caballito"),
]
HELP = """\
[bold]waops demo[/bold]: three simulated WhatsApp numbers, operated from here.
  /sim scan haby main        the phone of haby/main scans its QR (pairs the number)
  /sim say 5491155550000 hola, qué horario tienen?   a contact writes to haby/main
  /sim say marketing/main 5491155550001 hola         … to another session
  /sim drop haby main · /sim restore haby main · /sim logout haby main
  /sim sent haby main        what the number sent
  /help                      every operator command (/sessions, /chats haby, /campaign …)
  /quit or Ctrl-C            leave
"""


class SimulatorConsole:
    """`/sim ...` lines: drive the simulated phones through the control API; from `start()` on
    it follows the sessions' states (a line waits for the one it needs)."""

    def __init__(self, sim: SimulatorClient, out: Console, bus: EventBus) -> None:
        self._sim = sim
        self._out = out
        self._bus = bus
        self._started = False
        self._states: dict[str, SessionState] = {}
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        self._bus.subscribe(SessionStateChanged, self._on_state)
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            self._bus.unsubscribe(SessionStateChanged, self._on_state)

    async def _on_state(self, event: SessionStateChanged) -> None:
        self._out.print(f"[dim]· {event.session}: {event.new.value}[/dim]")
        async with self._changed:
            self._states[event.session.key] = event.new
            self._changed.notify_all()

    async def _wait(self, name: str, states: set[SessionState], timeout_s: float = 60.0) -> bool:
        """Wait until session `name` is in one of `states`; False after `timeout_s`."""
        try:
            async with asyncio.timeout(timeout_s), self._changed:
                await self._changed.wait_for(lambda: self._states.get(name) in states)
        except TimeoutError:
            return False
        return True

    async def handle(self, line: str) -> bool:
        if not line.startswith("/sim"):
            return False
        parts = line.split()
        try:
            await self._run(parts[1:])
        except (SimulatorControlError, IndexError, ValueError) as exc:
            self._out.print(f"[red]/sim: {escape(str(exc))}[/red] (type /sim for the list)")
        return True

    async def _run(self, args: list[str]) -> None:
        if not args:
            self._out.print(HELP)
            return
        action, rest = args[0], args[1:]
        if action == "say":
            target = "haby-main"
            if rest and "/" in rest[0]:
                target = rest.pop(0).replace("/", "-")
            sender, text = rest[0], " ".join(rest[1:])
            if not await self._wait(target, {SessionState.CONNECTED}):
                raise ValueError(f"{target} is not connected: /sim scan it first")
            message_id = await self._sim.inbound(target, sender, text or "hola")
            shown = escape(f"+{sender} → {target}: {text} ({message_id})")
            self._out.print(f"[dim]{shown}[/dim]")
            return
        name = "-".join([rest[0], rest[1] if len(rest) > 1 else "main"]) if rest else "haby-main"
        if action == "scan":
            phone = rest[2] if len(rest) > 2 else f"54911{random.randint(10_000_000, 99_999_999)}"
            showing_qr = {SessionState.QR_PENDING, SessionState.LOGGED_OUT}
            if not await self._wait(name, showing_qr | {SessionState.CONNECTED}):
                raise ValueError(
                    f"{name} shows no QR yet; try /pair {rest[0] if rest else 'haby'} first"
                )
            if self._states.get(name) is SessionState.CONNECTED:
                self._out.print(f"[green]{name} is already connected[/green]")
                return
            await self._sim.scan(name, phone)
            if await self._wait(name, {SessionState.CONNECTED}, 30):
                self._out.print(f"[green]{name} scanned by +{phone} and connected[/green]")
            else:
                self._out.print(f"[yellow]{name} scanned; still waiting for it to connect[/yellow]")
        elif action in ("drop", "restore", "logout", "ban"):
            await self._sim.action(name, action)
            self._out.print(f"[dim]{name}: {action}[/dim]")
        elif action == "sent":
            for item in await self._sim.sent(name):
                self._out.print(escape(f"→ {item['to']}: {item['body']}"))
        else:
            raise ValueError(f"unknown /sim action {action!r}")


async def _watch_phones(simulator: Simulator, out: Console, stop: asyncio.Event) -> None:
    """Print what the simulated numbers send, as the contacts' phones would show it."""
    shown: dict[str, int] = {}
    while not stop.is_set():
        for name, phone in simulator.state.phones.items():
            for record in phone.sent[shown.get(name, 0) :]:
                out.print(
                    f"[bold cyan]{name} → {record.to}:[/bold cyan] {escape(record.body)}",
                    highlight=False,
                )
            shown[name] = len(phone.sent)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await stop.wait()


async def _prepare(db: Database) -> None:
    """Demo clients, sessions, the console operator, prospects and AI for haby (idempotent)."""
    await upgrade(db)
    directory = Directory(db)
    for slug, name, sessions in CLIENTS:
        try:
            await directory.add_client(slug, name, "AR", "America/Argentina/Buenos_Aires")
        except AlreadyExists:
            continue
        for session in sessions:
            await directory.add_session(slug, session)
    with contextlib.suppress(AlreadyExists):
        await directory.add_operator("console", "owner", display_name="demo operator")
    haby = await directory.clients.get("haby")
    await ContactRepo(db).upsert_many(
        haby.id,
        [
            ContactInput(phone, name, ("demo",), {"barrio": hood})
            for phone, name, hood in DEMO_PROSPECTS
        ],
    )
    await AISettingsRepo(db).update(
        haby.id,
        enabled=True,
        business_context=HABY_CONTEXT,
        debounce_s=1.0,
        system_prompt="Sos el asistente de Haby Hogar. Respondé corto, amable y en su idioma.",
        fallback_text="Gracias por escribir, en breve te responde alguien del equipo.",
    )


async def run_demo(settings: Settings, *, seconds: float | None = None, port: int = 0) -> None:
    """Run until Ctrl-C, /quit, the end of piped input, or `seconds`."""
    out = Console()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with AsyncExitStack() as stack:
        simulator = await stack.enter_async_context(Simulator(port=port, qr_rotate_s=60))
        sim = await stack.enter_async_context(SimulatorClient(simulator.base_url))
        demo = settings.model_copy(
            update={
                "whatsapp_url": simulator.whatsapp_url,
                "wa_js_path": Path(simulator.wa_js_path),
            }
        )
        llm = None
        if settings.openai_api_key is None and settings.openai_base_url is None:
            model = await stack.enter_async_context(DemoModel())
            llm = await stack.enter_async_context(
                OpenAIClient(api_key="demo", base_url=model.base_url, timeout_s=10.0)
            )
            out.print(f"[dim]AI replies come from the local demo model at {model.base_url}[/dim]")
        async with Database(demo.database_url) as db:
            await _prepare(db)
        app = App(demo, llm=llm)

        async def show_qr(event: QrUpdated) -> None:
            hint = f"/sim scan {event.session.client_slug} {event.session.name}"
            out.print(f"\n[bold]QR for {event.session}[/bold] (scan it with {hint})")
            out.print(qr_text(event.code), highlight=False)

        # QR codes are shown from before the app starts, `/sim` follows states once it is up;
        # both hear it until after it stopped, so the shutdown's states are shown too.
        app.bus.subscribe(QrUpdated, show_qr)
        stack.callback(app.bus.unsubscribe, QrUpdated, show_qr)
        sim_console = SimulatorConsole(sim, out, app.bus)
        stack.push_async_callback(sim_console.stop)
        channel = ConsoleChannel(out, demo.data_dir / "console", demo.language)
        app.add_admin_channel(channel)  # before start: what the engine raises as it starts too
        await stack.enter_async_context(app)
        await sim_console.start()
        adapter = ConsoleAdapter(app.dispatcher, channel, local=sim_console.handle)
        out.print(HELP)
        tasks = TaskOwner("demo")
        stack.push_async_callback(tasks.shutdown)  # a failure below still ends them first
        stack.callback(stop.set)
        tasks.spawn("demo:phones", _watch_phones(simulator, out, stop))
        console = tasks.spawn("demo:console", adapter.run(stop))
        ends: list[asyncio.Task[None]] = [console]
        if seconds is not None:
            ends.append(tasks.spawn("demo:timer", asyncio.sleep(seconds)))
        ends.append(tasks.spawn("demo:stop", _wait_for(stop)))
        done, pending = await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        if console in done and not stop.is_set() and seconds is not None:
            # Input was piped and is over: let replies and campaigns run out the time given.
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        for task in pending:
            task.cancel()
        await tasks.shutdown()  # the watcher shows the last sends, then ends on its own
        out.print("[dim]stopping: closing browsers…[/dim]")


async def _wait_for(event: asyncio.Event) -> None:
    await event.wait()
