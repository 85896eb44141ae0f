"""State-space layers: ``mamba``, the selective-scan block of Gu & Dao 2023 ("Mamba: Linear-Time Sequence Modeling
with Selective State Spaces"), as mamba_ssm's ``Mamba`` module and Hugging Face's ``MambaMixer`` compute it.

Per sample the input is ``[T, d]`` and so is the output. With ``E = expand * d`` inner channels, ``N = d_state``
states per channel, ``R = dt_rank`` and ``K = d_conv``:

    in_proj    [d -> 2E]            x and the gate z                          T*d*2E   MACs
    conv1d     depthwise, kernel K   causal (K - 1 zeros before), then silu   T*E*K    MACs
    x_proj     [E -> R + 2N]         dt (rank R), B and C, per token          T*E*(R + 2N)
    dt_proj    [R -> E], bias        dt = softplus(dt_proj(dt))               T*R*E
    scan       per token, channel e and state n:
                 dA = exp(A[e,n] * dt[e])       mul, exp      2 FLOPs
                 dB = dt[e] * B[n]              mul           1
                 h  = dA * h + dB * x[e]        mul, mul, add 3
               y[e] = sum_n h[e,n] * C[n]                     T*E*N    MACs (a matmul per token)
    skip, gate y = (y + D * x) * silu(z)        2 + 1 FLOPs per (token, channel), silu 4
    out_proj   [E -> d]                                                  T*E*d    MACs

Parameters: the four projections (dt_proj with its bias; in_proj and out_proj with ``bias``), the conv (with
``conv_bias``), ``A_log`` [E, N] and ``D`` [E]. ``A = -exp(A_log)`` is computed once per call from the weights,
not per token, and is not counted (as per-channel scalar work is not, elsewhere). Every step of the scan is counted
alike: the first multiplies the zero initial state, as the reference recurrence does.

The recurrent state kept between decode steps (``state_cache``, reported as the layer's ``cache``) is the conv
state, the last ``K`` inputs of the conv per channel (E*K, as mamba_ssm and Hugging Face hold it), and the SSM state
h (E*N). A decode step is a run on ``T = 1`` new tokens: the conv reads the K - 1 cached inputs where a prefill reads
zeros, and the scan starts from the cached h, so a step costs what one token of a prefill costs; the state's size
does not grow with the context, where attention's K/V cache does.
"""
from __future__ import annotations

from typing import Any

from ..core.declare import field, maybe
from ..core.fields import Flag, PositiveInt
from .activation import PER_ELEMENT
from .base import GLOBAL, Cost, LayerSpec, Shape, check_equal, expect_rank, formula

SOFTPLUS = 3  # log(1 + exp(x)): exp, add, log, per element (transcendental functions count 1)
DISCRETISE = 3  # per (token, channel, state): dA = exp(A * dt) (mul, exp), dB = dt * B (mul)
RECURRENCE = 3  # per (token, channel, state): h = dA * h + dB * x (mul, mul, add)
SKIP_AND_GATE = 3  # per (token, channel): y + D * x (mul, add), * silu(z) (mul)


class MambaSpec(LayerSpec):
    """A Mamba block's mixer (in-projection, causal depthwise conv, selective scan, gate, out-projection), named as
    mamba_ssm.modules.mamba_simple.Mamba (Hugging Face's MambaConfig: state_size, conv_kernel, expand,
    time_step_rank, use_conv_bias, use_bias)."""

    TYPES = ("mamba",)
    d_model = field(maybe(PositiveInt), None, "Model width d; inferred from the last dimension of the [T, d] input, "
                                              "checked when given.")
    d_state = field(PositiveInt, 16, "States per inner channel (N; Hugging Face's state_size).")
    d_conv = field(PositiveInt, 4, "Kernel of the causal depthwise conv1d (K; Hugging Face's conv_kernel).")
    expand = field(PositiveInt, 2, "Inner channels E = expand x d_model (Hugging Face's intermediate_size).")
    dt_rank = field(maybe(PositiveInt), None, "Rank R of the dt projection; default ceil(d_model / 16), mamba_ssm's "
                                              "and Hugging Face's 'auto' (time_step_rank).")
    conv_bias = field(Flag, True, "A bias on the conv1d (Hugging Face's use_conv_bias).")
    bias = field(Flag, False, "Biases on in_proj and out_proj (Hugging Face's use_bias). dt_proj always has one.")
    state_cache = field(Flag, True, "Keeps the recurrent state between decode steps (the layer's cache): the conv "
                                    "state E x d_conv and the SSM state E x d_state per sample, whatever T.")
    kind = "recurrent"


def inner(spec: MambaSpec, d: Any) -> tuple[Any, Any, Any, Any]:
    """(E, N, R, K) for a layer of width d."""
    rank = spec.dt_rank if spec.dt_rank is not None else -(-d // 16)  # ceil(d / 16)
    return spec.expand * d, spec.d_state, rank, spec.d_conv


@formula(MambaSpec)
def mamba(spec: MambaSpec, x: Shape) -> Cost:
    """The module docstring's table, per sample."""
    expect_rank(x, 2, "[positions, features]")
    t, d = x
    check_equal(spec.d_model, d, "d_model", "features in its last dimension")
    e, n, r, k = inner(spec, d)
    linear = 2 * e * d + e * (r + 2 * n) + r * e + e * d  # in_proj, x_proj, dt_proj, out_proj: weights = MACs/token
    conv = e * k
    readout = e * n  # y = h C, per token
    biases = (2 * e + d if spec.bias else 0) + (e if spec.conv_bias else 0) + e  # + dt_proj's
    silu = PER_ELEMENT["silu"][0]
    return Cost(
        shape=(t, d),
        params=linear + conv + biases + e * n + e,  # + A_log [E, N] and D [E]
        macs=t * (linear + conv + readout),
        flops={
            "linear": 2 * t * linear,
            "conv": 2 * t * conv,
            "matmul": 2 * t * readout,
            "bias": t * biases,
            "activation": t * e * (silu + SOFTPLUS + silu),  # silu after the conv, softplus of dt, silu of the gate
            "elementwise": t * e * ((DISCRETISE + RECURRENCE) * n + SKIP_AND_GATE),
        },
        # Causal: output t depends on every input up to t through the recurrence, a prefix rather than one window,
        # so the positions are global, as a recurrent layer's are; every feature mixes every feature.
        rf={0: GLOBAL, 1: GLOBAL},
        cache=e * (k + n) if spec.state_cache else 0,
        bias=biases,
    )
