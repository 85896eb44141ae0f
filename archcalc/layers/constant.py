"""``scalar_mul``: a parameter-free multiply by a constant, ``x * factor ** exponent`` (Gemma's embedding x sqrt(d):
factor width, exponent 1/2; DeiT's average of its two heads, (a + b) / 2: factor 1/2).

Spec expressions are exact (whole exponents only), so a root is written as its exponent here; the constant is
evaluated, in floating point, only by the exported code. No count depends on its value."""
from __future__ import annotations

from typing import Any

from pydantic_core import PydanticCustomError

from ..core.declare import checked, field
from ..core.fields import Flag, Number, fail, number, resolve
from ..core.num import prod
from .base import Cost, LayerSpec, Shape, formula


def constant(value: Any, info: Any) -> Any:
    """A number, or an expression of the variables; a symbol stays a symbol (the counts do not depend on it)."""
    resolved = resolve(value, info)
    if not isinstance(resolved, bool) and type(resolved).__module__.startswith("sympy"):
        return resolved
    try:
        return number(resolved, info)
    except PydanticCustomError:
        raise fail(f"factor: expected a number or an expression, got {value!r}",
                   "e.g. factor: 0.5, or factor: width with exponent: 0.5 (Gemma)") from None


class ScalarMulSpec(LayerSpec):
    """y = x * factor ** exponent, one multiply per element, no parameters; the shape is unchanged."""

    TYPES = ("scalar_mul",)
    factor = field(checked(constant, Number.json), description="The constant (its base with an exponent): a "
                                                                "number or an expression of the variables.")
    exponent = field(Number, 1, "Power the factor is raised to: 1/2 for a square root (Gemma's x sqrt(width)), "
                                "-1 to divide.")
    buffer = field(Flag, False, "The constant held as a one-element tensor buffer, 1 buffer (transformers' Gemma "
                                "keeps embed_scale so); false: a Python number, nothing held.")
    kind = "elementwise"


@formula(ScalarMulSpec)
def scalar_mul(spec: ScalarMulSpec, x: Shape) -> Cost:
    """One multiply per element, whatever the factor; each output reads the input at its own position."""
    return Cost(shape=x, buffers=1 if spec.buffer else 0, flops={"elementwise": prod(x)})
