"""What the engine says to operators, as catalog keys with parameters, and its English.

The engine never picks an operator's language: it hands out `Text` values (`phrase(key,
**params)`), whose string is the English (for logs, the CLI and `str(exc)`), and the bot says
them in the operator's language from its catalogs (`bot/texts/engine.py` has the Spanish).
The English lives here because the engine may not import bot/ and still has to write its logs.
"""

from __future__ import annotations

from storage.texts import Text, english

__all__ = ["EN", "Text", "phrase"]


def phrase(key: str, /, **params: object) -> Text:
    """The engine text `key` with `params`, rendered in English."""
    return Text(key, english(EN, key, params), params)


EN: dict[str, str] = {
    # sessions (engine/sessions.py, engine/session/backups.py)
    "runner.not_running": "session {id} is not running",
    "runner.no_profile": ("no browser profile for {client}/{name} at {path}: was it ever started?"),
    # phone numbers (engine/phones.py) and where operators write one
    "phone.empty": "empty",
    "phone.not_a_number": "not a phone number",
    "phone.unknown_country": "unknown country code",
    "phone.too_short_after_idd": "too short after the international prefix",
    "phone.too_short": "too short",
    "phone.too_long": "too long",
    "phone.unknown_country_in": "unknown country code for region {region} (+{code})",
    "phone.too_short_in": "too short for region {region} (+{code})",
    "phone.too_long_in": "too long for region {region} (+{code})",
    "phone.wrong_length_in": "wrong length for region {region} (+{code})",
    "phone.invalid_in": "not a valid number for region {region} (+{code})",
    "phone.not_a_phone": "{raw!r} is not a phone number ({reason})",
    "phone.write_like": ("{raw!r} is not a phone number ({reason}): write it like +5491112345678"),
    # conversations (engine/inbound/conversations.py)
    "outgoing.empty": "the message is empty: write the text after the phone number",
    "outgoing.not_taken": (
        "WhatsApp did not take the message: check the session with /sessions and retry"
    ),
    "outgoing.unconfirmed": (
        "WhatsApp took the message but did not confirm it: look with /conv before "
        "sending it again, it may arrive twice"
    ),
    "outgoing.no_session": (
        "{client} has no connected WhatsApp session: pair one with /pair {client}"
    ),
    "lid.invalid": "{raw!r} is not a LID: write it as /chats shows it, lid:<digits>",
    # campaigns (engine/campaign/service.py, engine/campaigns.py)
    "audience.bad_field": "{raw!r}: write a field selection as field:ciudad=Rosario",
    "audience.missing": "say who receives it: all, a tag like feria, or field:ciudad=Rosario",
    "audience.nobody": "nobody matches {selection}: import prospects or choose another tag",
    "launch.not_draft": "campaign {id} is {status}; only a draft can be launched",
    "resume.banned": "this number is banned by WhatsApp: its campaigns cannot resume",
    "transition.refused": "campaign {id} is {status}, not {expected}",
    # message templates (engine/campaign/templates.py); braces the operator types are doubled here
    "template.empty": "the message template is empty; write the text to send",
    "template.too_long": (
        "the message template has {chars:,} characters, at most {max:,} are allowed: "
        "shorten it (a campaign message reads best in a few lines)"
    ),
    "template.at": "template, line {line}, column {column}: {problem}",
    "template.stray_close": "'}}' has no matching '{{'; write '}}}}' for a literal brace",
    "template.too_deep": (
        "groups nest more than {max} deep; "
        "write the choices side by side instead of one inside another"
    ),
    "template.unclosed": "'{{' is never closed; write '{{{{' for a literal brace",
    "template.not_field_or_choice": (
        "{group} is neither a field like {{name}} nor a choice like "
        "{{Hola|Buenas}}; write {{{{ and }}}} for literal braces"
    ),
    # pacing (engine/campaign/pacing.py) and the ranges and windows it shares with settings
    "pace.unknown_key": "unknown pacing key {key!r}; known keys: {known}",
    "pace.bad_value": "pacing {key}: {reason}",
    "pace.expected_range": "expected seconds as MIN-MAX like 20-60, got {raw!r}",
    "pace.expected_count": "expected a whole number of sends, got {raw!r}",
    "pace.cap_too_small": "a cap must be 1 or more sends; use none for no cap",
    "pace.expected_caps": "expected daily caps like [20, 40, 80, 150], got {raw!r}",
    "pace.day_cap_too_small": "every day's cap must be 1 or more",
    "range.expected": "expected seconds as MIN-MAX like 20-60 (or one number), got {raw!r}",
    "range.reversed": "the maximum must not be below the minimum in {raw!r}",
    "window.expected": "expected HH:MM-HH:MM like 09:00-20:00, or 'always', got {raw!r}",
    "window.bad_time": (
        "{raw!r} is not a valid time range: hours go from 0 to 23 and minutes from 0 to 59"
    ),
    "window.empty": "the window {raw!r} is empty; use 'always' for no window",
    "zone.unknown": "unknown time zone {name!r}; use an IANA name like Europe/Madrid",
    # keyword rules for AI replies (engine/ia/rules.py)
    "rules.no_arrow": "line {line}: write rules as 'keyword => answer'",
    "rules.no_keyword": "line {line}: the keyword before '=>' is missing",
    "rules.no_answer": "line {line}: the answer after '=>' is missing",
    # clients, sessions and operators (engine/directory.py)
    "slug.invalid": (
        "{what} {value!r} is not valid: use 1 to 40 lowercase letters, digits, '-' or '_', "
        "starting with a letter or digit (for example 'haby')"
    ),
    "slug.client": "client",
    "slug.session": "session name",
    "zone.unknown_for_client": (
        "unknown time zone {name!r}: use an IANA name like America/Argentina/Buenos_Aires"
    ),
    "region.unknown": "unknown region {value!r}: use a two-letter country code like AR or ES",
    "role.unknown": "unknown role {value!r}: choose one of {choices}",
    "platform_id.invalid": (
        "operator id {value!r} is not valid: use tg:<numeric user id>, slack:<user id> or console"
    ),
    "lang.unknown": "unknown language {value!r}: use es or en",
    # prospect files that cannot be imported (engine/campaign/prospect_file.py, prospects.py)
    "csv.mixed": (
        "line {line}: byte 0x{byte:02X} is not valid UTF-8, though the lines before it are: "
        'the file mixes encodings; save it again as UTF-8 ("CSV UTF-8" in Excel) and import '
        "it again (nothing was imported)"
    ),
    "csv.unknown_byte": (
        "line {line}: byte 0x{byte:02X} is a character neither in UTF-8 nor in Windows-1252; "
        'save it again as UTF-8 ("CSV UTF-8" in Excel) and import it again '
        "(nothing was imported)"
    ),
    "csv.broken": (
        "line {line}: byte 0x{byte:02X} breaks the file's {codec} text; "
        'save it again as UTF-8 ("CSV UTF-8" in Excel) and import it again '
        "(nothing was imported)"
    ),
    "csv.empty": "{file} is empty: the first line must name the columns",
    "csv.no_phone_column": (
        "{file} has no phone column (looked for {wanted}; found {found}): "
        "rename it or pass --phone-column"
    ),
    "csv.usual_phone_columns": "phone, telefono, celular or whatsapp",
    "csv.unreadable": "line {line}: {detail}; nothing was imported",
    "csv.open_quote": (
        'line {line}: {what}, usually a quote (") that never closes and swallows the rows '
        "after it; close it or remove it (nothing was imported)"
    ),
    "csv.cell_lines": "a cell spans {lines:,} lines",
    "csv.cell_chars": "a cell runs past {limit:,} characters",
    "csv.too_many_columns": (
        "the file has {count:,} columns, at most {max} are allowed: "
        "remove the ones campaigns do not need (nothing was imported)"
    ),
    "csv.long_column_name": (
        "column {number}'s name has {chars:,} characters, at most {max}: rename it "
        "(nothing was imported)"
    ),
    "csv.no_file": "no file at {path}: give the path of a .csv file",
    "csv.bad_tag": "tag {tag!r} must have 1 to {max} characters",
    "csv.changed": (
        "{file} changed while it was imported ({detail}): {saved:,} rows were saved; "
        "import it again"
    ),
    # rows an import rejects (engine/campaign/prospects.py); each is said with its line and value
    "row.field_too_long": "the field {field} has {chars:,} characters, at most {max:,}",
    "row.name_too_long": "the name has {chars:,} characters, at most {max}",
    "row.tag_too_long": "a tag has {chars:,} characters, at most {max}",
    "row.duplicate": "duplicate of line {line} ({phone})",
    # files (engine/campaign/service.py, engine/inbound/conversations.py)
    "attach.not_editable": (
        "campaign {id} is {status}; a file can be attached only to a draft, scheduled or "
        "paused campaign"
    ),
    "attach.missing": (
        "campaign {id}'s file is no longer in the media store: attach it again with "
        "/campaign attach {id}"
    ),
    "attach.no_store": "this waops keeps no files (no media store): files cannot be sent from here",
    # files sent to WhatsApp (engine/media.py): what is wrong and what to do
    "upload.kind_not_sendable": (
        "a {kind} cannot be sent with a text: attach an image (JPEG or PNG), a video (MP4) "
        "or a document"
    ),
    "upload.empty": "the file is empty (0 bytes): attach it again",
    "upload.image_type": (
        "the image is {mimetype}; WhatsApp sends JPEG or PNG images: convert it, or send it "
        "as a document"
    ),
    "upload.video_type": (
        "the video is {mimetype}; WhatsApp sends MP4 or 3GP videos: convert it, or send it "
        "as a document"
    ),
    "upload.image_too_large": (
        "the image weighs {size}; WhatsApp takes images up to {limit}: make it smaller, or "
        "send it as a document (up to 100 MB)"
    ),
    "upload.video_too_large": (
        "the video weighs {size}; WhatsApp takes videos up to {limit}: shorten it or lower "
        "its quality, or send it as a document (up to 100 MB)"
    ),
    "upload.document_too_large": (
        "the document weighs {size}; WhatsApp takes documents up to {limit}: compress it or "
        "split it in parts"
    ),
    # sizes (engine/media.py describe_size), decimal like WhatsApp's limits
    "size.bytes": "{n} B",
    "size.kb": "{n} KB",
    "size.mb": "{whole}.{tenth} MB",
    "size.mb_whole": "{n} MB",
    "size.gb": "{whole}.{tenth} GB",
    "size.gb_whole": "{n} GB",
}
