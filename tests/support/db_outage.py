"""A database outage for tests on SQLite: the database file moved away (every query fails) and
put back, as the engine's, the listener's and the alerts' outage tests play it."""

from __future__ import annotations

from pathlib import Path

from storage.db import Database


class Outage:
    """The database file moved away (every query fails) and put back; `away` while it is,
    `begun` counts the outages so far."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._path = Path(str(db.engine.url.database))
        self._hidden: dict[Path, Path] = {}
        self.away = False
        self.begun = 0

    async def begin(self) -> None:
        self.away = True
        self.begun += 1
        await self._db.engine.dispose()
        self._hidden = {
            p: p.with_name(p.name + ".away") for p in self._path.parent.glob(self._path.name + "*")
        }
        for source, target in self._hidden.items():
            source.rename(target)

    async def end(self) -> None:
        await self._db.engine.dispose()
        for stray in self._path.parent.glob(self._path.name + "*"):
            if not stray.name.endswith(".away"):
                stray.unlink()  # the empty database SQLite made meanwhile
        for source, target in self._hidden.items():
            target.rename(source)
        self.away = False
