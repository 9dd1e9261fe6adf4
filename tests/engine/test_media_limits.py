"""Which kind a file goes to WhatsApp as, and the limits checked when it is attached: each
refusal says what is wrong and what to do, in the operator's language."""

from __future__ import annotations

import pytest

from bot.texts import render
from engine.media import (
    OUTGOING_KINDS,
    MediaRejected,
    check_outgoing,
    describe_duration,
    describe_size,
    kind_for,
    normalise_mimetype,
    outgoing_limit,
)


@pytest.mark.parametrize(
    ("mimetype", "filename", "kind"),
    [
        ("image/jpeg", "flyer.jpg", "image"),
        ("IMAGE/PNG", None, "image"),
        ("image/webp", "s.webp", "document"),  # not a Cloud API image: it still arrives
        ("image/heic", "IMG_1.HEIC", "document"),
        ("video/mp4", "promo.mp4", "video"),
        ("video/3gpp", None, "video"),
        ("video/quicktime", "promo.mov", "document"),
        ("application/pdf", "catalogo.pdf", "document"),
        ("audio/ogg; codecs=opus", "nota.ogg", "document"),  # no caption on audio
        ("application/octet-stream", "flyer.JPG", "image"),  # told by the extension
        ("", "promo.mp4", "video"),
        ("", None, "document"),
    ],
)
def test_kind_for(mimetype: str, filename: str | None, kind: str) -> None:
    assert kind_for(mimetype, filename) == kind
    assert kind in OUTGOING_KINDS


def test_a_photo_can_be_sent_as_a_document() -> None:
    assert kind_for("image/jpeg", "flyer.jpg", as_document=True) == "document"


def test_mimetypes_are_normalised() -> None:
    assert normalise_mimetype("Audio/OGG; codecs=opus") == "audio/ogg"
    assert normalise_mimetype(None, "x.pdf") == "application/pdf"
    assert normalise_mimetype("nonsense", "x") == "application/octet-stream"


def test_what_whatsapp_takes_passes() -> None:
    check_outgoing("image", "image/jpeg", 5_000_000)
    check_outgoing("video", "video/mp4", 16_000_000)
    check_outgoing("document", "application/zip", 100_000_000)
    assert outgoing_limit("image") == 5_000_000


def _refusal(kind: str, mimetype: str, size: int) -> MediaRejected:
    with pytest.raises(MediaRejected) as caught:
        check_outgoing(kind, mimetype, size)
    return caught.value


def test_an_image_over_5_mb_says_its_size_and_what_to_do() -> None:
    refused = _refusal("image", "image/jpeg", 7_200_000)
    assert str(refused) == (
        "the image weighs 7.2 MB; WhatsApp takes images up to 5 MB: make it smaller, or send "
        "it as a document (up to 100 MB)"
    )
    assert render("es", refused.text) == (
        "la imagen pesa 7,2 MB; WhatsApp acepta imágenes de hasta 5 MB: achicala, o enviala "
        "como documento (hasta 100 MB)"
    )


@pytest.mark.parametrize(
    ("kind", "mimetype", "size", "english", "spanish"),
    [
        ("image", "image/png", 5_400_000, "weighs 5.4 MB; WhatsApp takes images up to 5 MB",
         "pesa 5,4 MB; WhatsApp acepta imágenes de hasta 5 MB"),
        ("video", "video/mp4", 20_500_000, "the video weighs 20.5 MB", "el video pesa 20,5 MB"),
        ("document", "application/pdf", 150_000_000,
         "the document weighs 150 MB; WhatsApp takes documents up to 100 MB",
         "el documento pesa 150 MB"),
        ("image", "image/webp", 1000, "the image is image/webp; WhatsApp sends JPEG or PNG",
         "la imagen es image/webp"),
        ("video", "video/quicktime", 1000, "WhatsApp sends MP4 or 3GP videos",
         "WhatsApp manda videos MP4 o 3GP"),
        ("sticker", "image/webp", 1000, "a sticker cannot be sent with a text",
         "un sticker no se puede mandar"),
        ("ptt", "audio/ogg", 1000, "attach an image (JPEG or PNG), a video (MP4) or a document",
         "adjuntá una imagen"),
        ("document", "application/pdf", 0, "the file is empty", "el archivo está vacío"),
    ],
)  # fmt: skip
def test_each_refusal_reads_in_both_languages(
    kind: str, mimetype: str, size: int, english: str, spanish: str
) -> None:
    refused = _refusal(kind, mimetype, size)
    assert english in str(refused)
    assert spanish in render("es", refused.text)


@pytest.mark.parametrize(
    ("size", "english", "spanish"),
    [
        (0, "0 B", "0 B"),
        (999, "999 B", "999 B"),
        (48_300, "48 KB", "48 KB"),
        (999_600, "1 MB", "1 MB"),
        (7_249_999, "7.2 MB", "7,2 MB"),
        (16_777_216, "16.8 MB", "16,8 MB"),
        (99_960_000, "100 MB", "100 MB"),
        (183_400_000, "183 MB", "183 MB"),
        (1_500_000_000, "1.5 GB", "1,5 GB"),
    ],
)
def test_sizes_read_like_the_limits(size: int, english: str, spanish: str) -> None:
    described = describe_size(size)
    assert described == english
    assert render("es", described) == spanish


def test_durations_read_like_a_player() -> None:
    assert [describe_duration(s) for s in (0, 4, 31, 245, 3723, 30.6)] == [
        "0:00", "0:04", "0:31", "4:05", "1:02:03", "0:31",
    ]  # fmt: skip
    assert describe_duration(None) == ""
