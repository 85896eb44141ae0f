"""The engine: walk the node tree, apply each formula to the incoming shape, compose receptive fields,
scale by the batch and sum. Formulas never see the batch; the engine never sees a formula's maths.

Tensors are held in the spec's axis order. Under ``layout: channels_last`` (Keras) that is ``[*spatial, C]``;
a layer whose formula reads ``[C, *spatial]`` (``channels_first`` on its model) is given its input in that order,
and its output, receptive-field step and dimension map are moved back (``_Walk.apply``)."""
from __future__ import annotations

from typing import Any, NamedTuple

from .convention import ACTIVE, ARCHCALC, Convention
from .errors import ArchcalcError, ShapeError, SpecError
from .graph import Group, Leaf, Node
from .metrics import METRICS, TOTALLED
from .num import LIMIT_HINT, MAX_BITS, bits, free_names, is_concrete, prod, ratio
from .report import BlockResult, LayerResult, Report, Totals
from .rf import RF, AxisRF, merge, repeat_rf
from .spec import Network, build
from .symbolic import LAYER_WORK, metered

# All the numbers of one report: at most 2**26 bits, about 20 million digits (an output of tens of megabytes). A
# network at the node limit with 64-bit figures everywhere (20,000 layers x 15 figures) needs 19 million bits.
MAX_REPORT_BITS = 2**26


class Tensor(NamedTuple):
    shape: tuple[Any, ...]  # per sample, in the spec's layout: [C, *spatial] or, channels last, [*spatial, C]
    rf: RF
    id: int  # the buffer that holds it: an index into _Walk.life (memory liveness)
    windows: RF  # the field of the convolution and pooling windows alone (statistics and gates ignored)


def analyze(network: Network, *, simplify: str = "expand", collect: tuple[str, ...] = (),
            convention: Convention = ARCHCALC, **overrides: Any) -> Report:
    """Analyse a loaded network; keyword overrides replace variables, ``batch`` or ``input`` first.

    With symbols, every figure is a formula, shown in the user's symbols and simplified by ``simplify``
    (expand, factor, collect by ``collect``, or none).
    """
    with metered():  # one budget of symbolic work for the whole analysis (symbolic.py)
        if overrides:
            network = build(network.raw, network.file, {**network.overrides, **overrides},  # load's values kept
                            network.symbols.names if network.symbols else ())
        token = ACTIVE.set(convention)  # formulas whose count a convention changes read it (attention's pairs)
        try:
            report = _Walk(network, convention).report()
        finally:
            ACTIVE.reset(token)
        if network.symbols is not None:
            from .present import present
            present(report, network.symbols, simplify, collect)
    report.network = network  # what was analysed: sweep and solve run it again at other values
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
        self.last = network.layout == "channels_last"  # Keras: tensors held as [*spatial, C]
        # Per buffer (id 0: the network input): [elements with the batch, first row live, last row live].
        self.life: list[list[Any]] = []
        self.bits = 0  # of every number checked so far (MAX_REPORT_BITS)

    def report(self) -> Report:
        self.check([("the input shape", d) for d in self.net.input] + [("the batch", self.batch)])
        rank = len(self.net.input)
        rf = RF.of_input(rank, sequence=self.net.layout == "sequence")
        if self.last:  # spatial axes at dims 0..n-2, channels at the last dim
            rf = rf.remap(_last_order(rank), rank)
        try:
            x = Tensor(tuple(self.net.input), rf, self.buffer(self.net.input, 0, -1), rf)
        except ShapeError as e:  # the product of its dimensions
            raise ShapeError(f"the input shape: {e.message}", hint=e.hint, file=self.net.file) from None
        self.tensors["input"] = x  # `from: input` reads the network input (a layer named input replaces it)
        blocks: list[BlockResult] = []
        x = self.run(self.net.nodes, x, "", 0, blocks)
        self.live(x.id)
        for row in self.rows:
            try:
                self.check([("its live elements", row.live)], row.rf)
            except ArchcalcError as e:
                raise e.locate(path=row.name, file=self.net.file, line=row.line) from None
        totals = Totals.of(self.rows)
        self.check([(f"the total {m.name}", getattr(totals, m.name)) for m in TOTALLED], fixed=None)
        report = Report(self.net.name, (self.batch, *self.net.input), self.rows, totals, self.convention,
                        (self.batch, *x.shape), x.rf, blocks, self.outline)
        report.rf_windows = x.windows
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
        block.finish(self.rows[start:], (self.batch, *x.shape), x.rf, x.windows)
        if self.net.symbols is not None:  # a block sums its rows again: nested blocks cost rows x depth
            from .symbolic import spend
            spend(len(self.rows) - start)
        t = block.totals
        self.check([(f"its total {m.name}", getattr(t, m.name)) for m in TOTALLED], fixed=None)
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
        return Tensor(out.shape, repeat_rf(x.rf, out.rf, count), out.id, repeat_rf(x.windows, out.windows, count))

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
            fixed = _broadcast(given) if spec.kind == "elementwise" else None  # add and mul broadcast
            step = self.step(cost.rf)
            rf = merge([t.rf for t in given], fixed).then(step).then(self.step(cost.statistics))
            windows = merge([t.windows for t in given], fixed, windows=True).then(step)
            rf, windows = rf.remap(cost.dims, len(cost.shape)), windows.remap(cost.dims, len(cost.shape))
            inputs = sum(prod(t.shape) for t in given)
            seen, shape = given[0].shape, tuple(cost.shape)
        else:
            cost, rf, windows, seen, shape = self.apply(node, x)
            inputs = prod(x.shape)
        if getattr(spec, "tied_to", None):
            self.check_tie(node, spec.tied_to, cost.shared)
        self.owned[node.path] = cost.params
        b = self.batch
        params, flops = self.counted(spec, cost)
        flops_by_kind = {k: v for k, v in flops.items() if not (isinstance(v, int) and v == 0)}
        index = len(self.rows)
        for t in given if given is not None else (x,):
            self.life[t.id][2] = index  # rows run in order: this is the latest read so far
        row = LayerResult(
            name=node.path, type=node.type, kind=spec.kind, output_shape=(b, *shape),
            params=params, buffers=cost.buffers, macs=cost.macs * b, flops=sum(flops_by_kind.values()),
            flops_by_kind=flops_by_kind, activations=prod(shape) * b, rf=rf, line=node.line, depth=depth,
            user_defined=node.user_defined, input_elements=inputs * b, cache=cost.cache * b,
            active_params=params - (cost.params - cost.active),
        )
        # Keras's split: its non-trainable parameters are the running statistics torch holds as buffers.
        row.trainable, row.non_trainable = params, cost.running if self.last else 0
        row.spec, row.rf_windows = spec, windows
        row.input_shape = seen  # as the formula saw it (channels first for a channels-first layer)
        if not (isinstance(cost.workspace, int) and cost.workspace == 0):
            row.workspace = cost.workspace * b
            self.life.append([row.workspace, index, index])  # live while this layer runs, in its row only
        if self.convention.per_type is not None:
            from .preset import apply
            apply(row, self.convention, b, tuple(cost.shape))  # the output as the formula gave it
        self.check(_figures(row), rf, fixed=LAYER_WORK)  # running a formula costs more than its figures' size
        self.rows.append(row)
        self.outline.append(row)
        return Tensor(shape, rf, self.buffer(shape, index, index), windows)

    def check(self, figures: list[tuple[str, Any]], rf: RF | None = None, fixed: int | None = 0) -> None:
        """Every figure within bounds, so that nothing downstream meets a number too large to print or convert
        quickly: at most ``MAX_BITS`` bits; in symbolic mode, formulas within the budget of symbolic work, which
        each layer's formula spends ``fixed`` more of (``None``: numbers only, for the sums of figures already
        weighed)."""
        for what, value in figures:
            size = bits(value)
            if size > MAX_BITS:
                raise ShapeError(f"{what} has more than {MAX_BITS:,} bits", hint=LIMIT_HINT)
            self.bits += size
        if self.bits > MAX_REPORT_BITS:
            raise ShapeError(f"the numbers of the report pass {MAX_REPORT_BITS:,} bits (about 20 million digits) "
                             "in all", hint=LIMIT_HINT)
        if self.net.symbols is None or fixed is None:
            return
        from .symbolic import SymbolicTooLarge, charge
        try:
            charge(figures, fixed)
        except SymbolicTooLarge as e:
            e.hint = e.hint or self.budget_hint(rf)
            raise

    def budget_hint(self, rf: RF | None) -> str:
        """What to do when the formulas grow too large: assume the symbols are multiples of the stride so far
        (strided floors then simplify), or give them values."""
        names = list(self.net.symbols.names) if self.net.symbols else []
        jumps = [a.jump for a in (rf.axes if rf else ()) if isinstance(a, AxisRF) and isinstance(a.jump, int)]
        stride = max(jumps, default=1)
        known = self.net.symbols.multiple_of if self.net.symbols else {}
        wanted = [n for n in names if known.get(n, 1) % stride]
        if stride > 1 and wanted:
            multiples = ", ".join(f"{n}: {{multiple_of: {stride}}}" for n in wanted)
            return (f"declare symbols: {{{multiples}}} (the total stride here) so that strided floors simplify, "
                    f"or give {' and '.join(wanted)} a value with --set")
        return f"give {' and '.join(names) or 'the symbols'} a value with --set, or analyse fewer layers symbolically"

    def apply(self, node: Leaf, x: Tensor) -> tuple[Any, RF, RF, tuple[Any, ...], tuple[Any, ...]]:
        """(cost, RF after the layer, the field of its windows alone, the input shape its formula saw, the output
        shape as held) of a one-input layer. Channels last, a channels-first formula reads [C, *spatial]: its
        input's last dimension is presented first, and its output's first dimension (and the RF's dimension map)
        moved back to the end."""
        moved = self.last and getattr(node.spec, "channels_first", False) and len(x.shape) > 1
        seen = (x.shape[-1], *x.shape[:-1]) if moved else x.shape
        cost = node.formula(node.spec, seen)
        shape, rank = tuple(cost.shape), len(x.shape)

        def through(field: RF, statistics: bool) -> RF:
            held = (lambda step: step) if moved else self.step  # moved: steps keyed as the formula numbers dims
            if moved:  # the RF's dims numbered as the formula numbers them, then back
                field = field.remap(_first_order(rank), rank)
            field = field.then(held(cost.rf))
            if statistics:
                field = field.then(held(cost.statistics))
            field = field.remap(cost.dims, len(shape))
            return field.remap(_last_order(len(shape)), len(shape)) if moved else field

        held = (*shape[1:], shape[0]) if moved and shape else shape
        return cost, through(x.rf, True), through(x.windows, False), seen, held

    def step(self, rf: Any) -> Any:
        """A layer's RF step on the tensor as held. A tuple has one window per spatial axis: dims 1.. channels
        first, dims 0.. channels last (a custom layer's windows); a dict is keyed by the held dims already."""
        if self.last and isinstance(rf, tuple):
            return dict(enumerate(rf))
        return rf

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


def _figures(row: LayerResult) -> list[tuple[str, Any]]:
    """(what, value) of every figure of a row: its shape, counts and receptive field."""
    out = [("its output shape", d) for d in row.output_shape]
    out += [(m.name, getattr(row, m.name)) for m in METRICS]
    out += [(f"its {kind} FLOPs", v) for kind, v in row.flops_by_kind.items()]
    for axis in row.rf.axes if row.rf else ():
        if isinstance(axis, AxisRF):
            out += [("its receptive field", axis.size), ("its receptive field's jump", axis.jump),
                    ("its receptive field's padding", axis.padding)]
    return out


def _first_order(rank: int) -> tuple[tuple[int, ...], ...]:
    """Channels last -> first: dim 0 is the held last dim (the channels), dims 1.. the spatial dims 0..n-2."""
    return ((rank - 1,), *((d,) for d in range(rank - 1))) if rank > 1 else ((0,),) * rank


def _last_order(rank: int) -> tuple[tuple[int, ...], ...]:
    """Channels first -> last: dims 0..n-2 are the spatial dims 1.., the last dim is the channels (dim 0)."""
    return (*((d,) for d in range(1, rank)), (0,)) if rank > 1 else ((0,),) * rank


def _tokens(network: Network) -> Any:
    """Tokens per sample of a sequence input: [T] (token ids) or [T, d] (vectors)."""
    if len(network.input) > 2:
        raise SpecError(f"per-token figures need a sequence input [T] or [T, d], not {list(network.input)}",
                        hint="use the archcalc convention for this network")
    return network.input[0]


def _broadcast(given: list[Tensor]) -> list[tuple[bool, ...]]:
    """Per input and spatial axis: the input has one position along the axis (its dimensions holding the axis
    have size 1, or none holds it) where another input has more, so every output reads that one position."""
    def extent(t: Tensor, axis: int) -> Any:
        return prod(n for n, held in zip(t.shape, t.rf.dims) if axis in held)

    def one(n: Any) -> bool:
        return is_concrete(n) and n == 1
    rank = len(given[0].rf.axes)
    extents = [[extent(t, a) for a in range(rank)] for t in given]
    return [tuple(one(e[a]) and any(not one(other[a]) for other in extents) for a in range(rank)) for e in extents]


def _scope_of(nodes: list[Node], group: Group) -> str:
    """The naming prefix of a branch's layers (a transparent residual names them in its parent)."""
    return nodes[0].path.rpartition(".")[0] if nodes else group.path


def _branch_name(node: Group, name: str) -> str:
    return f"{node.path}.{name}" if node.kind != "residual" else name
