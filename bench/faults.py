"""The fault matrix: `waops run` as a separate process on the simulator and a private MariaDB,
put through a bad day, and a table of what was done and what was lost.

Rows: SIGKILL of the engine mid-campaign, the session's Chromium killed, MariaDB stopped for
20 s with contacts writing, the model answering 500 and then hanging, Telegram answering 502
for a minute, a full disk under the inbound spool, and 10,000 random command strings from
strangers. Columns: duplicates sent, inbound lost, alerts lost, crashes, tracebacks shown to
users, recovery time (how each is measured: bench/faults_measure.py and bench/README.md).
A bench, not a test: it prints figures and is not run by `make test`. Needs root for the
full-disk row (a 4 MiB tmpfs mount) and MariaDB's server binaries for the private instance.

    .venv/bin/python -m bench.faults [--quick] [--only sigkill,disk] [--port 33990]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.faults_edge_rows import model_row, platform_row, strangers_row
from bench.faults_engine_rows import RowEnv, chromium_row, disk_row, mariadb_row, sigkill_row
from bench.faults_mariadb import PrivateMariaDB
from bench.faults_measure import RowResult

Row = Callable[[RowEnv], Awaitable[RowResult]]
ROWS: dict[str, Row] = {
    "sigkill": sigkill_row,
    "chromium": chromium_row,
    "mariadb": mariadb_row,
    "model": model_row,
    "platform": platform_row,
    "disk": disk_row,
    "strangers": strangers_row,
}
NO_CAMPAIGN = frozenset({"model", "disk", "strangers"})


def table(results: list[tuple[str, RowResult]]) -> str:
    lines = [
        "| fault | what was done | duplicates sent | inbound lost | alerts lost | crashes "
        "| tracebacks shown | recovery |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results:
        if r.error is not None:
            lines.append(f"| {r.name} | not run: {r.error} | | | | | | |")
            continue
        dup = "–" if key in NO_CAMPAIGN else str(r.duplicates)
        lines.append(
            f"| {r.name} | {r.did} | {dup} | {r.inbound_lost} | {r.alerts_lost} | {r.crashes} "
            f"| {r.tracebacks} | {r.recovery()} |"
        )
    return "\n".join(lines)


async def run(keys: list[str], quick: bool, port: int, keep: bool) -> list[tuple[str, RowResult]]:
    root = Path(tempfile.mkdtemp(prefix="waops-faults-"))
    mariadb = PrivateMariaDB(root / "private-mariadb", port)
    results: list[tuple[str, RowResult]] = []
    try:
        await mariadb.install()
        await mariadb.start()
        env = RowEnv(mariadb, root, quick, random.Random(13))
        for key in keys:
            started = time.monotonic()
            print(f"== {key} ...", flush=True)
            try:
                result = await ROWS[key](env)
            except Exception as exc:
                logging.exception("row %s failed", key)
                result = RowResult(key, error=f"{type(exc).__name__}: {exc}")
            if not mariadb.running:
                await mariadb.start()  # a row that failed mid-outage must not sink the next
            print(f"   {time.monotonic() - started:.0f} s; {result.did}", flush=True)
            for note in result.notes:
                print(f"   - {note}", flush=True)
            results.append((key, result))
    finally:
        if keep:
            await mariadb.stop()
            print(f"kept {root} (MariaDB datadir {mariadb.datadir})")
        else:
            await mariadb.remove()
            shutil.rmtree(root, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (3 kills, ...)")
    parser.add_argument("--only", default="", help=f"comma-separated rows of {', '.join(ROWS)}")
    parser.add_argument("--port", type=int, default=33990, help="port of the private MariaDB")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and logs")
    args = parser.parse_args()
    keys = [k.strip() for k in args.only.split(",") if k.strip()] or list(ROWS)
    unknown = [k for k in keys if k not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    results = asyncio.run(run(keys, args.quick, args.port, args.keep))
    mode = "--quick" if args.quick else "full"
    print(f"\n{time.strftime('%Y-%m-%d')}, {mode}, {time.monotonic() - started:.0f} s\n")
    print(table(results))
    sys.exit(0)


if __name__ == "__main__":
    main()
