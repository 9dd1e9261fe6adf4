"""Long answers: split within the platform limit on line boundaries, or sent as a file."""

from __future__ import annotations

import random

import pytest

from bot.commands.base import send_long
from bot.push.channel import split_text
from tests.bot.commands.recording import RecordingReply


def test_lines_are_grouped_within_the_limit() -> None:
    text = "\n".join(f"line {i:03d}" for i in range(100))  # 8 characters a line
    chunks = split_text(text, 30)
    assert all(len(chunk) <= 30 for chunk in chunks)
    assert chunks[0] == "line 000\nline 001\nline 002"
    assert "\n".join(chunks) == text, "broken only between lines"


def test_random_texts_respect_limit_and_lines() -> None:
    rng = random.Random(6)
    for _ in range(300):
        limit = rng.randint(5, 80)
        lines = ["x" * rng.randint(1, limit) for _ in range(rng.randint(1, 40))]
        text = "\n".join(lines)
        chunks = split_text(text, limit)
        assert all(len(chunk) <= limit for chunk in chunks)
        assert "\n".join(chunks) == text
        assert all(set(chunk.split("\n")) <= set(lines) for chunk in chunks)


def test_a_line_over_the_limit_is_cut_after_a_space() -> None:
    line = "alpha beta gamma delta epsilon"
    chunks = split_text(line, 12)
    assert chunks == ["alpha beta ", "gamma delta ", "epsilon"]
    assert "".join(chunks) == line
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_empty_text_sends_nothing_and_limit_must_be_positive() -> None:
    assert split_text("", 10) == []
    assert split_text("\n \n", 10) == []
    with pytest.raises(ValueError, match="positive"):
        split_text("a", 0)


async def test_few_chunks_are_messages_many_are_a_file() -> None:
    reply = RecordingReply(text_limit=21)  # two 10-character lines a message
    await send_long(reply, "\n".join(["0123456789"] * 6))
    assert len(reply.texts) == 3 and not reply.files
    long = "\n".join(["0123456789"] * 50)
    file_reply = RecordingReply(text_limit=20)
    await send_long(file_reply, long, filename="audit.txt", file_caption="as a file")
    assert file_reply.texts == []
    assert file_reply.files == [("audit.txt", long.encode(), "as a file")]
