"""Phone numbers: parsed with `phonenumbers` in the client's region, stored as E.164 digits."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult
from phonenumbers import timezone as number_timezone

from engine.texts import Text, phrase

# Why a number is refused, as catalog keys (engine/texts.py), so operators read it in their
# language; the `_in` ones name the region the number was read in.
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "phone.unknown_country",
    NumberParseException.NOT_A_NUMBER: "phone.not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "phone.too_short_after_idd",
    NumberParseException.TOO_SHORT_NSN: "phone.too_short",
    NumberParseException.TOO_LONG: "phone.too_long",
}
_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "phone.unknown_country_in",
    ValidationResult.TOO_SHORT: "phone.too_short_in",
    ValidationResult.TOO_LONG: "phone.too_long_in",
    ValidationResult.INVALID_LENGTH: "phone.wrong_length_in",
}


class InvalidPhone(ValueError):
    """The text is not a usable phone number; `reason` says why in a few words (a `Text`:
    English as a string, translated where the bot shows it)."""

    def __init__(self, raw: str, reason: Text) -> None:
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
        raise InvalidPhone(raw, phrase("phone.empty"))
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper())
    except NumberParseException as exc:
        # Those five are every error type phonenumbers has; an unknown one reads as garbage.
        key = _PARSE_REASONS.get(exc.error_type, "phone.not_a_number")
        raise InvalidPhone(raw, phrase(key)) from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE and possible in _POSSIBLE_REASONS:
        raise InvalidPhone(raw, phrase(_POSSIBLE_REASONS[possible], **_region(number, region)))
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw, phrase("phone.invalid_in", **_region(number, region)))
    digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    return Phone(digits, phonenumbers.region_code_for_number(number))


def phone_from_wid(wid: str, region: str) -> Phone:
    """The phone behind a WhatsApp person id like `5491112345678@c.us`."""
    user = wid.split("@", 1)[0].split(":", 1)[0]
    return parse_phone("+" + user, region)


def is_valid_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def _region(number: phonenumbers.PhoneNumber, default_region: str) -> dict[str, object]:
    """The region a reason names: the number's own, else the one it was read in."""
    region = phonenumbers.region_code_for_number(number)
    return {"region": region or default_region.upper(), "code": number.country_code}
