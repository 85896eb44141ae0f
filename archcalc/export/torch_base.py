"""The machinery of the PyTorch translations: what a layer's translation sees (``Site``), the registry of
translations (``TORCH``, one entry per layer type) and of the helper code they share (``HELPERS``), and writing
Python values as source.

A translation ``TORCH[type](site, args)`` returns the layer's forward expression (``args`` name its input tensors)
and registers on ``site`` the submodule and helpers it needs. Shapes on a site are archcalc's per-sample shapes
as the layer's formula saw them (channels first for a channels-first layer, whose arguments are then channels
first too), batch excluded; the generated code is batch first, so a ``dim`` counted as in torch (0 the batch) is
used as it is.
"""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any, NamedTuple

from ..core.errors import SpecError
from ..core.escape import py_comment, py_str
from ..layers.base import per_axis

Shape = tuple[int, ...]


class Site:
    """One layer as its translation sees it: spec and shapes, and hooks to add code to the module."""

    def __init__(self, spec: Any, inputs: tuple[Shape, ...], output: Shape, path: str, writer: Any,
                 owner: tuple[str, str, Any, Shape] | None = None) -> None:
        self.spec = spec
        self.inputs = inputs  # per-sample shapes of the tensors it reads
        self.output = output
        self.path = path
        self.writer = writer
        self.owner = owner  # (attribute, type, spec, input shape) of the layer a tied_to names

    @property
    def x(self) -> Shape:
        return self.inputs[0]

    @property
    def attr(self) -> str:
        return str(self.writer.attr(self.path))

    def module(self, constructor: str, part: str = "") -> str:
        """Register ``self.<attr> = constructor`` in ``__init__`` (a submodule, or a parameter; ``part`` names a
        second one of the layer's, as ``<attr>_<part>``); returns ``self.<attr>``."""
        attr = str(self.writer.attr(f"{self.path}.{part}")) if part else self.attr
        self.writer.init.append(f"self.{attr} = {constructor}")
        return f"self.{attr}"

    def init(self, line: str) -> None:
        self.writer.init.append(line)

    def helper(self, name: str) -> str:
        self.writer.helpers.add(name)
        return name


Translation = Callable[[Site, list[str]], str]
TORCH: dict[str, Translation] = {}


def torch_code(*types: str) -> Callable[[Translation], Translation]:
    def register(fn: Translation) -> Translation:
        for name in types:
            if name in TORCH:
                raise RuntimeError(f"layer type {name!r} translated twice")
            TORCH[name] = fn
        return fn
    return register


# ---- writing Python ----

def lit(v: Any) -> str:
    """A value as Python source: per-axis tuples stay tuples, exact fractions become floats, text a repr()."""
    if isinstance(v, Fraction):
        v = v.numerator if v.denominator == 1 else _float(v)
    if isinstance(v, (tuple, list)):
        items = [lit(i) for i in v]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(v, str):
        return py_str(v)  # double quotes when the text has none, as the rest of the file
    if isinstance(v, float) and v != v or v in (float("inf"), float("-inf")):
        raise SpecError(f"the value {v} has no Python literal", hint="use a finite number")
    if not isinstance(v, (bool, int, float)) and v is not None:
        raise TypeError(f"no Python literal for {type(v).__name__}")  # a bug: a value of an unforeseen type
    return repr(v)


def _float(v: Fraction) -> float:
    """A fraction as the float torch takes; refused where no float holds it (an overflow or a silent 0.0)."""
    from ..core.num import FLOAT_RANGE, as_float, fmt_number
    f = as_float(v)
    if f is None:
        raise SpecError(f"the value {fmt_number(v, '.3g')} has no float (floats reach {FLOAT_RANGE}), and "
                        "PyTorch takes a float here", hint="use a value within float range")
    return f


def compact(v: Any) -> Any:
    """One value for a per-axis tuple whose entries are all equal."""
    return v[0] if isinstance(v, tuple) and v and all(i == v[0] for i in v) else v


def _default(v: Any, default: Any) -> bool:
    if isinstance(v, tuple):
        return not isinstance(default, tuple) and all(_default(i, default) for i in v)
    if v is None or default is None or isinstance(v, bool) or isinstance(default, bool):
        return v is default
    return bool(v == default)


def kw(*items: tuple[str, Any, Any]) -> list[str]:
    """``name=value`` for each (name, value, torch's default) whose value is not the default."""
    return [f"{name}={lit(compact(v))}" for name, v, default in items if not _default(v, default)]


def call(fn: str, *args: Any) -> str:
    return f"{fn}({', '.join(str(a) for a in args)})"


def f_pad(x: str, pads: list[tuple[int, int]], *extra: str) -> str:
    """F.pad with (before, after) per spatial axis in axis order (torch lists the last axis first)."""
    flat = tuple(n for pair in reversed(pads) for n in pair)
    return call("F.pad", x, lit(flat), *extra)


def axes(site: Site, *fields: tuple[Any, str]) -> list[tuple[Any, ...]]:
    return [per_axis(value, site.spec.ndim, name) for value, name in fields]


class Helper(NamedTuple):
    """Code that a generated file includes once when a layer uses it, with the helpers it requires."""

    source: str
    requires: tuple[str, ...] = ()


HELPERS: dict[str, Helper] = {}  # in the order a generated file lists them


def define(name: str, source: str, *requires: str) -> None:
    if name in HELPERS:
        raise RuntimeError(f"helper {name!r} defined twice")
    HELPERS[name] = Helper(source, requires)


def tie(site: Site, shape: Shape) -> None:
    """Share the weight of the layer ``tied_to`` names: one Parameter object, which parameters() yields once."""
    assert site.owner is not None  # the engine has checked that the layer exists
    attr, kind, spec, x = site.owner
    theirs = {"embedding": lambda: (spec.num_embeddings, spec.embedding_dim),
              "linear": lambda: (spec.out_features, x[-1])}.get(kind, lambda: None)()
    if theirs is None:
        raise SpecError(f"tied_to {site.spec.tied_to!r} names a {kind} layer; the export ties weights only to an "
                        "embedding or a linear layer", hint="tie to an embedding or linear layer")
    if tuple(theirs) != tuple(shape):
        raise SpecError(f"tied_to {site.spec.tied_to!r}: its weight is {list(theirs)} but this layer's is "
                        f"{list(shape)}", hint="tie layers whose weights have the same shape")
    site.init(f"self.{site.attr}.weight = self.{attr}.weight  # "
              + py_comment(f"tied_to {site.spec.tied_to}: one shared weight"))
