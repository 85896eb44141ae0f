"""archcalc: shapes, parameters, MACs/FLOPs and receptive fields of a network declared in YAML."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names are imported on first use, so that ``archcalc.cli`` starts without loading what a run
# does not need (start-up time is most of a run).
_EXPORTS = {
    "analyze": "engine", "load": "spec", "Network": "spec",
    "ArchcalcError": "errors", "InputError": "errors", "OutputError": "errors", "ShapeError": "errors",
    "SpecError": "errors",
    "LayerResult": "report", "BlockResult": "report", "Report": "report", "Totals": "report",
    "Metric": "metrics", "METRICS": "metrics",
}

if TYPE_CHECKING:
    from .engine import analyze
    from .errors import ArchcalcError, InputError, OutputError, ShapeError, SpecError
    from .metrics import METRICS, Metric
    from .report import BlockResult, LayerResult, Report, Totals
    from .spec import Network, load


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archcalc' has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = ["METRICS", "ArchcalcError", "BlockResult", "InputError", "LayerResult", "Metric", "Network", "OutputError",
           "Report", "ShapeError", "SpecError", "Totals", "__version__", "analyze", "load"]
