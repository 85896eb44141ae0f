"""The engine: walk the node tree, apply each formula to the incoming shape, compose receptive fields,
scale by the batch and sum. Formulas never see the batch; the engine never sees a formula's maths."""
from __future__ import annotations

from typing import Any, NamedTuple

from .convention import ARCHCALC
from .errors import ArchcalcError, ShapeError, SpecError
from .graph import Group, Leaf, Node
from .num import free_names, prod
from .report import BlockResult, LayerResult, Report, Totals
from .rf import RF, merge, repeat_rf
from .spec import Network, build


class Tensor(NamedTuple):
    shape: tuple[Any, ...]  # per sample, channels first
    rf: RF


def analyze(network: Network, *, simplify: str = "expand", collect: tuple[str, ...] = (),
            **overrides: Any) -> Report:
    """Analyse a loaded network; keyword overrides replace variables, ``batch`` or ``input`` first.

    With symbols, every figure is a formula, shown in the user's symbols and simplified by ``simplify``
    (expand, factor, collect by ``collect``, or none).
    """
    if overrides:
        network = build(network.raw, network.file, overrides,
                        network.symbols.names if network.symbols else ())
    report = _Walk(network).report()
    if network.symbols is not None:
        from .symbolic import present
        present(report, network.symbols, simplify, collect)
    return report


class _Walk:
    def __init__(self, network: Network) -> None:
        self.net = network
        self.batch = network.batch
        self.rows: list[LayerResult] = []
        self.outline: list[LayerResult | BlockResult] = []  # table order: a block before its contents
        self.tensors: dict[str, Tensor] = {}  # dotted path or saved name -> output

    def report(self) -> Report:
        x = Tensor(tuple(self.net.input), RF.of_input(len(self.net.input)))
        blocks: list[BlockResult] = []
        x = self.run(self.net.nodes, x, "", 0, blocks)
        totals = Totals()
        for row in self.rows:
            totals.add(row)
        report = Report(self.net.name, (self.batch, *self.display(self.net.input)), self.rows, totals, ARCHCALC,
                        (self.batch, *self.display(x.shape)), x.rf, blocks, self.outline)
        report.layout = self.net.layout
        return report

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
        out = self.run(node.children, x, node.path, depth + 1, block.children)
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
        return Tensor(out.shape, repeat_rf(x.rf, out.rf, count))

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
        shape = tuple(cost.shape)
        rf = rf.remap(cost.dims, len(shape))
        b = self.batch
        flops_by_kind = {k: v * b for k, v in cost.flops.items() if not (isinstance(v, int) and v == 0)}
        row = LayerResult(
            name=node.path, type=node.type, kind=spec.kind, output_shape=(b, *self.display(shape)),
            params=cost.params, buffers=cost.buffers, macs=cost.macs * b, flops=sum(flops_by_kind.values()),
            flops_by_kind=flops_by_kind, activations=prod(shape) * b, rf=rf, line=node.line, depth=depth,
            user_defined=node.user_defined, input_elements=inputs * b,
        )
        self.rows.append(row)
        self.outline.append(row)
        return Tensor(shape, rf)

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


def _scope_of(nodes: list[Node], group: Group) -> str:
    """The naming prefix of a branch's layers (a transparent residual names them in its parent)."""
    return nodes[0].path.rpartition(".")[0] if nodes else group.path


def _branch_name(node: Group, name: str) -> str:
    return f"{node.path}.{name}" if node.kind != "residual" else name
