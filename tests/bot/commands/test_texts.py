"""Every operator text exists in Spanish and English with the same placeholders."""

from __future__ import annotations

import logging
from string import Formatter

import pytest

from bot.commands.registry import CommandRegistry
from bot.texts import CATALOGS, pick_language, t
from tests.bot.commands.world import World


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name is not None}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    es, en = CATALOGS["es"], CATALOGS["en"]
    assert sorted(set(es) ^ set(en)) == []
    different = [k for k in es if _placeholders(es[k]) != _placeholders(en[k])]
    assert different == []


def test_every_command_has_help_and_usage_in_both_languages(world: World) -> None:
    registry: CommandRegistry = world.dispatcher.registry
    assert len(registry) >= 10
    for lang, catalog in CATALOGS.items():
        missing = [
            (lang, key)
            for command in registry
            for key in (command.help_key, command.usage_key)
            if key not in catalog
        ]
        assert missing == []


def test_language_choice() -> None:
    assert pick_language(None, "es-AR", default="en") == "es"
    assert pick_language("fr", "", None, default="es") == "es"
    assert pick_language("EN_us", default="es") == "en"


def test_a_missing_key_is_readable_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert t("es", "no.such.key") == "no.such.key"
        assert t("es", "error.usage") == "Uso: {usage}", "missing parameter: template as is"
    assert "no.such.key" in caplog.text
