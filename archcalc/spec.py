"""Reading a spec: YAML text -> validated ``Network``. Pydantic errors become one-line ``SpecError``s.

The top-level keys are ``name``, ``description``, ``input``, ``batch``, ``layout``, ``variables``,
``blocks``, ``custom`` and ``layers``. Expanding the layers into a tree is ``graph.py``'s job.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ArchcalcError, InputError, SpecError
from .fields import PositiveAxes, PositiveInt
from .graph import STRUCTURES, Expander, Node, Scope, reword
from .layers import LAYER_TYPES
from .yamlio import line_of, load_yaml


class Header(BaseModel):
    """Everything in a spec except the layers, which are validated one by one by their own models."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(description="Name of the network.")
    description: str | None = Field(None, description="Free text.")
    input: PositiveAxes = Field(description="Per-sample input shape, batch excluded, channels first unless "
                                            "layout says otherwise: [3, 224, 224], [1, 100], [16, 32, 32, 32].")
    layout: Literal["channels_first", "channels_last"] = Field(
        "channels_first", description="Axis order of input and reported shapes; channels_last is Keras' "
                                      "[H, W, C]. The analysis itself is the same.")
    batch: PositiveInt = Field(1, description="Batch size; MACs, FLOPs and activations scale with it.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Named values (numbers or "
                                      "expressions over earlier names) usable in any numeric field and "
                                      "overridable with --set NAME=VALUE.")
    # Validated by BlockDef / CustomDef (blocks.py) only when present; the JSON Schema shows those models.
    blocks: dict[str, Any] = Field(default_factory=dict, description="Reusable blocks by name; call "
                                   "one like a layer type, with its arguments.")
    custom: dict[str, Any] = Field(default_factory=dict, description="Layer types declared by formulas.")
    layers: list[Any] = Field(description="The layers, applied in order.")


@dataclass
class Network:
    """A validated spec, ready for ``analyze``."""

    name: str
    input: tuple[Any, ...]  # channels first
    batch: Any
    nodes: list[Node]
    variables: dict[str, Any]
    layout: str = "channels_first"
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
        raise reword(e, raw, Header) from None
    if not raw["layers"]:
        raise SpecError("the spec has no layers", line=line_of(raw, "layers"), hint="add at least one layer")
    blocks, custom = _definitions(raw, header)
    last = header.layout == "channels_last"
    nodes = Expander(blocks, custom, last).expand(raw["layers"], env, Scope(""), "layers")
    inp = header.input if isinstance(header.input, tuple) else (header.input,)
    if last and len(inp) > 1:
        inp = (inp[-1], *inp[:-1])  # the engine works channels first
    return Network(header.name, inp, header.batch, nodes, env, header.layout, file, raw)


def _definitions(raw: Mapping[str, Any], header: Header) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validated block and custom-layer definitions; their names must not shadow layer types or each other."""
    if not header.blocks and not header.custom:
        return {}, {}
    from .blocks import BlockDef, CustomDef
    out: list[dict[str, Any]] = []
    for section, model in (("blocks", BlockDef), ("custom", CustomDef)):
        defs: dict[str, Any] = {}
        for name, body in getattr(header, section).items():
            line = line_of(raw.get(section), name)
            if not isinstance(name, str) or not name.isidentifier():
                raise SpecError(f"{section} name {name!r} must be an identifier", line=line)
            from .keras import lookup
            if name in LAYER_TYPES or name in STRUCTURES or lookup(name):
                raise SpecError(f"{section} name {name!r} is already a layer type", line=line,
                                hint="choose another name")
            if section == "custom" and name in header.blocks:
                raise SpecError(f"{name!r} is both a block and a custom layer", line=line, hint="rename one")
            try:
                defs[name] = model.model_validate(body)
            except ValidationError as e:
                raise reword(e, body, model).locate(line=line, path=f"{section}.{name}") from None
        out.append(defs)
    return out[0], out[1]


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
