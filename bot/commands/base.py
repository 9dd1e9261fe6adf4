"""The neutral shapes every command and adapter share: request, reply capability, command."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from bot.push.channel import MAX_MESSAGES, split_text
from bot.texts import Language, t
from storage.records import Operator, Role

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}( [a-z][a-z0-9_]{0,31})?$")


AttachmentFetch = Callable[[int], Awaitable[bytes]]
"""Reads the file sent with a command from its platform, at most `limit_bytes` of it; raises
`CommandError` when it is larger (`file_too_big`) or cannot be read."""


@dataclass(frozen=True)
class CommandRequest:
    """One command as an operator typed it, whatever the platform.

    `actor` is the immutable platform id (`tg:123`, `slack:U1`, `console`), `channel` the chat
    on that platform where replies go, `language` a hint from the platform (Telegram's
    `language_code`), used only for people who are not operators.
    `arg_offsets[i]` is where `args[i]` starts in `raw_text`, so free text keeps its spacing.
    `args_pending` is true while only the command word has been read (`parse_request`): the
    dispatcher reads the rest once it knows the sender. A file sent with the command is
    `fetch_attachment` until the handler of a command that `takes_file` asks for it
    (`CommandContext.file()`), and then `attachment`; a platform that has the bytes at once
    (the console, tests) gives `attachment` directly. `attachment_mimetype` is what the
    platform says the file is (Telegram's `mime_type`, Slack's `mimetype`; `image/jpeg` for a
    Telegram photo), None when it says nothing.
    """

    name: str
    args: tuple[str, ...]
    raw_text: str
    actor: str
    platform: str
    channel: str
    language: str | None = None
    arg_offsets: tuple[int, ...] = ()
    attachment_name: str | None = None
    attachment: bytes | None = field(default=None, repr=False)
    attachment_mimetype: str | None = None
    args_pending: bool = False
    fetch_attachment: AttachmentFetch | None = field(default=None, repr=False, compare=False)

    def rest(self, index: int) -> str:
        """The raw text from argument `index` on: messages and prompts keep their line breaks."""
        if index >= len(self.args):
            return ""
        if index == len(self.args) - 1 or len(self.arg_offsets) != len(self.args):
            return " ".join(self.args[index:])
        return self.raw_text[self.arg_offsets[index] :].strip()


class ProgressHandle(Protocol):
    """A message shown once and then updated in place (campaign status, QR refresh notes)."""

    async def update(self, text: str) -> None: ...


@dataclass(frozen=True)
class ConfirmPrompt:
    """What an adapter shows for a destructive command: text and two buttons bound to a token."""

    text: str
    token: str
    confirm_label: str
    cancel_label: str


class Reply(Protocol):
    """How a command answers; each adapter implements it for its platform.

    `text_limit` is the longest text the platform takes in one message and `command_prefix`
    what precedes a command name there (`/` in Telegram, `/waops ` in Slack, `` in the console).
    """

    @property
    def text_limit(self) -> int: ...

    @property
    def command_prefix(self) -> str: ...

    async def text(self, text: str) -> None: ...

    async def image(self, png: bytes, caption: str = "") -> None: ...

    async def file(self, name: str, data: bytes, caption: str = "") -> None: ...

    async def confirm(self, prompt: ConfirmPrompt) -> None: ...

    async def progress(self, text: str) -> ProgressHandle: ...


@runtime_checkable
class PrivateReplies(Protocol):
    """What a `Reply` in a shared chat (a Telegram group, a Slack channel) adds, so that output
    carrying contacts' data can go to the operator alone.

    `is_private` is true when only the operator who asked sees what goes through this reply;
    `private_reply()` finds one that is, or None when the platform will not let the bot write to
    them privately yet; `private_hint` names the bot they should open a private chat with.
    A `Reply` without these (the console) is private by nature.
    """

    @property
    def is_private(self) -> bool: ...

    @property
    def private_hint(self) -> str: ...

    async def private_reply(self) -> Reply | None: ...


@dataclass(frozen=True)
class MediaFile:
    """A WhatsApp file going to an operator: its kind (WA-JS `MsgModel.type`: ptt, audio, image,
    video, document, sticker), a file name, the bytes and what they are."""

    kind: str
    name: str
    data: bytes = field(repr=False)
    mimetype: str = "application/octet-stream"
    duration_s: int | None = None


MAX_PLAIN_FILE_BYTES = 1 << 30
"""What a reply that takes only plain files is said to take: the console saves them to disk."""


@runtime_checkable
class MediaReplies(Protocol):
    """What a `Reply` adds when its platform shows files by kind (a voice note as a voice note,
    a photo as a photo). `max_file_bytes` is the largest file the bot may upload there."""

    @property
    def max_file_bytes(self) -> int: ...

    async def media(self, file: MediaFile, caption: str = "") -> None: ...


async def send_media(reply: Reply, file: MediaFile, caption: str = "") -> None:
    """Send `file` the way the platform shows its kind, else as a plain file (the console).

    Raises `CommandError` when the platform takes no file that large, before uploading.
    """
    if isinstance(reply, MediaReplies):
        if len(file.data) > reply.max_file_bytes:
            raise CommandError(
                "media.too_big_for_chat",
                mb=f"{len(file.data) / 1e6:.1f}",
                limit=f"{reply.max_file_bytes / 1e6:g}",
            )
        await reply.media(file, caption)
        return
    await reply.file(file.name, file.data, caption)


class CommandError(Exception):
    """An expected problem, answered with a short text from the catalog saying what to do."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def text(self, lang: Language) -> str:
        return t(lang, self.key, **self.params)


class Denied(CommandError):
    """A rule forbids this to this operator; audited as denied rather than as an error."""


def file_too_big(limit_bytes: int) -> CommandError:
    """What an `AttachmentFetch` raises for a file over `limit_bytes`, saying the limit."""
    return CommandError("limits.file_too_big", mb=f"{limit_bytes / (1024 * 1024):g}")


@dataclass
class CommandContext:
    """What a handler gets: the request, who asked (already authorised), how to answer."""

    request: CommandRequest
    operator: Operator
    reply: Reply
    lang: Language
    file_limit_bytes: int = 50 * 1024 * 1024
    """The largest file `file()` fetches (the dispatcher's `max_attachment_bytes`)."""

    @property
    def args(self) -> tuple[str, ...]:
        return self.request.args

    async def file(self) -> bytes | None:
        """The file sent with the command, None when none was. It is fetched from its platform
        the first time a handler asks, so a handler checks what it can first (the campaign
        `/campaign attach` names must be the operator's) and a refused file is never read.
        The dispatcher leaves a fetch only to commands that `takes_file`."""
        request = self.request
        if request.attachment is None and request.fetch_attachment is not None:
            data = await request.fetch_attachment(self.file_limit_bytes)
            self.request = replace(request, attachment=data, fetch_attachment=None)
        return self.request.attachment

    def t(self, key: str, **params: object) -> str:
        return t(self.lang, key, **params)

    async def say(self, key: str, **params: object) -> None:
        """Send the catalog text `key`."""
        await self.send(self.t(key, **params))

    async def send(self, text: str, *, filename: str = "waops.txt") -> None:
        """Send any length of text: split on lines, or as a file when it is very long."""
        await send_long(self.reply, text, filename=filename, file_caption=self.t("output.as_file"))

    def command_text(self, name: str) -> str:
        """How to type command `name` on this platform, for hints in replies."""
        return f"{self.reply.command_prefix}{name}"


@dataclass(frozen=True)
class Proposal:
    """A destructive command's answer: what will happen, and the action to run once confirmed.

    The action gets a fresh context for whoever confirmed (always the proposer), so it replies
    where the confirm button was pressed.
    """

    text: str
    action: Callable[[CommandContext], Awaitable[None]]


Handler = Callable[[CommandContext], Awaitable[Proposal | None]]


@dataclass(frozen=True)
class Command:
    """A command and everything the dispatcher needs to authorise, check, audit and explain it.

    `name` is one word or `group sub` (`operator add`). `role` is the least role that may run
    it. `client_arg` is the index of the argument naming a client, checked against the
    operator's scope before the handler runs; with `client_arg_repeats` every argument from
    there on is a client. A `destructive` command must return a `Proposal`. A `private_output`
    command answers with contacts' data (conversations, digests, a pairing QR): typed in a group
    or channel, its output goes to the operator privately (see `PrivateReplies`). Only a command
    that `takes_file` gets the file sent with it (fetched after authorisation). Help and usage
    texts are catalog keys, `<name>.help` and `<name>.usage` unless given.
    """

    name: str
    handler: Handler = field(compare=False)
    role: Role = Role.OWNER
    client_arg: int | None = None
    client_arg_repeats: bool = False
    destructive: bool = False
    private_output: bool = False
    takes_file: bool = False
    min_args: int = 0
    max_args: int | None = None
    help_key: str = ""
    usage_key: str = ""

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"command name {self.name!r}: lowercase word, or 'group sub'")
        key = self.name.replace(" ", "_")
        if not self.help_key:
            object.__setattr__(self, "help_key", f"{key}.help")
        if not self.usage_key:
            object.__setattr__(self, "usage_key", f"{key}.usage")

    def may_run(self, operator: Operator) -> bool:
        return operator.role.rank >= self.role.rank

    def client_slugs(self, args: tuple[str, ...]) -> tuple[str, ...]:
        """The client slugs this invocation names, for scope checks and the audit log."""
        if self.client_arg is None or self.client_arg >= len(args):
            return ()
        if self.client_arg_repeats:
            return args[self.client_arg :]
        return (args[self.client_arg],)

    def accepts(self, count: int) -> bool:
        return count >= self.min_args and (self.max_args is None or count <= self.max_args)


def usage_line(command: Command, lang: Language, prefix: str) -> str:
    """`/operator add <id> <role> [client...]` in the operator's language and platform."""
    return f"{prefix}{command.name} {t(lang, command.usage_key)}".rstrip()


async def send_long(
    reply: Reply,
    text: str,
    *,
    filename: str = "waops.txt",
    file_caption: str = "",
    max_messages: int = MAX_MESSAGES,
) -> None:
    """Send `text` as one or a few messages within `reply.text_limit`, or as a text file."""
    chunks = split_text(text, reply.text_limit)
    if len(chunks) > max_messages:
        await reply.file(filename, text.encode("utf-8"), file_caption)
        return
    for chunk in chunks:
        await reply.text(chunk)
