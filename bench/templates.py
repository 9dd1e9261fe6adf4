"""Template rendering time for growing field values, against a linear baseline of the same run.

A contact field of N blanks (spaces, or spaces and tabs) is rendered into a short template;
the baseline is the same render with a field of N letters, which every version of the renderer
handles in linear time. A ratio that stays flat as N grows means the blanks are linear too; the
spacing rules as first written with regular expressions (`--before`) grow with N instead.

    .venv/bin/python -m bench.templates [--sizes 1000,10000,60000,240000] [--before]
"""

from __future__ import annotations

import argparse
import random
import re
from functools import partial

from bench.parsing import best_s
from engine.campaign.templates import EMPTY, Template, tidy

TEMPLATE = "Hola {name}, te esperamos en {ciudad}!"
BEFORE_MAX = 60_000  # the old regexes take seconds to minutes past this


def _before(text: str) -> str:
    """The spacing rules as first written (quadratic on long runs of blanks)."""
    text = re.sub(f"[ \\t]*{EMPTY}[{EMPTY} \\t]*(?=[,.;:!?)])", "", text).replace(EMPTY, "")
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"[ \t]*\n[ \t]*", "\n", text).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,60000,240000")
    parser.add_argument(
        "--before", action="store_true", help="also time the old regexes (sizes up to 60,000)"
    )
    args = parser.parse_args()
    template = Template.parse(TEMPLATE, ["ciudad"])
    rng = random.Random(1)
    print("| field of N | letters ms (baseline) | spaces ms | × | spaces+tabs ms | × |", end="")
    print(" before: spaces ms | × | before: spaces+tabs ms | × |" if args.before else "")
    print("|---|---|---|---|---|---|" + ("---|---|---|---|" if args.before else ""))
    for size in (int(n) for n in args.sizes.split(",")):
        fields = {
            "letters": {"ciudad": "V" + "x" * size + "C"},
            "spaces": {"ciudad": "V" + " " * size + "C"},
            "mixed": {"ciudad": "V" + " \t" * (size // 2) + "C"},
        }
        timed = {kind: best_s(partial(template.render, f, rng)) for kind, f in fields.items()}
        base = timed["letters"]
        row = (
            f"| {size:,} | {base * 1e3:.3f} | {timed['spaces'] * 1e3:.3f} | "
            f"{timed['spaces'] / base:.1f} | {timed['mixed'] * 1e3:.3f} | "
            f"{timed['mixed'] / base:.1f} |"
        )
        if args.before and size <= BEFORE_MAX:
            for blanks in (" " * size, " \t" * (size // 2)):
                raw = f"Hola {EMPTY}, te esperamos en V{blanks}C!"
                assert _before(raw) == tidy(raw)
                old = best_s(partial(_before, raw))
                row += f" {old * 1e3:,.1f} | {old / base:,.0f} |"
        elif args.before:
            row += " - | - | - | - |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
