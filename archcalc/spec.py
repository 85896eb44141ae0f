"""Reading a spec: YAML text -> validated ``Network``. Pydantic errors become one-line ``SpecError``s.

The top-level keys are ``name``, ``description``, ``input``, ``batch``, ``variables`` and ``layers``.
A layer is a mapping with ``type`` (``{type: conv2d, out_channels: 64}``), the compact form
``{conv2d: {out_channels: 64}}``, or a bare type name (``relu``).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ArchcalcError, InputError, SpecError
from .fields import PositiveAxes, PositiveInt
from .layers import REGISTRY, LayerSpec, closest_type
from .yamlio import YDict, line_of, load_yaml


class Header(BaseModel):
    """Everything in a spec except the layers, which are validated one by one by their own models."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(description="Name of the network.")
    description: str | None = Field(None, description="Free text.")
    input: PositiveAxes = Field(description="Per-sample input shape, channels first, batch excluded: "
                                            "[3, 224, 224], [1, 100] or [16, 32, 32, 32].")
    batch: PositiveInt = Field(1, description="Batch size; MACs, FLOPs and activations scale with it.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Named values (numbers or "
                                      "expressions over earlier names) usable in any numeric field and "
                                      "overridable with --set NAME=VALUE.")
    layers: list[Any] = Field(description="The layers, applied in order.")


@dataclass
class Layer:
    """A validated layer with where it came from."""

    spec: LayerSpec
    name: str
    line: int | None


@dataclass
class Network:
    """A validated spec, ready for ``analyze``."""

    name: str
    input: tuple[Any, ...]
    batch: Any
    layers: list[Layer]
    variables: dict[str, Any]
    file: str = "<spec>"
    raw: Any = field(default=None, repr=False)


def read_text(source: str | os.PathLike[str]) -> tuple[str, str]:
    """(text, display name) of a spec file; ``-`` reads standard input."""
    if str(source) == "-":
        import sys
        return sys.stdin.read(), "<stdin>"
    path = Path(source)
    shown = str(source)
    if not path.exists():
        raise InputError(f"no such file: {shown}", file=shown, hint="check the path")
    if path.is_dir():
        specs = sorted(p.name for p in path.glob("*.yaml"))[:3]
        raise InputError(f"{shown} is a directory, not a spec file", file=shown,
                         hint=f"pass one file, e.g. {path / specs[0]}" if specs else "pass a .yaml file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {shown}: {e.strerror}", file=shown) from None
    try:
        return data.decode("utf-8-sig"), shown
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError("the file is not UTF-8 text", file=shown, line=line,
                         hint="save it as UTF-8") from None


def load(source: str | os.PathLike[str] | Mapping[str, Any], **overrides: Any) -> Network:
    """A validated network from a path, YAML text, or an already-parsed mapping."""
    if isinstance(source, Mapping):
        return build(source, "<dict>", overrides)
    if isinstance(source, str) and ("\n" in source or ":" in source and not Path(source).exists()):
        return build(load_yaml(source, "<string>"), "<string>", overrides)
    text, shown = read_text(source)
    return build(load_yaml(text, shown), shown, overrides)


def build(raw: Any, file: str, overrides: Mapping[str, Any] | None = None) -> Network:
    """Validate parsed YAML into a ``Network``; ``overrides`` replace variables, ``batch`` or ``input``."""
    try:
        return _build(raw, file, dict(overrides or {}))
    except ArchcalcError as e:
        raise e.locate(file=file) from None


def _build(raw: Any, file: str, overrides: dict[str, Any]) -> Network:
    if raw is None:
        raise SpecError("the spec is empty", line=1, hint="start with name:, input: and layers:")
    if not isinstance(raw, Mapping):
        raise SpecError(f"a spec is a mapping with name, input and layers, not a {type(raw).__name__}",
                        line=line_of(raw), hint="see archcalc schema")
    env = _variables(raw, overrides)
    header_data = {k: v for k, v in raw.items()}
    for key in ("batch", "input"):
        if key in overrides:
            header_data[key] = overrides.pop(key)
    if overrides:
        name = next(iter(overrides))
        known = ", ".join(["batch", "input", *env])
        raise SpecError(f"--set {name}: no such variable", hint=f"settable names: {known}")
    try:
        header = Header.model_validate(header_data, context={"env": env})
    except ValidationError as e:
        raise _reword(e, raw, None) from None
    layers = raw["layers"]
    if not layers:
        raise SpecError("the spec has no layers", line=line_of(raw, "layers"), hint="add at least one layer")
    validated = [_layer(item, i, layers, env) for i, item in enumerate(layers)]
    _name_layers(validated)
    inp = header.input if isinstance(header.input, tuple) else (header.input,)
    return Network(header.name, inp, header.batch, validated, env, file, raw)


def _variables(raw: Mapping[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Resolve ``variables`` in order (each may use earlier ones); --set values replace declared ones."""
    from .expr import evaluate
    declared = raw.get("variables") or {}
    if not isinstance(declared, Mapping):
        raise SpecError("variables must be a mapping of names to values", line=line_of(raw, "variables"))
    env: dict[str, Any] = {}
    for name, value in declared.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError(f"variable name {name!r} is not an identifier", line=line_of(declared, name))
        if name in overrides:
            value = overrides.pop(name)
        try:
            env[name] = evaluate(value, env) if isinstance(value, str) else value
        except ArchcalcError as e:
            raise e.locate(line=line_of(declared, name), path=f"variables.{name}") from None
        if isinstance(env[name], bool) or not isinstance(env[name], (int, float)) \
                and not type(env[name]).__module__.startswith(("sympy", "fractions")):
            raise SpecError(f"variable {name} must be a number or an expression, got {env[name]!r}",
                            line=line_of(declared, name))
    return env


def _normalise(item: Any, index: int, layers: Any) -> tuple[str, Any]:
    """(type name, body mapping) of a layer in any of the three forms."""
    line = line_of(layers, index)
    where = f"layers[{index}]"
    if isinstance(item, str):
        return item, YDict()
    if not isinstance(item, Mapping):
        raise SpecError(f"a layer is a mapping such as {{type: conv2d, ...}} or a type name, "
                        f"not {item!r}", line=line, path=where)
    if "type" in item:
        if not isinstance(item["type"], str):
            raise SpecError(f"type must be a layer type name, got {item['type']!r}", line=line, path=where)
        return item["type"], item
    if len(item) == 1:
        (kind, body), = item.items()
        if body is None:
            body = YDict()
        if isinstance(kind, str) and isinstance(body, Mapping):
            if "type" in body:
                raise SpecError(f"the compact form {kind}: {{...}} cannot also set type", line=line, path=where)
            return kind, body
    raise SpecError("a layer needs a type", line=line, path=where,
                    hint="write {type: conv2d, ...} or the compact form {conv2d: {...}}")


def _layer(item: Any, index: int, layers: Any, env: dict[str, Any]) -> Layer:
    kind, body = _normalise(item, index, layers)
    line = line_of(layers, index)
    path = f"layers[{index}]" if not isinstance(body, Mapping) or not body.get("name") else str(body["name"])
    entry = REGISTRY.get(kind)
    if entry is None:
        close = closest_type(kind)
        raise SpecError(f"unknown layer type {kind!r}", line=line, path=path,
                        hint=f"did you mean {close!r}?" if close else "run archcalc schema for the layer types")
    data = dict(body)
    data["type"] = kind
    try:
        spec = entry.model.model_validate(data, context={"env": env})
    except ValidationError as e:
        raise _reword(e, body, path, entry.model, default_line=line) from None
    return Layer(spec, spec.name or "", line)


def _name_layers(layers: list[Layer]) -> None:
    """Generate ``<type>_<n>`` names (1-based per type) and refuse duplicates."""
    counts: dict[str, int] = {}
    seen: dict[str, Layer] = {}
    for layer in layers:
        if not layer.name:
            counts[layer.spec.type] = counts.get(layer.spec.type, 0) + 1
            layer.name = f"{layer.spec.type}_{counts[layer.spec.type]}"
        if layer.name in seen:
            raise SpecError(f"duplicate layer name {layer.name!r}", line=layer.line, path=layer.name,
                            hint=f"already used on line {seen[layer.name].line}; rename one")
        seen[layer.name] = layer


def _reword(error: ValidationError, data: Any, path: str | None, model: type[BaseModel] | None = None,
            default_line: int | None = None) -> SpecError:
    """The first pydantic error as one sentence, located at the YAML line of the offending key."""
    err = error.errors(include_url=False)[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    field = ".".join(str(p) for p in loc)
    node, line = data, default_line
    for part in loc:
        line = line_of(node, part) or line
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    kind, msg = err["type"], err["msg"]
    hint = None
    if kind == "missing":
        message = f"missing required field {field!r}"
        hint = f"add {field}: <value>"
    elif kind == "extra_forbidden":
        message = f"unknown field {field!r}"
        allowed = [f for f in (model or Header).model_fields if f != "type"]
        close = get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed fields: {', '.join(allowed)}"
    elif kind == "archcalc":
        ctx = err.get("ctx") or {}
        message = f"{field}: {ctx.get('message', msg)}"
        hint = ctx.get("hint") or None
    else:
        message = f"{field}: {msg[0].lower() + msg[1:]}" + (f", got {err['input']!r}" if "input" in err else "")
    return SpecError(message, line=line, path=path, hint=hint)
