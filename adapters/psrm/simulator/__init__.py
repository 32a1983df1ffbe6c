"""A simulator of Gældsstyrelsen's PSRM: its three SOAP services, entry rules, receipts,
hearings, notifications by scenario, and injected faults. Runs inside kravbro or standalone.
"""

from adapters.psrm.simulator.app import create_app, run
from adapters.psrm.simulator.state import Simulator, SimulatorConfig

__all__ = ["Simulator", "SimulatorConfig", "create_app", "run"]
