"""Token and position embeddings: ``embedding``, ``positional_embedding`` and ``class_token``.

A lookup reads one row per token and does no arithmetic: 0 MACs and 0 FLOPs. Adding positions is one
add per element. A sequence is per sample ``[T]`` (token ids) or ``[T, d]`` (vectors), features last.
"""
from __future__ import annotations

from ..core.declare import TEXT, field, maybe
from ..core.errors import ShapeError
from ..core.fields import Int, PositiveInt
from ..core.num import is_concrete, prod
from .base import Cost, LayerSpec, Shape, call_field, check_equal, expect_rank, formula


class EmbeddingSpec(LayerSpec):
    """A lookup table, as torch.nn.Embedding: token ids of any shape -> vectors in a new last dimension."""

    TYPES = ("embedding",)
    num_embeddings = field(PositiveInt, description="Vocabulary size (rows of the table).")
    embedding_dim = field(PositiveInt, description="Vector size (columns of the table).")
    padding_idx = field(maybe(Int), None, "Row kept at zero, as in torch (no count changes).")
    tied_to = field(maybe(TEXT), None, "Name of an earlier layer whose weight this one shares (weight tying): "
                                       "the shared weight is counted there, once.")
    kind = "embedding"


@formula(EmbeddingSpec)
def embedding(spec: EmbeddingSpec, x: Shape) -> Cost:
    """num_embeddings x embedding_dim parameters; a lookup costs no arithmetic."""
    n, d = spec.num_embeddings, spec.embedding_dim
    if spec.padding_idx is not None and not -n <= spec.padding_idx < n:
        raise ShapeError(f"padding_idx={spec.padding_idx} is outside the table of {n} rows",
                         hint=f"use a value in [{-n}, {n - 1}]")
    weight = n * d
    return Cost(shape=(*x, d), params=0 if spec.tied_to else weight, shared=weight if spec.tied_to else 0,
                dims=(*((i,) for i in range(len(x))), ()))  # the vector dimension is new


class PositionalEmbeddingSpec(LayerSpec):
    """A learned position table added to a sequence [T, d] (GPT-2's wpe, BERT's position embeddings, ViT's
    pos_embedding). ``max_positions`` rows are stored; the first T are added."""

    TYPES = ("positional_embedding",)
    max_positions = field(maybe(PositiveInt), None, "Rows of the table; default: the sequence length T.")
    embedding_dim = field(maybe(PositiveInt), None, "Vector size; inferred from the last dimension, checked "
                                                    "when given.")
    call = call_field("module", module="a module of its own holding the table as its weight (as archcalc exports "
                                       "it; Hugging Face's BERT and GPT-2 look positions up in an nn.Embedding, "
                                       "which every tool counts alike)",
                      parameter="a plain nn.Parameter of the enclosing module, added in its forward "
                                "(torchvision's ViT pos_embedding)")
    kind = "elementwise"


@formula(PositionalEmbeddingSpec)
def positional_embedding(spec: PositionalEmbeddingSpec, x: Shape) -> Cost:
    """max_positions x d parameters; one add per element of the sequence."""
    expect_rank(x, 2, "[positions, features]")
    t, d = x
    check_equal(spec.embedding_dim, d, "embedding_dim", "features in its last dimension")
    rows = t if spec.max_positions is None else spec.max_positions
    if is_concrete(rows) and is_concrete(t) and t > rows:
        raise ShapeError(f"the sequence has {t} positions but the table only {rows}",
                         hint=f"set max_positions: {t} or more")
    return Cost(shape=x, params=rows * d, flops={"elementwise": prod(x)})


class ClassTokenSpec(LayerSpec):
    """Learned tokens prepended to a sequence [T, d] -> [T + tokens, d] (ViT's class token, BERT-style
    [CLS] when learned separately)."""

    TYPES = ("class_token",)
    tokens = field(PositiveInt, 1, "How many learned tokens are prepended.")
    call = call_field("module", module="a module of its own holding the tokens as its weight",
                      parameter="a plain nn.Parameter of the enclosing module, concatenated in its forward "
                                "(torchvision's ViT class_token)")
    kind = "other"


@formula(ClassTokenSpec)
def class_token(spec: ClassTokenSpec, x: Shape) -> Cost:
    """tokens x d parameters; concatenation is data movement (0 FLOPs)."""
    expect_rank(x, 2, "[positions, features]")
    t, d = x
    return Cost(shape=(t + spec.tokens, d), params=spec.tokens * d, rf=None)
