"""archcalc: shapes, parameters, MACs/FLOPs and receptive fields of a network declared in YAML."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.version import __version__

# Public names are imported on first use, so that ``archcalc.cli`` starts without loading what a run
# does not need (start-up time is most of a run).
_EXPORTS = {
    "load": "read.spec", "Network": "read.spec",
    "ArchcalcError": "core.errors", "InputError": "core.errors", "OutputError": "core.errors",
    "ShapeError": "core.errors", "SpecError": "core.errors",
    "LayerResult": "walk.report", "BlockResult": "walk.report", "Report": "walk.report", "Totals": "walk.report",
    "Metric": "core.metrics", "METRICS": "core.metrics",
    "at": "walk.at",
}

if TYPE_CHECKING:
    from .core.errors import ArchcalcError, InputError, OutputError, ShapeError, SpecError
    from .core.metrics import METRICS, Metric
    from .count.convention import Convention
    from .read.spec import Network, load
    from .walk.at import at
    from .walk.report import BlockResult, LayerResult, Report, Totals


def analyze(network: Network, *, simplify: str = "expand", collect: tuple[str, ...] = (),
            convention: Convention | None = None, **overrides: Any) -> Report:
    """Analyse a loaded network (``archcalc.load``) under ``convention`` (archcalc's by default); keyword
    overrides replace variables, ``batch`` or ``input`` first, the network being built again with them.

    With symbols, every figure is a formula, shown in the user's symbols and simplified by ``simplify``
    (expand, factor, collect by ``collect``, or none).
    """
    from .core.symbolic import metered
    from .count.convention import ARCHCALC
    from .outputs.render import table
    from .read.spec import rebuild
    from .walk.engine import analyze as walk
    from .walk.report import VIEWS
    VIEWS.setdefault("table", table)  # report.table() and a notebook's display of a report
    with metered():  # the build and the walk share one budget of symbolic work
        built = rebuild(network, **overrides) if overrides else network
        return walk(built, simplify=simplify, collect=collect, convention=convention or ARCHCALC)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archcalc' has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = ["METRICS", "ArchcalcError", "BlockResult", "InputError", "LayerResult", "Metric", "Network", "OutputError",
           "Report", "ShapeError", "SpecError", "Totals", "__version__", "analyze", "at", "load"]
