"""The table of commands: each area module contributes its `Command`s; help reads it too."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.commands.base import Command
from storage.records import Operator


@dataclass(frozen=True)
class Match:
    """A command found for a request, with the arguments left after a subcommand."""

    command: Command
    args: tuple[str, ...]
    offsets: tuple[int, ...]


class CommandRegistry:
    """Commands by name; `group sub` names make `/group sub args` work."""

    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._commands: dict[str, Command] = {}
        self.extend(commands)

    def add(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"command {command.name!r} is registered twice")
        group = command.name.partition(" ")[0]
        if " " in command.name and group in self._commands:
            raise ValueError(f"{command.name!r}: {group!r} is a command, not a group")
        if " " not in command.name and self.group(group):
            raise ValueError(f"{command.name!r} is already a group of subcommands")
        self._commands[command.name] = command

    def extend(self, commands: Iterable[Command]) -> None:
        for command in commands:
            self.add(command)

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted(self._commands.values(), key=lambda c: c.name))

    def __len__(self) -> int:
        return len(self._commands)

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def group(self, name: str) -> list[Command]:
        """The subcommands of `name` (`operator` -> add, remove, role), sorted."""
        return [c for c in self if c.name.partition(" ")[0] == name and " " in c.name]

    def find(self, name: str, args: tuple[str, ...], offsets: tuple[int, ...] = ()) -> Match | None:
        """The command for `/name args...`, trying `name args[0]` for groups."""
        if (command := self._commands.get(name)) is not None:
            return Match(command, args, offsets)
        if args and (sub := self._commands.get(f"{name} {args[0].lower()}")) is not None:
            return Match(sub, args[1:], offsets[1:])
        return None

    def allowed(self, operator: Operator) -> list[Command]:
        """What this operator may run, for help."""
        return [c for c in self if c.may_run(operator)]
