"""What the `waops` subcommands share: the consoles, the settings, running work on the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from bot.ops.logs import configure_logging
from engine.errors import InvalidInput
from engine.settings import Settings, SettingsError, load_settings
from storage.db import Database, StorageError
from storage.migrate import SchemaNotReady, ensure_schema

T = TypeVar("T")

# Lines are not broken at the width rich guesses (80 columns when piped): a path, a URL or a
# command in a message is copied or parsed whole; the terminal wraps what is too long for it.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def settings_or_exit() -> Settings:
    """The validated settings (logging set up from them), or exit 2 naming what is wrong."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format)
    return settings


def with_db(work: Callable[[Database], Awaitable[T]], *, check_schema: bool = True) -> T:
    """Run `work` on the configured database; expected errors end the command with a message."""
    settings = settings_or_exit()

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
