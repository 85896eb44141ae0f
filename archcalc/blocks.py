"""Models for what a spec defines besides layers: reusable blocks and custom layer types."""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import SpecError
from .num import is_concrete


class ArgDef(BaseModel):
    """A typed argument of a block or custom layer."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: Literal["int", "bool", "number"] = Field("int", description="int, bool or number.")
    default: Any = Field(None, description="Value when the caller omits it; may be an expression over "
                                           "variables and earlier arguments. No default: required.")
    description: str | None = Field(None, description="What the argument means.")

    @classmethod
    def of(cls, value: Any) -> ArgDef:
        """Short forms: a type name (required), a mapping, or a bare default whose type is inferred."""
        if isinstance(value, ArgDef):
            return value
        if value in ("int", "bool", "number"):
            return cls(type=value)
        if isinstance(value, dict):
            return cls.model_validate(value)
        if isinstance(value, bool):
            return cls(type="bool", default=value)
        if isinstance(value, int):
            return cls(type="int", default=value)
        if isinstance(value, float):
            return cls(type="number", default=value)
        if isinstance(value, str):
            return cls(type="int", default=value)  # an expression
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


class BlockDef(BaseModel):
    """A reusable block: typed arguments and a list of layers that may use them in expressions."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    description: str | None = Field(None, description="What the block is.")
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments: name -> int | bool | number, "
                                 "a default value, or {type, default, description}.")
    layers: list[Any] = Field(description="The block's layers; fields may use the arguments in expressions.")


class RFDef(BaseModel):
    """The local receptive-field step of a custom layer, per spatial axis (scalars broadcast)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    kernel: Any = Field(1, description="Window size in input positions.")
    stride: Any = Field(1, description="Step between outputs in input positions.")
    padding: Any = Field(0, description="Left padding in input positions.")


class CustomDef(BaseModel):
    """A layer type declared in the spec by formulas (the Keras Lambda, or any op archcalc lacks).

    Expressions may use the arguments, the variables, ``in0, in1, ...`` (per-sample input dims, channels
    first), ``in_rank`` and ``in_numel``; params/buffers/macs/flops/rf may also use ``out0, ...`` and
    ``out_numel``.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    description: str | None = Field(None, description="What the layer does.")
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments, as for blocks.")
    output: list[Any] | None = Field(None, description="Per-sample output shape expressions; default: the "
                                                        "input shape.")
    params: Any = Field(0, description="Trainable parameters (expression).")
    buffers: Any = Field(0, description="Non-trainable state (expression).")
    macs: Any = Field(0, description="Multiply-accumulates per sample (expression).")
    flops: Any = Field(None, description="FLOPs per sample (expression); default 2 * macs.")
    rf: RFDef | Literal["global", "pointwise"] = Field(
        "pointwise", description="Receptive-field step: 'pointwise', 'global', or {kernel, stride, padding}.")
