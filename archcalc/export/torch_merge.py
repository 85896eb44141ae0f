"""PyTorch translations of merges and products: add, mul, concat, matmul, einsum (operands broadcast as the
engine does)."""
from __future__ import annotations

from ..layers.matmul import ELLIPSIS, parse_equation
from .torch_base import Site, call, lit, torch_code


def batched(site: Site, args: list[str]) -> list[str]:
    """Operands with fewer per-sample dimensions gain size-1 ones after the batch: torch then broadcasts them as
    archcalc does per sample (aligned on the right, the batch apart)."""
    rank = max(len(s) for s in site.inputs)
    return [a if len(s) == rank else f"{a}[:, {', '.join(['None'] * (rank - len(s)))}]"
            for a, s in zip(args, site.inputs)]


@torch_code("add", "mul")
def elementwise(site: Site, args: list[str]) -> str:
    """Python operators, as torchvision writes residual adds and squeeze-excitation gating."""
    return (" + " if site.spec.type == "add" else " * ").join(batched(site, args))


@torch_code("concat")
def concat(site: Site, args: list[str]) -> str:
    return f"torch.cat([{', '.join(args)}], dim={site.spec.dim})"


@torch_code("matmul")
def matmul(site: Site, args: list[str]) -> str:
    """torch.matmul per sample: a 1-D operand becomes a row (a) or a column (b), dropped after; leading
    dimensions broadcast as archcalc does, after the batch."""
    (a, b), (ra, rb) = args, (len(s) for s in site.inputs)
    if site.spec.transpose_b:
        b = f"{b}.transpose(-2, -1)"
    a, b = (a if ra > 1 else f"{a}.unsqueeze(-2)"), (b if rb > 1 else f"{b}.unsqueeze(-1)")
    wa, wb = max(ra, 2), max(rb, 2)
    a = a if wa >= wb else f"{a}[:, {', '.join(['None'] * (wb - wa))}]"
    b = b if wb >= wa else f"{b}[:, {', '.join(['None'] * (wa - wb))}]"
    out = f"{a} @ {b}" if ra > 1 and rb > 1 else f"({a} @ {b})"
    return out + (".squeeze(-2)" if ra == 1 else "") + (".squeeze(-1)" if rb == 1 else "")


@torch_code("einsum")
def einsum(site: Site, args: list[str]) -> str:
    """torch.einsum with a batch letter added to every operand and to the output (made explicit)."""
    terms, out = parse_equation(site.spec.equation)
    if out is None:  # torch's implicit output: '...', then the letters used once, in order
        used = [t for op in terms for t in op if t != ELLIPSIS]
        out = ((ELLIPSIS,) if any(ELLIPSIS in op for op in terms) else ()) + tuple(
            sorted(t for t in set(used) if used.count(t) == 1))
    letters = {t for op in (*terms, out) for t in op}
    batch = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in letters)
    equation = ",".join(batch + "".join(op) for op in terms) + "->" + batch + "".join(out)
    return call("torch.einsum", lit(equation), *args)



@torch_code("sub")
def subtract(site: Site, args: list[str]) -> str:
    """The Python operator, as PoolFormer writes pool(x) - x."""
    a, b = batched(site, args)
    return f"({a} - {b})"
