"""Random arguments to every command: always a clear answer, never a traceback or a crash."""

from __future__ import annotations

import random

from tests.bot.commands.world import ADMIN_HABY, OWNER, VIEWER, World

_WORDS = [
    "",
    "haby",
    "HABY",
    "marketing",
    "ghost",
    "tg:1",
    "tg:4",
    "slack:UA",
    "owner",
    "viewer",
    "es",
    "0",
    "-1",
    "999999999999",
    "'",
    '"',
    '"quoted words"',
    "@bot",
    "--code",
    "ñandú 🚀",
    "x" * 300,
    "\\",
    "{role}",
    "%s",
]


def _random_args(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 5)))


async def test_no_command_crashes_on_random_arguments(world: World) -> None:
    rng = random.Random(6)
    names = sorted({command.name for command in world.dispatcher.registry} | {"operator"})
    for name in names:
        for _ in range(12):
            for actor in (OWNER, ADMIN_HABY, VIEWER):
                reply = await world.run(actor, f"/{name} {_random_args(rng)}")
                assert reply.texts or reply.prompts or reply.files, (name, actor)
                assert "Traceback" not in reply.said
    assert world.incidents == [], [i.traceback for i in world.incidents[:1]]
