"""Phone numbers: parsed with `phonenumbers` in the client's region, stored as E.164 digits."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult
from phonenumbers import timezone as number_timezone

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong length",
}


class InvalidPhone(ValueError):
    """The text is not a usable phone number; `reason` says why in a few words."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


@dataclass(frozen=True)
class Phone:
    """A valid number: `digits` is E.164 without the plus (5491112345678)."""

    digits: str
    region: str | None

    @property
    def e164(self) -> str:
        return f"+{self.digits}"

    @property
    def chat_id(self) -> str:
        """The WhatsApp address to try before `queryWidExists` gives the canonical one."""
        return f"{self.digits}@c.us"

    def timezones(self) -> tuple[str, ...]:
        """Time zones the number may be in (one for most countries, several for big ones)."""
        zones = number_timezone.time_zones_for_number(phonenumbers.parse(self.e164))
        return tuple(zone for zone in zones if zone != "Etc/Unknown")


def parse_phone(raw: str, region: str) -> Phone:
    """Parse `raw` as written in `region` (ISO 3166 code like AR); raise InvalidPhone."""
    text = raw.strip()
    if not text:
        raise InvalidPhone(raw, "empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper())
    except NumberParseException as exc:
        raise InvalidPhone(raw, _PARSE_REASONS.get(exc.error_type, str(exc))) from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE and possible in _POSSIBLE_REASONS:
        raise InvalidPhone(raw, f"{_POSSIBLE_REASONS[possible]} for {_region_name(number, region)}")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw, f"not a valid number for {_region_name(number, region)}")
    digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    return Phone(digits, phonenumbers.region_code_for_number(number))


def phone_from_wid(wid: str, region: str) -> Phone:
    """The phone behind a WhatsApp person id like `5491112345678@c.us`."""
    user = wid.split("@", 1)[0].split(":", 1)[0]
    return parse_phone("+" + user, region)


def is_valid_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def _region_name(number: phonenumbers.PhoneNumber, default_region: str) -> str:
    region = phonenumbers.region_code_for_number(number)
    return f"region {region or default_region.upper()} (+{number.country_code})"
