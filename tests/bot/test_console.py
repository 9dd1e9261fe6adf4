"""The terminal channel and the demo model."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from bot.admin_channels import AdminChannels
from bot.commands.assembly import build_registry
from bot.commands.dispatcher import Dispatcher
from bot.console import ConsoleAdapter, ConsoleChannel, _stdin_lines
from bot.push.channel import Button, Outgoing
from engine.clock import VirtualClock
from engine.directory import Directory
from engine.ia.demo_model import DemoModel, answer
from engine.ia.llm import ChatTurn
from engine.ia.openai_client import OpenAIClient
from engine.ia.prompts import system_text
from storage.db import Database
from storage.records import DeliveryStatus
from storage.repos import AuditRepo
from storage.repos.outbox import OutboxRepo

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CONTEXT = "Nuestro horario: lunes a viernes de 9 a 18. Los envíos son gratis en CABA."


async def test_console_runs_commands_and_confirms(db: Database, tmp_path: Path) -> None:
    directory = Directory(db)
    await directory.add_operator("console", "owner")
    await directory.add_operator("tg:5", "viewer")
    out = Console(record=True, width=120)
    files = tmp_path / "console"
    channel = ConsoleChannel(out, files)
    dispatcher = Dispatcher(
        build_registry(directory, AuditRepo(db)),
        directory.operators,
        AuditRepo(db),
        default_language="en",
    )
    adapter = ConsoleAdapter(dispatcher, channel)
    assert await adapter.handle("/whoami")
    assert await adapter.handle("operator remove tg:5")  # the slash is optional in the terminal
    assert channel.last_prompt is not None
    assert await adapter.handle("/yes")
    assert await directory.operators.find("tg:5") is None
    assert await adapter.handle("/no")
    assert not await adapter.handle("/quit")
    await channel.deliver(
        "", Outgoing("session down", image=b"\x89PNG", buttons=(Button("Pair", "/pair haby"),))
    )
    text = out.export_text()
    assert (
        "You are console" in text
        and "no longer has access" in text
        and "Nothing to confirm" in text
    )
    assert "→ Pair: /pair haby" in text and channel.saved == 1


async def test_contact_text_is_printed_as_written_never_read_as_markup(
    db: Database, tmp_path: Path
) -> None:
    """A contact chooses what they write: `[/]` or `[bold]` in an alert is text, not markup."""
    await Directory(db).add_operator("console", "owner")
    out = Console(record=True, width=120)
    channel = ConsoleChannel(out, tmp_path / "console")
    router = AdminChannels(db, [channel], clock=VirtualClock(START))
    written = "hot lead +5491111111111: «[/] [bold red]gratis[/bold red] [link=x]»"
    await router.send("console", Outgoing(written, buttons=(Button("[/]", "/forward [/]"),)))
    await router.run_until_idle()
    [delivery] = await OutboxRepo(db).of_chat("console")
    assert delivery.status is DeliveryStatus.SENT
    await channel.text("reply [/]")
    await channel.file("[/].txt", b"x", caption="[bold]caption[/bold]")
    text = out.export_text()
    assert written in text and "→ [/]: /forward [/]" in text
    assert "reply [/]" in text and "[bold]caption[/bold]" in text


def test_demo_model_answers_from_the_business_context() -> None:
    system = system_text("Sos el asistente.", CONTEXT)
    assert answer(system, "¿qué horario tienen?").startswith(
        "Nuestro horario: lunes a viernes de 9 a 18."
    )
    assert "(demo model)" in answer(system, "xyz")


async def test_demo_model_speaks_the_openai_protocol() -> None:
    async with (
        DemoModel() as model,
        OpenAIClient(api_key="demo", base_url=model.base_url, timeout_s=5) as llm,
    ):
        done = await llm.complete(
            [ChatTurn("system", system_text("", CONTEXT)), ChatTurn("user", "hacen envíos?")],
            model="any",
            max_tokens=50,
            timeout_s=5,
        )
        assert "Los envíos son gratis en CABA." in done.text and done.total_tokens > 0


async def test_stdin_from_a_file_or_dev_null_is_read_in_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """epoll refuses regular files and /dev/null; asyncio would only say so in a callback, with
    a traceback and no input. `waops demo < commands.txt` reads the file line by line."""
    commands = tmp_path / "commands.txt"
    commands.write_bytes(b"/sessions\n/quit\n")
    for source, lines in (
        (commands, [b"/sessions\n", b"/quit\n", b""]),
        (Path("/dev/null"), [b""]),
    ):
        with source.open() as stdin:
            monkeypatch.setattr(sys, "stdin", stdin)
            readline = await _stdin_lines()
            assert [await readline() for _ in lines] == lines
