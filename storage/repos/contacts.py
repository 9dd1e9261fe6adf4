"""Contacts (prospects) of a client, keyed by E.164 digits; tags and custom fields."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, NotFound
from storage.models import ContactRow, ContactTagRow, utcnow
from storage.records import (
    AudienceSize,
    Contact,
    ContactInput,
    UpsertCounts,
    WaIdentity,
    contact_label,
)
from storage.repos.audience import in_selection
from storage.repos.contact_ids import IdKey, attach, identity_keys, row_keys, rows_named
from storage.texts import Text, phrase


def _to_contact(row: ContactRow, tags: Iterable[str]) -> Contact:
    return Contact(
        id=row.id,
        client_id=row.client_id,
        phone=row.phone,
        wa_id=row.wa_id,
        name=row.name,
        tags=tuple(sorted(tags)),
        fields=dict(row.fields or {}),
        opted_out_at=row.opted_out_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        ai_paused_until=row.ai_paused_until,
        lid=row.lid,
    )


async def _tags_of(session: AsyncSession, contact_ids: Sequence[int]) -> dict[int, set[str]]:
    tags: dict[int, set[str]] = defaultdict(set)
    if contact_ids:
        query = select(ContactTagRow.contact_id, ContactTagRow.tag).where(
            ContactTagRow.contact_id.in_(contact_ids)
        )
        for contact_id, tag in (await session.execute(query)).all():
            tags[contact_id].add(tag)
    return tags


async def contact_by_id_in(session: AsyncSession, contact_id: int) -> Contact:
    """`ContactRepo.get_by_id` in the caller's transaction."""
    row = await session.get(ContactRow, contact_id)
    if row is None:
        raise NotFound(phrase("record.no_contact_id", id=contact_id))
    return _to_contact(row, (await _tags_of(session, [row.id]))[row.id])


async def resolve_in(
    session: AsyncSession, client_id: int, who: WaIdentity, *, name: str | None = None
) -> Contact:
    """`ContactRepo.resolve` inside the caller's transaction; an `IntegrityError` means another
    writer created the contact meanwhile (run the transaction again: it finds it)."""
    if not (who.phone or who.lid):
        raise ValueError("a contact needs a phone or a lid")
    row = await attach(session, client_id, who)
    if row is None:
        row = ContactRow(
            client_id=client_id, phone=who.phone, wa_id=who.wa_id, lid=who.lid, name=name, fields={}
        )
        session.add(row)
        await session.flush()
        return _to_contact(row, ())
    if name and not row.name:
        row.name = name
    tags = await _tags_of(session, [row.id])
    return _to_contact(row, tags[row.id])


@dataclass(frozen=True)
class Wanted:
    """A contact a batch of inbound messages needs: `resolve_in`'s arguments."""

    client_id: int
    who: WaIdentity
    name: str | None = None

    def unique_keys(self) -> list[IdKey]:
        return identity_keys(self.client_id, self.who)


async def resolve_many_in(session: AsyncSession, wanted: Sequence[Wanted]) -> list[Contact]:
    """`resolve_in` for many at once, in the caller's transaction, in a fixed number of
    statements: one read (`FOR UPDATE`, as `find_rows`) of every row any of them names, one of
    their tags, one multi-row insert of those nobody has yet. A contact whose ids change (a
    phone or WhatsApp id learnt, a LID to merge or moved), whose first name arrives, or that
    two of `wanted` name, goes through `resolve_in` one by one after the others. An
    `IntegrityError` means another writer created a contact meanwhile, as for `resolve_in`."""
    if any(not (w.who.phone or w.who.lid) for w in wanted):
        raise ValueError("a contact needs a phone or a lid")
    naming = Counter(key for w in wanted for key in w.unique_keys())
    rows = await rows_named(session, naming.keys())
    by_key = {key: row for row in rows for key in row_keys(row)}
    found: list[ContactRow | None] = []
    slow: list[int] = []
    fresh: list[int] = []
    for index, w in enumerate(wanted):
        matches = {id(by_key[key]): by_key[key] for key in w.unique_keys() if key in by_key}
        shared = any(naming[key] > 1 for key in w.unique_keys())
        row = next(iter(matches.values()), None)
        if shared or len(matches) > 1 or (row is not None and _changes(row, w)):
            slow.append(index)
            found.append(None)
        elif row is None:
            fresh.append(index)
            found.append(None)
        else:
            found.append(row)
    tags = await _tags_of(session, [row.id for row in found if row is not None])
    contacts: list[Contact | None] = [
        None if row is None else _to_contact(row, tags[row.id]) for row in found
    ]
    if fresh:
        created = await _insert_new(session, [wanted[index] for index in fresh])
        for index, row in zip(fresh, created, strict=True):
            contacts[index] = _to_contact(row, ())
    for index in slow:
        w = wanted[index]
        contacts[index] = await resolve_in(session, w.client_id, w.who, name=w.name)
    return [contact for contact in contacts if contact is not None]


async def _insert_new(session: AsyncSession, wanted: Sequence[Wanted]) -> list[ContactRow]:
    """Create a contact for each of `wanted` (no two name the same person) in two statements:
    one executemany INSERT (a single cursor call on SQLite, one multi-row INSERT on MySQL),
    then one read of the rows back by their unique keys. Not the ORM's flush: without a
    sentinel SQLite's RETURNING gives no order, so SQLAlchemy would insert them one by one."""
    now = utcnow()
    await session.execute(
        insert(cast(Table, ContactRow.__table__)),
        [
            {
                "client_id": w.client_id,
                "phone": w.who.phone,
                "wa_id": w.who.wa_id,
                "lid": w.who.lid,
                "name": w.name,
                "fields": {},
                "created_at": now,
                "updated_at": now,
            }
            for w in wanted
        ],
    )
    rows = await rows_named(session, [key for w in wanted for key in w.unique_keys()], lock=False)
    by_key = {key: row for row in rows for key in row_keys(row)}
    return [by_key[w.unique_keys()[0]] for w in wanted]


def _changes(row: ContactRow, w: Wanted) -> bool:
    """Whether `attach` or `resolve_in` would change the row (then it takes their path)."""
    who = w.who
    return (
        bool(who.phone and row.phone != who.phone)
        or bool(who.wa_id and row.wa_id != who.wa_id)
        or bool(who.lid and row.lid != who.lid)
        or bool(w.name and not row.name)
    )


def _merge(row: ContactRow, item: ContactInput) -> bool:
    """Apply `item` to an existing row; True when something changed."""
    changed = False
    if item.name and item.name != row.name:
        row.name = item.name
        changed = True
    merged = {**(row.fields or {}), **item.fields}
    if merged != (row.fields or {}):
        row.fields = merged
        changed = True
    return changed


class ContactRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert_many(self, client_id: int, items: Sequence[ContactInput]) -> UpsertCounts:
        """Create or merge contacts: names replace, fields merge, tags add. One transaction.

        `items` must not repeat a phone (the caller reports duplicates).
        """
        now = utcnow()
        phones = [item.phone for item in items]
        async with self._db.session() as session:
            existing = {
                row.phone: row
                for row in await session.scalars(
                    select(ContactRow).where(
                        ContactRow.client_id == client_id, ContactRow.phone.in_(phones)
                    )
                )
            }
            tags = await _tags_of(session, [row.id for row in existing.values()])
            added = updated = unchanged = 0
            new_rows = []
            new_tags: list[tuple[str, str]] = []
            for item in items:
                row = existing.get(item.phone)
                if row is None:
                    added += 1
                    new_rows.append(
                        {
                            "client_id": client_id,
                            "phone": item.phone,
                            "name": item.name,
                            "fields": dict(item.fields),
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    new_tags.extend((item.phone, tag) for tag in item.tags)
                    continue
                missing_tags = set(item.tags) - tags[row.id]
                changed = _merge(row, item)
                for tag in missing_tags:
                    session.add(ContactTagRow(contact_id=row.id, tag=tag))
                if changed or missing_tags:
                    row.updated_at = now
                    updated += 1
                else:
                    unchanged += 1
            if new_rows:
                await session.execute(insert(ContactRow), new_rows)
            if new_tags:
                ids = dict(
                    (
                        await session.execute(
                            select(ContactRow.phone, ContactRow.id).where(
                                ContactRow.client_id == client_id,
                                ContactRow.phone.in_({phone for phone, _ in new_tags}),
                            )
                        )
                    ).all()
                )
                await session.execute(
                    insert(ContactTagRow),
                    [{"contact_id": ids[phone], "tag": tag} for phone, tag in new_tags],
                )
        return UpsertCounts(added, updated, unchanged)

    async def ensure(
        self, client_id: int, phone: str, *, name: str | None = None, wa_id: str | None = None
    ) -> Contact:
        """The contact with this phone, created on first sight (inbound messages)."""
        return await self.resolve(client_id, WaIdentity(phone=phone, wa_id=wa_id), name=name)

    async def resolve(self, client_id: int, who: WaIdentity, *, name: str | None = None) -> Contact:
        """The contact WhatsApp names by phone, LID or both, created on first sight.

        A LID-only contact is merged into the phone's contact once both ids are known.
        """
        for _attempt in range(2):
            try:
                async with self._db.session() as session:
                    return await resolve_in(session, client_id, who, name=name)
            except IntegrityError:
                continue  # created concurrently by another writer: read it on the next pass
        raise NotFound(phrase("record.contact_unreadable", who=contact_label(who.phone, who.lid)))

    async def learn_ids(self, contact_id: int, *, wa_id: str, lid: str | None) -> Contact:
        """Remember what ``queryWidExists`` said of a contact (its phone id and LID), merging a
        LID-only contact that wrote before; returns the contact as it is now."""
        async with self._db.session() as session:
            row = await session.get(ContactRow, contact_id)
            if row is None:
                raise NotFound(phrase("record.no_contact_id", id=contact_id))
            merged = await attach(
                session, row.client_id, WaIdentity(phone=row.phone, wa_id=wa_id, lid=lid)
            )
            assert merged is not None
            return _to_contact(merged, (await _tags_of(session, [merged.id]))[merged.id])

    async def get(self, client_id: int, phone: str) -> Contact:
        """The contact with this phone (E.164 digits)."""
        missing = phrase("record.no_contact_phone", phone=phone)
        return await self._one(client_id, ContactRow.phone == phone, missing)

    async def get_by_lid(self, client_id: int, lid: str) -> Contact:
        """The contact with this LID (``<digits>@lid``)."""
        missing = phrase("record.no_contact", who=contact_label(None, lid))
        return await self._one(client_id, ContactRow.lid == lid, missing)

    async def _one(self, client_id: int, clause: Any, missing: Text) -> Contact:
        async with self._db.session() as session:
            row = await session.scalar(
                select(ContactRow).where(ContactRow.client_id == client_id, clause)
            )
            if row is None:
                raise NotFound(missing)
            return _to_contact(row, (await _tags_of(session, [row.id]))[row.id])

    async def get_by_id(self, contact_id: int) -> Contact:
        async with self._db.session() as session:
            return await contact_by_id_in(session, contact_id)

    async def field_keys(self, client_id: int, *, batch: int = 5000) -> set[str]:
        """Every custom field name the client's contacts have (template placeholders)."""
        keys: set[str] = set()
        last_id = 0
        while True:
            query = (
                select(ContactRow.id, ContactRow.fields)
                .where(ContactRow.client_id == client_id, ContactRow.id > last_id)
                .order_by(ContactRow.id)
                .limit(batch)
            )
            async with self._db.session() as session:
                rows = (await session.execute(query)).all()
            if not rows:
                return keys
            for _id, fields in rows:
                keys.update(fields or {})
            last_id = rows[-1][0]

    async def count(self, client_id: int) -> int:
        async with self._db.session() as session:
            query = (
                select(func.count())
                .select_from(ContactRow)
                .where(ContactRow.client_id == client_id)
            )
            return int(await session.scalar(query) or 0)

    async def count_by_tag(self, client_id: int) -> dict[str, int]:
        query = (
            select(ContactTagRow.tag, func.count())
            .join(ContactRow, ContactRow.id == ContactTagRow.contact_id)
            .where(ContactRow.client_id == client_id)
            .group_by(ContactTagRow.tag)
            .order_by(ContactTagRow.tag)
        )
        async with self._db.session() as session:
            return {tag: int(n) for tag, n in (await session.execute(query)).all()}

    async def audience(
        self, client_id: int, selection: dict[str, Any], *, limit: int | None = None
    ) -> list[Contact]:
        """The contacts a campaign selection means, in id order (the first `limit` of them)."""
        query = (
            select(ContactRow)
            .where(*in_selection(client_id, selection))
            .order_by(ContactRow.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            rows = list(await session.scalars(query))
            tags = await _tags_of(session, [row.id for row in rows])
        return [_to_contact(row, tags[row.id]) for row in rows]

    async def audience_size(self, client_id: int, selection: dict[str, Any]) -> AudienceSize:
        """How many contacts a campaign selection means, and how many of them opted out."""
        query = select(func.count(), func.count(ContactRow.opted_out_at)).where(
            *in_selection(client_id, selection)
        )
        async with self._db.session() as session:
            contacts, opted_out = (await session.execute(query)).one()
        return AudienceSize(int(contacts), int(opted_out))

    async def set_opted_out(self, contact_id: int, at: datetime | None) -> None:
        async with self._db.session() as session:
            row = await session.get(ContactRow, contact_id)
            if row is None:
                raise NotFound(phrase("record.no_contact_id", id=contact_id))
            row.opted_out_at = at
            row.updated_at = utcnow()

    async def pause_ai(self, contact_id: int, until: datetime | None) -> None:
        """Silence (or with None, release) AI replies in this contact's chat until `until`."""
        async with self._db.session() as session:
            row = await session.get(ContactRow, contact_id)
            if row is None:
                raise NotFound(phrase("record.no_contact_id", id=contact_id))
            row.ai_paused_until = until

    async def forget(self, client_id: int, phone: str) -> None:
        """Delete the contact with this phone, its messages and tags (cascade)."""
        contact = await self.get(client_id, phone)
        await self.forget_by_id(contact.id)

    async def forget_by_id(self, contact_id: int) -> None:
        """Delete the contact with its messages and tags (cascade)."""
        async with self._db.session() as session:
            result = await session.execute(delete(ContactRow).where(ContactRow.id == contact_id))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound(phrase("record.no_contact_id", id=contact_id))
