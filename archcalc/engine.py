"""The engine: walk the node tree, apply each formula to the incoming shape, compose receptive fields,
scale by the batch and sum. Formulas never see the batch; the engine never sees a formula's maths."""
from __future__ import annotations

from typing import Any, NamedTuple

from .convention import ACTIVE, ARCHCALC, Convention
from .errors import ArchcalcError, ShapeError, SpecError
from .graph import Group, Leaf, Node
from .num import free_names, is_concrete, prod, ratio
from .report import BlockResult, LayerResult, Report, Totals
from .rf import RF, merge, repeat_rf
from .spec import Network, build


class Tensor(NamedTuple):
    shape: tuple[Any, ...]  # per sample, channels first
    rf: RF
    id: int  # the buffer that holds it: an index into _Walk.life (memory liveness)


def analyze(network: Network, *, simplify: str = "expand", collect: tuple[str, ...] = (),
            convention: Convention = ARCHCALC, **overrides: Any) -> Report:
    """Analyse a loaded network; keyword overrides replace variables, ``batch`` or ``input`` first.

    With symbols, every figure is a formula, shown in the user's symbols and simplified by ``simplify``
    (expand, factor, collect by ``collect``, or none).
    """
    if overrides:
        network = build(network.raw, network.file, overrides,
                        network.symbols.names if network.symbols else ())
    token = ACTIVE.set(convention)  # formulas whose count a convention changes read it (attention's pairs)
    try:
        report = _Walk(network, convention).report()
    finally:
        ACTIVE.reset(token)
    if network.symbols is not None:
        from .symbolic import present
        present(report, network.symbols, simplify, collect)
    return report


class _Walk:
    def __init__(self, network: Network, convention: Convention = ARCHCALC) -> None:
        self.net = network
        self.convention = convention
        self.owned: dict[str, Any] = {}  # layer path -> its own parameters, whatever the convention counts
        self.tokens = _tokens(network) if convention.per_token else 1
        self.batch = network.batch
        self.rows: list[LayerResult] = []
        self.outline: list[LayerResult | BlockResult] = []  # table order: a block before its contents
        self.tensors: dict[str, Tensor] = {}  # dotted path or saved name -> output
        # Per buffer (id 0: the network input): [elements with the batch, first row live, last row live].
        self.life: list[list[Any]] = []

    def report(self) -> Report:
        rf = RF.of_input(len(self.net.input), sequence=self.net.layout == "sequence")
        x = Tensor(tuple(self.net.input), rf, self.buffer(self.net.input, 0, -1))
        self.tensors["input"] = x  # `from: input` reads the network input (a layer named input replaces it)
        blocks: list[BlockResult] = []
        x = self.run(self.net.nodes, x, "", 0, blocks)
        self.live(x.id)
        totals = Totals()
        for row in self.rows:
            totals.add(row)
        report = Report(self.net.name, (self.batch, *self.display(self.net.input)), self.rows, totals, self.convention,
                        (self.batch, *self.display(x.shape)), x.rf, blocks, self.outline)
        report.layout = self.net.layout
        return report

    def buffer(self, shape: tuple[Any, ...], first: int, last: int) -> int:
        """A new buffer for a tensor of ``shape`` (per sample), live over rows first..last (none if last < first)."""
        self.life.append([prod(shape) * self.batch, first, last])
        return len(self.life) - 1

    def live(self, output: int) -> None:
        """Each row's ``live``: the elements of every buffer live while it runs (its inputs, its output, and
        what later rows still read); the network output stays to the end."""
        if not self.rows:
            return
        self.life[output][2] = len(self.rows) - 1
        delta: list[Any] = [0] * (len(self.rows) + 1)
        for size, first, last in self.life:
            if last >= first:
                delta[first] += size
                delta[last + 1] -= size
        running: Any = 0
        for row, change in zip(self.rows, delta):
            running += change
            row.live = running

    def display(self, shape: tuple[Any, ...]) -> tuple[Any, ...]:
        if self.net.layout == "channels_last" and len(shape) > 1:
            return (*shape[1:], shape[0])
        return tuple(shape)

    def run(self, nodes: list[Node], x: Tensor, prefix: str, depth: int, blocks: list[BlockResult]) -> Tensor:
        for node in nodes:
            try:
                source = self.resolve(node.inputs[0], x, prefix, node) if node.inputs and (
                    isinstance(node, Group) or node.spec.arity != "many") else x
                x = self.leaf(node, source, prefix, depth) if isinstance(node, Leaf) else \
                    self.group(node, source, depth, blocks)
            except ArchcalcError as e:
                raise e.locate(path=node.path, file=self.net.file, line=node.line) from None
            self.tensors[node.path] = x
            if node.save:
                self.tensors[node.save] = x
        return x

    def group(self, node: Group, x: Tensor, depth: int, blocks: list[BlockResult]) -> Tensor:
        block = BlockResult(node.path, node.kind, depth)
        self.outline.append(block)
        blocks.append(block)
        start = len(self.rows)
        if node.branches:
            outs = [self.run(branch, x, _scope_of(branch, node), depth + 1, block.children)
                    for _, branch in node.branches]
            labels = [f"branch {_branch_name(node, name)}" for name, _ in node.branches]
            assert node.merge is not None
            x = self.leaf(node.merge, x, node.merge.path.rpartition(".")[0], depth + 1, outs, labels)
        elif node.count is not None and not isinstance(node.count, int):
            x = self.symbolic_repeat(node, x, depth, block, start)
        else:
            x = self.run(node.children, x, node.path, depth + 1, block.children)
        block.finish(self.rows[start:], (self.batch, *self.display(x.shape)), x.rf)
        return x

    def symbolic_repeat(self, node: Group, x: Tensor, depth: int, block: BlockResult, start: int) -> Tensor:
        """``repeat: L`` with a symbolic L: cost one unit, multiply by L, extrapolate the RF in closed form."""
        # The unit reads a buffer of its own: in copies after the first it is the previous copy's output,
        # while x itself stays live only if a later layer reads it.
        unit = x._replace(id=self.buffer(x.shape, start, start - 1))
        out = self.run(node.children, unit, node.path, depth + 1, block.children)
        if tuple(out.shape) != tuple(x.shape):
            raise ShapeError(f"a repeat with a symbolic count needs a unit that keeps the shape, got "
                             f"{list(x.shape)} -> {list(out.shape)}", hint="repeat a shape-preserving block")
        count = node.count
        for row in self.rows[start:]:
            row.scale(count)
            if "i" in free_names(row.params + row.macs + row.flops):
                raise SpecError("with a symbolic repeat count the unit's cost cannot depend on the index i",
                                hint="give repeat a number, or remove i from the unit")
        for child in block.children:
            child.scale(count)
        return Tensor(out.shape, repeat_rf(x.rf, out.rf, count), out.id)

    def leaf(self, node: Leaf, x: Tensor, prefix: str, depth: int, given: list[Tensor] | None = None,
             labels: list[str] | None = None) -> Tensor:
        spec = node.spec
        if spec.arity == "many":
            if given is None:
                if not node.inputs:
                    raise SpecError(f"{node.type} needs inputs: [...] outside parallel/residual",
                                    hint="list earlier layer names, '.' for the current tensor")
                given = [self.resolve(r, x, prefix, node) for r in node.inputs]
                labels = [f"input {r!r}" for r in node.inputs]
            cost = node.formula(spec, [t.shape for t in given], labels)
            rf = merge([t.rf for t in given]).then(cost.rf)
            inputs = sum(prod(t.shape) for t in given)
        else:
            cost = node.formula(spec, x.shape)
            rf = x.rf.then(cost.rf)
            inputs = prod(x.shape)
        if getattr(spec, "tied_to", None):
            self.check_tie(node, spec.tied_to, cost.shared)
        self.owned[node.path] = cost.params
        shape = tuple(cost.shape)
        rf = rf.remap(cost.dims, len(shape))
        b = self.batch
        params, flops = self.counted(spec, cost)
        flops_by_kind = {k: v for k, v in flops.items() if not (isinstance(v, int) and v == 0)}
        index = len(self.rows)
        for t in given if given is not None else (x,):
            self.life[t.id][2] = index  # rows run in order: this is the latest read so far
        row = LayerResult(
            name=node.path, type=node.type, kind=spec.kind, output_shape=(b, *self.display(shape)),
            params=params, buffers=cost.buffers, macs=cost.macs * b, flops=sum(flops_by_kind.values()),
            flops_by_kind=flops_by_kind, activations=prod(shape) * b, rf=rf, line=node.line, depth=depth,
            user_defined=node.user_defined, input_elements=inputs * b, cache=cost.cache * b,
            active_params=params - (cost.params - cost.active),
        )
        row.spec, row.input_shape = spec, (given[0] if given else x).shape
        if not (isinstance(cost.workspace, int) and cost.workspace == 0):
            row.workspace = cost.workspace * b
            self.life.append([row.workspace, index, index])  # live while this layer runs, in its row only
        if self.convention.per_type is not None:
            from .preset import apply
            apply(row, self.convention, b, shape)
        self.rows.append(row)
        self.outline.append(row)
        return Tensor(shape, rf, self.buffer(shape, index, index))

    def counted(self, spec: Any, cost: Any) -> tuple[Any, dict[str, Any]]:
        """(params, FLOPs by kind with the batch) as the convention counts them: a convention without
        embeddings drops their tables (Kaplan's non-embedding N); a per-token one divides by the tokens."""
        conv = self.convention
        if conv is ARCHCALC:
            return cost.params, {k: v * self.batch for k, v in cost.flops.items()}
        if not conv.embeddings and (spec.kind == "embedding" or spec.type == "positional_embedding"
                                    or getattr(spec, "tied_to", None)):
            return 0, {}
        if conv.counted is not None and spec.kind == "custom":  # its kind decides whether it is counted
            raise SpecError(f"convention {conv.name} counts only {', '.join(sorted(conv.counted))} work: custom layer "
                            f"type {spec.type!r} does not say what it is", hint=f"declare kind: in custom.{spec.type} "
                            f"({' or '.join(sorted(conv.counted))} to count it, another kind to leave it out)")
        flops = {k: v for k, v in cost.flops.items() if conv.counted is None or k in conv.counted}
        scale = (lambda v: ratio(v, self.tokens)) if conv.per_token else (lambda v: v * self.batch)
        params = cost.params if conv.counted is None or spec.kind in conv.counted else 0
        if not conv.biases and params:
            params -= cost.bias
        return params, {k: scale(v) for k, v in flops.items()}

    def check_tie(self, node: Leaf, owner: str, shared: Any) -> None:
        """``tied_to`` names an earlier layer whose own parameters include the shared weight."""
        paths = [path for path in self.owned if path == owner or path.endswith(f".{owner}")]
        if not paths:
            raise SpecError(f"tied_to: no earlier layer named {owner!r}",
                            hint="name the layer that owns the weight (it must come first)")
        params = self.owned[paths[-1]]
        if is_concrete(params) and is_concrete(shared) and params < shared:
            raise ShapeError(f"tied_to: {owner!r} has {params:,} parameters, fewer than the {shared:,} of the "
                             f"weight {node.name} shares", hint="tie layers whose weights have the same shape")

    def resolve(self, ref: str, x: Tensor, prefix: str, node: Node) -> Tensor:
        """A name seen from ``prefix``: the innermost enclosing scope first, then saved names."""
        if ref == ".":
            return x
        if ref in (node.name, node.path):
            raise SpecError(f"{ref!r} refers to the layer itself (a cycle)", hint="name an earlier layer")
        parts = prefix.split(".") if prefix else []
        for cut in range(len(parts), -1, -1):
            key = ".".join([*parts[:cut], ref])
            if key in self.tensors:
                return self.tensors[key]
        from difflib import get_close_matches
        close = get_close_matches(ref, [k.rsplit(".", 1)[-1] for k in self.tensors] + list(self.tensors), 1)
        raise SpecError(f"unknown name {ref!r}", hint=f"did you mean {close[0]!r}? names must refer to "
                        "earlier layers or blocks" if close else "names must refer to earlier layers or blocks")


def _tokens(network: Network) -> Any:
    """Tokens per sample of a sequence input: [T] (token ids) or [T, d] (vectors)."""
    if len(network.input) > 2:
        raise SpecError(f"per-token figures need a sequence input [T] or [T, d], not {list(network.input)}",
                        hint="use the archcalc convention for this network")
    return network.input[0]


def _scope_of(nodes: list[Node], group: Group) -> str:
    """The naming prefix of a branch's layers (a transparent residual names them in its parent)."""
    return nodes[0].path.rpartition(".")[0] if nodes else group.path


def _branch_name(node: Group, name: str) -> str:
    return f"{node.path}.{name}" if node.kind != "residual" else name
