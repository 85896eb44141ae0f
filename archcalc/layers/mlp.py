"""Transformer feed-forward blocks: ``gated_mlp`` (SwiGLU, GeGLU) and a mixture of experts, ``moe``.

On a sequence ``[T, d]`` with hidden width ``f``, a gated MLP computes ``W2 (act(W1 x) * W3 x)``: three
d x f matrices, so 3 d f MACs per token where a plain MLP has 2 d f. A mixture of ``E`` such experts
routes each token through ``top_k`` of them: a d x E router, softmax over the E logits, and the
weighted sum of the k expert outputs.
"""
from __future__ import annotations

from typing import Any

from ..core.declare import choice, field, maybe
from ..core.errors import SpecError
from ..core.fields import Flag, PositiveInt
from ..core.num import is_concrete, prod
from .activation import PER_ELEMENT
from .base import GLOBAL, Cost, LayerSpec, Shape, expect_rank, formula


class _FeedForward(LayerSpec):
    hidden_features = field(PositiveInt, description="Hidden width f of each MLP.")
    out_features = field(maybe(PositiveInt), None, "Output width; default: the input width d.")
    activation = field(choice("silu", "gelu", "gelu_tanh", "relu"), "silu",
                       "Nonlinearity: silu (SwiGLU), gelu or gelu_tanh (GeGLU), relu (ReGLU).")
    gated = field(Flag, True, "Gated (act(W1 x) * W3 x, three matrices) or plain (act(W1 x), two).")
    bias = field(Flag, False, "Biases on the MLP's linear layers (Llama and Mixtral have none).")
    kind = "linear"


class GatedMLPSpec(_FeedForward):
    """A (gated) feed-forward block on the last dimension."""

    TYPES = ("gated_mlp",)


class MoESpec(_FeedForward):
    """A sparse mixture of experts: a linear router picks top_k of `experts` MLPs per token."""

    TYPES = ("moe",)
    experts = field(PositiveInt, description="Number of expert MLPs (E).")
    top_k = field(PositiveInt, description="Experts each token is routed through (k).")


def expert(spec: _FeedForward, d: Any) -> tuple[Any, Any, dict[str, Any]]:
    """One MLP on one token: (params, MACs, FLOPs by kind); ``flops["bias"]`` is also its bias count."""
    f, out = spec.hidden_features, spec.out_features or d
    matrices = (2 if spec.gated else 1) * d * f + f * out
    bias = ((2 if spec.gated else 1) * f + out) if spec.bias else 0
    flops = {"linear": 2 * matrices, "bias": bias, "activation": PER_ELEMENT[spec.activation][0] * f,
             "elementwise": f if spec.gated else 0}  # the gate's multiply
    return matrices + bias, matrices, flops


@formula(GatedMLPSpec)
def gated_mlp(spec: GatedMLPSpec, x: Shape) -> Cost:
    expect_rank(x, tuple(range(1, 9)), "[..., features]")
    rows, d = prod(x[:-1]), x[-1]
    params, macs, flops = expert(spec, d)
    return Cost(shape=(*x[:-1], spec.out_features or d), params=params, macs=rows * macs,
                flops={k: rows * v for k, v in flops.items()}, rf={len(x) - 1: GLOBAL}, bias=flops["bias"])


@formula(MoESpec)
def moe(spec: MoESpec, x: Shape) -> Cost:
    """Total params: router + E experts. Per token: router, softmax over E, k experts, k-term weighted sum.
    ``active`` is the parameters one token uses: router + k experts."""
    expect_rank(x, tuple(range(1, 9)), "[..., features]")
    e, k = spec.experts, spec.top_k
    if is_concrete(e) and is_concrete(k) and k > e:
        raise SpecError(f"top_k={k} is more than the {e} experts", hint=f"use top_k <= {e}")
    rows, d = prod(x[:-1]), x[-1]
    params, macs, flops = expert(spec, d)
    out = spec.out_features or d
    router = d * e
    per_token = {kind: k * v for kind, v in flops.items()}
    per_token["linear"] += 2 * router
    per_token["softmax"] = PER_ELEMENT["softmax"][0] * e
    per_token["elementwise"] += k * out + (k - 1) * out  # scale each expert's output by its gate, then sum
    return Cost(shape=(*x[:-1], out), params=router + e * params, macs=rows * (router + k * macs),
                flops={kind: rows * v for kind, v in per_token.items()}, rf={len(x) - 1: GLOBAL},
                active=router + k * params, bias=e * flops["bias"])
