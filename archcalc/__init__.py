"""archcalc: shapes, parameters, MACs/FLOPs and receptive fields of a network declared in YAML."""
from __future__ import annotations

__version__ = "0.1.0"

from .engine import analyze
from .errors import ArchcalcError, InputError, ShapeError, SpecError
from .report import LayerResult, Report, Totals
from .spec import Network, load

__all__ = ["ArchcalcError", "InputError", "LayerResult", "Network", "Report", "ShapeError", "SpecError",
           "Totals", "__version__", "analyze", "load"]
