"""What Slack refuses in a message: its text (unescaped mrkdwn) and its blocks (the Block
Kit limits, image blocks and the files they name)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.support.fakes.slack.records import (
    IMAGE_TYPES,
    MAX_BLOCKS,
    SECTION_LIMIT,
    Refused,
    Upload,
    unsafe_mrkdwn,
)

# An image block's slack_file id must match this, else `invalid_blocks` (the error Slack gave in
# slackapi/python-slack-sdk#1521: "input must match regex pattern: ^[F][A-Z0-9]{8,}$").
_FILE_ID_RE = re.compile(r"^[F][A-Z0-9]{8,}$")
# Block Kit reference, image block: alt_text and title up to 2000 characters, block_id 255.
_ALT_TEXT_LIMIT = 2000
_BLOCK_ID_LIMIT = 255


class MessageRules:
    """Checks a message against Slack's rules; image blocks against the workspace's uploads."""

    def __init__(
        self, uploads: list[Upload], clock: Callable[[], float], unexpected: list[str]
    ) -> None:
        self.uploads = uploads
        self.clock = clock
        self.unexpected = unexpected

    def check_text(self, text: object, blocks: object) -> None:
        """Why Slack (or a careful reader) would refuse this text and these blocks, if it would."""
        if not isinstance(text, str) or not text:
            raise Refused("no_text")
        if unsafe_mrkdwn(text):
            raise Refused(f"unescaped_mrkdwn in text {text!r}")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            raise Refused("invalid_blocks")
        block_ids = [b["block_id"] for b in blocks if "block_id" in b]
        if len(block_ids) != len(set(block_ids)):
            raise Refused("invalid_blocks: the same block_id twice in one message")
        for index, block in enumerate(blocks):
            kind = block.get("type")
            texts = []
            if kind == "section":
                texts = [block["text"]["text"]]
            elif kind == "context":
                texts = [e["text"] for e in block["elements"] if e["type"] == "mrkdwn"]
            elif kind == "image":
                self.check_image(block, index)
            elif kind != "actions":
                raise Refused(f"invalid_blocks: type {kind}")
            for piece in texts:
                if len(piece) > SECTION_LIMIT:
                    raise Refused("invalid_blocks: text over 3000 characters")
                if unsafe_mrkdwn(piece):
                    raise Refused(f"unescaped_mrkdwn in block {piece!r}")

    def check_image(self, block: dict[str, Any], index: int) -> None:
        """An image block as the Block Kit reference describes it: alt_text, and either an
        image_url or a slack_file that is an image the bot may see (by url or by id, never
        both); a file Slack is still processing is refused like an unknown one."""
        alt_text = block.get("alt_text")
        if not isinstance(alt_text, str) or not 0 < len(alt_text) <= _ALT_TEXT_LIMIT:
            raise Refused("invalid_blocks: an image needs alt_text of 1 to 2000 characters")
        if len(str(block.get("block_id", ""))) > _BLOCK_ID_LIMIT:
            raise Refused("invalid_blocks: block_id over 255 characters")
        source = block.get("slack_file")
        if ("image_url" in block) == (source is not None):
            raise Refused("invalid_blocks: an image needs an image_url or a slack_file")
        if source is None:
            return  # a public URL: Slack fetches it, the fake does not
        if not isinstance(source, dict) or ("id" in source) == ("url" in source):
            raise Refused("invalid_blocks: a slack_file has either an id or a url")
        if "url" in source:
            self.unexpected.append("slack_file by url: waops names files by id")
            raise Refused("invalid_blocks: slack_file by url is not modelled")
        file_id = str(source["id"])
        if not _FILE_ID_RE.match(file_id):
            raise Refused(f"invalid_blocks: input must match regex pattern: {_FILE_ID_RE.pattern}")
        upload = next((u for u in self.uploads if u.file_id == file_id), None)
        extension = upload.filename.rpartition(".")[2].lower() if upload else ""
        if upload is None or extension not in IMAGE_TYPES or self.clock() < upload.ready_at_s:
            raise Refused(
                "invalid_blocks",
                errors=[f"invalid slack file [json-pointer:/blocks/{index}/slack_file]"],
            )
