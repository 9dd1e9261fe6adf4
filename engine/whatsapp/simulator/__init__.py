"""A local fake of WhatsApp Web (page + fake WA-JS bundle + control API) for tests and the demo."""

from engine.whatsapp.simulator.bundle import fake_bundle_path
from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import Simulator, create_app, main
from engine.whatsapp.simulator.state import SimulatorState

__all__ = [
    "Simulator",
    "SimulatorClient",
    "SimulatorState",
    "create_app",
    "fake_bundle_path",
    "main",
]
