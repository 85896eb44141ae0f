"""Counting conventions as data: what another tool counts for each layer type, as an expression.

A convention file (``archcalc/count/conventions/*.yaml`` for the built-in presets, or a user's own file given to
``--convention FILE``) names the tool, the unit of its number (``macs``, ``flops``), and per layer type an
expression over the layer's figures, whole batch included:

    macs, archcalc_flops, bias_adds     archcalc's counts (bias_adds: one per output element with a bias)
    in_numel, out_numel                 elements read (all inputs) and written
    params, batch                       the layer's parameters; the batch
    in0, in1, ... / out0, out1, ...     per-sample dims of the (first) input / the output, as the layer's formula
                                        sees them: channels first for a channels-first layer (conv, pool, norm)
    in_rank, in_sp, out_sp, in_last, out_last   its rank; products of the dims after the first; last dims
    dim_size                            for a layer with a torch ``dim`` (softmax, concat, ...): that dim's size
    flops_<kind>                        archcalc's FLOPs of one kind (linear, attention, softmax, bias, ...)
    dense_scores, dense_score_macs      attention: per sample, the scores and QK^T/AV MACs of a dense (masked)
                                        kernel
    sequences, positions                attention: the [T, d] sequences per sample (1, or the product of the
                                        leading dimensions of a [..., T, d] input), and their T
    kprod                               product of kernel_size, for layers that have one
    torch_out_sp                        a transposed convolution: the output positions of the torch module that
                                        computes it (torch's full output, before Keras' same/valid cut)
    <field>                             the layer's own int and bool fields (affine, bias, groups, ...)
    <field>_<option>                    for a choice field, true for the chosen option (mode_bilinear, ...)
    call_<form>                         how the reference code computes the layer (its ``call`` field): call_module,
                                        call_function (a torch function), call_bound (a function held since the
                                        model was built), call_reduction (x.mean over the spatial axes),
                                        call_parameter (a plain parameter of the enclosing module), call_explicit
                                        (attention written out); the rules count what the tool sees of that form.
                                        Attention's call_module is also named torch_native.
    <argument>                          for a custom layer: its arguments by name (it has no fields)

``rules`` may name custom layer types (a spec's ``custom:`` names). A ``kinds`` mapping gives the rule for a
custom layer of each declared ``kind`` (conv, linear, elementwise, ...) that has no rule of its own: what the
tool counts for an op of that kind written in PyTorch. The expressions go through archcalc's safe evaluator.
A layer type the file has no rule for is an error, and so is a custom layer whose kind (or lack of one) it
has no rule for: a preset never counts an unknown layer as 0 by omission. The rules may write 0 explicitly.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import ValidationError

from ..core.declare import ANY, TEXT, Model, checked, field, list_of, maybe
from ..core.errors import SpecError
from ..core.expr import evaluate
from ..core.fields import fail
from ..core.num import prod, ratio
from .convention import CONVENTIONS, Convention, Counted

if TYPE_CHECKING:
    from ..walk.trace import Step

HERE = Path(__file__).parent / "conventions"
UNITS = ("macs", "flops")
KINDS = ("linear", "attention", "softmax", "elementwise", "bias", "norm", "activation", "pool", "matmul", "conv")


def available() -> list[str]:
    return [*CONVENTIONS, *sorted(p.stem for p in HERE.glob("*.yaml"))]


def load(name: str) -> Convention:
    """A built-in convention, a preset by name, or a convention file."""
    if name in CONVENTIONS:
        return CONVENTIONS[name]
    path = HERE / f"{name}.yaml"
    if not path.is_file():
        path = Path(name)
        if not path.exists():
            raise SpecError(f"--convention {name}: no such convention or file",
                            hint=f"one of {', '.join(available())}, or a YAML file of your own")
    from ..read.spec import read_text
    from ..read.yamlio import load_yaml
    shown = name if path.parent != HERE else f"convention {name}"
    text, _ = read_text(path)  # one line for a file that is not UTF-8 text
    try:
        return _convention(load_yaml(text, shown), shown)
    except SpecError as e:
        raise e.locate(file=shown) from None


def _unit(value: Any, info: Any) -> str:
    if value not in UNITS:
        raise fail(f"unit {value!r} is not one of {', '.join(UNITS)}", "macs: the rules count MACs; flops: FLOPs")
    return value


def _rules(value: Any, info: Any) -> dict[str, str]:
    """Layer types (a key may list several, space-separated) -> an expression or a number."""
    if not isinstance(value, Mapping):
        raise fail(f"rules must be a dict of layer types to expressions, got {value!r}",
                   "e.g. rules: {conv2d linear: macs, relu: 0}")
    for type_name, rule in value.items():
        if not isinstance(type_name, str) or not isinstance(rule, (str, int)) or isinstance(rule, bool):
            raise fail(f"the rule for {type_name} must be an expression or a number, got {rule!r}")
    return {name: str(rule) for key, rule in value.items() for name in key.split()}


class ConventionFile(Model):
    """A counting convention of your own, for --convention FILE: what a tool counts, per layer type."""

    name = field(TEXT, description="Name of the convention, printed under every report.")
    tool = field(TEXT, description="The tool and the call whose numbers the rules reproduce.")
    unit = field(checked(_unit, {"enum": list(UNITS)}), description="What the rules give: macs or flops.")
    mac = field(TEXT, description="What a MAC is under this convention.")
    flop = field(TEXT, description="What a FLOP is under this convention.")
    rules = field(checked(_rules, {"type": "object", "additionalProperties": {"type": ["string", "integer"]}}),
                  description="Layer type (or several, space-separated) -> an expression over the layer's figures.")
    notes = field(list_of(TEXT), [], "Further notes, one text each.")
    label = field(maybe(TEXT), None, "What the tool calls its number (default: MACs or FLOPs).")
    kinds = field(ANY, None, "Custom layer kind (or several, space-separated) -> the rule for a custom layer of that "
                             "kind that has no rule of its own.")


def _convention(data: Any, shown: str) -> Convention:
    hint = "a convention has name, tool, unit (macs or flops), mac, flop and rules"
    if data is None:
        raise SpecError("the convention file is empty", file=shown, line=1, hint=hint)
    if not isinstance(data, Mapping):
        from ..read.yamlio import line_of
        got = "a list" if isinstance(data, list) else repr(data)
        raise SpecError(f"a convention file is a mapping, not {got}", file=shown, line=line_of(data), hint=hint)
    try:
        c = ConventionFile.validate(data)
    except ValidationError as e:
        from ..read.validation import reword
        raise reword(e, data, ConventionFile).locate(file=shown) from None
    texts = c.rules
    kinds = _kinds(data, shown)
    return Preset(name=c.name, mac=c.mac, flop=c.flop,
                  rules=lambda: {**texts, **{f"custom kind {k}": v for k, v in kinds.items()}},
                  notes=(f"tool: {c.tool}", *c.notes), per_type=texts, unit=c.unit, label=c.label or None,
                  per_kind=kinds)


def _kinds(data: dict[str, Any], shown: str) -> dict[str, str]:
    """A file's ``kinds`` mapping: custom layer kind -> rule (a key may list several kinds)."""
    from ..read.blocks import CUSTOM_KINDS
    kinds = data.get("kinds")
    if kinds is None:
        return {}
    if not isinstance(kinds, dict):
        raise SpecError(f"{shown}: kinds must be a mapping from custom layer kinds to rules", file=shown,
                        hint=f"kinds: {{conv: macs, elementwise: 0}}; the kinds are {', '.join(CUSTOM_KINDS)}")
    out: dict[str, str] = {}
    for key, rule in kinds.items():
        if not isinstance(rule, (str, int)) or isinstance(rule, bool):
            raise SpecError(f"{shown}: the rule for kind {key} must be an expression or a number, got {rule!r}",
                            file=shown)
        for kind in str(key).split():
            if kind not in CUSTOM_KINDS:
                raise SpecError(f"{shown}: kinds: {kind!r} is not a kind of custom layer", file=shown,
                                hint=f"one of {', '.join(CUSTOM_KINDS)}")
            out[kind] = str(rule)
    return out


class Preset(Convention):
    """A tool's convention from a file: per layer type, an expression over the step's figures."""

    def count(self, step: Step, batch: Any, tokens: Any = 1) -> Counted:
        """The MACs and FLOPs the tool counts for the step's layer, from archcalc's figures of it (parameters as
        archcalc counts them)."""
        own = super().count(step, batch, tokens)
        rule, what = _rule(step, self)
        try:
            count = evaluate(rule, variables(step, own, batch))
        except SpecError as e:
            raise SpecError(f"convention {self.name}, {what}: {e.message}", hint=e.hint) from None
        macs, flops = (count, 2 * count) if self.unit == "macs" else (ratio(count, 2), count)
        return Counted(own.params, macs, flops, {step.spec.kind: flops})


def _rule(step: Step, convention: Convention) -> tuple[str, str]:
    """The expression that counts the step's layer and what it is: the rule for its type, else (a custom layer)
    for the kind it declares."""
    from ..read.blocks import CUSTOM_KINDS
    from ..read.custom import CustomLayer
    spec = step.spec
    name, rule = convention.name, convention.per_type.get(spec.type)
    if rule is not None:
        return rule, f"rule for {spec.type}"
    if not isinstance(spec, CustomLayer):
        raise SpecError(f"convention {name} has no rule for layer type {step.node.type!r}",
                        hint="add one to the convention's rules (0 if the tool does not count it)")
    kind, type_ = spec.definition.kind, step.node.type
    if kind is None:
        raise SpecError(f"convention {name} has no rule for custom layer type {type_!r}",
                        hint=f"declare the kind of op it is in custom.{type_}, kind: "
                             f"{' | '.join(CUSTOM_KINDS[:-1])}, or give {type_} a rule in a convention file")
    rule = convention.per_kind.get(kind)
    if rule is None:
        hint = (f"declare a more specific kind in custom.{type_}, or give {type_} a rule in a convention file"
                if kind == "other" else f"what the tool counts for it depends on how it is written: give "
                                        f"{type_} a rule in a convention file")
        raise SpecError(f"convention {name} has no rule for custom layers of kind {kind} ({type_!r})", hint=hint)
    return rule, f"rule for kind {kind} (custom layer {type_})"


def variables(step: Step, own: Counted, batch: Any) -> dict[str, Any]:
    """The variables a rule reads (the module docstring lists them): the step's shapes as its formula saw them
    and gave them, its fields, and archcalc's own count of it (``own``, the whole batch)."""
    from ..read.custom import CustomLayer
    spec, seen, shape = step.spec, step.seen[0], tuple(step.cost.shape)
    if isinstance(spec, CustomLayer):  # its arguments, by name: a custom layer has no declared fields
        env = {name: spec.env[name] for name in spec.definition.args}
    else:
        env = _fields(spec, seen, step.seen[1:])
    env.update({f"flops_{kind}": own.flops_by_kind.get(kind, 0) for kind in KINDS})
    if step.node.type.startswith("conv_transpose"):
        from ..layers.conv import torch_transpose
        env["torch_out_sp"] = prod(size for _, _, size, _ in torch_transpose(spec, seen))
    kernel = getattr(spec, "kernel_size", None)
    if kernel is not None:
        env["kprod"] = prod(kernel) if isinstance(kernel, tuple) else kernel ** spec.ndim
    env.update({f"in{i}": n for i, n in enumerate(seen)})
    env.update(in_rank=len(seen), in_sp=prod(seen[1:]), out_sp=prod(shape[1:]),
               in_last=seen[-1] if seen else 1, out_last=shape[-1] if shape else 1)
    env.update({f"out{i}": n for i, n in enumerate(shape)})
    dim, rank = getattr(spec, "dim", None), len(seen) + 1  # torch's dim counts the batch
    if isinstance(dim, int) and not isinstance(dim, bool) and -rank <= dim < rank:
        env["dim_size"] = batch if dim % rank == 0 else seen[dim % rank - 1]
    env.update(macs=own.macs, archcalc_flops=own.flops, bias_adds=own.flops_by_kind.get("bias", 0),
               in_numel=step.inputs * batch, out_numel=prod(step.shape) * batch, params=own.params, batch=batch)
    return env


def _fields(spec: Any, seen: tuple[Any, ...], others: Any = ()) -> dict[str, Any]:
    """A declared layer's own variables: its int and bool fields, one flag per option of a choice field, and
    attention's figures (``seen``: its input as its formula saw it)."""
    env: dict[str, Any] = {}
    for name, value in vars(spec).items():
        if isinstance(value, (bool, int)):
            env[name] = value
    for name, f in type(spec).FIELDS.items():  # a choice field gives one flag per option: mode_bilinear, ...
        json = f.kind.json
        options = json.get("enum") or next((a["enum"] for a in json.get("anyOf", ()) if "enum" in a), ())
        env.update({f"{name}_{o}".replace("-", "_"): getattr(spec, name) == o for o in options})
    if hasattr(spec, "torch_native"):  # attention's call, decided by the layer where the spec leaves it out
        env.update(call_module=spec.torch_native, call_explicit=not spec.torch_native, torch_native=spec.torch_native)
    if spec.kind == "attention":
        from ..layers.attention import dense_scores
        env.update(spec.dense_scores(seen) if hasattr(spec, "dense_scores")  # window_attention's own
                   else dense_scores(spec, seen, *others))  # others: cross-attention's keys and values [S, e]
    return env
