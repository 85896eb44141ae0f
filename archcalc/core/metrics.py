"""The one declaration of the figures a layer has: every row, total, subtotal, renderer and ``--metric`` choice
iterates over ``METRICS`` (or a subset of it picked by a property), in this order.

A new metric is one ``Metric`` entry here plus the formula that sets it (in the engine or an analysis).
"""
from __future__ import annotations

BYTES_PER_VALUE = {"fp32": 4, "bf16": 2, "fp16": 2, "int8": 1}  # a value's size in memory, by dtype
DTYPES = tuple(BYTES_PER_VALUE)


class Metric:
    """One figure of a layer. Counts are exact (ints, rationals, or sympy formulas in symbolic mode).

    A plain class: a dataclass or NamedTuple costs every run a millisecond or more of start-up to build."""

    __slots__ = ("name", "unit", "help", "label", "tex", "batched", "in_totals", "in_json", "listed", "column",
                 "scaled", "in_bytes")

    def __init__(self, name: str, unit: str, help: str, *, label: str = "", tex: str = "", batched: bool = True,
                 in_totals: bool = True, in_json: bool = True, listed: bool = False, column: bool = False,
                 scaled: bool = True, in_bytes: bool = False) -> None:
        self.name = name  # attribute of LayerResult (and Totals), key in JSON
        self.unit = unit  # what one unit counts: parameters, elements, MACs, FLOPs
        self.help = help
        self.label = label  # header in tables and summaries ("" = the name)
        self.tex = tex  # LaTeX symbol of its total (the latex output's align block), for a column or in_bytes metric
        self.batched = batched  # includes the batch (weights don't: they are read once per batch)
        self.in_totals = in_totals  # summed over rows into Totals and block subtotals
        self.in_json = in_json  # a key of each row's and total's JSON (else only an analysis shows it)
        self.listed = listed  # a --metric choice (formula, sweep, solve) and a column of CSV and HTML data
        self.column = column  # a per-layer column of the table, markdown, LaTeX and HTML views
        self.scaled = scaled  # multiplied by the count of a repeat with a symbolic count (row.scale)
        self.in_bytes = in_bytes  # an analysis at a dtype shows it as bytes: elements x BYTES_PER_VALUE[dtype]

    def __repr__(self) -> str:
        return f"Metric({self.name!r})"

    @property
    def title(self) -> str:
        return self.label or self.name


METRICS: tuple[Metric, ...] = (
    Metric("params", "parameters", "weights the layer owns (a tied layer's are counted at their owner)",
           tex="N_{\\mathrm{params}}", batched=False, listed=True, column=True),
    Metric("buffers", "elements", "state that is not trained (batch norm's running statistics)", batched=False,
           listed=True),
    Metric("macs", "MACs", "multiply-accumulates, batch included", label="MACs", tex="\\mathrm{MACs}", listed=True,
           column=True),
    Metric("flops", "FLOPs", "floating-point operations under the convention, split by kind in flops_by_kind",
           label="FLOPs", tex="\\mathrm{FLOPs}", listed=True, column=True),
    Metric("activations", "elements", "the output's elements, batch included", listed=True),
    Metric("input_elements", "elements", "elements read from all inputs, batch included", in_totals=False),
    Metric("cache", "elements", "elements kept between decode steps (attention's K and V), batch included"),
    Metric("active_params", "parameters", "parameters one token uses (params less the experts it skips)",
           batched=False),
    Metric("workspace", "elements", "elements held while the layer runs besides its inputs and output (a dense "
           "attention's score matrix), batch included", in_totals=False, in_json=False),
    Metric("trainable", "parameters", "Keras's trainable parameters (= params)", batched=False),
    Metric("non_trainable", "parameters", "Keras's non-trainable parameters (the running statistics under "
           "layout: channels_last, else 0)", batched=False),
    Metric("live", "elements", "elements of every tensor live while the layer runs, batch included",
           in_totals=False, in_json=False, scaled=False),
    # Memory traffic: input_elements + params + buffers + activations, the rule the roofline has always used.
    Metric("traffic", "elements", "memory traffic: the values a layer reads and writes - every input it reads "
           "(input_elements, batch included), its weights (params + buffers, read once per batch, so a tied "
           "layer's shared weights count at their owner) and its output (activations, batch included); a dense "
           "attention's score matrix (workspace) and a kernel's other scratch are not counted; shown in bytes at "
           "--dtype (--memory, --hardware: the roofline's bytes moved)", tex="\\mathrm{traffic}", in_json=False,
           in_bytes=True),
)

TOTALLED = tuple(m for m in METRICS if m.in_totals)
LISTED = tuple(m for m in METRICS if m.listed)
COLUMNS = tuple(m for m in METRICS if m.column)
IN_BYTES = tuple(m for m in METRICS if m.in_bytes)  # shown as bytes (a column each) when a dtype is in play
LISTED_NAMES = tuple(m.name for m in LISTED)  # --metric choices of formula, sweep and solve
