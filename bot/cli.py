"""The `waops` command line (typer): set-up and administration, `run`, `demo`, `simulator`."""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from engine.conversations import AIControl
from engine.directory import Directory
from engine.errors import InvalidInput
from engine.prospects import ImportReport, import_csv
from engine.sessions import backup_profile, restore_profile
from engine.settings import Settings, SettingsError, load_settings
from engine.whatsapp.errors import ProfileInUse
from engine.whatsapp.processes import isolate_from_terminal_signals
from storage.db import Database, StorageError
from storage.migrate import SchemaNotReady, ensure_schema, upgrade
from storage.models import utcnow

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(help="waops: run many business WhatsApp numbers from chat.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
client_app = typer.Typer(
    help="Clients (the businesses whose numbers waops runs).", no_args_is_help=True
)
session_app = typer.Typer(help="WhatsApp sessions (one per number).", no_args_is_help=True)
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


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc


def _with_db(work: Callable[[Database], Awaitable[T]], *, check_schema: bool = True) -> T:
    """Run `work` on the configured database; expected errors end the command with a message."""
    settings = _settings()

    async def main() -> T:
        async with Database(settings.database_url) as db:
            if check_schema:
                await ensure_schema(db)
            return await work(db)

    try:
        return asyncio.run(main())
    except (InvalidInput, StorageError, SchemaNotReady) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations: create or bring the schema to the newest version."""
    _with_db(upgrade, check_schema=False)
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
    client = _with_db(lambda db: Directory(db).add_client(slug, name, region, tz))
    console.print(f"client {client.slug} added ({client.name}, {client.region}, {client.timezone})")


@client_app.command("list")
def client_list() -> None:
    """List clients."""
    clients = _with_db(lambda db: Directory(db).clients.list())
    table = Table("slug", "name", "region", "time zone")
    for client in clients:
        table.add_row(client.slug, client.name, client.region, client.timezone)
    console.print(table)


@session_app.command("add")
def session_add(
    client: str, name: Annotated[str, typer.Option("--name", help="Session name.")] = "main"
) -> None:
    """Add a WhatsApp session (a number) to a client; pair it later by QR."""
    session = _with_db(lambda db: Directory(db).add_session(client, name))
    console.print(f"session {session.client_slug}/{session.name} added (state {session.state})")


@session_app.command("list")
def session_list(client: Annotated[str | None, typer.Argument()] = None) -> None:
    """List sessions and their state."""
    sessions = _with_db(lambda db: Directory(db).sessions.list(client))
    table = Table("client", "session", "state", "phone", "since")
    for s in sessions:
        table.add_row(
            s.client_slug,
            s.name,
            s.state,
            s.phone or "-",
            f"{s.state_changed_at:%Y-%m-%d %H:%M} UTC",
        )
    console.print(table)


@session_app.command("backup")
def session_backup(
    client: str,
    session: Annotated[str, typer.Argument()] = "main",
    dest: Annotated[Path | None, typer.Option(help="Folder for the archive.")] = None,
) -> None:
    """Archive a stopped session's browser profile, to move or restore it without a new QR."""
    settings = _settings()
    try:
        archive = backup_profile(
            settings.data_dir, client, session, dest or settings.data_dir / "backups", utcnow()
        )
    except (ProfileInUse, StorageError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"profile of {client}/{session} archived to {archive}")


@session_app.command("restore")
def session_restore(client: str, session: str, archive: Path) -> None:
    """Unpack a profile archive made by `session backup` into this session (stopped, no profile)."""
    settings = _settings()
    if not archive.is_file():
        err_console.print(f"[red]error:[/red] no archive at {archive}")
        raise typer.Exit(1)
    try:
        target = restore_profile(settings.data_dir, client, session, archive)
    except ProfileInUse as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"profile restored into {target}; start the session to reconnect without a QR")


@operator_app.command("add")
def operator_add(
    platform_id: Annotated[
        str, typer.Argument(metavar="ID", help="tg:<id>, slack:<id> or console")
    ],
    role: Annotated[str, typer.Option(help="owner, admin, operator or viewer")],
    client: Annotated[
        list[str] | None, typer.Option("--client", help="Limit to this client (repeat).")
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="es or en")] = None,
) -> None:
    """Allow someone to command waops."""
    operator = _with_db(
        lambda db: Directory(db).add_operator(platform_id, role, client or (), language=lang)
    )
    scope = ", ".join(operator.client_slugs) or "all clients"
    console.print(f"operator {operator.platform_id} added as {operator.role} ({scope})")


@operator_app.command("list")
def operator_list() -> None:
    """List operators."""
    operators = _with_db(lambda db: Directory(db).operators.list())
    table = Table("id", "role", "clients", "language")
    for op in operators:
        table.add_row(
            op.platform_id, op.role, ", ".join(op.client_slugs) or "all", op.language or "-"
        )
    console.print(table)


@prospects_app.command("import")
def prospects_import(
    client: str,
    file: Annotated[Path, typer.Argument(metavar="FILE.csv")],
    tag: Annotated[str | None, typer.Option(help="Tag every imported contact.")] = None,
    phone_column: Annotated[str | None, typer.Option(help="Name of the phone column.")] = None,
) -> None:
    """Import prospects from a CSV (a phone column; other columns become custom fields)."""
    total = file.stat().st_size if file.is_file() else 0
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
    ) as progress:
        task = progress.add_task("import", total=total)
        report = _with_db(
            lambda db: import_csv(
                db,
                client,
                file,
                tag=tag,
                phone_column=phone_column,
                on_bytes=lambda n: progress.advance(task, n),
            )
        )
    _print_report(report, file)


def _print_report(report: ImportReport, file: Path) -> None:
    console.print(
        f"{report.rows} rows: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.rejected)} rejected"
        + (f" ({report.foreign} foreign numbers accepted)" if report.foreign else "")
    )
    if not report.rejected:
        return
    table = Table("line", "value", "reason", title="rejected rows")
    for row in report.rejected[:REJECTED_SHOWN]:
        table.add_row(str(row.line), row.value, row.reason)
    console.print(table)
    if len(report.rejected) > REJECTED_SHOWN:
        out = file.with_name(file.stem + ".rejected.csv")
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "value", "reason"])
            writer.writerows((r.line, r.value, r.reason) for r in report.rejected)
        console.print(
            f"... and {len(report.rejected) - REJECTED_SHOWN} more; all of them are in {out}"
        )


@app.command("ai")
def ai_switch(client: str, state: Annotated[str, typer.Argument(metavar="on|off")]) -> None:
    """Switch AI replies on or off for a client."""
    if state not in ("on", "off"):
        err_console.print(f"[red]error:[/red] expected on or off, got {state!r}")
        raise typer.Exit(1)

    _with_db(lambda db: AIControl(db).set_enabled(client, state == "on"))
    console.print(f"AI replies are {state} for {client}")


@app.command("demo")
def demo(
    seconds: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    port: Annotated[int, typer.Option(help="Simulator port (0: any free port).")] = 0,
    verbose: Annotated[bool, typer.Option(help="Show the engine's log.")] = False,
) -> None:
    """The whole system on the bundled simulator, operated from this terminal (no tokens)."""
    from bot.demo import run_demo

    if not verbose:
        logging.getLogger().setLevel(logging.WARNING)

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
    isolate_from_terminal_signals(settings.data_dir / "run")
    asyncio.run(run_demo(settings, seconds=seconds, port=port))


@app.command("run")
def run() -> None:
    """Run the engine: every session, the listener, campaigns (and the operator channels)."""
    settings = _settings()
    try:
        asyncio.run(_serve(settings))
    except (SchemaNotReady, StorageError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc


async def _serve(settings: Settings) -> None:
    from bot.app import App

    isolate_from_terminal_signals(settings.data_dir / "run")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with App(settings) as application:
        console.print("[bold]waops is running[/bold]")
        for line in application.summary():
            console.print(f"  {line}", highlight=False)
        await stop.wait()
        logger.info("stopping: finishing in-flight work and closing browsers")


@app.command("simulator")
def simulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    qr_rotate_s: Annotated[float, typer.Option(help="Seconds between QR rotations.")] = 20.0,
) -> None:
    """Run the WhatsApp Web simulator alone; its first two lines are the settings to use."""
    from engine.whatsapp.simulator.server import main as simulator_main

    simulator_main(port, qr_rotate_s=qr_rotate_s)


def main() -> None:
    """Entry point of the `waops` console script."""
    # python-telegram-bot 22: durations as timedelta (silences a deprecation on every 429).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("alembic", "aiohttp.access", "apscheduler", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app()
