"""Who a campaign selection means: a client's contacts with a phone, all of them, by tag or by
custom field. The recipients of a launch and the preview and plan before it read the same."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.sql import Select

from storage.models import ContactRow, ContactTagRow


def in_selection(client_id: int, selection: dict[str, Any]) -> list[ColumnElement[bool]]:
    """The conditions on `ContactRow` for `{"all": true}`, `{"tag": "feria"}` or
    `{"field": "ciudad", "value": "Rosario"}` (custom field, case-insensitive)."""
    conditions = [ContactRow.client_id == client_id, ContactRow.phone.is_not(None)]
    if "tag" in selection:
        conditions.append(
            ContactRow.id.in_(
                select(ContactTagRow.contact_id).where(ContactTagRow.tag == selection["tag"])
            )
        )
    if "field" in selection:
        value = ContactRow.fields[str(selection["field"])].as_string()
        conditions.append(func.lower(value) == str(selection.get("value", "")).lower())
    return conditions


def selection_query(client_id: int, selection: dict[str, Any]) -> Select[Any]:
    """Contact ids a selection means, in id order."""
    return select(ContactRow.id).where(*in_selection(client_id, selection)).order_by(ContactRow.id)
