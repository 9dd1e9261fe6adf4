"""Session backups encrypted with a passphrase: AES-256-GCM, the key derived with scrypt.

A backup is a full WhatsApp login, so with WAOPS_BACKUP_PASSPHRASE set it is written
encrypted. The layout is ours (one format version so far):

    MAGIC | salt (16) | log2 n, r, p (1 each) | nonce (12) | check (32) | ciphertext | tag (16)

scrypt gives 64 bytes: the first 32 are the AES key, the rest `check`, stored so that a wrong
passphrase is told apart from a damaged file before anything is decrypted. The header is the
GCM associated data, so changing any of it fails the tag. The archive is streamed through, so
a large profile never has to fit in memory.
"""

from __future__ import annotations

import hmac
import os
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC: Final = b"WAOPS-BACKUP\x00\x01"
_SALT_BYTES, _NONCE_BYTES, _CHECK_BYTES, _TAG_BYTES = 16, 12, 32, 16
# scrypt cost: 2**15 x 8 x 128 bytes = 32 MiB and ~0.1 s per derivation (RFC 7914 section 2
# suggests r=8, p=1; n as large as the time budget allows).
_LOG2_N, _R, _P = 15, 8, 1
_HEADER_BYTES: Final = len(MAGIC) + _SALT_BYTES + 3 + _NONCE_BYTES + _CHECK_BYTES
_CHUNK_BYTES = 1 << 20


class BackupUnreadable(Exception):
    """An encrypted backup that cannot be opened; the message says why and what to do."""


class WrongPassphrase(BackupUnreadable):
    """The passphrase is not the one the backup was made with."""


def is_encrypted(head: bytes) -> bool:
    """True when a file starting with `head` is a backup written by `EncryptingWriter`."""
    return head.startswith(MAGIC)


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> tuple[bytes, bytes]:
    if not 10 <= log2_n <= 22 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise BackupUnreadable("the backup's key parameters are out of range: a damaged file?")
    kdf = Scrypt(salt=salt, length=32 + _CHECK_BYTES, n=1 << log2_n, r=r, p=p)
    derived = kdf.derive(passphrase.encode("utf-8"))
    return derived[:32], derived[32:]


class EncryptingWriter:
    """A write-only stream that encrypts what is written into `out`, for `gzip.GzipFile`;
    `finish()` writes the tag (the caller closes `out`)."""

    def __init__(self, out: BinaryIO, passphrase: str) -> None:
        if not passphrase:
            raise ValueError("an empty passphrase protects nothing")
        salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
        key, check = _derive(passphrase, salt, _LOG2_N, _R, _P)
        header = MAGIC + salt + bytes((_LOG2_N, _R, _P)) + nonce + check
        self._encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        self._encryptor.authenticate_additional_data(header)
        self._out = out
        self._out.write(header)

    def write(self, data: bytes) -> int:
        self._out.write(self._encryptor.update(data))
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def finish(self) -> None:
        self._out.write(self._encryptor.finalize() + self._encryptor.tag)


def decrypt(source: BinaryIO, out: BinaryIO, passphrase: str | None) -> None:
    """Decrypt the whole backup in `source` into `out`, checking it before returning.

    What lands in `out` is only trustworthy once this returns: a damaged or altered file
    raises BackupUnreadable at the end, so write `out` somewhere private and discard it then.
    """
    header = source.read(_HEADER_BYTES)
    if len(header) < _HEADER_BYTES or not is_encrypted(header):
        raise BackupUnreadable("not an encrypted waops backup")
    if not passphrase:
        raise BackupUnreadable(
            "the backup is encrypted: set WAOPS_BACKUP_PASSPHRASE to the one it was made with"
        )
    at = len(MAGIC)
    salt = header[at : at + _SALT_BYTES]
    log2_n, r, p = header[at + _SALT_BYTES : at + _SALT_BYTES + 3]
    at += _SALT_BYTES + 3
    nonce, check = header[at : at + _NONCE_BYTES], header[at + _NONCE_BYTES :]
    key, expected = _derive(passphrase, salt, log2_n, r, p)
    if not hmac.compare_digest(check, expected):
        raise WrongPassphrase(
            "wrong passphrase: WAOPS_BACKUP_PASSPHRASE is not the one the backup was made with"
        )
    decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).decryptor()
    decryptor.authenticate_additional_data(header)
    # The tag is the last 16 bytes: hold them back from each chunk until the end is known.
    held = b""
    while chunk := source.read(_CHUNK_BYTES):
        held += chunk
        out.write(decryptor.update(held[:-_TAG_BYTES]))
        held = held[-_TAG_BYTES:]
    if len(held) < _TAG_BYTES:
        raise BackupUnreadable("the backup is truncated: it ends before its checksum")
    try:
        out.write(decryptor.finalize_with_tag(held))
    except InvalidTag as exc:
        raise BackupUnreadable("the backup is damaged or was altered: its checksum fails") from exc
