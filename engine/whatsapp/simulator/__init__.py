"""A local fake of WhatsApp Web (page + fake WA-JS bundle + control API) for tests and the demo."""

from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import FAKE_BUNDLE_PATH, Simulator, create_app, main
from engine.whatsapp.simulator.state import SimulatorState

__all__ = [
    "FAKE_BUNDLE_PATH",
    "Simulator",
    "SimulatorClient",
    "SimulatorState",
    "create_app",
    "main",
]
