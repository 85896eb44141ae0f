"""What every layer type provides: a pydantic model of its YAML, and one pure cost formula.

A formula has the signature ``cost(spec, x) -> Cost``: it takes the validated layer and the per-sample
input shape (batch excluded) and returns the output shape, parameters, buffers, MACs, FLOPs by kind, and
its local receptive-field step. The engine does the rest (batch, totals, RF). A layer whose model declares
``channels_first = True`` always sees ``[channels, *spatial]``: under ``layout: channels_last`` the engine
presents its input that way and moves the output's channels back to the end.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, TypeVar, Union

from ..core.declare import TEXT, Model, checked, field, maybe
from ..core.errors import ShapeError, SpecError
from ..core.fields import fail
from ..core.num import is_concrete

Shape = tuple[Any, ...]


class Window(NamedTuple):
    """One axis of a layer's receptive-field step, in units of the layer's input positions.

    Output position ``o`` reads inputs ``o*stride - padding + t*dilation`` for t = 0, 1, ... up to
    ``o*stride - padding + kernel - 1`` (``kernel`` is the dilated span).
    """

    kernel: Any
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1


class PeriodicWindow(NamedTuple):
    """One axis of a resampling layer's receptive-field step, where outputs read different inputs by phase.

    Output ``o`` reads inputs ``first(o), first(o) + every, ..., last(o)``, and the pattern repeats:
    ``first(o + period) = first(o) + shift`` (``last`` likewise). ``first[r]`` and ``last[r]`` give phase
    ``r = o mod period``; None for both when those outputs read no input (a transposed convolution whose
    kernel is smaller than its stride). A ``Window`` is the case period 1. All values are integers; the
    receptive field of a tensor (``rf.AxisRF.phases``) has the same form, from network input positions.
    """

    period: int
    shift: Any
    first: tuple[Any, ...]
    last: tuple[Any, ...]
    every: int = 1


GLOBAL = "global"  # every output sees the whole input along an axis
NON_UNIFORM = "non-uniform"  # windows differ in size or spacing (e.g. adaptive pooling 7 -> 3)
# Units differ by phase (after upsampling or a transposed convolution) and a symbol enters the pattern: no
# exact closed form is kept (give the symbol a value).
SYMBOLIC_PHASES = "symbolic-phases"
MAX_PERIOD = 10_000  # phases tracked per axis; a longer resampling pattern is reported as non-uniform
MAX_WORK = 1_000_000  # units read to compose one step onto a field that is not monotone (else non-uniform)

# A layer's local receptive-field step: None (pointwise), GLOBAL (mixes every position), a tuple with a
# Window (or PeriodicWindow, None, GLOBAL, NON_UNIFORM, SYMBOLIC_PHASES) per spatial dimension 1.. of its
# input, or a dict from any per-sample dimension index to such an entry (linear mixes dimension -1,
# whatever it holds).
RFStep = Union[None, str, tuple[Any, ...], dict[int, Any]]


class Pairs(NamedTuple):
    """The (query, key) pairs an attention layer scored, and what each pair costs over all heads: the data a
    convention that counts pairs another way (Kaplan's T^2/2 under a causal mask) recomputes from."""

    scored: Any  # pairs per head as counted
    queries: Any  # T, the new tokens
    cache: Any  # keys already cached
    triangle: bool  # causal without a window: scored = T*cache + T(T+1)/2
    macs: Any  # MACs per pair (QK^T and AV)
    flops: dict[str, Any]  # FLOPs per pair, by kind


class Cost:
    """What one layer costs, per sample. ``flops`` is split by kind (conv, bias, norm, activation, ...)."""

    __slots__ = ("shape", "params", "buffers", "macs", "flops", "rf", "dims", "cache", "shared", "active", "bias",
                 "workspace", "statistics", "running", "pairs")

    def __init__(self, shape: Shape, params: Any = 0, buffers: Any = 0, macs: Any = 0,
                 flops: dict[str, Any] | None = None, rf: RFStep = None,
                 dims: tuple[tuple[int, ...], ...] | None = None, cache: Any = 0,
                 shared: Any = 0, active: Any = None, bias: Any = 0, workspace: Any = 0,
                 statistics: RFStep = None, running: Any = 0, pairs: Pairs | None = None) -> None:
        self.shape = shape
        self.params = params
        self.buffers = buffers
        self.macs = macs
        self.flops = flops or {}
        self.rf = rf
        # The positions a layer's statistics are computed over (group, instance and layer norm), as an RF step
        # applied after ``rf``: part of the receptive field, not of the field of the windows alone.
        self.statistics = statistics
        # Per output dimension, the input dimensions it is made of; None: the same dimensions when the rank
        # is unchanged (flatten, permute and global pooling say how they move dimensions).
        self.dims = dims
        # Elements kept between decode steps, per sample: an attention layer's K and V cache at its context
        # length (2 * kv_heads * head_dim * positions); 0 for layers that keep none (an encoder's attention).
        self.cache = cache
        self.shared = shared  # parameters used here but owned (and counted) by a tied layer
        self.active = params if active is None else active  # parameters one token uses (a mixture of experts)
        self.bias = bias  # how many of ``params`` are biases (a convention may omit them, as Kaplan's does)
        # Elements per sample a layer holds while it runs besides its inputs and output, and saves for
        # training: a dense attention's score matrix. Other kernels' scratch space is not modelled.
        self.workspace = workspace
        # Of ``buffers``, the running statistics (a batch norm's moving mean and variance): the weights Keras counts
        # as non-trainable parameters where torch holds them as buffers.
        self.running = running
        self.pairs = pairs  # attention: the (query, key) pairs its scores count


class LayerSpec(Model):
    """Fields common to every layer. A subclass lists the YAML ``type`` names it accepts in ``TYPES``."""

    type: str  # set by validation to one of TYPES
    name = field(maybe(TEXT), None, "Layer name; generated as <type>_<n> when omitted.")

    kind: ClassVar[str] = "other"  # the op kind its FLOPs count under in reports
    arity: ClassVar[str] = "one"  # "many": the formula takes (spec, shapes, labels), as merges do
    # True: the formula reads [channels, *spatial] (convolutions, pools, batch/group norms, padding, resampling);
    # under layout: channels_last the engine presents the tensor so. False: it acts on the tensor as it is held.
    channels_first: ClassVar[bool] = False

    def reads(self) -> tuple[str, ...]:
        """Names of earlier tensors a one-input layer reads besides its input (cross-attention's kv_from): the engine
        passes their shapes to the formula after the input's."""
        return ()

    @property
    def ndim(self) -> int:
        """Spatial rank from a ``...1d/2d/3d`` type name."""
        return int(self.type[-2])


def call_field(default: str | None, default_text: str = "", **forms: str) -> Any:
    """The ``call`` field of a layer type that torch code computes in more than one form: which one the reference
    code uses (``forms``: each value, with what it is in torch; a default of None is decided by the layer, as
    ``default_text`` says). No count of archcalc's own depends on it; the tool presets (archcalc/conventions) and
    ``archcalc export`` follow it."""
    listed = "; ".join(f"{name}: {what}" for name, what in forms.items())

    def check(value: Any, info: Any) -> str:
        if not isinstance(value, str) or value not in forms:
            raise fail(f"{value!r} is not a form this layer type has", f"one of {', '.join(forms)}")
        return str(value)
    kind = checked(check, {"enum": list(forms)})
    shown = default_text or default
    return field(kind if default is not None else maybe(kind), default,
                 f"How the reference code computes it - {listed} (default: {shown}). archcalc's own counts are "
                 "the same in every form; the tool presets (--convention torch, fvcore, ptflops, thop, torchinfo) "
                 "count what each tool sees of that form, and archcalc export writes it.")


Formula = Callable[..., Cost]  # (spec, shape) -> Cost, or (spec, shapes, labels) -> Cost for merges
M = TypeVar("M", bound=type[LayerSpec])


class LayerType(NamedTuple):
    name: str
    model: type[LayerSpec]
    formula: Formula


REGISTRY: dict[str, LayerType] = {}


def formula(model: type[LayerSpec]) -> Callable[[Formula], Formula]:
    """Register ``fn`` as the cost formula of every type name ``model`` accepts; duplicates are refused."""
    def register(fn: Formula) -> Formula:
        for name in model.TYPES:
            if name in REGISTRY:
                raise RuntimeError(f"layer type {name!r} registered twice")
            REGISTRY[name] = LayerType(name, model, fn)
        return fn
    return register


# ---- checks shared by formulas (only when values are concrete; a symbol carries its assumption) ----

def expect_rank(x: Shape, rank: int | tuple[int, ...], what: str) -> None:
    ranks = (rank,) if isinstance(rank, int) else rank
    if len(x) not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise ShapeError(f"expects a rank-{want} input {what}, got shape {list(x)}",
                         hint="a flatten or reshape earlier may have changed the rank" if len(x) < min(ranks)
                         else "check the layer's dimensionality (1d/2d/3d)")


def check_equal(given: Any, actual: Any, field_name: str, what: str) -> None:
    if given is not None and is_concrete(given) and is_concrete(actual) and given != actual:
        raise ShapeError(f"{field_name}={given} but the incoming tensor has {actual} {what}",
                         hint=f"set {field_name}: {actual}, or leave it out to infer it")


def check_divides(divisor: Any, value: Any, message: str, hint: str) -> None:
    if is_concrete(divisor) and is_concrete(value) and value % divisor:
        raise ShapeError(message, hint=hint)


def per_axis(value: Any, ndim: int, field_name: str) -> tuple[Any, ...]:
    """Broadcast a scalar to ``ndim`` axes; a list must have exactly ``ndim`` entries."""
    if isinstance(value, tuple):
        if len(value) != ndim:
            raise SpecError(f"{field_name} has {len(value)} values but the layer has {ndim} spatial axes",
                            hint=f"give one value or a list of {ndim}")
        return value
    return (value,) * ndim


def positive_out(n: Any, axis: int, what: str, hint: str) -> Any:
    if is_concrete(n) and n < 1:
        raise ShapeError(f"{what} on spatial axis {axis}: the output would have size {n}", hint=hint)
    return n


def torch_dim(dim: int, x: Shape, field_name: str = "dim") -> int:
    """Index into the per-sample shape of a dimension counted as torch counts it (0 is the batch)."""
    rank = len(x) + 1
    if not -rank <= dim < rank:
        raise ShapeError(f"{field_name}={dim} is out of range for a rank-{rank} tensor (batch included)",
                         hint=f"use a value in [{-rank}, {rank - 1}]")
    d = dim % rank
    if d == 0:
        raise ShapeError(f"{field_name}={dim} is the batch dimension", hint="count from 1 for the channels")
    return d - 1
