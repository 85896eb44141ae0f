"""``rotary_embedding``: the module that holds a rotary position embedding's frequency tables, as transformers'
LlamaRotaryEmbedding (and its Mistral, Mixtral, Qwen2, Gemma, Phi, GPTNeoX, Falcon copies) does, once per model.

The rotation itself is counted where it happens, in ``multihead_attention`` with ``rotary: true``; this layer
only holds the tables: inv_freq, 1 / base ** (2i / dim) for i < dim / 2 (one frequency per rotated pair of
features), and transformers' copy of it, original_inv_freq (kept to restore the table after a dynamic rescaling).
On the tensor it is the identity, with no arithmetic."""
from __future__ import annotations

from ..core.declare import field
from ..core.errors import SpecError
from ..core.fields import Flag, Number, PositiveInt
from ..core.num import is_concrete
from .base import Cost, LayerSpec, Shape, formula


class RotaryEmbeddingSpec(LayerSpec):
    """Holds RoPE's frequency tables as buffers; passes the input through unchanged."""

    TYPES = ("rotary_embedding",)
    dim = field(PositiveInt, description="Features of each head the rotation turns (transformers' head_dim x "
                                         "partial_rotary_factor; Phi-2 32 of 80, Pythia 16 of 64): an even "
                                         "number, dim / 2 frequencies in each table.")
    base = field(Number, 10000, "The frequencies' base (transformers' rope_theta); no count depends on it.")
    original_inv_freq = field(Flag, True, "Also keep the copy transformers 5 registers as original_inv_freq "
                                          "(dim / 2 more buffers); false: inv_freq alone, as older versions.")


def frequencies(spec: RotaryEmbeddingSpec) -> object:
    """dim / 2: one frequency per rotated pair of features; an odd dim leaves a feature with no partner."""
    if is_concrete(spec.dim) and spec.dim % 2:
        raise SpecError(f"rotary_embedding dim={spec.dim} is odd: the rotation turns pairs of features",
                        hint="an even dim, e.g. head_dim, or the rotary_dim of the attention it serves")
    return spec.dim // 2


@formula(RotaryEmbeddingSpec)
def rotary_embedding(spec: RotaryEmbeddingSpec, x: Shape) -> Cost:
    """The identity on x; buffers: the table of dim / 2 frequencies, twice (dim in all, which keeps a symbolic dim
    free of a floor) with original_inv_freq."""
    half = frequencies(spec)
    return Cost(shape=x, buffers=spec.dim if spec.original_inv_freq else half)
