from __future__ import annotations

import pytest

from engine.phones import InvalidPhone, parse_phone, phone_from_wid


@pytest.mark.parametrize(
    "raw", ["+54 9 11 1234-5678", "011 15 1234-5678", "5491112345678", "0054 9 11 1234 5678"]
)
def test_argentine_spellings_become_one_number(raw: str) -> None:
    phone = parse_phone(raw, "AR")
    assert phone.digits == "5491112345678"
    assert phone.e164 == "+5491112345678"
    assert phone.region == "AR"
    assert "America/Buenos_Aires" in phone.timezones()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("hola", "not a phone number"),
        ("123", "too short for region AR (+54)"),
        ("612345678", "too short for region AR (+54)"),
        ("+54 11 1234 5678 9999", "too long for region AR (+54)"),
        ("+999 1234567", "unknown country code"),
    ],
)
def test_garbage_is_rejected_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        parse_phone(raw, "AR")
    assert caught.value.reason == reason


def test_foreign_number_in_international_form_keeps_its_country() -> None:
    assert parse_phone("+34 612 34 56 78", "AR").digits == "34612345678"
    assert parse_phone("+34 612 34 56 78", "AR").region == "ES"


def test_phone_from_whatsapp_id() -> None:
    assert phone_from_wid("5491112345678@c.us", "AR").digits == "5491112345678"
