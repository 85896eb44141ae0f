"""``linear`` (Keras ``dense``): a matrix multiply on the last dimension, as torch.nn.Linear."""
from __future__ import annotations

from ..core.declare import TEXT, field, maybe
from ..core.fields import Flag, PositiveInt
from ..core.num import prod
from .base import GLOBAL, Cost, LayerSpec, Shape, check_equal, expect_rank, formula


class LinearSpec(LayerSpec):
    """y = x W^T + b on the last dimension; leading dimensions are kept."""

    TYPES = ("linear",)
    in_features = field(maybe(PositiveInt), None, "Input features; inferred from the last dimension, "
                                                      "checked against it when given.")
    out_features = field(PositiveInt, description="Output features.")
    bias = field(Flag, True, "Add a learnable bias.")
    tied_to = field(maybe(TEXT), None, "Name of an earlier layer whose weight this one shares (a language "
                                       "model's output layer tied to its embedding): counted there, once.")
    kind = "linear"


@formula(LinearSpec)
def linear(spec: LinearSpec, x: Shape) -> Cost:
    """One in_features-long dot product per output feature and per row of leading dimensions."""
    expect_rank(x, tuple(range(1, 9)), "[..., features]")
    n_in, n_out = x[-1], spec.out_features
    check_equal(spec.in_features, n_in, "in_features", "features in its last dimension")
    rows = prod(x[:-1])
    macs = rows * n_in * n_out
    rf = {len(x) - 1: GLOBAL}  # every output mixes the whole last dimension, whatever positions it holds
    weight = n_in * n_out
    return Cost(
        shape=(*x[:-1], n_out),
        params=(0 if spec.tied_to else weight) + (n_out if spec.bias else 0),
        shared=weight if spec.tied_to else 0,
        bias=n_out if spec.bias else 0,
        macs=macs,
        flops={"linear": 2 * macs, "bias": rows * n_out if spec.bias else 0},
        rf=rf,
    )
