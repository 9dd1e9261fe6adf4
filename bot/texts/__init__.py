"""Operator-facing texts, one catalog per language (`en.py`, `es.py`), looked up by key.

Core texts live in en.py/es.py; each area has its own module with `EN` and `ES` dicts. A test
checks they hold the same keys and the same
placeholders, so a text is never missing in one language.
"""

from __future__ import annotations

import logging
from typing import Final, Literal, TypeGuard

from bot.texts import (
    ai,
    alerts,
    campaigns,
    console,
    conversations,
    en,
    es,
    privacy,
    prospects,
    sessions,
    slack,
    telegram,
)

logger = logging.getLogger(__name__)

Language = Literal["es", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("es", "en")
# Each area keeps its texts in its own module (EN and ES dicts), merged here.
_AREAS = (
    ai,
    alerts,
    campaigns,
    console,
    conversations,
    privacy,
    prospects,
    sessions,
    slack,
    telegram,
)
CATALOGS: Final[dict[Language, dict[str, str]]] = {
    "es": {**es.TEXTS, **{k: v for area in _AREAS for k, v in area.ES.items()}},
    "en": {**en.TEXTS, **{k: v for area in _AREAS for k, v in area.EN.items()}},
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


def t(lang: Language, key: str, **params: object) -> str:
    """The text for `key` in `lang`, formatted with `params`.

    A missing key falls back to English and then to the key itself, so an operator always gets
    something readable; both are logged because the catalog test should have caught them.
    """
    template = CATALOGS[lang].get(key)
    if template is None:
        logger.error("text %r missing in %r", key, lang)
        template = CATALOGS["en"].get(key, key)
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        logger.exception("text %r in %r could not be formatted with %r", key, lang, params)
        return template
