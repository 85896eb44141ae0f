"""PyTorch translations of the sequence layer types: embeddings, attention (nn.MultiheadAttention, or written out
with explicit projections and matmuls as Hugging Face writes it, as the layer's ``call`` says), gated MLPs, a mixture
of experts and recurrent layers."""
from __future__ import annotations

from ..core.errors import SpecError
from .torch_base import Site, call, define, kw, tie, torch_code


@torch_code("embedding")
def embedding(site: Site, args: list[str]) -> str:
    s = site.spec
    module = site.module(call("nn.Embedding", s.num_embeddings, s.embedding_dim,
                              *kw(("padding_idx", s.padding_idx, None))))
    if s.tied_to:
        tie(site, (s.num_embeddings, s.embedding_dim))
    return f"{module}({args[0]})"


POSITIONAL_EMBEDDING = '''
class PositionalEmbedding(nn.Module):
    """A learned table of max_positions rows; its first T rows are added to a sequence [B, T, dim]."""

    def __init__(self, max_positions: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(max_positions, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[: x.shape[1]]
'''
define("PositionalEmbedding", POSITIONAL_EMBEDDING)


@torch_code("positional_embedding")
def positional_embedding(site: Site, args: list[str]) -> str:
    t, d = site.x
    rows = t if site.spec.max_positions is None else site.spec.max_positions
    if site.spec.call == "parameter":  # a parameter of the network module itself, as torchvision's ViT pos_embedding
        table = site.module(f"nn.Parameter(torch.randn({rows}, {d}) * 0.02)")
        return f"{args[0]} + {table}[: {args[0]}.shape[1]]"
    return site.module(call(site.helper("PositionalEmbedding"), rows, d)) + f"({args[0]})"


CLASS_TOKEN = '''
class ClassToken(nn.Module):
    """Learned tokens prepended to a sequence: [B, T, dim] -> [B, tokens + T, dim] (ViT's class token)."""

    def __init__(self, tokens: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, tokens, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.weight.expand(x.shape[0], -1, -1), x], dim=1)
'''
define("ClassToken", CLASS_TOKEN)


@torch_code("class_token")
def class_token(site: Site, args: list[str]) -> str:
    if site.spec.call == "parameter":  # a parameter of the network module itself, as torchvision's ViT class_token
        tokens = site.module(f"nn.Parameter(torch.zeros(1, {site.spec.tokens}, {site.x[-1]}))")
        return f"torch.cat([{tokens}.expand({args[0]}.shape[0], -1, -1), {args[0]}], dim=1)"
    return site.module(call(site.helper("ClassToken"), site.spec.tokens, site.x[-1])) + f"({args[0]})"


ROTARY = '''
def rotary_embedding(x: torch.Tensor, start: int, dim: int | None = None) -> torch.Tensor:
    """Rotary position embedding (RoPE) of [B, heads, T, head_dim] at positions start, start + 1, ..., in the
    half-split form x cos + rotate_half(x) sin. The tables are computed here, with base 10000 (a RotaryEmbedding
    holds the buffers, at its own base). dim: partial rotary, the first dim features of each head rotated (a table
    of dim / 2 frequencies), the rest passed on."""
    if dim is not None and dim < x.shape[-1]:
        return torch.cat([rotary_embedding(x[..., :dim], start), x[..., dim:]], dim=-1)
    t, dh = x.shape[-2], x.shape[-1]
    inv_freq = 1.0 / 10000 ** (torch.arange(0, dh, 2, device=x.device, dtype=torch.float32) / dh)
    positions = torch.arange(start, start + t, device=x.device, dtype=torch.float32)
    angles = positions[:, None] * inv_freq[None, :]  # [T, dh / 2], a broadcast product
    angles = torch.cat([angles, angles], dim=-1).to(x.dtype)
    first, second = x.chunk(2, dim=-1)
    return x * angles.cos() + torch.cat([-second, first], dim=-1) * angles.sin()
'''
define("rotary_embedding", ROTARY)

ATTEND = '''
def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, kv_heads: int, head_dim: int,
           causal: bool = False, window: int | None = None, cache: int = 0, rotary: bool = False,
           rotary_dim: int | None = None) -> torch.Tensor:
    """softmax(Q K^T / sqrt(head_dim)) V, written out as Hugging Face's eager attention writes it (torch.matmul for
    Q K^T and A V, F.softmax), so that FlopCounterMode counts the matmuls (it does not see torch's fused kernels:
    nn.MultiheadAttention's eval fast path, CPU scaled_dot_product_attention) and ptflops its patched functions.

    q [B, T, heads * head_dim], k and v [B, T, kv_heads * head_dim] -> [B, T, heads * head_dim]. kv_heads < heads
    is grouped-query attention: each K/V head serves heads / kv_heads query heads. cache: the T new tokens also
    attend to `cache` earlier positions (a decode step); their keys and values are zeros here, standing in for a
    real K/V cache of that length. causal: query i, at position cache + i, sees keys up to its own position (with
    a window, only the last `window` of them); the mask hides the other scores, which are still computed.
    """
    b, t = q.shape[0], q.shape[1]
    q = q.reshape(b, t, heads, head_dim).transpose(1, 2)  # [B, h, T, dh]
    k = k.reshape(b, t, kv_heads, head_dim).transpose(1, 2)  # [B, g, T, dh]
    v = v.reshape(b, t, kv_heads, head_dim).transpose(1, 2)
    if rotary:
        q, k = rotary_embedding(q, cache, rotary_dim), rotary_embedding(k, cache, rotary_dim)
    if cache:
        past = torch.zeros(b, kv_heads, cache, head_dim, dtype=k.dtype, device=k.device)
        k, v = torch.cat([past, k], dim=2), torch.cat([past, v], dim=2)  # [B, g, cache + T, dh]
    if kv_heads != heads:
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
    scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(head_dim))  # [B, h, T, cache + T]
    if causal:
        query = torch.arange(cache, cache + t, device=q.device)[:, None]
        key = torch.arange(cache + t, device=q.device)[None, :]
        hidden = key > query
        if window is not None:
            hidden = hidden | (key <= query - window)
        scores = scores.masked_fill(hidden, float("-inf"))
    y = torch.matmul(F.softmax(scores, dim=-1), v)  # [B, h, T, dh]
    return y.transpose(1, 2).reshape(b, t, heads * head_dim)
'''
define("attend", ATTEND, "rotary_embedding")

ATTENTION = '''
class Attention(nn.Module):
    """Self-attention on [B, T, embed_dim] with its projections: one fused Q/K/V projection (as
    nn.MultiheadAttention's in_proj) or q_proj, k_proj and v_proj; then attend(); then out_proj. bias: one flag
    for every projection, or one per projection ({"q": .., "k": .., "v": .., "out": ..})."""

    def __init__(self, embed_dim: int, num_heads: int, kv_heads: int | None = None, head_dim: int | None = None,
                 bias: bool | dict = True, fused: bool = True, out_proj: bool = True, causal: bool = False,
                 window: int | None = None, cache: int = 0, rotary: bool = False,
                 rotary_dim: int | None = None) -> None:
        super().__init__()
        has = bias if isinstance(bias, dict) else dict.fromkeys(("q", "k", "v", "out"), bias)  # per projection
        self.heads, self.kv_heads = num_heads, kv_heads or num_heads
        self.head_dim = head_dim or embed_dim // num_heads
        self.causal, self.window, self.cache, self.rotary = causal, window, cache, rotary
        self.rotary_dim = rotary_dim
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        self.sizes = [q, kv, kv]
        if fused:
            self.qkv = nn.Linear(embed_dim, q + 2 * kv, bias=has["q"])
        else:
            self.q_proj = nn.Linear(embed_dim, q, bias=has["q"])
            self.k_proj = nn.Linear(embed_dim, kv, bias=has["k"])
            self.v_proj = nn.Linear(embed_dim, kv, bias=has["v"])
        self.out_proj = nn.Linear(q, embed_dim, bias=has["out"]) if out_proj else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "qkv"):
            q, k, v = self.qkv(x).split(self.sizes, dim=-1)
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        y = attend(q, k, v, self.heads, self.kv_heads, self.head_dim, self.causal, self.window, self.cache,
                   self.rotary, self.rotary_dim)
        return y if self.out_proj is None else self.out_proj(y)
'''
define("Attention", ATTENTION, "attend")


def _heads(site: Site, width: int) -> tuple[int, int, int]:
    """(heads, kv_heads, head_dim), with archcalc's defaults; rotary needs an even head_dim."""
    s = site.spec
    h, g = s.num_heads, s.kv_heads or s.num_heads
    dh = s.head_dim or width // h
    if getattr(s, "rotary", False) and dh % 2:
        raise SpecError(f"rotary with an odd head_dim ({dh}) cannot be exported: the rotation pairs up features",
                        hint="use an even head_dim")
    return h, g, dh


@torch_code("multihead_attention")
def multihead_attention(site: Site, args: list[str]) -> str:
    """nn.MultiheadAttention (``call: module``, the default where it computes the layer exactly), called as
    torchvision's ViT calls it; otherwise attention written out (Attention, attend)."""
    s, d = site.spec, site.x[-1]
    if s.kv_from is not None or s.relative_buckets or not s.scaling:
        return encoder_decoder_attention(site, args)
    if s.torch_native:
        module = site.module(call("nn.MultiheadAttention", d, s.num_heads, "batch_first=True"))
        if len(site.x) > 2:  # [B, ..., T, d]: the sequences side by side in the batch (one tensor: self-attention)
            y = f"{module}((seq := {args[0]}.flatten(0, -3)), seq, seq, need_weights=False)[0]"
            return f"{y}.unflatten(0, {args[0]}.shape[:-2])"
        x = args[0]
        return f"{module}({x}, {x}, {x}, need_weights=False)[0]"
    h, g, dh = _heads(site, d)
    per_projection = isinstance(s.bias, dict)
    bias = ["bias={" + ", ".join(f'"{k}": {v!r}' for k, v in s.bias.items()) + "}"] if per_projection else []
    module = site.module(call(site.helper("Attention"), d, f"num_heads={h}", *kw(
        ("kv_heads", g, h), ("head_dim", dh, d // h)), *bias, *kw(("bias", per_projection or s.bias, True),
        ("fused", s.qkv == "fused", True), ("out_proj", s.out_proj, True), ("causal", s.causal, False),
        ("window", s.window, None), ("cache", s.cache, 0), ("rotary", s.rotary, False),
        ("rotary_dim", s.rotary_dim, None))))
    if len(site.x) > 2:  # [B, ..., T, d]: the sequences side by side in the batch, then apart again
        return f"{module}({args[0]}.flatten(0, -3)).unflatten(0, {args[0]}.shape[:-2])"
    return f"{module}({args[0]})"


RELATIVE_BUCKET = '''
def relative_bucket(query: torch.Tensor, key: torch.Tensor, buckets: int, bidirectional: bool,
                    max_distance: int = 128) -> torch.Tensor:
    """T5's bucket of each (query, key) offset: half the buckets exact offsets, the rest logarithmic up to
    max_distance; a bidirectional bias splits them between keys before and after the query."""
    offset = key[None, :] - query[:, None]
    out = torch.zeros_like(offset)
    if bidirectional:
        buckets //= 2
        out = (offset > 0).long() * buckets
        offset = offset.abs()
    else:
        offset = -offset.clamp(max=0)
    exact = buckets // 2
    far = exact + (torch.log(offset.float().clamp(min=1) / exact) / math.log(max_distance / exact)
                   * (buckets - exact)).long()
    return out + torch.where(offset < exact, offset, far.clamp(max=buckets - 1))
'''
define("relative_bucket", RELATIVE_BUCKET)

ENCODER_DECODER_ATTENTION = '''
class EncoderDecoderAttention(nn.Module):
    """Attention as encoder-decoders write it (T5, BART, Whisper), projections q_proj, k_proj, v_proj and out_proj:
    self-attention on x [B, T, embed_dim], or cross-attention with keys and values from memory [B, S, kv_dim] (an
    encoder's output). cache: a decode step; self-attention also attends to `cache` earlier positions, and
    cross-attention reads K and V projected at the first step; zeros stand in for both caches. relative_buckets: T5's
    relative position bias, a table of buckets x heads (without relative_table the bias comes from an earlier layer;
    zeros stand in for it). scaling: False leaves the scores unscaled (T5)."""

    def __init__(self, embed_dim: int, num_heads: int, kv_dim: int | None = None, kv_heads: int | None = None,
                 head_dim: int | None = None, bias: bool | dict = True, out_proj: bool = True, causal: bool = False,
                 cache: int = 0, scaling: bool = True, relative_buckets: int = 0, relative_table: bool = True) -> None:
        super().__init__()
        has = bias if isinstance(bias, dict) else dict.fromkeys(("q", "k", "v", "out"), bias)  # per projection
        self.heads, self.kv_heads = num_heads, kv_heads or num_heads
        self.head_dim = head_dim or embed_dim // num_heads
        self.causal, self.cache, self.buckets = causal, cache, relative_buckets
        self.scale = 1.0 / math.sqrt(self.head_dim) if scaling else None
        kv_dim = kv_dim or embed_dim
        self.q_proj = nn.Linear(embed_dim, self.heads * self.head_dim, bias=has["q"])
        self.k_proj = nn.Linear(kv_dim, self.kv_heads * self.head_dim, bias=has["k"])
        self.v_proj = nn.Linear(kv_dim, self.kv_heads * self.head_dim, bias=has["v"])
        self.out_proj = nn.Linear(self.heads * self.head_dim, embed_dim, bias=has["out"]) if out_proj else None
        self.relative_bias = nn.Embedding(relative_buckets, num_heads) if relative_buckets and relative_table else None

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        (b, t), h, g, dh = x.shape[:2], self.heads, self.kv_heads, self.head_dim
        q = self.q_proj(x).reshape(b, t, h, dh).transpose(1, 2)  # [B, h, T, dh]
        if memory is not None and self.cache:  # cross-attention in a decode step: K and V from the cache
            k = v = torch.zeros(b, g, memory.shape[1], dh, dtype=x.dtype, device=x.device)
        else:
            source = x if memory is None else memory
            k = self.k_proj(source).reshape(b, source.shape[1], g, dh).transpose(1, 2)  # [B, g, keys, dh]
            v = self.v_proj(source).reshape(b, source.shape[1], g, dh).transpose(1, 2)
            if memory is None and self.cache:
                past = torch.zeros(b, g, self.cache, dh, dtype=k.dtype, device=k.device)
                k, v = torch.cat([past, k], dim=2), torch.cat([past, v], dim=2)
        if g != h:
            k, v = k.repeat_interleave(h // g, dim=1), v.repeat_interleave(h // g, dim=1)
        scores = torch.matmul(q, k.transpose(-2, -1))  # [B, h, T, keys]
        if self.scale is not None:
            scores = scores * self.scale
        first = self.cache if memory is None else 0
        query = torch.arange(first, first + t, device=x.device)
        key = torch.arange(k.shape[2], device=x.device)
        if self.buckets:
            if self.relative_bias is None:
                scores = scores + torch.zeros(h, t, k.shape[2], dtype=scores.dtype, device=scores.device)
            else:
                bucket = relative_bucket(query, key, self.buckets, bidirectional=not self.causal)
                scores = scores + self.relative_bias(bucket).permute(2, 0, 1)  # [h, T, keys]
        if self.causal:
            scores = scores.masked_fill(key[None, :] > query[:, None], float("-inf"))
        y = torch.matmul(F.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, t, h * dh)
        return y if self.out_proj is None else self.out_proj(y)
'''
define("EncoderDecoderAttention", ENCODER_DECODER_ATTENTION, "relative_bucket")


def encoder_decoder_attention(site: Site, args: list[str]) -> str:
    """Cross-attention (kv_from), a relative position bias or unscaled scores: EncoderDecoderAttention."""
    s, d = site.spec, site.x[-1]
    if s.rotary or s.window is not None:
        raise SpecError("rotary or a window with kv_from, relative_buckets or scaling: false cannot be exported yet",
                        hint="export without them; archcalc's counts follow the spec")
    h, g, dh = _heads(site, d)
    cross = s.kv_from is not None
    per_projection = isinstance(s.bias, dict)
    bias = ["bias={" + ", ".join(f'"{k}": {v!r}' for k, v in s.bias.items()) + "}"] if per_projection else []
    module = site.module(call(site.helper("EncoderDecoderAttention"), d, f"num_heads={h}", *kw(
        ("kv_dim", site.inputs[1][-1] if cross else d, d), ("kv_heads", g, h), ("head_dim", dh, d // h)), *bias, *kw(
        ("bias", per_projection or s.bias, True), ("out_proj", s.out_proj, True), ("causal", s.causal, False),
        ("cache", s.cache, 0),
        ("scaling", s.scaling, True), ("relative_buckets", s.relative_buckets, 0),
        ("relative_table", s.relative_table, True))))
    return f"{module}({args[0]}, {args[1]})" if cross else f"{module}({args[0]})"


@torch_code("scaled_dot_product_attention")
def scaled_dot_product_attention(site: Site, args: list[str]) -> str:
    s = site.spec
    h, g, dh = _heads(site, site.x[-1])
    split = f"*{args[0]}.split([{h * dh}, {g * dh}, {g * dh}], dim=-1)"
    return call(site.helper("attend"), split, h, g, dh, *kw(("causal", s.causal, False), ("window", s.window, None),
                                                          ("cache", s.cache, 0)))


GATED_MLP = '''
MLP_ACTIVATIONS = {"silu": nn.SiLU, "gelu": nn.GELU, "relu": nn.ReLU,
                   "gelu_tanh": lambda: nn.GELU(approximate="tanh")}


class GatedMLP(nn.Module):
    """down(act(gate(x)) * up(x)) on the last dimension when gated (SwiGLU with silu, GeGLU with gelu), else the
    plain two-matrix MLP down(act(up(x))). The activation is a module, as in Hugging Face's LlamaMLP."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int | None = None,
                 activation: str = "silu", gated: bool = True, bias: bool = False) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(in_features, hidden_features, bias=bias) if gated else None
        self.up_proj = nn.Linear(in_features, hidden_features, bias=bias)
        self.down_proj = nn.Linear(hidden_features, out_features or in_features, bias=bias)
        self.act = MLP_ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.up_proj(x)
        h = self.act(h) if self.gate_proj is None else self.act(self.gate_proj(x)) * h
        return self.down_proj(h)
'''
define("GatedMLP", GATED_MLP)

MOE = '''
class MoE(nn.Module):
    """A sparse mixture of experts on the last dimension: a linear router (no bias) scores the experts, softmax
    over them, and each token goes through its top_k experts, whose outputs are summed weighted by their
    router probabilities.

    Each expert runs only on the tokens routed to it (gathered by index, added back with index_add_), so the
    arithmetic done, and what FlopCounterMode counts, is the routed work: the router and top_k experts per token,
    not every expert on every token. The gathering depends on the values, so this cannot run on the meta device.
    """

    def __init__(self, in_features: int, hidden_features: int, experts: int, top_k: int,
                 out_features: int | None = None, activation: str = "silu", gated: bool = True,
                 bias: bool = False) -> None:
        super().__init__()
        self.top_k, self.out_features = top_k, out_features or in_features
        self.router = nn.Linear(in_features, experts, bias=False)
        self.experts = nn.ModuleList(GatedMLP(in_features, hidden_features, out_features, activation, gated, bias)
                                     for _ in range(experts))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(-1, x.shape[-1])  # [N, d]
        weights, chosen = self.router(tokens).softmax(dim=-1).topk(self.top_k, dim=-1)  # [N, top_k] each
        y = tokens.new_zeros(tokens.shape[0], self.out_features)
        for e, expert in enumerate(self.experts):
            rows, slot = torch.nonzero(chosen == e, as_tuple=True)  # the tokens routed to expert e
            y.index_add_(0, rows, expert(tokens[rows]) * weights[rows, slot, None])
        return y.reshape(*x.shape[:-1], self.out_features)
'''
define("MoE", MOE, "GatedMLP")


def _mlp_options(site: Site) -> list[str]:
    s = site.spec
    return kw(("out_features", s.out_features, None), ("activation", s.activation, "silu"), ("gated", s.gated, True),
              ("bias", s.bias, False))


@torch_code("gated_mlp")
def gated_mlp(site: Site, args: list[str]) -> str:
    module = site.module(call(site.helper("GatedMLP"), site.x[-1], site.spec.hidden_features, *_mlp_options(site)))
    return f"{module}({args[0]})"


@torch_code("moe")
def moe(site: Site, args: list[str]) -> str:
    s = site.spec
    module = site.module(call(site.helper("MoE"), site.x[-1], s.hidden_features, s.experts, s.top_k,
                              *_mlp_options(site)))
    return f"{module}({args[0]})"


ONE_BIAS_PER_GATE = '''
def one_bias_per_gate(rnn: nn.RNNBase) -> nn.RNNBase:
    """Keras' bias layout on a torch recurrent layer: each second bias b_hh becomes a constant zero tensor (not a
    parameter), so that the cell computes W_ih x + W_hh h + b with one learnable bias per gate row."""
    for name in [n for n, _ in rnn.named_parameters() if n.startswith("bias_hh")]:
        setattr(rnn, name, torch.zeros_like(rnn._parameters.pop(name)).detach())  # RNNBase updates its flat weights
    return rnn
'''
define("one_bias_per_gate", ONE_BIAS_PER_GATE)


@torch_code("lstm", "gru", "rnn")
def recurrent(site: Site, args: list[str]) -> str:
    s = site.spec
    if s.type == "gru" and not s.reset_after:
        raise SpecError("gru with reset_after: false cannot be exported: torch's GRU applies the reset gate after "
                        "its hidden matmul", hint="use reset_after: true (Keras' default) to export")
    options = kw(("num_layers", s.num_layers, 1), ("bias", s.bias, True), ("dropout", s.dropout, 0),
                 ("bidirectional", s.bidirectional, False))
    if s.type == "lstm":
        options += kw(("proj_size", s.proj_size, 0))
    if s.type == "rnn":
        options += kw(("nonlinearity", s.nonlinearity, "tanh"))
    constructor = call(f"nn.{s.type.upper()}", site.x[-1], s.hidden_size, *options, "batch_first=True")
    if s.bias and not s.hidden_bias:
        constructor = call(site.helper("one_bias_per_gate"), constructor)
    module = site.module(constructor)
    if s.output == "last":  # h_n [layers * D, B, H_out]: the last layer's directions, forward then backward
        state = "[1][0]" if s.type == "lstm" else "[1]"
        directions = 2 if s.bidirectional else 1
        return f"{module}({args[0]}){state}[-{directions}:].transpose(0, 1).flatten(1)  # the final states"
    return f"{module}({args[0]})[0]  # the output sequence; the final states are dropped"


ROTARY_TABLES = '''
class RotaryEmbedding(nn.Module):
    """RoPE's frequency tables held as buffers the way transformers' LlamaRotaryEmbedding registers them
    (non-persistent): inv_freq = 1 / base ** (2i / dim), and its copy original_inv_freq. The identity on x: the
    rotation is the attention's."""

    def __init__(self, dim: int, base: float = 10000.0, original_inv_freq: bool = True) -> None:
        super().__init__()
        inv_freq = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        if original_inv_freq:
            self.register_buffer("original_inv_freq", inv_freq.clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
'''
define("RotaryEmbedding", ROTARY_TABLES)


@torch_code("rotary_embedding")
def rotary_tables(site: Site, args: list[str]) -> str:
    s = site.spec
    options = kw(("base", s.base, 10000), ("original_inv_freq", s.original_inv_freq, True))
    return site.module(call(site.helper("RotaryEmbedding"), s.dim, *options)) + f"({args[0]})"
