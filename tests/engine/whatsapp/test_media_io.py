"""media_io's protocol against a scripted page: what each page answer becomes (no browser)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from engine.whatsapp import MediaUnavailable, OutgoingMedia, SendFailed, SessionLost
from engine.whatsapp.media_io import CHUNK_BYTES, download, stage


class Page:
    """Answers bridge entry points from a script; records the calls."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.calls: list[tuple[str, Any]] = []

    async def __call__(self, name: str, arg: Any, limit_s: float) -> dict[str, Any]:
        self.calls.append((name, arg))
        answer = self.answers[name]
        if isinstance(answer, BaseException):
            raise answer
        result: dict[str, Any] = answer(arg) if callable(answer) else answer
        return result


def ok(value: Any) -> dict[str, Any]:
    return {"ok": True, "value": value}


async def test_a_download_reads_slices_and_always_frees_the_page_copy() -> None:
    data = bytes(range(256)) * (CHUNK_BYTES // 128)  # two chunks and a bit
    page = Page(
        mediaOpen=ok({"handle": "m1", "size": len(data), "mimetype": "audio/ogg"}),
        mediaRead=lambda a: ok(
            base64.b64encode(data[a["offset"] : a["offset"] + a["length"]]).decode()
        ),
        mediaClose=ok(True),
    )
    assert await download(page, "id", max_bytes=len(data), limit_s=5) == data
    reads = [arg["offset"] for name, arg in page.calls if name == "mediaRead"]
    assert reads == [0, CHUNK_BYTES]
    assert page.calls[-1] == ("mediaClose", "m1")


async def test_a_page_that_gives_more_than_it_said_is_stopped_at_the_cap() -> None:
    page = Page(
        mediaOpen=ok({"handle": "m1", "size": 10, "mimetype": None}),
        mediaRead=ok(base64.b64encode(b"x" * 11).decode()),
        mediaClose=ok(True),
    )
    with pytest.raises(MediaUnavailable) as error:
        await download(page, "id", max_bytes=10, limit_s=5)
    assert error.value.code == "too_large"
    assert page.calls[-1][0] == "mediaClose"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"ok": False, "code": "media_not_found", "message": "Media not found"}, "media_not_found"),
        ({"ok": False, "code": "offline", "message": "not connected"}, "not_connected"),
        (SessionLost("page gone"), "session_lost"),
    ],
)
async def test_failures_are_media_unavailable_with_a_code(answer: Any, code: str) -> None:
    with pytest.raises(MediaUnavailable) as error:
        await download(Page(mediaOpen=answer), "id", max_bytes=10, limit_s=5)
    assert error.value.code == code


def _file(data: bytes) -> OutgoingMedia:
    return OutgoingMedia("image", "image/jpeg", None, data, hashlib.sha256(data).hexdigest())


async def test_staging_skips_a_staged_file_and_a_refusal_is_send_failed() -> None:
    staged = Page(isStaged=ok(True))
    await stage(staged, _file(b"abc"), limit_s=5)
    assert [name for name, _ in staged.calls] == ["isStaged"]
    corrupt = {"ok": False, "code": "stage_corrupt", "message": "hash differs"}
    refusing = Page(isStaged=ok(False), stage=corrupt)
    with pytest.raises(SendFailed, match="stage_corrupt"):
        await stage(refusing, _file(b"abc"), limit_s=5)
    with pytest.raises(SendFailed, match="empty"):
        await stage(Page(isStaged=ok(False)), _file(b""), limit_s=5)
