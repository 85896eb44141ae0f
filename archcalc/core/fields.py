"""Field kinds shared by the spec models: sizes, per-axis values, padding, flags.

Every numeric field accepts a literal or an expression string (``"4 * width"``). Expressions are
evaluated by the safe evaluator with the names in the validation context (``context={"env": ...}``),
so the models stay strict about the *values* while a spec may compute them.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ValidationInfo

from .declare import Kind, checked
from .errors import ArchcalcError
from .num import is_concrete, rational

_EXPR_SCHEMA = {"type": "string", "description": "an expression over declared names, e.g. '4 * width'"}


def fail(message: str, hint: str | None = None) -> PydanticCustomError:
    return PydanticCustomError("archcalc", "{message}", {"message": message, "hint": hint or ""})


def _env(info: ValidationInfo | None) -> dict[str, Any]:
    ctx = info.context if info is not None else None
    return (ctx or {}).get("env", {})


def resolve(value: Any, info: ValidationInfo | None) -> Any:
    """Evaluate an expression string; pass numbers and symbols through unchanged."""
    if isinstance(value, str):
        from .expr import evaluate
        try:
            return evaluate(value, _env(info))
        except ArchcalcError as e:
            raise fail(e.message, e.hint) from None
    return value


def _integer(value: Any, info: ValidationInfo | None, minimum: int, what: str) -> Any:
    value = resolve(value, info)
    if isinstance(value, bool):
        raise fail(f"expected {what}, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if is_concrete(value):
        value = rational(value)
        if not isinstance(value, int):
            raise fail(f"expected {what}, got {value}")
        if value < minimum:
            raise fail(f"expected {what}, got {value}", "sizes must be positive" if minimum else None)
        return value
    if type(value).__module__.startswith("sympy"):
        return value  # a symbol carries its own assumptions (positive integer)
    raise fail(f"expected {what}, got {value!r}")


def positive_int(value: Any, info: ValidationInfo | None) -> Any:
    return _integer(value, info, 1, "a positive integer")


def nonneg_int(value: Any, info: ValidationInfo | None) -> Any:
    return _integer(value, info, 0, "an integer >= 0")


def any_int(value: Any, info: ValidationInfo | None) -> Any:
    return _integer(value, info, -(2**63), "an integer")


def flag(value: Any, info: ValidationInfo | None) -> bool:
    try:
        value = resolve(value, info)
    except PydanticCustomError as e:
        if isinstance(value, str) and value.strip().isidentifier():  # a word such as 'maybe', not an expression
            hint = (e.context or {}).get("hint") or ""
            raise fail(f"expected true or false, got {value!r}",
                       hint if hint.startswith("did you mean") else "write true or false") from None
        raise
    if not isinstance(value, bool):
        raise fail(f"expected true or false, got {value!r}")
    return value


def number(value: Any, info: ValidationInfo | None) -> Any:
    value = resolve(value, info)
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not is_concrete(value):
        raise fail(f"expected a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise fail(f"expected a finite number, got {value!r}")
    return rational(value)


def per_axis(check: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A scalar applies to every spatial axis; a list gives one value per axis."""
    def validate(value: Any, info: ValidationInfo | None) -> Any:
        if isinstance(value, (list, tuple)):
            if not value:
                raise fail("expected a value or a non-empty list of values")
            return tuple(check(v, info) for v in value)
        return check(value, info)
    return validate


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, _EXPR_SCHEMA]}


def _axes_json(schema: dict[str, Any]) -> dict[str, Any]:
    item = _json(schema)
    return {"anyOf": [schema, _EXPR_SCHEMA, {"type": "array", "items": item, "minItems": 1}]}


_POS = {"type": "integer", "minimum": 1}
_NONNEG = {"type": "integer", "minimum": 0}

PositiveInt: Kind = checked(positive_int, _json(_POS))
NonNegInt: Kind = checked(nonneg_int, _json(_NONNEG))
Int: Kind = checked(any_int, _json({"type": "integer"}))
Flag: Kind = checked(flag, _json({"type": "boolean"}))
Number: Kind = checked(number, _json({"type": "number"}))
PositiveAxes: Kind = checked(per_axis(positive_int), _axes_json(_POS))
NonNegAxes: Kind = checked(per_axis(nonneg_int), _axes_json(_NONNEG))
IntList: Kind = checked(per_axis(any_int), {"type": "array", "items": _json({"type": "integer"})})
IntAxes: Kind = checked(per_axis(any_int), _axes_json({"type": "integer"}))  # one int, or a list (torch.roll's)


def _padding(value: Any, info: ValidationInfo | None) -> Any:
    if value in ("same", "valid"):
        return value
    return per_axis(nonneg_int)(value, info)


Padding: Kind = checked(_padding, {"anyOf": [{"enum": ["same", "valid"]}, _axes_json(_NONNEG)]})
# A convolution's padding may also be Keras' 'causal' (1-D: all of it before the input).
ConvPadding: Kind = checked(lambda v, info: v if v == "causal" else _padding(v, info),
                            {"anyOf": [{"enum": ["same", "valid", "causal"]}, _axes_json(_NONNEG)]})
