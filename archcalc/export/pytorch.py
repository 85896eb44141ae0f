"""archcalc -> PyTorch: one self-contained ``nn.Module`` source file for a network.

The code is written from the engine's trace of one walk of the network (``trace.Step``), so every layer reads exactly
the tensors the engine gave it: residual and parallel branches, merges, ``from:``, ``inputs:`` and ``save:`` names,
and a ``tied_to`` layer shares the weight of the owner the engine resolved. Each
layer becomes one line of a straight-line ``forward`` and, as torchvision writes its models, a submodule registered
in ``__init__``: convolutions, norms, activations, pools, dropout, upsampling, nn.MultiheadAttention where it
computes the layer exactly. Residual adds and gating are Python operators, reshapes tensor methods. A layer whose
``call`` names another form is written in that form (``F.relu(x)``, ``x.mean([2, 3])``, a plain parameter, attention
written out). The form matters beyond looks: counters that hook modules (ptflops, thop, torchinfo) count a module
and not the same op called as a function, and the counting presets in ``archcalc/conventions`` count the form a
spec declares. What each layer type becomes is in ``torch_base.TORCH``, one entry per type, filled by
``torch_conv``, ``torch_merge``, ``torch_norm``, ``torch_reshape``, ``torch_sequence`` and ``torch_window``.
"""
from __future__ import annotations

import builtins
import keyword
import re
from typing import Any

from ..core.errors import ArchcalcError, SpecError
from ..core.escape import py_comment, py_doc
from ..core.version import __version__
from ..read.nodes import Group
from ..read.spec import Network
from ..walk.engine import walk
from ..walk.trace import Step, Trace

# importing them registers their translations, in this order: a generated file lists the helpers they define
# (torch_base.HELPERS) in the order they were defined
from . import torch_conv, torch_merge, torch_norm, torch_reshape, torch_sequence, torch_ssm, torch_window  # noqa: F401
from .torch_base import HELPERS, TORCH, Site

# Attributes of torch.nn.Module (torch 2.x) that a layer's attribute must not shadow.
MODULE_ATTRIBUTES = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda double dump_patches eval
extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict modules mtia
named_buffers named_children named_modules named_parameters parameters register_backward_hook register_buffer
register_forward_hook register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory
state_dict to to_empty train training type xpu zero_grad
""".split())
# Names the generated file uses at module level, which a forward variable must not shadow.
RESERVED = frozenset({"self", "x", "torch", "nn", "F", "math", "INPUT_SHAPE", "INPUT_SHAPES", "VOCAB", "example_input",
                      *HELPERS, *dir(builtins)})


def to_pytorch(network: Network) -> str:
    """A Python source file defining a ``torch.nn.Module`` for ``network`` (numeric values only)."""
    if network.symbols is not None:
        names = ", ".join(network.symbols.names)
        raise SpecError(f"cannot export with symbols without values ({names})",
                        hint=f"give them values, e.g. --set {next(iter(network.symbols.names))}=...",
                        file=network.file)
    report, trace = walk(network)
    return _Writer(network, report, trace).source()


def identifier(text: str, fallback: str = "layer") -> str:
    """A Python identifier from a dotted layer path: layer1.0.conv1 -> layer1_0_conv1."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", str(text)).strip("_") or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    return name


def class_name(name: str) -> str:
    """CamelCase of the network's name: mobilenet_v3_large -> MobilenetV3Large."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", str(name)) if p]
    out = "".join(p[:1].upper() + p[1:] for p in parts) or "Network"
    if out[0].isdigit():
        out = f"Net{out}"
    return out if out not in HELPERS and out not in RESERVED else f"{out}Net"


class _Writer:
    """Assembles the source file from the steps of the engine's trace."""

    def __init__(self, network: Network, report: Any, trace: Trace) -> None:
        self.net = network
        self.report = report
        self.trace = trace
        self.layers = trace.layers()
        self.init: list[str] = []
        self.helpers: set[str] = set()
        self.attrs: dict[str, str] = {}  # layer path -> attribute
        self.taken: dict[str, set[str]] = {"attr": set(), "var": set()}  # names given, per namespace

    # ---- names ----

    def attr(self, path: str) -> str:
        if path not in self.attrs:
            self.attrs[path] = self.unique(identifier(path), "attr", MODULE_ATTRIBUTES | keyword_set())
        return self.attrs[path]

    def unique(self, name: str, space: str, avoid: frozenset[str]) -> str:
        base, n, taken = name, 1, self.taken[space]
        while name in taken or name in avoid:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        return name

    def variables(self, leaves: list[Step]) -> dict[int, str]:
        """A name per tensor: ``x`` for one that only the next layer reads, else the name it is known by."""
        readers: dict[int, list[int]] = {}
        for i, step in enumerate(leaves):
            for t in step.reads:
                readers.setdefault(t, []).append(i)
        made = {step.out: i for i, step in enumerate(leaves)}
        made[self.trace.input] = -1
        several = {t: key for key, t in self.trace.inputs.items()} if len(self.trace.inputs) > 1 else {}
        made.update(dict.fromkeys(several, -1))
        known: dict[int, list[str]] = {}
        for key, t in self.trace.names.items():
            known.setdefault(t, []).append(key)
        names: dict[int, str] = {}
        avoid = RESERVED | keyword_set()
        for t, i in sorted(made.items(), key=lambda item: item[1]):
            final = t == self.trace.output
            if t not in several and all(r == i + 1 for r in readers.get(t, [])) and (not final or i == len(leaves) - 1):
                names[t] = "x"
                continue
            keys = sorted(known.get(t, []), key=lambda k: (k.count("."), len(k)))
            base = identifier(several[t], "inp") if t in several else "inp" if t == self.trace.input else \
                identifier(keys[0], "t") if keys else f"t{t}"
            names[t] = self.unique(base, "var", avoid)
        for t in [t for _, t in self.trace.outputs if names[t] == "x" and made[t] != len(leaves) - 1]:
            # an output (outputs: header) is read by the return as well: a name of its own, unless made last
            keys = sorted(known.get(t, []), key=lambda k: (k.count("."), len(k)))
            names[t] = self.unique(identifier(keys[0], "t") if keys else f"t{t}", "var", avoid)
        return names

    # ---- the file ----

    def source(self) -> str:
        names = self.variables(self.layers)
        self.arg_names = [names[t] for t in self.input_ids()]
        body: list[str] = []
        inp = ", ".join(f"{names[t]}: torch.Tensor" for t in self.input_ids())
        for step in self.trace.steps:
            group = step.node
            if isinstance(group, Group):
                if not re.fullmatch(rf"{re.escape(group.kind)}_\d+", group.name):  # not an unnamed structure
                    body.append("# " + py_comment(f"{group.path} ({group.kind})"))
                continue
            expr = self.translate(step, [names[t] for t in step.reads])
            out = names[step.out]
            if expr != out:
                body.append(f"{out} = {expr}")
        if self.trace.outputs:  # several outputs (an outputs: header): a tuple, in the header's order
            outs = [names[t] for _, t in self.trace.outputs]
            body.append(f"return ({outs[0]},)" if len(outs) == 1 else f"return ({', '.join(outs)})")
        else:
            body.append(f"return {names[self.trace.output]}")
        return self.assemble(inp, body)

    def translate(self, step: Step, args: list[str]) -> str:
        node, shape = step.node, tuple(step.cost.shape)  # its output as its formula (and torch module) gives it
        try:
            if node.user_defined:
                raise SpecError(f"custom layer type {node.type!r} cannot be exported to PyTorch: it is declared by "
                                "its cost formulas only, with no computation to translate",
                                hint="replace it with built-in layer types to export")
            owner = None
            if step.owner:
                tied = next(s for s in self.layers if s.node.path == step.owner)
                owner = (self.attr(step.owner), tied.node.type, tied.node.spec, tied.seen[0])
            site = Site(node.spec, step.seen, shape, node.path, self, owner)
            if not step.moved:
                return TORCH[node.type](site, args)
            expr = TORCH[node.type](site, [f"{a}.movedim(-1, 1)" for a in args])  # channels first for the module
            return f"{primary(expr)}.movedim(1, -1)" if len(shape) > 1 else expr
        except ArchcalcError as e:
            raise e.locate(path=node.path, line=node.line, file=self.net.file) from None

    def input_ids(self) -> list[int]:
        """The buffers of the network inputs, the first first."""
        return list(self.trace.inputs.values()) or [self.trace.input]

    def assemble(self, inp: str, body: list[str]) -> str:
        net, report, totals = self.net, self.report, self.report.totals
        cls = class_name(net.name)
        shape = tuple(int(d) for d in report.input_shape)
        vocab = self.vocabulary()
        uses_math = any("math." in text for text in (*body, *(HELPERS[h].source for h in self.helper_order())))
        causal = [s.node.path for s in self.layers if getattr(s.node.spec, "causal", False)]
        # Text from the spec and its file name reaches docstrings only through py_doc, comments through py_comment,
        # names through identifier() and class_name(), literals through lit(): none of it can become code.
        spec_name, spec_file = py_doc(net.name), py_doc(net.file)
        lines = [
            f'"""{spec_name}: a PyTorch module generated by archcalc {__version__} from {spec_file}',
            "(archcalc export SPEC --to pytorch).",
            "",
            f"archcalc's figures at batch {report.input_shape[0]}: {totals.params:,} parameters, "
            f"{totals.buffers:,} buffers,",
            f"{totals.macs:,} MACs; " + (f"output shape {tuple(int(d) for d in report.output_shape)}." if
                                          not report.outputs else "outputs, a tuple in this order:"),
            *(f"    {py_doc(out.name)}: {tuple(int(d) for d in out.output_shape)}" for out in report.outputs),
            "Inference (eval mode): dropout and stochastic depth are identities, batch norm uses running statistics.",
        ]
        if causal:
            lines += ["Attention is written out with explicit matmuls. A causal mask hides part of the full score",
                      "matrix, which torch still computes: FlopCounterMode counts the square where archcalc counts",
                      "the (query, key) pairs the mask keeps."]
        uses_f = any("F." in text for text in (*body, *(HELPERS[h].source for h in self.helper_order())))
        lines += ['"""', *(["import math", ""] if uses_math else []), "import torch", "from torch import nn",
                  *(["from torch.nn import functional as F"] if uses_f else []), "",
                  f"INPUT_SHAPE = {shape}  # batch first" + (
                      ", channels last" if net.layout == "channels_last" and len(shape) > 2 else "")]
        several = len(self.arg_names) > 1
        if several:  # the first is INPUT_SHAPE too
            shapes = ", ".join(f'"{a}": {tuple(int(d) for d in given)}'
                               for a, given in zip(self.arg_names, report.inputs.values()))
            lines.append(f"INPUT_SHAPES = {{{shapes}}}  # every input, batch first")
        if vocab is not None and len(self.input_ids()) == 1:
            lines.append(f"VOCAB = {vocab}  # token ids are int64 in [0, VOCAB)")
        for name in self.helper_order():
            lines += ["", "", HELPERS[name].source.strip("\n")]
        lines += ["", "", f"class {cls}(nn.Module):",
                  f'    """{spec_name} as declared in {spec_file}; layers are named after their archcalc paths."""',
                  "", "    def __init__(self) -> None:", "        super().__init__()"]
        lines += [f"        {part}" for line in self.init for part in wrap(line, 8)]
        lines += ["", f"    def forward(self, {inp}) -> torch.Tensor:"]
        lines += [f"        {part}" for line in body for part in wrap(line, 8)]
        if several:
            made = [f'torch.randint(0, {v}, INPUT_SHAPES["{a}"], device=device)' if v is not None else
                    f'torch.randn(INPUT_SHAPES["{a}"], device=device)'
                    for a, v in zip(self.arg_names, (self.vocabulary(t) for t in self.input_ids()))]
            make = "(" + ", ".join(made) + ")"
            what = "Random inputs of INPUT_SHAPES in forward's order (token ids where an embedding reads one)."
        elif vocab is not None:
            make = "torch.randint(0, VOCAB, INPUT_SHAPE, device=device)"
            what = "Random token ids of INPUT_SHAPE."
        else:
            make = "torch.randn(INPUT_SHAPE, device=device)"
            what = "A random input of INPUT_SHAPE."
        returned = "tuple[torch.Tensor, ...]" if several else "torch.Tensor"
        lines += ["", "", f"def example_input(device: torch.device | str | None = None) -> {returned}:",
                  f'    """{what}"""', *(f"    {part}" for part in wrap(f"return {make}", 4)), "", "",
                  'if __name__ == "__main__":',
                  f"    model = {cls}().eval()",
                  "    with torch.no_grad():",
                  f"        y = model({'*' if several else ''}example_input())",
                  '    print(f"output shape {tuple(y.shape)}")',
                  '    print(f"params {sum(p.numel() for p in model.parameters()):,}")',
                  '    print(f"buffers {sum(b.numel() for b in model.buffers()):,}")']
        if self.trace.outputs:  # several outputs (an outputs: header): forward returns a tuple of them
            lines = [TUPLE_OF_OUTPUTS.get(line, line) if not line.startswith("    def forward(") else
                     line.replace(") -> torch.Tensor:", ") -> tuple[torch.Tensor, ...]:") for line in lines]
        return "\n".join(lines) + "\n"

    def vocabulary(self, given: int | None = None) -> int | None:
        """Token ids in: the smallest table among the embeddings that read the network input (or input ``given``)."""
        given = self.trace.input if given is None else given
        sizes = [s.node.spec.num_embeddings for s in self.layers
                 if given in s.reads and s.node.type == "embedding"]
        return min(sizes) if sizes else None

    def helper_order(self) -> list[str]:
        wanted: set[str] = set()
        todo = list(self.helpers)
        while todo:
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(HELPERS[name].requires)
        return [name for name in HELPERS if name in wanted]


# The __main__ block's line for one output, and its form for a tuple of them.
TUPLE_OF_OUTPUTS = {'    print(f"output shape {tuple(y.shape)}")':
                    '    print(f"output shapes {[tuple(t.shape) for t in y]}")'}


def wrap(line: str, indent: int, limit: int = 120) -> list[str]:
    """A line longer than ``limit`` split after commas of its first call, continuation lines aligned inside it."""
    start = line.find("(")
    if indent + len(line) <= limit or start < 0:
        return [line]
    level = 1
    if line[start + 1:start + 2] == "[":  # torch.cat([a, b, ...]): split the list
        start, level = start + 1, 2
    depth, quote, escaped, commas = 0, "", False, []
    for i, ch in enumerate(line):
        if quote:  # inside a string literal: a backslash escapes the next character
            quote, escaped = ("" if ch == quote and not escaped else quote), ch == "\\" and not escaped
        elif ch == "#":  # a comment: nothing after it is split
            break
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == level and i > start:
            commas.append(i)
    out, begin, pad = [], 0, ""
    while indent + len(pad) + len(line) - begin > limit:
        fits = [c for c in commas if c > begin and indent + len(pad) + c - begin < limit]
        if not fits:
            break
        out.append(pad + line[begin:fits[-1] + 1])
        begin, pad = fits[-1] + 2, " " * (start + 1)
    return [*out, pad + line[begin:]]


def primary(expr: str) -> str:
    """``expr``, parenthesised unless it is one call, name or subscript (no operator outside brackets)."""
    depth = 0
    for ch in expr:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and ch in " +-*/@%<>=!&|^~":
            return f"({expr})"
    return expr


def keyword_set() -> frozenset[str]:
    return frozenset(keyword.kwlist) | {"None", "True", "False"}
