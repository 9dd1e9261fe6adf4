"""Operator-facing texts in Spanish and English, one module per area, looked up by key.

Each area module holds an `EN` and an `ES` dict: `dispatch` (what any command may get back:
refusals, errors, confirmations, limits), `identity` and `admin`, one per command family as in
bot/commands/ (`alerts`, `campaigns`, `conversations`, `prospects`, `sessions`), `channels` (what
Telegram, Slack and the console say of themselves), and the `engine` and `storage` areas. They
are merged here into one catalog per language. Tests check both hold the same keys and
placeholders, so a text is never missing in one language, and that no key is in two areas.

The engine's texts (`engine` area) arrive as `Text` values, keys with parameters whose string is
the English; `t` says a `Text` parameter in the same language as the text around it.
"""

from __future__ import annotations

import logging
from typing import Final, Literal, TypeGuard

from bot.texts import (
    admin,
    alerts,
    campaigns,
    channels,
    conversations,
    dispatch,
    engine,
    identity,
    prospects,
    sessions,
    storage,
)
from engine.texts import Text

logger = logging.getLogger(__name__)

Language = Literal["es", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("es", "en")
# The areas, merged into one catalog per language (a key in two areas is a test failure).
_AREAS = (
    dispatch,
    identity,
    admin,
    alerts,
    campaigns,
    conversations,
    prospects,
    sessions,
    channels,
    engine,
    storage,
)
CATALOGS: Final[dict[Language, dict[str, str]]] = {
    "es": {key: text for area in _AREAS for key, text in area.ES.items()},
    "en": {key: text for area in _AREAS for key, text in area.EN.items()},
}


def is_language(value: object) -> TypeGuard[Language]:
    return value in LANGUAGES


def pick_language(*candidates: str | None, default: Language) -> Language:
    """The first candidate that is a supported language (`es-AR` counts as `es`), else default."""
    for candidate in candidates:
        if candidate:
            short = candidate.strip().lower().replace("_", "-").split("-")[0]
            if is_language(short):
                return short
    return default


def t(lang: Language, key: str, /, **params: object) -> str:
    """The text for `key` in `lang`, formatted with `params` (a `Text` among them in `lang` too).

    A missing key falls back to English and then to the key itself, so an operator always gets
    something readable; both are logged because the catalog test should have caught them.
    """
    template = CATALOGS[lang].get(key)
    if template is None:
        logger.error("text %r missing in %r", key, lang)
        template = CATALOGS["en"].get(key, key)
    params = {name: _in(lang, value) for name, value in params.items()}
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        logger.exception("text %r in %r could not be formatted with %r", key, lang, params)
        return template


def render(lang: Language, text: Text) -> str:
    """A `Text` (an engine error's, an import rejection's reason) said in `lang`."""
    return t(lang, text.key, **text.params)


def phrase(key: str, /, **params: object) -> Text:
    """The catalog text `key` as a value: English where it is read as a string, and said in the
    operator's language where `t` or `render` gets it (a hint passed as a parameter)."""
    return Text(key, t("en", key, **params), params)


def _in(lang: Language, value: object) -> object:
    return render(lang, value) if isinstance(value, Text) else value
