"""A faithful fake Allocadence for tests, benchmarks and `make run`; no Django, stdlib HTTP only."""

from .faults import KINDS as FAULT_KINDS
from .faults import Fault, FaultQueue
from .server import AllocadenceSandbox, RequestRecord
from .state import SandboxState

__all__ = ["FAULT_KINDS", "AllocadenceSandbox", "Fault", "FaultQueue", "RequestRecord", "SandboxState"]
