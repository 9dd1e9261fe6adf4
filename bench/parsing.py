"""Command parsing time for growing hostile texts, against a linear baseline of the same run.

A hostile text is N characters of words that each open a quote nothing closes (`"x"x "x"x ...`
and mixes of quote kinds); the baseline is the same tokenizer on N characters of plain words,
which every version handled in linear time. A ratio that stays flat as N grows means the hostile
texts are linear too; the tokenizer as it was before issue 13 (`--before`) grows with N instead.
The dispatcher reads at most `MAX_COMMAND_CHARS` of a command, and none of a stranger's past the
first word; the larger sizes show the tokenizer itself.

    .venv/bin/python bench/parsing.py [--sizes 1000,4000,16000,40000,1000000] [--before]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

from bot.commands.parsing import MAX_COMMAND_CHARS, tokenize

BEFORE_MAX = 40_000  # the old tokenizer takes ~16 s at 40,000 characters
REPEAT_S = 0.2  # repeat each measure for at least this long and keep the best run
HOSTILE = {
    "unclosed": '"x"x ',  # every word opens a quote; none ends a word
    "mixed": "'a\"b ",  # two kinds of quote, neither ever closed
    "smart": "“x”x ",  # Telegram's and macOS's curly quotes, read as straight ones
}
_SMART = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


def tokenize_before(text: str) -> list[tuple[str, int]]:
    """The tokenizer before issue 13: every unclosed quote searched to the end of the text.
    tests/bot/commands/test_parsing.py holds the linear one to exactly these quoting rules."""
    text = text.translate(_SMART)
    tokens: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        if text[i] in "\"'":
            quote, search, close = text[i], i + 1, None
            while (found := text.find(quote, search)) != -1:
                if found + 1 == n or text[found + 1].isspace():
                    close = found
                    break
                search = found + 1
            if close is not None:
                tokens.append((text[i + 1 : close], start))
                i = close + 1
                continue
        while i < n and not text[i].isspace():
            i += 1
        tokens.append((text[start:i], start))
    return tokens


def best_s(work: Callable[[], object]) -> float:
    """The fastest of several runs of `work`, in seconds."""
    best, spent = float("inf"), 0.0
    while spent < REPEAT_S or best == float("inf"):
        start = time.perf_counter()
        work()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
    return best


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000,16000,40000,1000000")
    parser.add_argument(
        "--before", action="store_true", help=f"also time the old tokenizer (to {BEFORE_MAX:,})"
    )
    args = parser.parse_args()
    print(f"(the dispatcher reads at most {MAX_COMMAND_CHARS:,} characters of a command)")
    header = "| text of N | words ms (baseline) |"
    header += "".join(f" {kind} ms | × |" for kind in HOSTILE)
    if args.before:
        header += "".join(f" before: {kind} ms | × |" for kind in HOSTILE)
    print(header)
    print("|---|---|" + "---|---|" * len(HOSTILE) * (2 if args.before else 1))
    for size in (int(n) for n in args.sizes.split(",")):
        base = best_s(partial(tokenize, _repeat("xx ", size)))
        row = f"| {size:,} | {base * 1e3:.3f} |"
        texts = {kind: _repeat(unit, size) for kind, unit in HOSTILE.items()}
        for text in texts.values():
            took = best_s(partial(tokenize, text))
            row += f" {took * 1e3:.3f} | {took / base:.1f} |"
        if args.before:
            for text in texts.values():
                if size > BEFORE_MAX:
                    row += " - | - |"
                    continue
                assert tokenize_before(text) == tokenize(text)
                took = best_s(partial(tokenize_before, text))
                row += f" {took * 1e3:,.1f} | {took / base:,.0f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
