"""The simulated WhatsApp Web page: a QR while unpaired, "connected as" once linked."""

from __future__ import annotations

import html
import io
import json
import logging
from functools import cache

import segno
from aiohttp import web

from engine.whatsapp.simulator.bundle import fake_bundle_text
from engine.whatsapp.simulator.phone import Phone
from engine.whatsapp.simulator.state import STATE

logger = logging.getLogger(__name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WhatsApp (simulator) - {title}</title>
<style>body{{font-family:sans-serif;margin:2em}} #view svg{{width:264px;height:264px}}</style>
</head><body>
<img src="/static/logo.png" alt="" width="32" height="32">
<h1>WhatsApp Web simulator: {title}</h1>
<div id="view">{view}</div>
<script>
(() => {{
  const name = {name_json};
  const render = () => fetch(`/s/${{encodeURIComponent(name)}}/view`)
    .then((r) => r.text()).then((h) => {{ document.getElementById('view').innerHTML = h; }});
  const wire = () => {{
    for (const ev of ['conn.auth_code_change', 'conn.authenticated', 'conn.logout',
                      'conn.stream_mode_changed']) WPP.on(ev, render);
    WPP.loader.onReady(render);
  }};
  if (window.WPP) {{ wire(); return; }}
  const s = document.createElement('script');  // opened in a plain browser: load the fake
  s.src = '/static/wpp-fake.js';
  s.onload = wire;
  document.head.appendChild(s);
}})();
</script></body></html>
"""


def render_view(phone: Phone) -> str:
    """The inner view for the phone's current state."""
    code = phone.auth_code()
    if code is not None:
        qr = segno.make(code["fullCode"], error="l")
        return f'<p>Scan with the phone</p><div class="qr">{qr.svg_inline(scale=4)}</div>'
    if phone.state == "no_page" or not phone.linked:
        return "<p>Loading WhatsApp…</p>"
    number = html.escape(phone.number or "")
    return f'<p class="connected">Connected as +{number} ({html.escape(phone.state)})</p>'


async def page(request: web.Request) -> web.Response:
    """``GET /s/{name}``: the page a driver (or a person) opens for a simulated phone."""
    phone = request.app[STATE].open(request.match_info["name"])
    body = _PAGE.format(
        title=html.escape(phone.name), view=render_view(phone), name_json=json.dumps(phone.name)
    )
    return web.Response(text=body, content_type="text/html")


async def view(request: web.Request) -> web.Response:
    """``GET /s/{name}/view``: the inner view, refreshed by the page on WPP events."""
    phone = request.app[STATE].open(request.match_info["name"])
    return web.Response(text=render_view(phone), content_type="text/html")


async def fake_bundle(request: web.Request) -> web.Response:
    """``GET /static/wpp-fake.js``: the fake bundle, for a page opened in a plain browser."""
    return web.Response(text=fake_bundle_text(), content_type="text/javascript")


@cache
def _logo_png() -> bytes:
    out = io.BytesIO()
    segno.make("waops", error="l").save(out, kind="png", scale=2)
    return out.getvalue()


async def logo(request: web.Request) -> web.Response:
    """``GET /static/logo.png``: a decorative image, counted so tests see resource blocking."""
    request.app[STATE].heavy_requests += 1
    return web.Response(body=_logo_png(), content_type="image/png")
