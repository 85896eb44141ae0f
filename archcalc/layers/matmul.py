"""Products of named tensors: ``matmul`` (torch.matmul) and ``einsum`` (torch.einsum), per sample.

Both take their operands from ``inputs:`` (earlier layers, saved names, '.' for the current tensor) and
see per-sample shapes: the batch is not an operand dimension, as if torch.func.vmap applied the op.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..core.declare import TEXT, field, list_of
from ..core.errors import ShapeError, SpecError
from ..core.fields import Flag
from ..core.num import is_concrete, prod
from .base import GLOBAL, Cost, LayerSpec, Shape, formula

ELLIPSIS = "..."

# Receptive field of a product of two tensors: GLOBAL on every axis. Each output element sums over the
# contracted dimensions, and its other dimensions come from two operands; the engine follows only the first
# input's dimensions, so where b's positions lie is unknown. Reporting GLOBAL is the conservative choice.


class _ProductBase(LayerSpec):
    inputs = field(list_of(TEXT), description="Names of the operands: earlier layers, blocks or saved names; "
                                              "'.' is the current tensor.")
    kind = "matmul"
    arity = "many"


class MatmulSpec(_ProductBase):
    """a @ b as torch.matmul on per-sample shapes: 1-D operands, 2-D, and broadcast leading dimensions."""

    TYPES = ("matmul",)
    transpose_b = field(Flag, False, "Multiply by b transposed on its last two dimensions (Q K^T).")


class EinsumSpec(_ProductBase):
    """torch.einsum of one or two per-sample operands; the equation leaves the batch out."""

    TYPES = ("einsum",)
    equation = field(TEXT, description="Einstein summation over per-sample operands, batch left out, e.g. "
                                       "'hqd,hkd->hqk' for [heads, positions, head_dim] operands; letters, "
                                       "',', '->' and '...'.")


def _shapes(xs: list[Shape], labels: list[str]) -> str:
    return " and ".join(f"{label} {list(s)}" for label, s in zip(labels, xs))


def _broadcast(sizes: list[Any], fail: str) -> Any:
    """One broadcast dimension: sizes must match or be 1 (checked when concrete)."""
    big = [n for n in sizes if not (is_concrete(n) and n == 1)]
    if any(is_concrete(a) and is_concrete(b) and a != b for a in big for b in big):
        raise ShapeError(fail, hint="leading dimensions must match or be 1")
    return big[0] if big else 1


@formula(MatmulSpec)
def matmul(spec: MatmulSpec, xs: list[Shape], labels: list[str]) -> Cost:
    """MACs = (broadcast leading dimensions) * n * k * m for [..., n, k] @ [..., k, m]."""
    if len(xs) != 2:
        raise SpecError(f"matmul takes two inputs [a, b], got {len(xs)}", hint="write inputs: [a, b]")
    a, b = (tuple(s) for s in xs)
    what = f"cannot multiply {_shapes(xs, labels)}"
    if not a or not b:
        raise ShapeError(f"{what}: an operand has no dimensions", hint="matmul needs rank 1 or more")
    if spec.transpose_b:
        if len(b) < 2:
            raise ShapeError(f"{what}: transpose_b needs b of rank 2 or more", hint="remove transpose_b")
        b = (*b[:-2], b[-1], b[-2])
    # torch promotes a 1-D a to a row [1, k] and a 1-D b to a column [k, 1], and drops the added dim after
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    n, k = a2[-2:]
    k_b, m = b2[-2:]
    if is_concrete(k) and is_concrete(k_b) and k != k_b:
        hint = "a's last dimension must equal b's second-to-last"
        raise ShapeError(f"{what}: inner sizes differ ({k} vs {k_b})", hint=hint + (
            "; transpose_b: true multiplies by b^T" if not spec.transpose_b and b[-1] == k else ""))
    rank = max(len(a2), len(b2)) - 2
    lead_a, lead_b = (1,) * (rank - len(a2) + 2) + a2[:-2], (1,) * (rank - len(b2) + 2) + b2[:-2]
    lead = tuple(_broadcast([x, y], f"{what}: leading dimensions do not broadcast")
                 for x, y in zip(lead_a, lead_b))
    macs = prod(lead) * n * k * m  # one k-long dot product per output element
    shape = (*lead, *(a[-2:-1] if len(a) > 1 else ()), *(b[-1:] if len(b) > 1 else ()))
    return Cost(shape=shape, macs=macs, flops={"matmul": 2 * macs}, rf=GLOBAL)


# ---- einsum ----

@lru_cache(maxsize=256)
def parse_equation(equation: str) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...] | None]:
    """Operands and output as tuples of letters and '...'; the output is None when the equation has no '->'."""
    text = "".join(equation.split())
    sides = text.split("->")
    if len(sides) > 2:
        raise SpecError(f"einsum equation {equation!r} has more than one '->'", hint="write 'ab,bc->ac'")
    terms = tuple(_terms(op, equation) for op in sides[0].split(","))
    out = _terms(sides[1], equation) if len(sides) == 2 else None
    if len(terms) > 2:
        raise SpecError(f"einsum equation {equation!r} has {len(terms)} operands; archcalc counts one or two",
                        hint="chain einsum layers, two operands at a time, in the order you contract them")
    if out is not None:
        seen = {t for op in terms for t in op}
        for t in out:
            if out.count(t) > 1:
                raise SpecError(f"einsum equation {equation!r}: output {t!r} appears twice")
            if t not in seen:
                raise SpecError(f"einsum equation {equation!r}: output {t!r} is in no operand",
                                hint="every output letter must appear in an operand")
    return terms, out


def _terms(part: str, equation: str) -> tuple[str, ...]:
    out: list[str] = []
    rest = part
    while rest:
        if rest.startswith(ELLIPSIS):
            if ELLIPSIS in out:
                raise SpecError(f"einsum equation {equation!r}: '...' twice in {part!r}")
            out.append(ELLIPSIS)
            rest = rest[3:]
        elif rest[0].isascii() and rest[0].isalpha():
            out.append(rest[0])
            rest = rest[1:]
        else:
            raise SpecError(f"einsum equation {equation!r}: unexpected {rest[0]!r}",
                            hint="use letters a-z A-Z, ',', '->' and '...'")
    return tuple(out)


def _expand(terms: tuple[str, ...], rank: int, width: int) -> tuple[str, ...]:
    """Replace '...' by labels '...0' .. '...<width-1>' for the trailing ``rank - letters`` of them."""
    if ELLIPSIS not in terms:
        return terms
    at, e = terms.index(ELLIPSIS), rank - len(terms) + 1
    return (*terms[:at], *(f"{ELLIPSIS}{width - e + i}" for i in range(e)), *terms[at + 1:])


def _labels(spec: EinsumSpec, xs: list[Shape], labels: list[str]) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """Per operand and for the output, one label per dimension ('...' expanded)."""
    terms, out = parse_equation(spec.equation)
    if len(terms) != len(xs):
        raise SpecError(f"einsum equation {spec.equation!r} has {len(terms)} operands but inputs lists {len(xs)}",
                        hint="give one input per operand")
    for t, x, label in zip(terms, xs, labels):
        letters = len(t) - (ELLIPSIS in t)
        if len(x) != letters and (ELLIPSIS not in t or len(x) < letters):
            raise ShapeError(f"einsum equation {spec.equation!r} gives {letters} dimensions to {label} "
                             f"{list(x)}", hint="write one letter per per-sample dimension (the batch is left "
                                                "out), or '...' for the leading ones")
    width = max((len(x) - len(t) + 1 for t, x in zip(terms, xs) if ELLIPSIS in t), default=0)
    ops = [_expand(t, len(x), width) for t, x in zip(terms, xs)]
    if out is None:  # implicit output, as torch: '...', then the letters used once, in alphabetical order
        used = [t for op in terms for t in op if t != ELLIPSIS]
        out = ((ELLIPSIS,) if width else ()) + tuple(sorted(t for t in set(used) if used.count(t) == 1))
    return ops, _expand(out, width + len(out) - 1, width)


def _sizes(spec: EinsumSpec, ops: list[tuple[str, ...]], xs: list[Shape], labels: list[str]) -> dict[str, Any]:
    """The size of every label: letters must agree, '...' dimensions broadcast."""
    sizes: dict[str, Any] = {}
    where: dict[str, str] = {}
    for op, x, label in zip(ops, xs, labels):
        for t, n in zip(op, x):
            if t.startswith(ELLIPSIS):
                fail = f"einsum {spec.equation!r}: the '...' dimensions of {_shapes(xs, labels)} do not broadcast"
                sizes[t] = _broadcast([sizes.get(t, 1), n], fail)
            elif t not in sizes:
                sizes[t], where[t] = n, f"{label} {list(x)}"
            elif is_concrete(n) and is_concrete(sizes[t]) and n != sizes[t]:
                raise ShapeError(f"einsum {spec.equation!r}: {t!r} is {sizes[t]} in {where[t]} but {n} in "
                                 f"{label} {list(x)}", hint="dimensions sharing a letter must have the same size")
    return sizes


@formula(EinsumSpec)
def einsum(spec: EinsumSpec, xs: list[Shape], labels: list[str]) -> Cost:
    """One operand: adds of the summed-out letters. Two: letters only one operand has (and the output lacks)
    are summed first; then if a letter is contracted, MACs = the product of the remaining letters, otherwise
    one multiply per output element."""
    ops, out = _labels(spec, xs, labels)
    sizes = _sizes(spec, ops, xs, labels)
    shape = tuple(sizes[t] for t in out)

    def size(letters: set[str]) -> Any:
        return prod(sizes[t] for t in sorted(letters))

    # a dimension of size 1 takes no part in the contraction (a broadcast '...' dimension; torch squeezes it)
    own = [{t for t, n in zip(op, x) if not (is_concrete(n) and n == 1)} for op, x in zip(ops, xs)]
    keep = set(out)
    if len(ops) == 1:
        # summing prod(A \ O) terms into each of prod(O) outputs: prod(A) - prod(O) adds
        total = size(set(ops[0]))
        dims = tuple(tuple(d for d, t in enumerate(ops[0]) if t == o) for o in out)
        summed = {d: GLOBAL for d, t in enumerate(ops[0]) if t not in keep}
        return Cost(shape=shape, flops={"reduce": total - size(keep)} if summed else {}, rf=summed, dims=dims)
    a, b = own
    alone_a, alone_b = a - keep - b, b - keep - a  # summed within one operand before the product
    flops = {"reduce": size(a) - size(a - alone_a) + size(b) - size(b - alone_b)} if alone_a | alone_b else {}
    a, b = a - alone_a, b - alone_b
    if (a & b) - keep:  # a contraction: one multiply-accumulate per (output, contracted) combination
        macs = size(a | b)
        flops["matmul"] = 2 * macs
    else:  # outer or elementwise product: no accumulation, one multiply per output element
        macs = 0
        flops["elementwise"] = size(a | b)
    return Cost(shape=shape, macs=macs, flops=flops, rf=GLOBAL)
