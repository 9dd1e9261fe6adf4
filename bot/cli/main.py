"""The `waops` command line (typer): set-up and administration, `run`, `demo`, `simulator`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.cli.common import console, err_console, settings_or_exit, with_db
from bot.cli.sessions import session_app
from bot.ops.logs import configure_logging
from engine.campaign.prospects import ImportInterrupted, ImportReport, import_csv
from engine.clock import utcnow
from engine.directory import Directory
from engine.exports import write_csv
from engine.inbound.conversations import AIControl
from engine.ownership import fleet
from engine.private_files import keep_private
from engine.settings import Settings, SettingsError, installed_version, load_settings
from engine.whatsapp.processes import isolate_from_terminal_signals

if TYPE_CHECKING:
    from bot.app import Role
from storage.db import Database, StorageError
from storage.migrate import SchemaNotReady, upgrade
from storage.records import ALL_CLIENTS, ClientScope, Operator

T = TypeVar("T")

app = typer.Typer(help="waops: run many business WhatsApp numbers from chat.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
client_app = typer.Typer(
    help="Clients (the businesses whose numbers waops runs).", no_args_is_help=True
)
operator_app = typer.Typer(help="Operators allowed to command waops.", no_args_is_help=True)
prospects_app = typer.Typer(help="Prospect lists.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(client_app, name="client")
app.add_typer(session_app, name="session")
app.add_typer(operator_app, name="operator")
app.add_typer(prospects_app, name="prospects")

logger = logging.getLogger(__name__)
REJECTED_SHOWN = 50
DEMO_CLIENTS = (
    ("haby", "Haby Hogar", ("main", "ventas")),
    ("marketing", "Marketing Sur", ("main",)),
)


def _show_version(value: bool) -> None:
    if value:
        console.print(f"waops {installed_version()}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """waops: run many business WhatsApp numbers from chat."""


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations: create or bring the schema to the newest version."""
    with_db(upgrade, check_schema=False)
    console.print("database is up to date")


@client_app.command("add")
def client_add(
    slug: str,
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    region: Annotated[str, typer.Option(help="Default country for phone numbers.")] = "AR",
    tz: Annotated[
        str, typer.Option("--tz", help="IANA time zone.")
    ] = "America/Argentina/Buenos_Aires",
) -> None:
    """Add a client."""
    client = with_db(lambda db: Directory(db).add_client(slug, name, region, tz))
    console.print(f"client {client.slug} added ({client.name}, {client.region}, {client.timezone})")


@client_app.command("list")
def client_list() -> None:
    """List clients."""
    clients = with_db(lambda db: Directory(db).clients.list())
    table = Table("slug", "name", "region", "time zone")
    for client in clients:
        table.add_row(client.slug, client.name, client.region, client.timezone)
    console.print(table)


@operator_app.command("add")
def operator_add(
    platform_id: Annotated[
        str, typer.Argument(metavar="ID", help="tg:<id>, slack:<id> or console")
    ],
    role: Annotated[str, typer.Option(help="owner, admin, operator or viewer")],
    client: Annotated[
        list[str] | None, typer.Option("--client", help="Limit to this client (repeat).")
    ] = None,
    all_clients: Annotated[
        bool,
        typer.Option(
            "--all-clients",
            help="Every client, later ones included (the default without --client).",
        ),
    ] = False,
    lang: Annotated[str | None, typer.Option("--lang", help="es or en")] = None,
) -> None:
    """Allow someone to command waops: over every client, or only the --client ones."""
    if all_clients and client:
        err_console.print("[red]error:[/red] give --all-clients or --client, not both")
        raise typer.Exit(1)
    scope: ClientScope = client or ALL_CLIENTS
    operator = with_db(
        lambda db: Directory(db).add_operator(platform_id, role, scope, language=lang)
    )
    console.print(
        f"operator {operator.platform_id} added as {operator.role} ({_scope(operator)})",
        highlight=False,
    )


@operator_app.command("list")
def operator_list() -> None:
    """List operators."""
    operators = with_db(lambda db: Directory(db).operators.list())
    table = Table("id", "role", "clients", "language")
    for op in operators:
        clients = "all" if op.all_clients else ", ".join(op.client_slugs) or "none"
        table.add_row(op.platform_id, op.role, escape(clients), op.language or "-")
    console.print(table)


def _scope(operator: Operator) -> str:
    if operator.all_clients:
        return "all clients"
    return ", ".join(operator.client_slugs) or "no clients"


@prospects_app.command("import")
def prospects_import(
    client: str,
    file: Annotated[Path, typer.Argument(metavar="FILE.csv")],
    tag: Annotated[str | None, typer.Option(help="Tag every imported contact.")] = None,
    phone_column: Annotated[str | None, typer.Option(help="Name of the phone column.")] = None,
) -> None:
    """Import prospects from a CSV (a phone column; other columns become custom fields).

    A file that cannot be read whole imports nothing and names its line; a row with a bad
    phone or an over-long cell is rejected alone. Importing the same file again is safe.
    """
    total = file.stat().st_size if file.is_file() else 0
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
    ) as progress:
        task = progress.add_task("import", total=total)

        async def work(db: Database) -> tuple[ImportReport, ImportInterrupted | None]:
            try:
                report = await import_csv(
                    db,
                    client,
                    file,
                    tag=tag,
                    phone_column=phone_column,
                    on_bytes=lambda n: progress.advance(task, n),
                )
            except ImportInterrupted as exc:
                return exc.report, exc
            return report, None

        report, interrupted = with_db(work)
    _print_report(report, file)
    if interrupted is not None:
        err_console.print(f"[red]error:[/red] {interrupted}", highlight=False)
        raise typer.Exit(1)


def _print_report(report: ImportReport, file: Path) -> None:
    console.print(
        f"{report.rows} rows: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.rejected)} rejected"
        + (f" ({report.foreign} foreign numbers accepted)" if report.foreign else "")
        + f"; {report.committed} saved",
        highlight=False,
    )
    if not report.rejected:
        return
    table = Table("line", "value", "reason", title="rejected rows")
    for row in report.rejected[:REJECTED_SHOWN]:
        table.add_row(str(row.line), escape(row.value), escape(row.reason))
    console.print(table)
    if len(report.rejected) > REJECTED_SHOWN:
        out = file.with_name(file.stem + ".rejected.csv")
        with out.open("w", newline="", encoding="utf-8") as handle:
            write_csv(
                handle,
                ["line", "value", "reason"],
                ((r.line, r.value, r.reason) for r in report.rejected),
            )
        console.print(
            f"... and {len(report.rejected) - REJECTED_SHOWN} more; all of them are in {out}"
        )


@app.command("ai")
def ai_switch(client: str, state: Annotated[str, typer.Argument(metavar="on|off")]) -> None:
    """Switch AI replies on or off for a client."""
    if state not in ("on", "off"):
        err_console.print(f"[red]error:[/red] expected on or off, got {state!r}")
        raise typer.Exit(1)

    with_db(lambda db: AIControl(db).set_enabled(client, state == "on"))
    console.print(f"AI replies are {state} for {client}")


@app.command("demo")
def demo(
    seconds: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    port: Annotated[int, typer.Option(help="Simulator port (0: any free port).")] = 0,
    verbose: Annotated[bool, typer.Option(help="Show the engine's log.")] = False,
) -> None:
    """The whole system on the bundled simulator, operated from this terminal (no tokens)."""
    from bot.demo import run_demo

    overrides: dict[str, object] = {}
    if "WAOPS_DATABASE_URL" not in os.environ:
        overrides["database_url"] = "sqlite+aiosqlite:///./data/demo/waops.db"
    if "WAOPS_DATA_DIR" not in os.environ:
        overrides["data_dir"] = Path("./data/demo")
    if "WAOPS_SEND_GAP_S" not in os.environ:
        overrides["send_gap_s"] = "1-3"
    if "WAOPS_SEND_WINDOW" not in os.environ:
        overrides["send_window"] = "always"
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level if verbose else "WARNING", settings.log_format)
    isolate_from_terminal_signals(settings.data_dir / "run")
    asyncio.run(run_demo(settings, seconds=seconds, port=port))


def _serve_or_exit(settings: Settings, problem: str | None, role: Role = "all") -> bool:
    """Run `role` until it is stopped; True when a bot stopped because it lost its lease.
    A `problem` with the settings exits 2 before anything starts, a storage error exits 1."""
    if problem is not None:
        err_console.print(f"[red]error:[/red] {problem}", highlight=False)
        raise typer.Exit(2)
    try:
        return asyncio.run(_serve(settings, role=role))
    except (SchemaNotReady, StorageError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc


@app.command("run")
def run() -> None:
    """Run the engine: every session, the listener, campaigns (and the operator channels)."""
    settings = settings_or_exit()
    _serve_or_exit(settings, settings.wa_js_problem())


@app.command("worker")
def worker() -> None:
    """Run the engine for the sessions this worker owns (a split deployment on MySQL/MariaDB:
    several workers share the numbers, one owner each; see README, "Several machines")."""
    settings = settings_or_exit()
    _serve_or_exit(settings, settings.split_problem() or settings.wa_js_problem(), "worker")


@app.command("bot")
def bot() -> None:
    """Run the operator side alone (Telegram, Slack, alerts, digests) for a split deployment on
    MySQL/MariaDB: one bot is active, another waits as a hot standby (README, "Several
    machines")."""
    settings = settings_or_exit()
    if _serve_or_exit(settings, settings.split_problem(), "bot"):
        err_console.print(
            "[red]error:[/red] this bot lost the leader lease (stalled, or the database was"
            " away): it stopped so that the standby runs alone; start it again to be the"
            " standby",
            highlight=False,
        )
        raise typer.Exit(3)


@app.command("workers")
def workers() -> None:
    """List the `waops worker` processes of a split deployment: load, last heartbeat, version."""
    settings = settings_or_exit()
    now = utcnow()
    found = with_db(lambda db: fleet(db, ttl_s=settings.lease_ttl_s, now=now))
    if not found:
        console.print('no workers: start `waops worker` processes (README, "Several machines")')
        return
    table = Table("worker", "sessions", "capacity", "last heartbeat", "version")
    for load in found:
        ago = (now - load.worker.heartbeat_at).total_seconds()
        beat = f"{ago:.0f} s ago" + ("" if load.alive else " (gone: its leases expire)")
        table.add_row(
            load.worker.id,
            str(load.sessions),
            str(load.worker.capacity),
            beat,
            load.worker.version,
        )
    console.print(table)


async def _serve(settings: Settings, role: Role = "all") -> bool:
    """Run until SIGINT or SIGTERM; True when a bot stopped because it lost its lease."""
    from bot.app import App

    own_dir = settings.worker_dir if role == "worker" else settings.data_dir
    isolate_from_terminal_signals(own_dir / "run")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    application = App(settings, role=role)
    if application.leadership is not None:
        application.leadership.on_lost = stop.set
        console.print("waops bot: waiting to be the active bot (a standby waits here)")
    # A standby bot waits inside start() for the lease: a signal meanwhile ends the wait.
    entering = asyncio.create_task(application.__aenter__())
    signalled = asyncio.create_task(stop.wait())
    await asyncio.wait({entering, signalled}, return_when=asyncio.FIRST_COMPLETED)
    if not entering.done():
        entering.cancel()
        await asyncio.gather(entering, return_exceptions=True)
        return False
    signalled.cancel()
    await entering  # a start that failed raises here, after its own shutdown
    try:
        console.print("[bold]waops is running[/bold]")
        for line in application.summary():
            console.print(f"  {line}", highlight=False)
        await stop.wait()
        logger.info("stopping: finishing in-flight work and closing browsers")
    finally:
        await application.__aexit__(None, None, None)
    return application.leadership is not None and application.leadership.lost.is_set()


@app.command("simulator")
def simulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    qr_rotate_s: Annotated[float, typer.Option(help="Seconds between QR rotations.")] = 20.0,
    qr_idle_after: Annotated[
        int | None, typer.Option(help="Unscanned QR rotations before the QR goes idle.")
    ] = None,
    link_code_ttl_s: Annotated[
        float, typer.Option(help="Lifetime of a pairing code (WA-JS: 195 s).")
    ] = 195.0,
) -> None:
    """Run the WhatsApp Web simulator alone; its first two lines are the settings to use."""
    from engine.whatsapp.simulator.server import main as simulator_main

    simulator_main(
        port,
        qr_rotate_s=qr_rotate_s,
        qr_idle_after=qr_idle_after,
        link_code_ttl_s=link_code_ttl_s,
    )


def main() -> None:
    """Entry point of the `waops` console script."""
    # Whatever any command writes (database, spool, profiles: logged-in WhatsApp accounts,
    # backups) is for waops's own user alone, as `UMask=0077` in deploy/waops.service.
    keep_private()
    # python-telegram-bot 22: durations as timedelta (silences a deprecation on every 429).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    configure_logging()  # until the settings say otherwise
    app()
