"""``attention_bias``: LeViT's learned attention biases, added to attention scores ``[..., heads, Nq, Nk]``.

The keys are the tokens of an ``rh x rw`` grid (``Nk = rh*rw``), the queries that grid subsampled by ``stride``
(``Nq = ceil(rh/s) * ceil(rw/s)``; stride 1: the keys themselves). Each head learns one bias per key-grid offset
(``|dy| * rw + |dx|``, at most Nk of them): a ``heads x Nk`` parameter table, read through an ``Nq x Nk`` int64
index buffer (timm's attention_biases and attention_bias_idxs). One add per score, and with ``scale`` one multiply
first (timm's ``q @ k * key_dim ** -0.5 + biases``). Pointwise."""
from __future__ import annotations

from ..core.declare import field, maybe
from ..core.errors import ShapeError
from ..core.fields import Number, PositiveAxes, PositiveInt
from ..core.num import ceil_div, is_concrete, prod
from .base import Cost, LayerSpec, Shape, expect_rank, formula, per_axis


class AttentionBiasSpec(LayerSpec):
    """scores + attention_biases[:, attention_bias_idxs], as timm's levit.Attention and AttentionDownsample."""

    TYPES = ("attention_bias",)
    resolution = field(PositiveAxes, description="The key grid: one value for a square, or [rh, rw].")
    stride = field(PositiveInt, 1, "The queries are the key grid taken every stride positions (LeViT's "
                                   "AttentionDownsample: 2); 1: the queries are the keys.")
    scale = field(maybe(Number), None, "Multiply the scores by this constant first (LeViT: key_dim ** -0.5, "
                                       "0.25 for key_dim 16): 1 more FLOP per score. null: no scaling.")
    kind = "elementwise"


def grids(spec: AttentionBiasSpec) -> tuple[object, object]:
    """(Nq, Nk): query and key tokens."""
    rh, rw = per_axis(spec.resolution, 2, "resolution")
    return ceil_div(rh, spec.stride) * ceil_div(rw, spec.stride), rh * rw


@formula(AttentionBiasSpec)
def attention_bias(spec: AttentionBiasSpec, x: Shape) -> Cost:
    expect_rank(x, tuple(range(3, 9)), "[..., heads, queries, keys] (attention scores)")
    heads, nq, nk = x[-3:]
    want_q, want_k = grids(spec)
    for got, want, what in ((nq, want_q, "queries"), (nk, want_k, "keys")):
        if is_concrete(got) and is_concrete(want) and got != want:
            raise ShapeError(f"the scores have {got} {what} but resolution {spec.resolution} with stride "
                             f"{spec.stride} gives {want}", hint="give the key grid the scores were computed on")
    per_score = 1 if spec.scale is None else 2  # the add, and the multiply by scale
    return Cost(shape=x, params=heads * nk, buffers=nq * nk, flops={"elementwise": prod(x) * per_score})
