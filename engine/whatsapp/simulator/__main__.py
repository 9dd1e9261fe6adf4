"""``python -m engine.whatsapp.simulator [--port 8765]``."""

from __future__ import annotations

import argparse
import logging

from engine.whatsapp.simulator.server import main

logger = logging.getLogger(__name__)


def run() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description="WhatsApp Web simulator for waops")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--qr-rotate-s", type=float, default=20.0)
    parser.add_argument("--qr-idle-after", type=int, default=None)
    parser.add_argument("--link-code-ttl-s", type=float, default=195.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    main(
        args.port,
        qr_rotate_s=args.qr_rotate_s,
        qr_idle_after=args.qr_idle_after,
        link_code_ttl_s=args.link_code_ttl_s,
    )


if __name__ == "__main__":
    run()
