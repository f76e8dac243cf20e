"""Treatment protocols as data: schema, loader, shipped protocols (``aall1731``)."""

from blinasim.protocol.core import Arm, DoseIntensity, DrugAdministration, Phase, Protocol
from blinasim.protocol.loader import (
    load_protocol,
    load_protocol_data,
    load_protocol_text,
    shipped_protocols,
)
from blinasim.protocol.schema import DRUG_ROUTES, DRUGS, PHASE_KINDS, ROUTES, STRATA, UNITS

__all__ = [
    "DRUGS",
    "DRUG_ROUTES",
    "PHASE_KINDS",
    "ROUTES",
    "STRATA",
    "UNITS",
    "Arm",
    "DoseIntensity",
    "DrugAdministration",
    "Phase",
    "Protocol",
    "load_protocol",
    "load_protocol_data",
    "load_protocol_text",
    "shipped_protocols",
]
