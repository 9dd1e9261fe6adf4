"""What the fake Slack records, and the limits and scopes it holds waops to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
BOT_USER = "UBOT"
TEAM = "T0FAKE"
# What may follow `<` or `&` in mrkdwn that waops writes: mentions and the three entities.
SAFE_TOKENS = re.compile(r"<@[A-Z0-9]+>|&(amp|lt|gt);")
# files.completeUploadExternal validates `channel_id` against this JSON-schema pattern and
# answers `invalid_arguments` otherwise, so a user id (U...) is refused: slackapi/bolt-js#2115.
UPLOAD_CHANNEL_RE = re.compile(r"^[CGDZ][A-Z0-9]{8,}$")
USER_RE = re.compile(r"^[UW][A-Z0-9]+$")
# Block Kit reference, Slack file object: "Currently only png, jpg, jpeg, and gif".
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif"}
# Bot-token scopes per method, from each method's page on docs.slack.dev ("Scopes").
SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "conversations.open": "im:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
    "download": "files:read",
}
# "You can use a response_url up to five times within 30 minutes" (Slack: Handling user
# interaction > Message responses).
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60
MANIFEST = Path(__file__).resolve().parents[4] / "deploy" / "slack-app-manifest.yml"
UNEXPECTED_ERRORS = ("missing_scope", "invalid_arguments", "unescaped", "invalid_blocks", "no_")


def manifest_scopes(path: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes the app manifest asks for (`oauth_config.scopes.bot`)."""
    scopes: set[str] = set()
    inside = False
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("bot:"):
            inside = True
        elif inside and stripped.startswith("- "):
            scopes.add(stripped[2:].strip())
        elif inside and stripped and not stripped.startswith("#"):
            inside = False
    return frozenset(scopes)


@dataclass(frozen=True)
class Failure:
    """How the next call to a method fails."""

    status: int = 200
    error: str | None = None
    retry_after_s: int | None = None
    body: str | None = None

    @classmethod
    def ratelimited(cls, retry_after_s: int) -> Failure:
        return cls(status=429, error="ratelimited", retry_after_s=retry_after_s)

    @classmethod
    def http(cls, status: int) -> Failure:
        """A gateway error with an HTML body, as a proxy in front of Slack sends it."""
        return cls(status=status, body=f"<html><body>{status} Bad Gateway</body></html>")

    @classmethod
    def api(cls, error: str) -> Failure:
        """HTTP 200 with `ok: false`, Slack's way of saying no (`channel_not_found`, ...)."""
        return cls(error=error)


@dataclass(frozen=True)
class Call:
    """One request the fake answered: method, parameters, the failure or error it got."""

    method: str
    params: dict[str, Any]
    failed: Failure | None = None
    error: str | None = None


@dataclass
class Conversation:
    """A channel, private channel or DM of the workspace, and who is in it."""

    id: str
    kind: Literal["public", "private", "im"]
    members: set[str] = field(default_factory=set)
    everyone: bool = False
    """Every member of the workspace is in it (like #general)."""

    def has(self, user: str) -> bool:
        return (self.everyone and user != BOT_USER) or user in self.members


@dataclass
class Message:
    """A posted message as it stands now, with what it looked like before each update.

    `ephemeral_to` is the one user who sees it (chat.postEphemeral, or a response_url answer
    that is not `in_channel`); None means everyone in `channel`.
    """

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    history: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    ephemeral_to: str | None = None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [e for b in self.blocks if b.get("type") == "actions" for e in b["elements"]]

    @property
    def section_text(self) -> str:
        return "\n".join(b["text"]["text"] for b in self.blocks if b.get("type") == "section")

    @property
    def context_text(self) -> str:
        return "\n".join(
            e["text"] for b in self.blocks if b.get("type") == "context" for e in b["elements"]
        )

    @property
    def image_files(self) -> list[str]:
        """The ids of the Slack files its image blocks show now."""
        return [
            str(b["slack_file"]["id"])
            for b in self.blocks
            if b.get("type") == "image" and "id" in b.get("slack_file", {})
        ]


@dataclass(frozen=True)
class Upload:
    """A file completed with files.completeUploadExternal: shared in `channel`, or private
    (None); Slack is done processing it at `ready_at_s` (the fake's clock)."""

    file_id: str
    filename: str
    title: str
    data: bytes
    channel: str | None
    initial_comment: str | None
    ready_at_s: float = 0.0


@dataclass
class Hook:
    """A response_url: bound to a channel and a user, and to the message pressed (if any)."""

    channel: str
    user: str
    created_s: float
    original: Message | None
    uses: int = 0


class Refused(Exception):
    """Slack answers `ok: false` with `error` (and `extra` fields)."""

    def __init__(self, error: str, **extra: object) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def unsafe_mrkdwn(text: str) -> bool:
    """Whether `text` has a `<`, `>` or `&` that is not a mention or an entity."""
    return any(char in SAFE_TOKENS.sub("", text) for char in "<>&")
