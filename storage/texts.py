"""Texts for operators as catalog keys with parameters (`Text`), and storage's own English.

`Text` lives here, in the lowest layer, because storage, engine and bot all hand texts upward:
its string is the English (for logs, the CLI and `str(exc)`) and the bot says it in the
operator's language from its catalogs (`bot/texts/storage.py`, `bot/texts/engine.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)


class Text(str):
    """A text for operators: its English rendering, plus the catalog key and parameters that
    say it in another language. Parameters may be Texts too (a phone's reason inside an import
    rejection); a bot catalog translates them with the rest.

    A `str` so that whatever only needs English (logs, the CLI, comparisons in tests) reads it
    as it always did.
    """

    key: str
    params: Mapping[str, object]

    def __new__(cls, key: str, english: str, params: Mapping[str, object]) -> Text:
        value = super().__new__(cls, english)
        value.key = key
        value.params = dict(params)
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        # copy and deepcopy rebuild a str subclass from its string alone: keep key and params.
        return (Text, (self.key, str(self), dict(self.params)))


def english(templates: Mapping[str, str], key: str, params: Mapping[str, object]) -> str:
    """`templates[key]` formatted with `params`; a missing key or parameter logs and still gives
    something readable (the key, or the template as it is)."""
    template = templates.get(key)
    if template is None:
        logger.error("text %r missing from the English catalog", key)
        return key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        logger.exception("text %r could not be formatted with %r", key, params)
        return template


def phrase(key: str, /, **params: object) -> Text:
    """The storage text `key` with `params`, rendered in English."""
    return Text(key, english(EN, key, params), params)


EN: dict[str, str] = {
    "record.no_client": "no client {slug!r}",
    "record.no_clients": "no client {slugs}",
    "record.no_client_id": "no client with id {id}",
    "record.client_exists": "a client with slug {slug!r} exists already",
    "record.no_session": "no session {name!r} for client {client!r}",
    "record.no_session_id": "no session with id {id}",
    "record.session_exists": "the client has a session named {name!r} already",
    "record.no_contact": "no contact {who}",
    "record.no_contact_phone": "no contact with phone +{phone}",
    "record.no_contact_id": "no contact with id {id}",
    "record.contact_unreadable": "could not create or read contact {who}",
    "record.no_campaign": "no campaign {id}",
    "record.no_worker_command": "no worker command {id} (answered ones are kept a day)",
    "record.campaign_not_in": "campaign {id} is {status}, not {expected}",
    "record.no_operator": "no operator {id!r}",
    "record.operator_exists": "operator {id!r} exists already",
    "record.last_owner": "{id} is the last owner",
}
