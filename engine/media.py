"""Media kinds and what WhatsApp takes: which kind a file goes as, and the size limits checked
when an operator attaches one, before anything is stored or sent.

Kinds are WA-JS `MsgModel.type` strings (v4.6.0 src/whatsapp/enums/MSG_TYPE.ts l.43-48).
Only image, video and document go out: a campaign or an operator reply carries the file with
its text as the caption, and audio, voice notes and stickers take no caption.

The limits are Meta's Cloud API table, "Supported media types"
(developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types, mirrored
at docs.aws.amazon.com/social-messaging/latest/userguide/supported-media-types.html). WhatsApp
Web's own limit is `MediaGatingUtils.getUploadLimit(kind)` in the page, which WA-JS checks before
queueing (src/chat/functions/sendFileMessage.ts l.302-317, WPPError `file_too_large`); its value
is not in the source, so the published table is what an operator can be told at attach time.
Not verified: whether WhatsApp Web takes more than the table (it re-encodes images to 1600 px,
sendFileMessage.ts l.353). Sizes are decimal (5 MB = 5,000,000 bytes), as Meta writes them;
reading them as binary megabytes would let through files the table refuses.
"""

from __future__ import annotations

from engine.errors import InvalidInput
from engine.texts import Text, phrase

OUTGOING_KINDS = ("image", "video", "document")
"""What campaigns and operator replies may send (WA-JS sendFileMessage `type`, l.69-75)."""

MB = 1_000_000
IMAGE_MIMETYPES = frozenset({"image/jpeg", "image/png"})
"""Cloud API table: "image/jpeg, image/png", 5 MB."""
VIDEO_MIMETYPES = frozenset({"video/mp4", "video/3gpp"})
"""Cloud API table: "video/mp4, video/3gpp" (H.264 video and AAC audio), 16 MB."""
OUTGOING_LIMITS = {"image": 5 * MB, "video": 16 * MB, "document": 100 * MB}
"""Cloud API table: images 5 MB, videos 16 MB, documents 100 MB. A document may be any file:
WhatsApp Web sends whatever it is not told is media as a document (WA-JS src/util/fileHelpers.ts
l.39-61); the table's document list (pdf, doc(x), xls(x), ppt(x), txt) is the Cloud API's."""
CAPTION_MAX_CHARS = 1024
"""Third-party documentation only (docs.apifycloud.io, send media): not verified, not enforced."""

_TOO_LARGE = {
    "image": "upload.image_too_large",
    "video": "upload.video_too_large",
    "document": "upload.document_too_large",
}


class MediaRejected(InvalidInput):
    """A file WhatsApp would not take as it is; the text says what is wrong and what to do."""


def kind_for(mimetype: str, filename: str | None = None, *, as_document: bool = False) -> str:
    """The kind a file goes out as: a JPEG or PNG as an image, an MP4 or 3GP as a video, and
    anything else as a document, which WhatsApp delivers unchanged.

    Other images (WebP, GIF, HEIC) and videos (QuickTime) go as documents rather than being
    refused: the Cloud API takes only those formats as media, and a document still arrives.
    `as_document` sends even a photo as a document (its bytes are not re-encoded). `filename`
    fills in a missing or generic mimetype from the extension.
    """
    if as_document:
        return "document"
    mime = normalise_mimetype(mimetype, filename)
    if mime in IMAGE_MIMETYPES:
        return "image"
    if mime in VIDEO_MIMETYPES:
        return "video"
    return "document"


_BY_EXTENSION = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "mp4": "video/mp4",
    "3gp": "video/3gpp",
    "pdf": "application/pdf",
}


def normalise_mimetype(mimetype: str | None, filename: str | None = None) -> str:
    """`type/subtype` in lower case without parameters (`audio/ogg; codecs=opus` is
    `audio/ogg`); a missing or generic one (application/octet-stream) is guessed from a few
    well-known extensions, else application/octet-stream."""
    mime = (mimetype or "").split(";", 1)[0].strip().lower()
    if mime and mime != "application/octet-stream" and "/" in mime:
        return mime
    extension = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    return _BY_EXTENSION.get(extension, "application/octet-stream")


def outgoing_limit(kind: str) -> int:
    """The largest file of `kind` WhatsApp takes, in bytes (the Cloud API table above)."""
    if kind not in OUTGOING_LIMITS:
        raise MediaRejected("upload.kind_not_sendable", kind=kind)
    return OUTGOING_LIMITS[kind]


def check_outgoing(kind: str, mimetype: str, size: int) -> None:
    """Raise MediaRejected unless WhatsApp takes a `kind` file of this type and size."""
    limit = outgoing_limit(kind)
    mime = normalise_mimetype(mimetype)
    if size <= 0:
        raise MediaRejected("upload.empty")
    if kind == "image" and mime not in IMAGE_MIMETYPES:
        raise MediaRejected("upload.image_type", mimetype=mime)
    if kind == "video" and mime not in VIDEO_MIMETYPES:
        raise MediaRejected("upload.video_type", mimetype=mime)
    if size > limit:
        raise MediaRejected(_TOO_LARGE[kind], size=describe_size(size), limit=describe_size(limit))


def describe_size(n: int) -> Text:
    """A size as people read it, decimal like the limits: 512 B, 48 KB, 7.2 MB (7,2 MB in
    Spanish: the decimal separator is the catalog's), 1.5 GB."""
    if n < 1000:
        return phrase("size.bytes", n=max(n, 0))
    if round(n / 1000) < 1000:
        return phrase("size.kb", n=round(n / 1000))
    giga = round(n / MB, 1) >= 1000
    whole, tenth = divmod(round(n * 10 / (1000 * MB if giga else MB)), 10)
    if tenth == 0 or whole >= 100:
        whole += 1 if tenth >= 5 else 0
        if giga:
            return phrase("size.gb_whole", n=whole)
        return phrase("size.mb_whole", n=whole)
    if giga:
        return phrase("size.gb", whole=whole, tenth=tenth)
    return phrase("size.mb", whole=whole, tenth=tenth)


def describe_duration(seconds: int | float | None) -> str:
    """A duration as a player shows it: 0:31, 4:05, 1:02:03; empty when unknown."""
    if seconds is None or seconds < 0:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
