"""`waops session ...`: add, list, stop, start, remove, back up and restore WhatsApp sessions."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import console, err_console, settings_or_exit, with_db
from engine.clock import utcnow
from engine.directory import Directory
from engine.private_files import is_private, private_dir
from engine.session.backup_crypto import BackupUnreadable
from engine.session.backups import backup_profile, restore_profile
from engine.session.profiles import profile_dir
from engine.settings import Settings
from engine.whatsapp.errors import ProfileInUse
from engine.whatsapp.profile_lock import ProfileLock
from storage.db import Database, StorageError
from storage.records import Lease, WaSession
from storage.repos import SessionRepo
from storage.repos.leases import LeaseRepo

session_app = typer.Typer(help="WhatsApp sessions (one per number).", no_args_is_help=True)


@session_app.command("add")
def session_add(
    client: str, name: Annotated[str, typer.Option("--name", help="Session name.")] = "main"
) -> None:
    """Add a WhatsApp session (a number) to a client; pair it later by QR."""
    session = with_db(lambda db: Directory(db).add_session(client, name))
    console.print(f"session {session.client_slug}/{session.name} added (state {session.state})")


@session_app.command("list")
def session_list(client: Annotated[str | None, typer.Argument()] = None) -> None:
    """List sessions, their state and (in a split deployment) the worker that runs each."""

    async def read(db: Database) -> tuple[list[WaSession], dict[int, Lease]]:
        return await Directory(db).sessions.list(client), await LeaseRepo(db).owners(utcnow())

    sessions, owners = with_db(read)
    table = Table("client", "session", "state", "phone", "since", "worker")
    for s in sessions:
        lease = owners.get(s.id)
        table.add_row(
            s.client_slug,
            s.name,
            s.state,
            s.phone or "-",
            f"{s.state_changed_at:%Y-%m-%d %H:%M} UTC",
            lease.owner if lease else "-",
        )
    console.print(table)


def _set_enabled(client: str, session: str, enabled: bool) -> None:
    async def work(db: Database) -> None:
        repo = SessionRepo(db)
        await repo.set_enabled((await repo.get(client, session)).id, enabled)

    with_db(work)


@session_app.command("start")
def session_start(client: str, session: Annotated[str, typer.Argument()] = "main") -> None:
    """Let a stopped session run again: `waops run` starts it (at its next start)."""
    _set_enabled(client, session, True)
    console.print(
        f"session {client}/{session} is enabled; a running `waops run` starts it after a restart"
    )


@session_app.command("stop")
def session_stop(client: str, session: Annotated[str, typer.Argument()] = "main") -> None:
    """Keep a session from running (its pairing is kept): `waops run` leaves it stopped."""
    _set_enabled(client, session, False)
    console.print(
        f"session {client}/{session} is disabled; a running `waops run` stops it after a restart"
    )


@session_app.command("remove")
def session_remove(
    client: str,
    session: Annotated[str, typer.Argument()] = "main",
    keep_profile: Annotated[
        bool, typer.Option(help="Keep the browser profile (the pairing) on disk.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a session and (unless --keep-profile) its browser profile; it must not be running."""
    settings = settings_or_exit()
    profile = profile_dir(settings.data_dir, client, session)
    lock = ProfileLock(profile) if profile.is_dir() else None
    try:
        if lock is not None:
            lock.acquire()  # ProfileInUse while `waops run` has this session open
    except ProfileInUse as exc:
        err_console.print(f"[red]error:[/red] {exc}; stop it first", highlight=False)
        raise typer.Exit(1) from exc
    try:
        if not yes and not typer.confirm(f"Remove session {client}/{session} for good?"):
            raise typer.Exit(1)

        async def work(db: Database) -> None:
            repo = SessionRepo(db)
            await repo.remove((await repo.get(client, session)).id)

        with_db(work)
    finally:
        if lock is not None:
            lock.release()
    if not keep_profile and profile.is_dir():
        shutil.rmtree(profile)
    kept = f"; its profile stays in {profile}" if keep_profile and profile.is_dir() else ""
    console.print(f"session {client}/{session} removed{kept}")


@session_app.command("backup")
def session_backup(
    client: str,
    session: Annotated[str, typer.Argument()] = "main",
    dest: Annotated[Path | None, typer.Option(help="Folder for the archive.")] = None,
) -> None:
    """Archive a stopped session's browser profile, to move or restore it without a new QR.

    The archive is the number's login: it is written 0600 in a 0700 folder, and encrypted
    when WAOPS_BACKUP_PASSPHRASE is set (keep the passphrase apart from the archive).
    """
    settings = settings_or_exit()
    passphrase = _passphrase(settings)
    folder = dest or private_dir(settings.data_dir / "backups")
    try:
        archive = backup_profile(settings.data_dir, client, session, folder, utcnow(), passphrase)
    except (ProfileInUse, StorageError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    how = "encrypted" if passphrase else "plain: set WAOPS_BACKUP_PASSPHRASE to encrypt backups"
    console.print(f"profile of {client}/{session} archived to {archive} ({how})", highlight=False)
    if not is_private(folder):
        err_console.print(
            f"[yellow]warning:[/yellow] other users can open {folder}; the archive itself is "
            "0600, but keep backups in a folder only you can read",
            highlight=False,
        )


@session_app.command("restore")
def session_restore(client: str, session: str, archive: Path) -> None:
    """Unpack a profile archive made by `session backup` into this session (stopped, no profile).

    An encrypted archive needs WAOPS_BACKUP_PASSPHRASE set to the passphrase it was made with.
    """
    settings = settings_or_exit()
    if not archive.is_file():
        err_console.print(f"[red]error:[/red] no archive at {archive}")
        raise typer.Exit(1)
    try:
        target = restore_profile(settings.data_dir, client, session, archive, _passphrase(settings))
    except (ProfileInUse, BackupUnreadable) as exc:
        err_console.print(f"[red]error:[/red] {archive}: {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"profile restored into {target}; start the session to reconnect without a QR")


def _passphrase(settings: Settings) -> str | None:
    secret = settings.backup_passphrase
    return secret.get_secret_value() if secret is not None and secret.get_secret_value() else None
