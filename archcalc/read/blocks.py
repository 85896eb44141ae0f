"""Models for what a spec defines besides layers: reusable blocks and custom layer types, and the binding of a
call's arguments to what the definition declares."""
from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from pydantic_core import ValidationError

from ..core.declare import ANY, TEXT, Model, choice, dict_of, either, field, list_of, maybe, nested
from ..core.errors import SpecError
from ..core.expr import evaluate
from ..core.num import decimal, is_concrete
from .validation import closest, reword


class ArgDef(Model):
    """A typed argument of a block or custom layer."""

    type = field(choice("int", "bool", "number"), "int", "int, bool or number.")
    default = field(ANY, None, "Value when the caller omits it; may be an expression over variables and "
                               "earlier arguments. No default: required.")
    description = field(maybe(TEXT), None, "What the argument means.")

    @classmethod
    def of(cls, value: Any) -> ArgDef:
        """Short forms: a type name (required), a mapping, or a bare default whose type is inferred."""
        if isinstance(value, ArgDef):
            return value
        if value in ("int", "bool", "number"):
            return cls.validate({"type": value})
        if isinstance(value, dict):
            try:
                return cls.validate(value)
            except ValidationError as e:
                raise reword(e, value, cls) from None
        if isinstance(value, bool):
            return cls.validate({"type": "bool", "default": value})
        if isinstance(value, int):
            return cls.validate({"type": "int", "default": value})
        if isinstance(value, float):
            return cls.validate({"type": "number", "default": value})
        if isinstance(value, str):
            return cls.validate({"type": "int", "default": value})  # an expression
        raise SpecError(f"cannot read argument declaration {value!r}",
                        hint="write int, bool, number, a default value, or {type: ..., default: ...}")

    def check(self, name: str, value: Any) -> Any:
        if self.type == "bool":
            ok = isinstance(value, bool)
        elif self.type == "int":
            ok = not isinstance(value, bool) and (isinstance(value, int) or not is_concrete(value)
                                                  and not isinstance(value, (float, Fraction)))
        else:
            ok = not isinstance(value, bool) and isinstance(value, (int, float, Fraction))
        if not ok:
            raise SpecError(f"argument {name!r} must be {'a ' + self.type if self.type != 'int' else 'an int'}, "
                            f"got {value!r}")
        return value


def bind_args(owner: str, declared: Mapping[str, Any], given: Mapping[str, Any], env: dict[str, Any]) -> dict:
    """Block or custom-layer arguments: given values (expressions in the caller's names), then defaults."""
    unknown = [k for k in given if k not in declared]
    if unknown:
        close = closest(unknown[0], list(declared), 1) if isinstance(unknown[0], str) else []
        raise SpecError(f"{owner} has no argument {unknown[0]!r}", hint=f"did you mean {close[0]!r}?" if close
                        else f"its arguments: {', '.join(declared) or 'none'}")
    bound: dict[str, Any] = {}
    for arg, spec in declared.items():
        spec = spec if isinstance(spec, ArgDef) else ArgDef.of(spec)
        if arg in given:
            value = given[arg]
            value = evaluate(value, env) if isinstance(value, str) else value
        elif spec.default is not None:
            value = spec.default
            value = evaluate(value, {**env, **bound}) if isinstance(value, str) else value
        else:
            raise SpecError(f"{owner} needs argument {arg!r}", hint=f"add {arg}: <{spec.type}>")
        value = spec.check(arg, value)
        if isinstance(value, float):  # exact from here on (0.5 is 1/2), as variables are
            if not math.isfinite(value):
                raise SpecError(f"argument {arg!r} is {value!r}, not a finite number")
            value = decimal(value)
        bound[arg] = value
    return bound


class BlockDef(Model):
    """A reusable block: typed arguments and a list of layers that may use them in expressions."""

    description = field(maybe(TEXT), None, "What the block is.")
    args = field(dict_of(ANY), {}, "Arguments: name -> int | bool | number, a default value, or "
                                   "{type, default, description}.")
    layers = field(list_of(ANY), description="The block's layers; fields may use the arguments in expressions.")


class RFDef(Model):
    """The local receptive-field step of a custom layer, per spatial axis (scalars broadcast)."""

    kernel = field(ANY, 1, "Window size in input positions.")
    stride = field(ANY, 1, "Step between outputs in input positions.")
    padding = field(ANY, 0, "Left padding in input positions.")


# What a custom op can declare itself to be: the op kinds of the layer models (LayerSpec.kind), with reshape for
# data movement. A counting preset counts a custom layer by the rule its file gives for the kind.
CUSTOM_KINDS = ("conv", "linear", "matmul", "attention", "norm", "activation", "softmax", "elementwise", "pool",
                "embedding", "reshape", "other")


class CustomDef(Model):
    """A layer type declared in the spec by formulas (the Keras Lambda, or any op archcalc lacks).

    Expressions may use the arguments, the variables, ``in0, in1, ...`` (per-sample input dims, channels
    first), ``in_rank`` and ``in_numel``; params/buffers/macs/flops/rf may also use ``out0, ...`` and
    ``out_numel``.
    """

    description = field(maybe(TEXT), None, "What the layer does.")
    args = field(dict_of(ANY), {}, "Arguments, as for blocks.")
    output = field(maybe(list_of(ANY)), None, "Per-sample output shape expressions; default: the input shape.")
    params = field(ANY, 0, "Trainable parameters (expression).")
    buffers = field(ANY, 0, "Non-trainable state (expression).")
    macs = field(ANY, 0, "Multiply-accumulates per sample (expression).")
    flops = field(ANY, None, "FLOPs per sample (expression); default 2 * macs.")
    rf = field(either(choice("global", "pointwise"), nested(lambda: RFDef)), "pointwise",
               "Receptive-field step: 'pointwise', 'global', or {kernel, stride, padding}.")
    kind = field(maybe(choice(*CUSTOM_KINDS)), None,
                 "The kind of op it is, for other tools' counting conventions: a preset counts it as its tool counts "
                 "an op of that kind written in PyTorch (macs as conv, linear, matmul or attention MACs; 0 for "
                 "elementwise work, ...). Without a kind a preset refuses it. archcalc's own convention always "
                 "uses the formulas above.")
