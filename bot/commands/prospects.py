"""Prospects: /prospects <client> (counts by tag) and /import <client> [tag] with a CSV file
attached (sent as a document whose caption is the command).

A file that cannot be read whole imports nothing and the error names its line (InvalidInput,
answered by the dispatcher); a database failure midway says how many rows were saved."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.commands.base import Command, CommandContext, CommandError, Proposal
from bot.texts import render
from engine.campaign.prospects import ImportInterrupted, ImportReport, import_csv
from engine.exports import csv_bytes
from storage.db import Database
from storage.records import Role
from storage.repos import ClientRepo, ContactRepo

REJECTED_SHOWN = 30
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class ProspectCommands:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._clients = ClientRepo(db)
        self._contacts = ContactRepo(db)

    def commands(self) -> list[Command]:
        return [
            Command(
                "prospects", self.prospects, role=Role.VIEWER, client_arg=0, min_args=1, max_args=1
            ),
            Command(
                "import",
                self.import_file,
                role=Role.OPERATOR,
                client_arg=0,
                takes_file=True,
                min_args=1,
                max_args=2,
            ),
        ]

    async def prospects(self, ctx: CommandContext) -> Proposal | None:
        client = await self._clients.get(ctx.args[0].lower())
        total = await self._contacts.count(client.id)
        tags = await self._contacts.count_by_tag(client.id)
        lines = [ctx.t("prospects.header", client=client.slug, total=total)]
        lines += [
            f"{tag}: {count}" for tag, count in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        if not tags:
            lines.append(ctx.t("prospects.no_tags"))
        await ctx.send("\n".join(lines), filename=f"prospects-{client.slug}.txt")
        return None

    async def import_file(self, ctx: CommandContext) -> Proposal | None:
        data, name = await ctx.file(), ctx.request.attachment_name or "prospects.csv"
        if data is None:
            raise CommandError(
                "import.needs_file", command=ctx.command_text(f"import {ctx.args[0]}")
            )
        if len(data) > MAX_IMPORT_BYTES:
            raise CommandError("import.too_big", mb=MAX_IMPORT_BYTES // (1024 * 1024))
        tag = ctx.args[1] if len(ctx.args) > 1 else None
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(name).name
            path.write_bytes(data)
            try:
                report = await import_csv(self._db, ctx.args[0].lower(), path, tag=tag)
            except ImportInterrupted as exc:
                await self._answer(ctx, exc.report, path.stem)
                raise CommandError(
                    "import.interrupted", line=exc.line, committed=exc.report.committed
                ) from exc
        await self._answer(ctx, report, path.stem)
        return None

    async def _answer(self, ctx: CommandContext, report: ImportReport, stem: str) -> None:
        """The counts, the first rejected rows, and every rejected row as a CSV file."""
        lines = [
            ctx.t(
                "import.report",
                rows=report.rows,
                added=report.added,
                updated=report.updated,
                unchanged=report.unchanged,
                rejected=len(report.rejected),
                foreign=report.foreign,
                committed=report.committed,
            )
        ]
        lines += [
            ctx.t("import.rejected_line", line=r.line, value=r.value, reason=r.reason)
            for r in report.rejected
        ]
        if len(report.rejected) > REJECTED_SHOWN:
            await ctx.send("\n".join(lines[: REJECTED_SHOWN + 1]))
            header = [name.strip() for name in ctx.t("import.rejected_columns").split(",")]
            rows = [(r.line, r.value, render(ctx.lang, r.reason)) for r in report.rejected]
            rejected = csv_bytes(header, rows)
            await ctx.reply.file(f"{stem}.rejected.csv", rejected, ctx.t("import.rejected_file"))
        else:
            await ctx.send("\n".join(lines))
