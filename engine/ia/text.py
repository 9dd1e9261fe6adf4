"""Text normalisation shared by the analyzer, rule replies and the output guard.

Matching is accent- and case-insensitive and on word boundaries, so "Precio" matches
"precio" and "PRECÍO" but not "aprecio".
"""

from __future__ import annotations

import re
import unicodedata

_WORD_RE = re.compile(r"\w+")


def normalize(text: str) -> str:
    """Lower-case, strip accents, collapse whitespace: "¿Cuánto  CUESTA?" -> "¿cuanto cuesta?"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def words(text: str) -> list[str]:
    """The normalised words of `text`, punctuation and emoji dropped."""
    return _WORD_RE.findall(normalize(text))


def phrase_starts(text_words: list[str], phrase: str) -> list[int]:
    """Indexes in `text_words` where the words of `phrase` appear consecutively."""
    needle = words(phrase)
    if not needle:
        return []
    size = len(needle)
    return [i for i in range(len(text_words) - size + 1) if text_words[i : i + size] == needle]


def contains_phrase(text_words: list[str], phrase: str) -> bool:
    """Whether the words of `phrase` appear consecutively in `text_words`."""
    return bool(phrase_starts(text_words, phrase))
