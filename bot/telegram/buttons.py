"""Buttons within Telegram's limits: what a press means travels in 64 bytes of `callback_data`."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.commands.base import ConfirmPrompt
from bot.push.channel import Button

CALLBACK_DATA_BYTES: Final = 64


class CallbackCodec:
    """Button payloads within Telegram's 64-byte `callback_data`.

    `kind:payload` goes in the button itself when it fits, so buttons of pushed messages keep
    working after a restart; longer payloads are kept here under a short key (bounded, oldest
    forgotten first).
    """

    CONFIRM: Final = "c"
    CANCEL: Final = "x"
    RUN: Final = "r"
    _KEY: Final = "k"

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._long: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def encode(self, kind: str, payload: str) -> str:
        data = f"{kind}:{payload}"
        if len(data.encode("utf-8")) <= CALLBACK_DATA_BYTES:
            return data
        key = secrets.token_urlsafe(9)
        self._long[key] = (kind, payload)
        while len(self._long) > self._capacity:
            self._long.popitem(last=False)
        return f"{self._KEY}:{key}"

    def decode(self, data: str | None) -> tuple[str, str] | None:
        """(kind, payload), or None for data we did not make or have forgotten."""
        kind, sep, payload = (data or "").partition(":")
        if not sep:
            return None
        if kind == self._KEY:
            return self._long.get(payload)
        if kind in (self.CONFIRM, self.CANCEL, self.RUN) and payload:
            return kind, payload
        return None

    def buttons(self, buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
        """One button per row, each running its command."""
        if not buttons:
            return None
        rows = [
            [InlineKeyboardButton(b.label, callback_data=self.encode(self.RUN, b.command))]
            for b in buttons
        ]
        return InlineKeyboardMarkup(rows)

    def confirm(self, prompt: ConfirmPrompt) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        prompt.confirm_label, callback_data=self.encode(self.CONFIRM, prompt.token)
                    ),
                    InlineKeyboardButton(
                        prompt.cancel_label, callback_data=self.encode(self.CANCEL, prompt.token)
                    ),
                ]
            ]
        )
