"""Identifiers in WhatsApp's formats: wids, message keys, auth codes, tokens."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ123456789"


class BadAddress(ValueError):
    """A phone number or wid that cannot be turned into a WhatsApp id."""


def to_wid(value: str) -> str:
    """``5491112345678`` or ``+54 9 11 ...`` -> ``5491112345678@c.us``; wids pass through."""
    value = value.strip()
    if "@" in value:
        user, _, server = value.partition("@")
        if user and server in ("c.us", "g.us", "lid", "broadcast"):
            if server in ("c.us", "lid") and not user.isdigit():
                raise BadAddress(
                    f"{value!r} is not a WhatsApp id: the part before @ must be digits"
                )
            return value
        raise BadAddress(f"{value!r} is not a WhatsApp id (user@c.us, @g.us or @lid)")
    digits = "".join(ch for ch in value if ch.isdigit())
    if not digits or len(digits) > 15 or any(ch not in "0123456789+ -()" for ch in value):
        raise BadAddress(f"{value!r} is not a phone number in international format")
    return f"{digits}@c.us"


def canonical_wid(wid: str) -> str:
    """Argentine mobiles gain their 9 (``54 11 ...`` -> ``54 9 11 ...``) as WhatsApp does."""
    user, _, server = wid.partition("@")
    if server == "c.us" and user.startswith("54") and not user.startswith("549"):
        return f"549{user[2:]}@{server}"
    return wid


def digits(value: str, what: str) -> str:
    """Validated digits of a phone number or LID (``+54 9 11 ...`` -> ``54911...``)."""
    cleaned = "".join(ch for ch in value if ch.isdigit())
    if not cleaned or len(cleaned) > 20 or any(ch not in "0123456789+ -()" for ch in value):
        raise BadAddress(f"{value!r} is not a {what} (digits only)")
    return cleaned


def phone_digits(value: str) -> str:
    """The canonical phone digits of a number or ``@c.us`` id (Argentine 9 included)."""
    return canonical_wid(to_wid(value)).partition("@")[0]


def new_lid() -> str:
    """A LID like WhatsApp's: 14-15 digits unrelated to the phone number."""
    return str(10**13 + secrets.randbelow(9 * 10**14))


def message_id() -> str:
    """A raw message id like the ones WhatsApp Web generates."""
    return "3EB0" + secrets.token_hex(10).upper()


def serialized_key(from_me: bool, remote: str, raw_id: str, participant: str | None = None) -> str:
    """``MsgKey._serialized``: ``true_<remote>_<id>`` (plus ``_<participant>`` in groups)."""
    key = f"{'true' if from_me else 'false'}_{remote}_{raw_id}"
    return f"{key}_{participant}" if participant else key


def split_key(serialized: str) -> tuple[bool, str, str]:
    """``(from_me, remote, raw_id)`` of a serialised message key."""
    from_me, remote, raw_id, _ = split_full_key(serialized)
    return from_me, remote, raw_id


def split_full_key(serialized: str) -> tuple[bool, str, str, str | None]:
    """``(from_me, remote, raw_id, participant)`` of a serialised message key."""
    parts = serialized.split("_")
    if len(parts) < 3 or parts[0] not in ("true", "false") or "@" not in parts[1]:
        raise BadAddress(f"{serialized!r} is not a message id like true_<chat>_<id>")
    participant = parts[3] if len(parts) > 3 and "@" in parts[3] else None
    return parts[0] == "true", parts[1], parts[2], participant


def _b64(size: int) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode()


def token() -> str:
    """A device token the page keeps in localStorage after pairing."""
    return secrets.token_urlsafe(24)


def link_code() -> str:
    """An 8-character pairing code."""
    return "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(8))


@dataclass(frozen=True, slots=True)
class DeviceKeys:
    """The page's key pairs (fixed per page load), the non-rotating part of the QR."""

    static_key_pair: str
    identity_key_pair: str
    secret_key: str

    @classmethod
    def generate(cls) -> DeviceKeys:
        """Fresh random keys."""
        return cls(_b64(32), _b64(32), _b64(32))

    def auth_code(self, ref: str) -> dict[str, str]:
        """``WPP.conn.getAuthCode()`` for this ref."""
        parts = [ref, self.static_key_pair, self.identity_key_pair, self.secret_key]
        return {
            "type": "multidevice",
            "ref": ref,
            "staticKeyPair": self.static_key_pair,
            "identityKeyPair": self.identity_key_pair,
            "secretKey": self.secret_key,
            "fullCode": ",".join(parts),
        }


def new_ref() -> str:
    """A QR ref; it rotates every ~20 s on the real service."""
    return "2@" + _b64(60)
