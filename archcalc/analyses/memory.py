"""Memory at a dtype and batch: parameter and buffer bytes, the peak of live activations at inference, training
memory (weights, gradients, optimizer state, saved activations) and the KV cache.

The engine gives each layer ``live`` (elements of every tensor live while it runs) and ``cache`` (the K/V it keeps);
this module only multiplies by bytes per value and sums, per layer (``row.extra["memory"]``) and for the network
(``report.extra["memory"]``); ``memory_text.py`` writes them out as columns and the closing summary. In symbolic
mode the peak is the formula that provably bounds the others, or else an exact ``Max`` of the candidates.

    parameters    = params x bytes                 buffers = buffers x bytes
    live          = (inputs + output + tensors read later) x bytes, per layer; peak = the largest
    traffic       = (inputs + params + buffers + output) x bytes, per layer (metrics.py); the total sums them
    inference     = parameters + buffers + peak live + KV cache
    training      = params x (weight + gradient + master + optimizer state bytes) + buffers
                    + (network input + every layer's output) x bytes
"""
from __future__ import annotations

from typing import Any

from ..core.errors import SpecError
from ..core.metrics import BYTES_PER_VALUE, DTYPES, IN_BYTES
from ..core.num import fmt_exact, is_concrete

OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2}  # fp32 state buffers per parameter (momentum; adam's m and v)
MIXED = ("bf16", "fp16")  # training keeps fp32 master weights and fp32 optimizer state beside them
FP32 = 4

ASSUMPTIONS = (
    "every value is stored in the dtype: weights, buffers, the network input, every layer's output and the KV "
    "cache (fp32 4 bytes, bf16 and fp16 2, int8 1); torch keeps integer tensors, such as token ids and batch "
    "norm's num_batches_tracked, in int64",
    "layers run one at a time in the spec's order, parallel branches one after another; a tensor (the network "
    "input, or a layer's output) has a buffer of its own from when it is produced until the last layer that reads "
    "it has run; the network output stays to the end",
    "no in-place operations and no views: every layer, flatten, reshape, identity and dropout included, writes a "
    "new buffer (the roofline counts them as copies too), so a framework that aliases views or works in place "
    "needs less",
    "a layer's live memory = its inputs + its output + every earlier tensor a later layer still reads, + the "
    "score matrix of an attention layer with kernel: dense (heads x queries x keys); the peak is the largest "
    "over the layers; other workspace inside a layer is not counted (im2col or GEMM buffers, temporaries of a "
    "fused op)",
    "KV cache = the K and V that attention layers keep between decode steps (kv_cache: by default causal "
    "attention and decode steps, cache > 0; an encoder's self-attention keeps none; cross-attention, kv_from, the "
    "encoder's K and V once), at the positions each holds x batch x bytes, and the recurrent state a mamba layer "
    "keeps (conv and SSM state, whatever the context), held for the whole generation on top of the peak activations",
    "inference total = parameters + buffers + peak activations + KV cache",
    "training state per parameter: fp32 keeps 4-byte weights and gradients; bf16/fp16 is mixed precision as in "
    "ZeRO (Rajbhandari et al., 2020): 2-byte weights and gradients plus fp32 master weights and fp32 optimizer "
    "state; optimizer state: sgd none, momentum 1 buffer, adam 2 (so adam in bf16 is 2 + 2 + 4 + 8 = 16 bytes); "
    "buffers get no gradient or state; int8 is not a training format (no training figures)",
    "saved for backward: the network input, every layer's output and every dense attention's score matrix, "
    "once each, at the dtype, with no recomputation (checkpointing); what a framework really keeps differs by "
    "layer (a linear layer keeps its input, a ReLU its output, max pooling its indices, dropout its mask)",
    "training total = weights + gradients + master weights + optimizer state + buffers + saved activations, all "
    "held at once (an upper bound: activations are freed as backward produces gradients); no gradient buckets, "
    "allocator fragmentation, framework or runtime overhead",
)
OUTPUTS = "the network's outputs (its outputs: header) all stay to the end, each from the layer that writes it"
SYMBOLIC_REPEAT = ("a repeat with a symbolic count is one unit standing for all its copies: its layers' live "
                   "memory is that of a copy after the first (which reads the previous copy's output)")

FORMULAS = {
    "param_bytes": "params x bytes_per_value", "buffer_bytes": "buffers x bytes_per_value",
    "live_bytes": "(inputs + output + tensors read by later layers + dense attention scores) x bytes_per_value, "
                  "per layer",
    "output_bytes": "activations x bytes_per_value, per layer",
    "kv_cache_bytes": "cache x bytes_per_value (cache includes the batch)",
    "traffic_bytes": "(input_elements + params + buffers + activations) x bytes_per_value, per layer: the inputs it "
                     "reads, its weights read once per batch, the output it writes; the total sums the layers",
    "inference.peak_activation_bytes": "the largest live_bytes over the layers",
    "inference.total_bytes": "param_bytes + buffer_bytes + peak_activation_bytes + kv_cache_bytes",
    "training.bytes_per_param": "weight + gradient + master weight + optimizer state bytes per parameter",
    "training.saved_activation_bytes": "(network input + every layer's output + dense attention scores) x "
                                       "bytes_per_value",
    "training.total_bytes": "params x bytes_per_param + buffer_bytes + saved_activation_bytes",
}


def peak(values: list[Any], multiple_of: dict[str, int] | None = None) -> tuple[Any, int | None]:
    """The largest value and the index of its first occurrence. With symbols (positive integers, ``multiple_of``
    their assumed multiples): the value that provably bounds all others, or else a sympy ``Max`` of those no other
    provably bounds, left unevaluated (sympy's own pairwise evaluation is quadratic in floors and takes minutes
    on DenseNet); the index is None when which value is largest depends on the symbols."""
    if not values:
        return 0, None
    if all(is_concrete(v) for v in values):
        top = max(values)
        return top, values.index(top)
    from ..core.symbolic import FIGURE_WORK, SymbolicTooLarge, spend
    try:  # each value is compared with the leader (an expansion): part of the budget of symbolic work
        spend(FIGURE_WORK * len(values))
    except SymbolicTooLarge as e:
        e.hint = "the memory report compares every layer's live memory; give the symbols values with --set"
        raise
    unique = _undominated(list(dict.fromkeys(values)), multiple_of or {})
    if len(unique) == 1:
        return unique[0], values.index(unique[0])
    import sympy
    return sympy.Max(*unique, evaluate=False), None


def _undominated(values: list[Any], multiple_of: dict[str, int]) -> list[Any]:
    """The leader (the largest at a sample point) and the values it does not provably bound.

    ``a >= b`` is proven when ``a - b`` is a polynomial without negative coefficients once each floor or ceiling
    that sympy knows to be non-negative stands for a variable of its own (>= 0), and each positive symbol ``s`` is
    written ``m * (s + 1)`` (a positive multiple of m, so the new s is >= 0). Anything else is kept."""
    import sympy
    names = set().union(*(getattr(v, "free_symbols", set()) for v in values))
    multiple = {s: multiple_of.get(str(s), 1) for s in names}
    shift = {s: m * (s + 1) for s, m in multiple.items() if s.is_positive}
    sample = {s: m * -(-224 // m) for s, m in multiple.items()}  # an input-sized value, a multiple of m
    rounded: dict[Any, Any] = {}  # floor or ceiling -> a non-negative variable; None: not known to be >= 0

    def bounds(a: Any, b: Any) -> bool:
        d = sympy.sympify(a - b)
        for atom in d.atoms(sympy.floor, sympy.ceiling):
            if atom not in rounded:
                rounded[atom] = sympy.Dummy(nonnegative=True) if atom.is_nonnegative else None
        if any(rounded[atom] is None for atom in d.atoms(sympy.floor, sympy.ceiling)):
            return False
        d = sympy.expand(d.xreplace(rounded).xreplace(shift))  # outermost roundings first: nested ones go with them
        if d.is_number:
            return bool(d >= 0)
        free = sorted(d.free_symbols, key=str)
        return (all(s.is_nonnegative for s in free) and bool(d.is_polynomial(*free))
                and all(c >= 0 for c in sympy.Poly(d, *free).coeffs()))
    leader = max(values, key=lambda v: sympy.sympify(v).xreplace(sample))
    return [leader, *(v for v in values if v is not leader and not bounds(leader, v))]


def per_param(dtype: str, optimizer: str) -> dict[str, int] | None:
    """Training bytes per parameter by part, or None for a dtype one does not train in (int8)."""
    if dtype == "int8":
        return None
    size = BYTES_PER_VALUE[dtype]
    return {"weight": size, "gradient": size, "master_weight": FP32 if dtype in MIXED else 0,
            "optimizer_state": FP32 * OPTIMIZERS[optimizer]}


def annotate(report: Any, dtype: str = "fp32", optimizer: str = "adam") -> Any:
    """Add the memory figures to ``report``: ``row.extra["memory"]`` per leaf layer and ``report.extra["memory"]``
    for the network (dtype, batch, totals, formulas, assumptions). Exact bytes; formulas in symbolic mode.
    The batch is the report's (``analyze(net, batch=N)``). Returns the report."""
    if dtype not in BYTES_PER_VALUE:
        raise SpecError(f"unknown dtype {dtype!r}", file="--dtype", hint=f"one of {', '.join(DTYPES)}")
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"unknown optimizer {optimizer!r}", file="--optimizer", hint=f"one of {', '.join(OPTIMIZERS)}")
    convention = getattr(report.convention, "name", "archcalc")
    if convention != "archcalc":  # Kaplan's convention leaves out embeddings, biases and norms
        raise SpecError(f"the memory report needs every parameter, which the {convention} convention does not "
                        "count", file="--memory", hint="drop --convention for the memory figures")
    size = BYTES_PER_VALUE[dtype]
    rows = report.layers
    for row in rows:
        row.extra["memory"] = {
            "param_bytes": fmt_exact(row.params * size), "buffer_bytes": fmt_exact(row.buffers * size),
            "live_bytes": fmt_exact(row.live * size), "output_bytes": fmt_exact(row.activations * size),
            "kv_cache_bytes": fmt_exact(row.cache * size),
            **{f"{m.name}_bytes": fmt_exact(getattr(row, m.name) * size) for m in IN_BYTES}}
    t = report.totals
    input_elements = 0
    for shape in report.inputs.values():  # batch first; every network input
        elements = 1
        for d in shape:
            elements = elements * d
        input_elements = input_elements + elements
    top, where = peak([row.live for row in rows], report.assumptions)
    params, buffers, cache = t.params * size, t.buffers * size, t.cache * size
    inference = {"input_bytes": fmt_exact(input_elements * size), "peak_activation_bytes": fmt_exact(top * size),
                 "peak_layer": None if where is None else rows[where].name, "kv_cache_bytes": fmt_exact(cache),
                 "total_bytes": fmt_exact(params + buffers + top * size + cache)}
    parts = per_param(dtype, optimizer)
    training = None
    if parts is not None:
        saved = (input_elements + t.activations + sum(row.workspace for row in rows)) * size
        each = sum(parts.values())
        training = {"bytes_per_param": each,
                    **{f"{part}_bytes": fmt_exact(t.params * n) for part, n in parts.items()},
                    "buffer_bytes": fmt_exact(buffers), "saved_activation_bytes": fmt_exact(saved),
                    "total_bytes": fmt_exact(t.params * each + buffers + saved)}
    report.extra["memory"] = {
        "dtype": dtype, "bytes_per_value": size, "batch": fmt_exact(report.input_shape[0]), "optimizer": optimizer,
        **({"inputs": len(report.inputs)} if len(report.inputs) > 1 else {}),  # network inputs, all in input_bytes
        "param_bytes": fmt_exact(params), "buffer_bytes": fmt_exact(buffers),
        **{f"{m.name}_bytes": fmt_exact(getattr(t, m.name) * size) for m in IN_BYTES},
        "inference": inference, "training": training,
        "formulas": dict(FORMULAS),
        "units": "bytes, exact integers (formulas in symbolic mode)",
        "assumptions": [*ASSUMPTIONS, *((SYMBOLIC_REPEAT,) if report.symbols else ()),
                        *((OUTPUTS,) if report.outputs else ())],
    }
    return report

