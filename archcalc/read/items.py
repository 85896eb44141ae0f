"""One item of a layer list as written: its form (``{type: X, ...}``, ``{X: {...}}`` or a bare ``X``) and the
keys any item may carry, checked before the item is expanded (``graph``)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..core.errors import SpecError
from .validation import MAX_REF, check_text, closest, quoted
from .yamlio import YDict


def split(raw: Any, line: int | None, where: str) -> tuple[str, Mapping[str, Any]]:
    """(type or block name, body) of an item in any form: ``{type: X, ...}``, ``{X: {...}}`` or ``X``."""
    if isinstance(raw, str):
        return raw, YDict()
    if isinstance(raw, Mapping):
        if "type" in raw:
            if not isinstance(raw["type"], str):
                raise SpecError(f"type must be a layer type name, got {raw['type']!r}", line=line, path=where)
            return raw["type"], {k: v for k, v in raw.items() if k != "type"}
        if len(raw) == 1:
            ((key, body),) = raw.items()
            if body is None:
                body = YDict()
            if isinstance(key, str) and isinstance(body, Mapping):
                if "type" in body:
                    raise SpecError(f"the compact form {key}: {{...}} cannot also set type", line=line, path=where)
                return key, body
            if isinstance(key, str):
                return key, short_form(key, body, line, where)
    raise SpecError("a layer needs a type", line=line, path=where,
                    hint="write {type: conv2d, ...}, the compact form {conv2d: {...}}, or a bare name such as relu")


# A group given its list alone: the list is its obvious field (``residual: [...]`` is its body, with the identity
# as the shortcut).
GROUP_LIST = {"residual": "body", "sequential": "layers"}


def short_form(key: str, value: Any, line: int | None, where: str) -> YDict:
    """``{key: value}`` where value is not a mapping: a group's list, or a Keras layer's first positional argument
    (``MaxPool2D: 2`` as Keras' ``MaxPool2D(2)``); anything else is refused, showing the form to write."""
    from . import keras
    field = GROUP_LIST.get(key) if isinstance(value, list) else None
    field = field or keras.first_argument(key)
    if field is not None:
        body = YDict({field: value})
        body.line = line or 0
        body.lines = {field: line or 0}
        return body
    shown = quoted(value)
    if key in GROUP_LIST or key == "parallel":
        form = {"residual": "residual: {body: [...], shortcut: [...]}", "sequential": "sequential: {layers: [...]}",
                "parallel": "parallel: {branches: {a: [...], b: [...]}, merge: add}"}[key]
        raise SpecError(f"{key}: {shown} is not a {key}", line=line, path=where, hint=f"write {form}")
    fields = _fields(key)
    if fields is None:
        raise SpecError(f"{key}: {shown} gives a value, not a mapping of options", line=line, path=where,
                        hint=f"write {key}: {{FIELD: VALUE, ...}}")
    if not fields:
        raise SpecError(f"{key}: {shown}: {key} takes no value", line=line, path=where,
                        hint=f"write the bare name {key}")
    raise SpecError(f"{key}: {shown} gives a value without its field", line=line, path=where,
                    hint=f"a layer's options are a mapping: write {key}: {{{fields[0]}: {shown}}}")


def _fields(key: str) -> list[str] | None:
    """A layer type's own fields, the required ones first (None: not a layer type)."""
    from ..core.declare import REQUIRED
    from ..layers import LAYER_TYPES, LayerSpec
    entry = LAYER_TYPES.get(key)
    if entry is None:
        return None
    fields = {n: f for n, f in entry.model.FIELDS.items() if n not in LayerSpec.FIELDS and n != "call"}
    return sorted(fields, key=lambda n: fields[n].default is not REQUIRED)


def copy_body(body: Mapping[str, Any]) -> YDict:
    """A mutable copy that keeps the YAML line of each key (for error messages)."""
    out = YDict(body)
    out.line = getattr(body, "line", 0)
    out.lines = dict(getattr(body, "lines", {}))
    return out


def refs(value: Any) -> tuple[str, ...] | None:
    """``from:``: the one earlier tensor an item reads (None: the previous output)."""
    if value is None:
        return None
    if isinstance(value, str):
        return (check_text(value, "from:", MAX_REF),)
    raise SpecError(f"from: must be the name of an earlier layer or block, got {quoted(value)}")


def plain_name(value: Any, what: str) -> str | None:
    """``name:`` or ``save:``: a name without dots (a dot separates the parts of a path)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or "." in value:
        raise SpecError(f"{what} must be a plain name without dots, got {quoted(value)}")
    return check_text(value, what)


def dotted_name(value: Any, what: str) -> str | None:
    """``name:``: a name, or a dotted one (``inner_blocks.3.0``, to mirror a torch module's path) whose parts are
    not empty."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or "" in value.split("."):
        raise SpecError(f"{what} must be a name (its parts, if dotted, not empty), got {quoted(value)}")
    return check_text(value, what)


_FIELD = re.compile(r"\$\{([^{}]*)\}")


def interpolate(value: Any, env: Mapping[str, Any], what: str) -> Any:
    """A name or reference with ``${expr}`` parts replaced by their integer values (``branches.${j}``, inside a loop
    over ``j``); other text, braces and dollars included, unchanged. The expressions go to the whitelisting
    evaluator only."""
    if not isinstance(value, str) or "${" not in value:
        return value
    from ..core.expr import evaluate

    def one(match: re.Match[str]) -> str:
        result = evaluate(match.group(1), env)
        if isinstance(result, bool) or not isinstance(result, int):
            raise SpecError(f"{what} {quoted(value)}: ${{{match.group(1)}}} must be an integer, got {quoted(result)}",
                            hint="a name can hold integers of the variables and repeat indices, not symbols")
        return str(result)
    out = _FIELD.sub(one, value)
    if "${" in out:
        raise SpecError(f"{what} {quoted(value)} has an unclosed ${{", hint="write ${expression} in a name")
    return out


def need(body: Mapping[str, Any], key: str, owner: str) -> Any:
    """A structure's required key (a layer list)."""
    if key not in body:
        raise SpecError(f"{owner} needs {key}:", hint=f"add {key}: [...]")
    return body[key]


def only(body: Mapping[str, Any], allowed: tuple[str, ...], owner: str) -> None:
    """Refuse a key a structure does not know, with the closest one it does."""
    for key in body:
        if key not in allowed:
            close = closest(str(key), list(allowed), 1)
            raise SpecError(f"unknown field {key!r} in {owner}",
                            hint=f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}")
