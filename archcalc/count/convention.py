"""The counting convention every report states: what a MAC and a FLOP are, and what is counted.

A convention is one interface: ``count(step, batch, tokens)`` gives a layer's counted figures from the step the
engine walked (its cost as the formula returned it, per sample). archcalc's returns the cost times the batch;
Kaplan's is the same rule over other data (kinds counted, embeddings, biases, pairs, per token); a tool preset
(archcalc/count/preset.py) evaluates its rule for the layer type over the step."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.errors import SpecError
from ..core.num import ratio

if TYPE_CHECKING:
    from ..layers.base import Cost
    from ..walk.trace import Step


class Counted:
    """A layer's figures as a convention counts them, batch (or per token) applied: parameters, MACs, FLOPs
    and FLOPs by kind (the kinds with no FLOPs left out). A plain class: a NamedTuple costs start-up time."""

    __slots__ = ("params", "macs", "flops", "flops_by_kind")

    def __init__(self, params: Any, macs: Any, flops: Any, flops_by_kind: dict[str, Any]) -> None:
        self.params, self.macs, self.flops, self.flops_by_kind = params, macs, flops, flops_by_kind


class Convention:
    """What a MAC and a FLOP are, and the per-op rules; stated in every report.

    The data beyond the text: ``counted`` the FLOP kinds summed (None: all), ``causal_pairs`` how a causal
    mask's (query, key) pairs are counted ("triangle": T(T+1)/2 exactly; "half_square": T^2/2),
    ``embeddings`` whether embedding tables, position tables and outputs tied to them count, and
    ``per_token`` whether FLOPs are divided by the tokens of a sequence input. With ``counted`` set, only
    layers of those kinds have parameters counted, and ``biases: False`` drops their bias parameters.
    """

    def __init__(self, name: str, mac: str, flop: str, rules: Callable[[], dict[str, str]],
                 notes: tuple[str, ...] = (), counted: frozenset[str] | None = None,
                 causal_pairs: str = "triangle", embeddings: bool = True, per_token: bool = False,
                 biases: bool = True, per_type: dict[str, str] | None = None, unit: str = "macs",
                 label: str | None = None, per_kind: dict[str, str] | None = None) -> None:
        self.name = name
        self.mac = mac
        self.flop = flop
        self.rules = rules  # per op kind; a function so the layer modules load only when asked
        self.notes = notes
        self.counted = counted
        self.causal_pairs = causal_pairs
        self.embeddings = embeddings
        self.per_token = per_token
        self.biases = biases
        self.per_type = per_type  # layer type -> expression of what a tool counts (archcalc/count/preset.py)
        self.per_kind = per_kind or {}  # a custom layer's declared kind -> expression, where per_type has no rule
        self.unit = unit  # what per_type's expressions give: "macs" or "flops"
        self.label = label or ("FLOPs" if unit == "flops" else "MACs")  # what the tool calls its number
        # Nothing dropped, rescaled or re-paired: count() is the cost times the batch.
        self.plain = (counted is None and causal_pairs == "triangle" and embeddings and not per_token and biases)

    def tokens(self, network: Any) -> Any:
        """What per-token figures are divided by: the tokens per sample of a sequence input, [T] (token ids) or
        [T, d] (vectors); 1 for a convention that is not per token."""
        if not self.per_token:
            return 1
        if len(network.input) > 2:
            raise SpecError(f"per-token figures need a sequence input [T] or [T, d], not {list(network.input)}",
                            hint="use the archcalc convention for this network")
        return network.input[0]

    def count(self, step: Step, batch: Any, tokens: Any = 1) -> Counted:
        """The layer of ``step`` as this convention counts it. With the defaults (archcalc's), its cost times the
        batch. A convention without embeddings drops their tables and the layers tied to them (Kaplan's
        non-embedding N); one counting only some kinds drops the rest; a per-token one divides by the tokens."""
        spec, cost = step.spec, step.cost
        macs, flops = cost.macs, cost.flops
        if self.plain:  # every figure as the formula gave it, times the batch (the hot path: archcalc's own)
            scaled = {k: v * batch for k, v in flops.items()}  # then drop int zeros (a symbolic batch keeps its 0)
            by_kind = {k: v for k, v in scaled.items() if not (isinstance(v, int) and v == 0)}
            return Counted(cost.params, macs * batch, sum(by_kind.values()), by_kind)
        if self.causal_pairs == "half_square" and cost.pairs is not None and cost.pairs.triangle:
            macs, flops = _half_square(cost)
        if not self.embeddings and (spec.kind == "embedding" or spec.type == "positional_embedding"
                                    or step.owner is not None):
            return Counted(0, macs * batch, 0, {})
        if self.counted is not None and spec.kind == "custom":  # its kind decides whether it is counted
            kinds = " or ".join(sorted(self.counted))
            raise SpecError(f"convention {self.name} counts only {', '.join(sorted(self.counted))} work: custom layer "
                            f"type {spec.type!r} does not say what it is", hint=f"declare kind: in custom.{spec.type} "
                            f"({kinds} to count it, another kind to leave it out)")
        kept = {k: v for k, v in flops.items() if self.counted is None or k in self.counted}
        scale = (lambda v: ratio(v, tokens)) if self.per_token else (lambda v: v * batch)
        params = cost.params if self.counted is None or spec.kind in self.counted else 0
        if not self.biases and params:
            params -= cost.bias
        by_kind = {k: scale(v) for k, v in kept.items()}
        by_kind = {k: v for k, v in by_kind.items() if not (isinstance(v, int) and v == 0)}
        return Counted(params, macs * batch, sum(by_kind.values()), by_kind)

    def summary(self) -> str:
        """The one line printed under every table."""
        return f"convention {self.name}: MAC = {self.mac}; FLOPs = {self.flop}."

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "mac": self.mac, "flop": self.flop, "rules": self.rules(),
                "notes": list(self.notes)}


def _archcalc_rules() -> dict[str, str]:
    from ..layers import attention, norm, ssm
    from ..layers.activation import PER_ELEMENT
    from ..layers.activation_smooth import SMOOTH_PER_ELEMENT
    from ..layers.recurrent import CELLS
    return {
        "conv/linear/matmul": "2 FLOPs per MAC (one multiply, one add)",
        "bias": "1 per output element of a layer with a bias",
        "batchnorm": f"{norm.NORMALISE} per element (subtract mean, divide by std; inference, running "
                     f"statistics) + {norm.AFFINE} if affine (scale, shift)",
        "layernorm/groupnorm/instancenorm": f"{norm.STATISTICS + norm.NORMALISE} per element (mean sum; "
                                            f"square and sum for the variance; subtract, divide) + 1 per "
                                            f"affine weight and bias term",
        "rmsnorm": f"{norm.RMS_STATISTICS + norm.RMS_NORMALISE} per element (square and sum; multiply by 1/rms) "
                   f"+ 1 with the weight",
        "attention": f"per head and scored (query, key) pair: QK^T and AV, 2 x head_dim MACs; softmax "
                     f"{attention.SOFTMAX}; scaling by 1/sqrt(head_dim) {attention.SCALE}; rotary "
                     f"{attention.ROTARY} per rotated element of Q and K (rotary_dim of each head). "
                     f"Pairs: T x (cache + T) unmasked; "
                     f"T x cache + T(T+1)/2 with causal: true; at most `window` keys per query with a window; "
                     f"T x S with kv_from (cross-attention), whose K and V are projected once (none in a decode "
                     f"step); a relative position bias 1 add per score; scaling: false no scaling",
        "embedding": "a lookup: 0; positional_embedding 1 add per element; class_token 0",
        "gated_mlp/moe": "matrices as linear; activation per hidden element; the gate 1 multiply per hidden "
                         "element; moe: router (linear), softmax over the experts, top_k experts per token, "
                         "top_k multiplies + top_k - 1 adds per output element to combine; top-k selection "
                         "comparisons not counted",
        "maxpool": "window - 1 comparisons per output element (windows counted at full size)",
        "avgpool": "window - 1 adds + 1 divide per output element (windows counted at full size)",
        "adaptive/global pooling": "as pooling, summed over the actual windows",
        "add/mul": "inputs - 1 per output element",
        "matmul": "[..., n, k] @ [..., k, m]: (broadcast leading dims) x n x k x m MACs",
        "einsum": "one operand: prod(all letters) - prod(output letters) adds; two: letters in one operand only "
                  "(not the output) are summed first (adds, as above), then prod(remaining letters) MACs if a "
                  "letter is contracted, else 1 multiply per output element; size-1 dims take no part (as "
                  "torch); 3+ operands refused",
        "scale": "1 multiply (+ 1 add with a bias) per element",
        "bias_add": "1 add per element",
        "scalar_mul": "1 multiply per element (by a constant)",
        "rotary_embedding": "0 (holds RoPE's frequency tables, dim / 2 buffers each; the rotation is counted in "
                            "the attention)",
        "upsample": "nearest 0; interpolation with t taps: t multiplies + t - 1 adds per output element",
        "dropout/identity/flatten/reshape/permute/chunk/select/pad/crop/concat": "0 (inference; data movement)",
        "stochastic_depth": "0 (an identity at inference)",
        "channel_shuffle": "0 (a permutation of the channels; data movement)",
        "pixel_shuffle/pixel_unshuffle": "0 (a rearrangement of the elements; data movement)",
        "roll": "0 (a cyclic shift; data movement)",
        "window_attention": "qkv and output projections as linear, over the map padded to whole windows; per head and "
                            "(query, key) pair of a window: QK^T and AV 2 x head_dim MACs, softmax "
                            f"{attention.SOFTMAX}, scaling {attention.SCALE}, the relative position bias 1, a "
                            "shift's mask 1",
        "token_batchnorm": f"as batchnorm, over the last dimension: {norm.NORMALISE} per element + {norm.AFFINE} if "
                           "affine",
        "attention_bias": "1 add per score (LeViT's learned biases, read through their index buffer)",
        "frozen_batchnorm2d": "2 per element (x * scale + shift; the per-channel folding of the frozen statistics "
                              "into scale and shift is scalar work, not counted)",
        "grn": "6 per element (square and sum for the L2 norm; x times the normalised norm; weight, bias; the "
               "residual add); the per-channel root, mean and divide are scalar work, not counted",
        "std_conv": "std_conv2d as conv; the standardization of the weights (once per forward, whatever the input; "
                    "foldable at inference) not counted",
        "sub": "1 per output element",
        "split/slice": "0 (data movement)",
        **{f"activation.{name}": f"{n} per element ({how})" for name, (n, how) in SMOOTH_PER_ELEMENT.items()},
        "custom": "the spec's own formula",
        **{f"activation.{name}": f"{n} per element ({how})" for name, (n, how) in PER_ELEMENT.items()},
        **{f"recurrent.{name}": f"matmuls as linear; then per hidden unit, time step, layer and direction: "
                                f"{2 * cell.gates} bias adds (b_ih, b_hh) if bias; {cell.elementwise} elementwise "
                                f"({cell.how}); activations {', '.join(f'{f} {what}' for f, what in cell.activations)}"
           for name, cell in CELLS.items()},
        "mamba": f"projections as linear, the causal depthwise conv as conv, the readout y = h C as matmul (d_state "
                 f"MACs per token and inner channel); per token and inner channel: silu {PER_ELEMENT['silu'][0]} "
                 f"twice (conv output, gate), softplus {ssm.SOFTPLUS} (dt), {ssm.SKIP_AND_GATE} for y + D x and the "
                 f"gate; per token, inner channel and state: {ssm.DISCRETISE} to discretise (exp(A dt), dt B), "
                 f"{ssm.RECURRENCE} for h = dA h + dB x; A = -exp(A_log), per weight, not counted",
    }


ARCHCALC = Convention(
    name="archcalc",
    mac="one multiply-accumulate of a convolution, linear layer or matmul; bias adds are not MACs",
    flop="2 x MACs + bias adds + normalisation + activations + softmax + pooling + elementwise + resampling, "
         "per the rules listed",
    rules=_archcalc_rules,
    notes=(
        "Inference, batch as declared; transcendental functions (exp, erf, tanh) count 1 FLOP.",
        "Per-channel or per-group scalar work (a square root per channel) is not counted.",
        "MACs match torchvision's _ops and torch FlopCounterMode / 2 wherever the counter sees the op (it does "
        "not see eval-mode nn.MultiheadAttention's fused fast path, nor torch's fused LSTM kernel on CPU).",
    ),
)


def _kaplan_rules() -> dict[str, str]:
    return {
        "params": "non-embedding weight matrices only (Kaplan's N): token and position tables, biases and "
                  "norm parameters excluded",
        "linear": "2 FLOPs per MAC of the QKV, output-projection and feed-forward matrices",
        "attention": "QK^T and AV: 2 FLOPs per MAC, over n_ctx^2 / 2 (query, key) pairs under a causal mask "
                     "(Kaplan's continuum approximation of the exact n_ctx (n_ctx + 1) / 2)",
        "omitted": "biases, normalisation, nonlinearities, softmax, residual adds, the embedding and the "
                   "de-embedding (an output layer tied to the embedding)",
        "per token": "FLOPs are per token: the forward pass of a sequence divided by its length",
    }


KAPLAN = Convention(
    name="kaplan",
    mac="as archcalc (MACs are not restated: only FLOPs and parameters follow Kaplan)",
    flop="forward FLOPs per token of Kaplan et al. 2020, Table 1: 2 x the non-embedding matmul MACs + "
         "2 x QK^T/AV MACs over n_ctx^2/2 causal pairs; biases, norms, nonlinearities omitted",
    rules=_kaplan_rules,
    notes=("Kaplan et al. 2020, 'Scaling Laws for Neural Language Models', Table 1: N = 2 d_model n_layer "
           "(2 d_attn + d_ff), C_forward = 2N + 2 n_layer n_ctx d_attn.",),
    counted=frozenset({"linear", "attention"}), causal_pairs="half_square", embeddings=False, per_token=True,
    biases=False,
)

CONVENTIONS = {c.name: c for c in (ARCHCALC, KAPLAN)}


def _half_square(cost: Cost) -> tuple[Any, dict[str, Any]]:
    """(MACs, FLOPs by kind) of an attention layer whose causal pairs are counted as Kaplan's continuum
    T*cache + T^2/2 instead of the exact T*cache + T(T+1)/2: each figure the pairs carry moves by its
    per-pair cost times the change in pairs."""
    p = cost.pairs
    half = p.queries * p.cache + ratio(p.queries * p.queries, 2)
    macs = cost.macs - p.macs * p.scored + p.macs * half
    flops = {k: v - p.flops[k] * p.scored + p.flops[k] * half if k in p.flops else v for k, v in cost.flops.items()}
    return macs, flops
