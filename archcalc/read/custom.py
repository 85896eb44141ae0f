"""Custom layer types declared in a spec: their formulas are the spec's own expressions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.errors import ShapeError, SpecError
from ..core.expr import evaluate
from ..core.num import prod
from ..core.symbolic import is_symbolic
from ..layers.base import GLOBAL, Cost, Formula, Shape, Window
from .blocks import CustomDef, RFDef, bind_args


@dataclass(frozen=True)
class CustomLayer:
    """A call of a custom layer type: its definition, and the names its expressions see (arguments bound)."""

    type: str
    definition: CustomDef
    env: dict[str, Any]
    kind: str = "custom"  # the definition's declared kind (its FLOPs are reported under it), else "custom"
    name: str | None = None
    arity: str = "one"


def custom_layer(key: str, definition: CustomDef, body: dict[str, Any], env: dict[str, Any]
                 ) -> tuple[CustomLayer, Formula]:
    """Bind a call's arguments; the returned formula evaluates the definition's expressions."""
    bound = {**env, **bind_args(key, definition.args, body, env)}
    return CustomLayer(key, definition, bound, kind=definition.kind or "custom"), custom_cost


def _value(expr: Any, env: dict[str, Any], what: str, minimum: int | None = 0) -> Any:
    """An integer (or a symbolic expression) at least ``minimum``; anything else names the field."""
    value = evaluate(expr, env) if isinstance(expr, str) else expr
    if is_symbolic(value):
        return value
    if not isinstance(value, int) or isinstance(value, bool) or minimum is not None and value < minimum:
        bound = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise ShapeError(f"{what} is {value!r}", hint=f"it must be {bound} or an expression giving one")
    return value


def custom_cost(layer: CustomLayer, x: Shape) -> Cost:
    """Evaluate the user's formulas with the input dims bound to in0, in1, ..."""
    d = layer.definition
    env = {**layer.env, "in_rank": len(x), "in_numel": prod(x), **{f"in{i}": n for i, n in enumerate(x)}}
    shape = tuple(_value(e, env, f"output[{i}]", 1) for i, e in enumerate(d.output)) if d.output else x
    env.update({"out_numel": prod(shape), **{f"out{i}": n for i, n in enumerate(shape)}})
    macs = _value(d.macs, env, "macs")
    flops = _value(d.flops, env, "flops") if d.flops is not None else 2 * macs
    if d.rf == "global":
        rf: Any = GLOBAL
    elif d.rf == "pointwise":
        rf = None
    else:
        rf = _windows(d.rf, env, len(x) - 1)
    return Cost(shape=shape, params=_value(d.params, env, "params"), buffers=_value(d.buffers, env, "buffers"),
                macs=macs, flops={layer.kind: flops}, rf=rf)


def _windows(rf: RFDef, env: dict[str, Any], axes: int) -> tuple[Window, ...]:
    def per_axis(value: Any, what: str, minimum: int | None) -> list[Any]:
        values = value if isinstance(value, list) else [value] * axes
        if len(values) != axes:
            raise SpecError(f"rf.{what} has {len(values)} values for {axes} spatial axes")
        return [_value(v, env, f"rf.{what}", minimum) for v in values]
    kernels, strides = per_axis(rf.kernel, "kernel", 1), per_axis(rf.stride, "stride", 1)
    return tuple(Window(*w) for w in zip(kernels, strides, per_axis(rf.padding, "padding", None)))
