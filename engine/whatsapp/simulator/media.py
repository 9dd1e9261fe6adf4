"""WhatsApp's media servers as the simulated page sees them: downloads, uploads, failures.

The fake page (static/wpp-fake/65-media.js) fetches files from here over same-origin HTTP, as
WhatsApp Web fetches encrypted files from its media hosts; a failed fetch becomes WA-JS's
``media_not_found`` (src/chat/functions/downloadMedia.ts l.113-119).
"""

from __future__ import annotations

import hashlib
import io
import logging

from aiohttp import web

from engine.whatsapp.simulator.control_base import body_of, field, phone_of
from engine.whatsapp.simulator.messages import filehash_of
from engine.whatsapp.simulator.phone import SimulatorError
from engine.whatsapp.simulator.state import STATE

logger = logging.getLogger(__name__)

# Large enough for a 100 MiB document in base64 (control API) or raw (upload).
MAX_REQUEST_BYTES = 160 * 1024 * 1024


async def download(request: web.Request) -> web.Response:
    """``GET /s/{name}/media?hash=<filehash>``: the file, or 404 while ``media-failures``
    lasts or when the servers never had it."""
    state = request.app[STATE]
    phone = state.phone(request.match_info["name"])
    filehash = request.query.get("hash", "")
    if phone.media_failures > 0:
        phone.media_failures -= 1
        logger.info("simulator: download of %s on %s fails (injected)", filehash, phone.name)
        return web.json_response({"error": "media_not_found"}, status=404)
    data = state.media.get(filehash)
    if data is None:
        return web.json_response({"error": "media_not_found"}, status=404)
    # A BytesIO body: aiohttp warns that large raw bytes bodies block the loop.
    return web.Response(body=io.BytesIO(data), content_type="application/octet-stream")


async def upload(request: web.Request) -> web.Response:
    """``POST /s/{name}/upload``: the page uploads a file it sends (raw body)."""
    state = request.app[STATE]
    phone = state.phone(request.match_info["name"])
    if phone.state != "connected":
        raise SimulatorError(503, f"no connection to WhatsApp (state: {phone.state})")
    data = await request.read()
    filehash = filehash_of(data)
    state.media[filehash] = data
    sha256 = hashlib.sha256(data).hexdigest()
    return web.json_response({"filehash": filehash, "sha256": sha256, "size": len(data)})


async def failures(request: web.Request) -> web.Response:
    """``POST /control/sessions/{name}/media-failures {"count": N}``: the next N downloads of
    this session find nothing (``media_not_found``); 0 ends it."""
    _, phone = phone_of(request)
    body = await body_of(request)
    count = field(body, "count", int)
    if count < 0:
        raise SimulatorError(400, f'"count" must be 0 or more, got {count}')
    phone.media_failures = count
    return web.json_response({"media_failures": count})


def add_routes(app: web.Application) -> None:
    """Register the media routes on ``app``."""
    app.router.add_get("/s/{name}/media", download)
    app.router.add_post("/s/{name}/upload", upload)
    app.router.add_post("/control/sessions/{name}/media-failures", failures)
