"""Reading a spec: YAML text -> validated ``Network``. Pydantic errors become one-line ``SpecError``s.

The top-level keys are ``name``, ``description``, ``input``, ``batch``, ``layout``, ``variables``,
``blocks``, ``custom`` and ``layers``. Expanding the layers into a tree is ``graph.py``'s job.
"""
from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic_core import ValidationError

from ..core.declare import ANY, TEXT, Model, choice, dict_of, field, list_of, maybe
from ..core.errors import ArchcalcError, InputError, SpecError
from ..core.fields import PositiveAxes, PositiveInt
from ..core.num import decimal
from ..layers import LAYER_TYPES
from .graph import STRUCTURES, Expander
from .nodes import Node, Scope
from .validation import MAX_NAME, MAX_REF, check_text, quoted, reword
from .yamlio import line_of, load_yaml


class Header(Model):
    """Everything in a spec except the layers, which are validated one by one by their own models."""

    name = field(TEXT, description="Name of the network.")
    description = field(maybe(TEXT), None, "Free text.")
    input = field(maybe(PositiveAxes), None, "Per-sample input shape, batch excluded, channels first unless "
                  "layout says otherwise: [3, 224, 224], [1, 100], [16, 32, 32, 32]. Required unless inputs is given.")
    inputs = field(maybe(dict_of(PositiveAxes)), None, "Several network inputs, by name (instead of input): "
                   "{input_ids: [S], decoder_input_ids: [T]}. The layers start from the first; a layer reads another "
                   "by its name (from:, inputs:, kv_from:), as a named tensor.")
    layout = field(choice("channels_first", "channels_last", "sequence"), "channels_first",
                   "Axis order of the tensors. channels_last is Keras': tensors are [*spatial, C] ([H, W, C], "
                   "sequences [T, features]) and every layer acts as Keras' does (convolutions, pools and norms on "
                   "the last axis as channels, Dense on the last axis, Reshape/Permute/Concatenate axes in that "
                   "order), and the table gives Keras' trainable / non-trainable split. sequence: the input is [T] "
                   "token ids or [T, d] vectors, and the receptive field runs along the positions T.")
    batch = field(PositiveInt, 1, "Batch size; MACs, FLOPs and activations scale with it.")
    variables = field(dict_of(ANY), {}, "Named values (numbers or expressions over earlier names) usable in any "
                                        "numeric field and overridable with --set NAME=VALUE.")
    # Validated by BlockDef / CustomDef (blocks.py) only when present; the JSON Schema shows those models.
    blocks = field(dict_of(ANY), {}, "Reusable blocks by name; call one like a layer type, with its arguments.")
    custom = field(dict_of(ANY), {}, "Layer types declared by formulas.")
    symbols = field(ANY, None, "Names that may stay symbolic: a list, or name -> {multiple_of: m} (e.g. H: "
                               "{multiple_of: 32}, so strided floors simplify). A symbol without a value in "
                               "variables makes the analysis symbolic.")
    layers = field(list_of(ANY), description="The layers, applied in order.")
    outputs = field(ANY, None, "The network's outputs, when it has several (an FPN's levels, auxiliary heads): a list "
                               "of earlier layer or saved names, or a mapping of output names to them. Each is "
                               "reported, kept alive to the end in --memory, and returned by the export (a tuple). "
                               "Default: the last layer's output.")


class Network:
    """A validated spec, ready for ``analyze``."""

    def __init__(self, name: str, input: tuple[Any, ...], batch: Any, nodes: list[Node], variables: dict[str, Any],
                 layout: str = "channels_first", file: str = "<spec>", raw: Any = None, symbols: Any = None,
                 inputs: dict[str, tuple[Any, ...]] | None = None) -> None:
        self.name = name
        self.input = input  # per sample, in the declared order (channels last: [*spatial, C]); the first input
        # Every network input by name, the first one (``input``) first; a spec with ``input:`` has one, "input".
        self.inputs = inputs or {"input": input}
        self.batch = batch
        self.nodes = nodes
        self.variables = variables
        self.layout = layout
        self.file = file
        self.raw = raw  # the parsed YAML, kept so that analyze(**overrides) can rebuild
        self.symbols = symbols  # symbolic.Symbols when any name is a symbol
        self.overrides: dict[str, Any] = {}  # the values it was built with (build sets them): runs at other values
        self.outputs: list[tuple[str, str]] | None = None  # the outputs: header, (output name, tensor name) each
        self.outputs_line: int | None = None

    def __repr__(self) -> str:
        return f"Network({self.name!r}, input={list(self.input)}, batch={self.batch}, {len(self.nodes)} nodes)"


MAX_BYTES = 10 * 2**20  # the largest file archcalc reads (10 MiB); the zoo's largest spec is ~30 KB


def read_text(source: str | os.PathLike[str]) -> tuple[str, str]:
    """(text, display name) of a spec, hardware or convention file; ``-`` reads standard input.

    Only a regular file is opened, and only one of at most ``MAX_BYTES``: both are checked before reading,
    so that a FIFO, a device such as /dev/zero, or a huge file is one line rather than a hang or a
    MemoryError. Standard input is read up to the same limit.
    """
    if str(source) == "-":
        return _decode(_read_stdin(), "<stdin>"), "<stdin>"
    shown = str(source)
    try:
        info = os.stat(source)
    except FileNotFoundError:
        raise InputError(f"no such file: {shown}", file=shown, hint="check the path") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        raise InputError(f"cannot read {shown}: {getattr(e, 'strerror', None) or e}", file=shown) from None
    if stat.S_ISDIR(info.st_mode):
        path = Path(source)
        specs = sorted(p.name for p in path.glob("*.yaml"))[:3]
        raise InputError(f"{shown} is a directory, not a spec file", file=shown,
                         hint=f"pass one file, e.g. {path / specs[0]}" if specs else "pass a .yaml file")
    _check_regular(info, shown)
    try:
        # O_NONBLOCK: should a FIFO take the file's place after the check, opening it does not wait
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as f:
            _check_regular(os.fstat(f.fileno()), shown)
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise InputError(f"cannot read {shown}: {e.strerror}", file=shown) from None
    _check_size(len(data), shown)
    return _decode(data, shown), shown


def _check_regular(info: os.stat_result, shown: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else
                "a character device" if stat.S_ISCHR(info.st_mode) else
                "a block device" if stat.S_ISBLK(info.st_mode) else
                "a socket" if stat.S_ISSOCK(info.st_mode) else "a special file")
        raise InputError(f"this is {kind}, not a regular file", file=shown,
                         hint="archcalc reads regular files; a spec can also come on standard input as -")
    _check_size(info.st_size, shown)


def _check_size(size: int, shown: str) -> None:
    if size > MAX_BYTES:
        raise InputError(f"the file is larger than {MAX_BYTES // 2**20} MiB ({MAX_BYTES:,} bytes)", file=shown,
                         hint="a spec stays small with repeat: and blocks:")


def _read_stdin() -> bytes | str:
    import sys
    stream = sys.stdin
    if stream is None:  # started with standard input closed (archcalc - <&-)
        raise InputError("standard input is closed", file="<stdin>", hint="pipe a spec in: archcalc - < net.yaml")
    try:
        data = getattr(stream, "buffer", stream).read(MAX_BYTES + 1)
    except (OSError, ValueError) as e:  # ValueError: a closed stream
        raise InputError(f"cannot read standard input: {getattr(e, 'strerror', None) or e}", file="<stdin>",
                         hint="pipe a spec in: archcalc - < net.yaml") from None
    if len(data) > MAX_BYTES:
        raise InputError(f"standard input holds more than {MAX_BYTES // 2**20} MiB ({MAX_BYTES:,} bytes)",
                         file="<stdin>", hint="a spec stays small with repeat: and blocks:")
    return data


def _decode(data: bytes | str, shown: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError("the file is not UTF-8 text" if shown != "<stdin>" else "standard input is not UTF-8 text",
                         file=shown, line=line, hint="save it as UTF-8") from None


def load(source: str | os.PathLike[str] | Mapping[str, Any], *, symbolic: Iterable[str] = (),
         **overrides: Any) -> Network:
    """A validated network from a path, a zoo name (``"resnet18"``), YAML text, or an already-parsed mapping.

    ``overrides`` replace variables, ``batch`` or ``input``; ``symbolic`` names become symbols.
    """
    if isinstance(source, Mapping):
        return build(source, "<dict>", overrides, symbolic)
    if isinstance(source, str) and ("\n" in source or ":" in source and not Path(source).exists()):
        return build(load_yaml(source, "<string>"), "<string>", overrides, symbolic)
    if isinstance(source, str):
        from .zoo import resolve
        source = resolve(source)  # a zoo name (resnet18) when no file has that name
    text, shown = read_text(source)
    return build(load_yaml(text, shown), shown, overrides, symbolic)


def build(raw: Any, file: str, overrides: Mapping[str, Any] | None = None, symbolic: Iterable[str] = ()
          ) -> Network:
    """Validate parsed YAML into a ``Network``."""
    from ..core.symbolic import metered
    try:
        with metered():  # expressions over symbols spend from one budget of symbolic work (symbolic.py)
            network = _build(raw, file, dict(overrides or {}), tuple(symbolic))
            if raw.get("outputs") is not None:  # validated by Header as any value: read here
                network.outputs, network.outputs_line = _outputs(raw["outputs"], raw), line_of(raw, "outputs")
        network.overrides = dict(overrides or {})
        return network
    except ArchcalcError as e:
        raise e.locate(file=file) from None


def with_assumptions(raw: Any, assume: Mapping[str, int]) -> Any:
    """``raw`` (a parsed spec) as if its ``symbols:`` also declared ``assume``, name -> multiple_of (the command
    line's ``--assume H=multiple_of:32``); a copy: the spec as read is kept as it is."""
    if not assume or not isinstance(raw, Mapping):
        return raw
    declared = raw.get("symbols") or {}
    if isinstance(declared, list):
        declared = dict.fromkeys(declared)
    if not isinstance(declared, Mapping):
        return raw  # refused, with its line, when the spec is built
    merged = {**declared, **{name: {"multiple_of": m} for name, m in assume.items()}}
    copy = type(raw)(raw)
    for attribute in ("line", "lines"):  # a YAML mapping keeps the lines of its keys, for errors
        if hasattr(raw, attribute):
            setattr(copy, attribute, getattr(raw, attribute))
    copy["symbols"] = merged
    return copy


def rebuild(network: Network, **values: Any) -> Network:
    """``network`` built again from its spec with the values it was built with, then ``values`` (variables,
    ``batch``, ``input``); its symbols stay symbols unless given a value."""
    names = network.symbols.names if network.symbols else ()
    return build(network.raw, network.file, {**network.overrides, **values}, names)


def _build(raw: Any, file: str, overrides: dict[str, Any], symbolic: tuple[str, ...]) -> Network:
    if raw is None:
        raise SpecError("the spec is empty", line=1, hint="start with name:, input: and layers:")
    if not isinstance(raw, Mapping):
        kind = "list" if isinstance(raw, list) else type(raw).__name__
        raise SpecError(f"a spec is a mapping with name, input and layers, not a {kind}",
                        line=line_of(raw), hint="see archcalc schema")
    symbols = _symbols(raw, symbolic, overrides)
    env = _variables(raw, overrides, symbols.env if symbols else {})
    header_data = {k: v for k, v in raw.items()}
    if "input" in overrides and "inputs" in raw:
        raise SpecError("--set input: this spec declares several inputs (inputs:)", line=line_of(raw, "inputs"),
                        hint="set the variables their shapes use instead, e.g. --set T=128")
    for key in ("batch", "input"):
        if key in overrides:
            header_data[key] = overrides.pop(key)
    if overrides:
        name = next(iter(overrides))
        known = ", ".join(["batch", "input", *env])
        raise SpecError(f"--set {name}: no such variable", hint=f"settable names: {known}")
    try:
        header = Header.validate(header_data, {"env": env})
    except ValidationError as e:
        raise reword(e, raw, Header) from None
    try:
        check_text(header.name, "the network name")  # spaces and quotes are fine; line breaks are not
    except SpecError as e:
        raise e.locate(line=line_of(raw, "name")) from None
    if not raw["layers"]:
        raise SpecError("the spec has no layers", line=line_of(raw, "layers"), hint="add at least one layer")
    blocks, custom = _definitions(raw, header)
    last = header.layout == "channels_last"
    nodes = Expander(blocks, custom, last).expand(raw["layers"], env, Scope(""), "layers")
    inputs = _inputs(header, raw)
    inp = next(iter(inputs.values()))
    return Network(header.name, inp, header.batch, nodes, env, header.layout, file, raw, symbols, inputs)


def _inputs(header: Header, raw: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The network inputs by name: ``input:`` is one, named input; ``inputs:`` names several, the first first."""
    def shape(value: Any) -> tuple[Any, ...]:
        return value if isinstance(value, tuple) else (value,)
    if (header.input is None) == (header.inputs is None):
        raise SpecError("give the input shape as input: [..] or several as inputs: {name: [..], ...}, not both"
                        if header.input is not None else "missing required field 'input'",
                        line=line_of(raw, "inputs" if header.inputs is not None else "name"),
                        hint="input: [3, 224, 224] for one input; inputs: {tokens: [T], audio: [80, 3000]} for several")
    if header.input is not None:
        return {"input": shape(header.input)}
    if not header.inputs:
        raise SpecError("inputs: names no input", line=line_of(raw, "inputs"), hint="inputs: {name: [shape], ...}")
    for name in header.inputs:
        if not name.isidentifier() or len(name) > MAX_NAME:
            raise SpecError(f"input name {quoted(name)} must be an identifier (at most {MAX_NAME} characters)",
                            line=line_of(raw.get("inputs"), name), hint="e.g. decoder_input_ids")
    return {name: shape(value) for name, value in header.inputs.items()}


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
                raise SpecError(f"{section} name {quoted(name)} must be an identifier", line=line)
            if len(name) > MAX_NAME:
                raise SpecError(f"{section} name {quoted(name)} is {len(name):,} characters long, over the limit "
                                f"of {MAX_NAME}", line=line, hint="shorten it")
            from .keras import lookup
            if name in LAYER_TYPES or name in STRUCTURES or lookup(name):
                raise SpecError(f"{section} name {name!r} is already a layer type", line=line,
                                hint="choose another name")
            if section == "custom" and name in header.blocks:
                raise SpecError(f"{name!r} is both a block and a custom layer", line=line, hint="rename one")
            try:
                defs[name] = model.validate(body)
            except ValidationError as e:
                raise reword(e, body, model).locate(line=line, path=name,
                                                    what="block" if section == "blocks" else "custom layer") from None
        out.append(defs)
    return out[0], out[1]


def _symbols(raw: Mapping[str, Any], symbolic: tuple[str, ...], overrides: dict[str, Any]) -> Any:
    """The symbols of this run: declared ones without a value, plus ``symbolic``; None if there are none."""
    declared = raw.get("symbols") or {}
    line = line_of(raw, "symbols")
    if not isinstance(declared, (list, Mapping)):
        raise SpecError("symbols must be a list of names or a mapping of names to assumptions", line=line)
    for name in declared:
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError(f"symbol name {name!r} is not an identifier", line=line,
                            hint="symbols are names such as H or batch")
    if isinstance(declared, list):
        declared = dict.fromkeys(declared)
    variables = raw.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise SpecError("variables must be a mapping of names to values", line=line_of(raw, "variables"))
    names = [n for n in declared if n not in variables] + [n for n in symbolic if n not in declared]
    names += [n for n in declared if n in variables and n in symbolic]
    unknown = [n for n in symbolic if n not in declared and n not in variables]
    if unknown:
        raise SpecError(f"--symbolic {unknown[0]}: no such variable or symbol", line=line,
                        hint=f"names: {', '.join(dict.fromkeys([*variables, *declared])) or 'none declared'}")
    names = [n for n in dict.fromkeys(names) if n not in overrides]  # --set gives a symbol a value
    if not names:
        return None
    multiple_of = {}
    for name, assumption in declared.items():
        if assumption is None:
            continue
        if not isinstance(assumption, Mapping) or set(assumption) - {"multiple_of"}:
            raise SpecError(f"symbol {name}: the only assumption is {{multiple_of: m}}", line=line)
        multiple_of[name] = assumption.get("multiple_of")
    for assumption in [a for a in symbolic if a not in declared]:
        multiple_of.pop(assumption, None)
    from ..core.symbolic import make_symbols
    return make_symbols(names, multiple_of)


def _variables(raw: Mapping[str, Any], overrides: dict[str, Any], symbols: dict[str, Any]) -> dict[str, Any]:
    """Resolve ``variables`` in order (each may use earlier ones); --set values replace declared ones and
    symbols replace values."""
    from ..core.expr import evaluate
    declared = raw.get("variables") or {}
    if not isinstance(declared, Mapping):
        raise SpecError("variables must be a mapping of names to values", line=line_of(raw, "variables"))
    env: dict[str, Any] = dict(symbols)
    for name, value in declared.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError(f"variable name {name!r} is not an identifier", line=line_of(declared, name))
        if name in symbols:
            continue
        if name in overrides:
            value = overrides.pop(name)
        try:
            env[name] = evaluate(value, env) if isinstance(value, str) else value
        except ArchcalcError as e:
            raise e.locate(line=line_of(declared, name), path=name, what="variable") from None
        if isinstance(env[name], bool) or not isinstance(env[name], (int, float)) \
                and not type(env[name]).__module__.startswith(("sympy", "fractions")):
            raise SpecError(f"variable {name} must be a number or an expression, got {env[name]!r}",
                            line=line_of(declared, name))
        env[name] = _exact(env[name], name, line_of(declared, name))
    symbol_names = raw.get("symbols") or {}
    for name in [n for n in overrides if n in symbol_names and n not in env]:  # --set on a symbol
        value = overrides.pop(name)
        env[name] = _exact(evaluate(value, env) if isinstance(value, str) else value, name, None)
    return env


def _exact(value: Any, name: str, line: int | None) -> Any:
    """A float as the exact decimal it was written as (0.5 is 1/2, 1e300 is 10**300): a float would make min, max
    and floor fall through to sympy on the numeric path and the totals come out as inexact sympy Floats."""
    if not isinstance(value, float):
        return value
    if not math.isfinite(value):
        raise SpecError(f"variable {name} is {value!r}, not a finite number", line=line)
    return decimal(value)


def _outputs(declared: Any, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``outputs:`` as (output name, tensor name) pairs: a list names tensors that name themselves; a mapping gives
    each output a name of its own (torchvision's FPN returns levels '0', '1', ..., 'pool')."""
    line = line_of(raw, "outputs")
    if isinstance(declared, list):
        pairs = [(ref, ref) for ref in declared]
    elif isinstance(declared, Mapping):
        pairs = [(str(label) if isinstance(label, int) and not isinstance(label, bool) else label, ref)
                 for label, ref in declared.items()]
    else:
        raise SpecError(f"outputs must be a list of tensor names or a mapping of output names to them, got "
                        f"{quoted(declared)}", line=line, hint="for example outputs: [p2, p3, pool]")
    if not pairs:
        raise SpecError("outputs is empty", line=line, hint="name at least one tensor, or leave outputs out")
    seen: set[str] = set()
    for label, ref in pairs:
        for value, what in ((label, "an output name"), (ref, "an output's tensor name")):
            if not isinstance(value, str) or not value:
                raise SpecError(f"{what} must be text, got {quoted(value)}", line=line,
                                hint="name an earlier layer, block or save: alias")
            try:
                check_text(value, what, MAX_REF)
            except SpecError as e:
                raise e.locate(line=line) from None
        if label in seen:
            raise SpecError(f"output {label!r} is named twice", line=line, hint="give each output its own name")
        seen.add(label)
    return pairs
