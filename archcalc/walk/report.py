"""The result of an analysis: one row per leaf layer, totals, and the convention used."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.metrics import LISTED, METRICS, TOTALLED
from ..core.num import fmt_exact, is_concrete
from ..core.symbolic import add_all
from ..count.convention import Convention
from .rf import RF


class LayerResult:
    """One leaf layer's figures (``metrics.METRICS``: those marked batched include the batch), its shape and RF."""

    __slots__ = ("name", "type", "kind", "output_shape", "flops_by_kind", "rf", "line", "depth", "user_defined",
                 "spec", "input_shape", "extra", "rf_windows", *(m.name for m in METRICS))

    def __init__(self, name: str, type: str, kind: str, output_shape: tuple[Any, ...], params: Any, buffers: Any,
                 macs: Any, flops: Any, flops_by_kind: dict[str, Any], activations: Any, rf: RF,
                 line: int | None = None, depth: int = 0, user_defined: bool = False,
                 input_elements: Any = 0, cache: Any = 0, active_params: Any = None, *, rf_windows: RF | None = None,
                 workspace: Any = 0, non_trainable: Any = 0, spec: Any = None,
                 input_shape: tuple[Any, ...] = ()) -> None:
        self.name = name  # dotted path
        self.type = type
        self.kind = kind
        self.output_shape = output_shape  # batch first
        self.params = params
        self.buffers = buffers
        self.macs = macs
        self.flops = flops
        self.flops_by_kind = flops_by_kind
        self.activations = activations  # output elements
        self.rf = rf
        self.rf_windows = rf if rf_windows is None else rf_windows  # the field of the windows alone (statistics
        # and gates ignored)
        self.line = line
        self.depth = depth
        self.user_defined = user_defined
        self.input_elements = input_elements  # elements read (all inputs), batch included
        self.cache = cache  # elements kept between decode steps (an attention layer's K and V), batch included
        self.active_params = params if active_params is None else active_params  # used per token (experts)
        # Elements of every tensor live while this layer runs (its inputs, its output, those read later), batch
        # included; one copy's figure in a repeat with a symbolic count (set by the engine after the walk).
        self.live: Any = 0
        self.workspace = workspace  # elements held while it runs besides inputs and output (batch included)
        # Memory traffic (metrics.py): the values it reads (its inputs, its weights once per batch) and writes.
        self.traffic: Any = input_elements + params + buffers + activations
        # Keras's split of the weights: trainable = params; non_trainable = the running statistics Keras counts as
        # parameters (a batch norm's moving mean and variance) under the Keras layout (channels_last), else 0.
        # They stay in ``buffers`` too, where torch holds them.
        self.trainable: Any = params
        self.non_trainable = non_trainable
        self.spec = spec  # the validated layer (for conventions whose rules read its fields)
        self.input_shape = input_shape  # per sample, of the first input
        self.extra: dict[str, Any] = {}  # figures added after the analysis (e.g. a roofline), by name

    def scale(self, count: Any) -> None:
        """Stand for ``count`` copies (a repeat with a symbolic count)."""
        for m in METRICS:
            if m.scaled:
                setattr(self, m.name, getattr(self, m.name) * count)
        self.flops_by_kind = {k: v * count for k, v in self.flops_by_kind.items()}

    def to_dict(self) -> dict[str, Any]:
        figures: dict[str, Any] = {}
        for m in METRICS:
            if m.in_json:
                figures[m.name] = fmt_exact(getattr(self, m.name))
                if m.name == "flops":  # its split by kind follows it
                    figures["flops_by_kind"] = {k: fmt_exact(v) for k, v in self.flops_by_kind.items()}
        return {
            "name": self.name, "type": self.type, "kind": self.kind, "user_defined": self.user_defined,
            "output_shape": [fmt_exact(d) for d in self.output_shape], **figures,
            "rf": self.rf.to_dict(), "rf_windows": self.rf_windows.to_dict(), **self.extra,
        }


class Totals:
    """Sums over leaf layers of the metrics marked ``in_totals`` (``active_params``: the parameters one token
    uses; ``trainable``, ``non_trainable``: Keras's split)."""

    __slots__ = (*(m.name for m in TOTALLED), "flops_by_kind")

    def __init__(self) -> None:
        for m in TOTALLED:
            setattr(self, m.name, 0)
        self.flops_by_kind: dict[str, Any] = {}

    @classmethod
    def of(cls, rows: list[LayerResult], numeric: bool = False) -> Totals:
        """The sums over ``rows``, each taken in one go: in symbolic mode adding rows one at a time re-sorts the
        growing sum at every step (quadratic in the layers; minutes on a chain of a few hundred convs).
        ``numeric``: every figure is known to be a number (a walk without symbols), so none is looked at."""
        t = cls()
        total = sum if numeric else _sum
        for m in TOTALLED:
            setattr(t, m.name, total([getattr(row, m.name) for row in rows]))
        kinds: dict[str, list[Any]] = {}
        for row in rows:
            for kind, value in row.flops_by_kind.items():
                kinds.setdefault(kind, []).append(value)
        t.flops_by_kind = {kind: total(values) for kind, values in kinds.items()}
        return t

    def add(self, row: LayerResult) -> None:
        for m in TOTALLED:
            setattr(self, m.name, getattr(self, m.name) + getattr(row, m.name))
        for kind, value in row.flops_by_kind.items():
            self.flops_by_kind[kind] = self.flops_by_kind.get(kind, 0) + value

    def scale(self, count: Any) -> None:
        """Stand for ``count`` copies."""
        for m in TOTALLED:
            setattr(self, m.name, getattr(self, m.name) * count)
        self.flops_by_kind = {k: v * count for k, v in self.flops_by_kind.items()}

    def to_dict(self) -> dict[str, Any]:
        return {**{m.name: fmt_exact(getattr(self, m.name)) for m in TOTALLED if m.in_json},
                "flops_by_kind": {k: fmt_exact(v) for k, v in self.flops_by_kind.items()}}


def _sum(values: list[Any]) -> Any:
    if all(is_concrete(v) for v in values):
        return sum(values)
    return add_all(values)  # symbolic mode only: sympy's one-step sum


class BlockResult:
    """A block, repeat or branch group: its subtotals and the RF at its output (a named endpoint)."""

    __slots__ = ("name", "type", "depth", "totals", "output_shape", "rf", "children", "layers", "rf_windows")

    def __init__(self, name: str, type: str, depth: int) -> None:
        self.name = name
        self.type = type
        self.depth = depth
        self.totals = Totals()
        self.output_shape: tuple[Any, ...] = ()
        self.rf: RF | None = None
        self.rf_windows: RF | None = None
        self.children: list[BlockResult] = []
        self.layers: list[str] = []  # the leaf layers inside, by name

    def scale(self, count: Any) -> None:
        self.totals.scale(count)
        for child in self.children:
            child.scale(count)

    def finish(self, rows: list[LayerResult], output_shape: tuple[Any, ...], rf: RF, windows: RF | None = None,
               numeric: bool = False) -> None:
        self.totals = Totals.of(rows, numeric)
        self.layers = [row.name for row in rows]
        self.output_shape, self.rf, self.rf_windows = output_shape, rf, rf if windows is None else windows

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "output_shape": [fmt_exact(d) for d in self.output_shape],
                **self.totals.to_dict(), "rf": self.rf.to_dict() if self.rf else None,
                "rf_windows": self.rf_windows.to_dict() if self.rf_windows else None,
                "layers": self.layers, "children": [c.to_dict() for c in self.children]}


# The views of a report a later stage draws: name -> view(report, depth) -> text. The package (archcalc/__init__.py)
# plugs in the output stage's table, so that this stage imports nothing after it.
VIEWS: dict[str, Callable[[Report, int | None], str]] = {}


class NetworkOutput:
    """One of the tensors an ``outputs:`` header names: its output name, the tensor's name, shape (batch first)
    and receptive fields."""

    __slots__ = ("name", "ref", "output_shape", "rf", "rf_windows")

    def __init__(self, name: str, ref: str, output_shape: tuple[Any, ...], rf: RF, rf_windows: RF) -> None:
        self.name, self.ref, self.output_shape, self.rf, self.rf_windows = name, ref, output_shape, rf, rf_windows

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "from": self.ref, "output_shape": [fmt_exact(d) for d in self.output_shape],
                "rf": self.rf.to_dict(), "rf_windows": self.rf_windows.to_dict()}


class Report:
    """The analysis of a network: leaf rows, block tree, totals, and the convention they follow."""

    def __init__(self, name: str, input_shape: tuple[Any, ...], layers: list[LayerResult], totals: Totals,
                 convention: Convention, output_shape: tuple[Any, ...] = (), rf: RF | None = None,
                 blocks: list[BlockResult] | None = None,
                 outline: list[LayerResult | BlockResult] | None = None) -> None:
        self.name = name
        self.input_shape = input_shape  # batch first
        self.layers = layers
        self.totals = totals
        self.convention = convention
        self.output_shape = output_shape
        self.outputs: list[NetworkOutput] = []  # with an outputs: header, each output (output_shape: the first's)
        self.rf = rf
        self.rf_windows = rf  # the field of the windows alone; set by the engine
        self.rf_view = "field"  # which of the two the table, markdown and CSV show ("field" or "windows")
        self.blocks = blocks or []
        self.outline = outline or []  # table order: a block before its contents
        self.symbols: dict[str, str] | None = None  # symbolic mode: the symbols the figures are formulas in
        self.assumptions: dict[str, int] | None = None  # symbol -> the multiple it is assumed to be
        self.extra: dict[str, Any] = {}  # sections added after the analysis (e.g. "roofline"), by name
        self.layout = "channels_first"  # the axis order of the shapes above (channels_last: Keras')
        self.network: Any = None  # the spec.Network analysed (set by analyze)
        self.inputs = {"input": input_shape}  # every network input by name, batch first; the first is input_shape

    def __repr__(self) -> str:
        """One line: the totals, exactly, and the convention they follow."""
        from ..core.escape import printable
        from ..core.units import exact
        figures = ", ".join(f"{m.title} {exact(getattr(self.totals, m.name))}" for m in LISTED)
        return f"<Report {printable(self.name)}: {figures} (convention {printable(self.convention.name)})>"

    def table(self, depth: int | None = None) -> str:
        """The text table ``archcalc SPEC`` prints (blocks below ``depth`` collapsed)."""
        view = VIEWS.get("table")
        if view is None:
            raise RuntimeError("no table view: get reports from archcalc.analyze, which provides it")
        return view(self, depth)

    def _repr_html_(self) -> str:
        """The table in a notebook (Jupyter's rich display), escaped as HTML text."""
        from html import escape
        return f"<pre>{escape(self.table())}</pre>"

    def to_frame(self) -> Any:
        """One row per layer as a pandas DataFrame: name, type, output shape and every metric, exact (Python ints;
        formulas in symbolic mode). Needs pandas."""
        try:
            import pandas
        except ImportError:
            from ..core.errors import OutputError
            raise OutputError("to_frame needs pandas, which is not installed",
                              hint="pip install pandas, or use report.to_dict()") from None
        rows = [{"name": r.name, "type": r.type, "output_shape": r.output_shape,
                 **{m.name: getattr(r, m.name) for m in METRICS}} for r in self.layers]
        return pandas.DataFrame(rows, columns=["name", "type", "output_shape", *(m.name for m in METRICS)])

    def to_dict(self) -> dict[str, Any]:
        from ..core.version import __version__
        return {
            "archcalc": __version__,
            "name": self.name,
            "input_shape": [fmt_exact(d) for d in self.input_shape],
            **({"inputs": {k: [fmt_exact(d) for d in v] for k, v in self.inputs.items()}}
               if len(self.inputs) > 1 else {}),
            "output_shape": [fmt_exact(d) for d in self.output_shape],
            "totals": self.totals.to_dict(),
            "rf": self.rf.to_dict() if self.rf else None,
            "rf_windows": self.rf_windows.to_dict() if self.rf_windows else None,
            **({"outputs": [out.to_dict() for out in self.outputs]} if self.outputs else {}),
            "layers": [row.to_dict() for row in self.layers],
            "blocks": [block.to_dict() for block in self.blocks],
            "convention": self.convention.to_dict(),
            **({"symbols": self.symbols, "multiple_of": self.assumptions} if self.symbols else {}),
            **self.extra,
        }
