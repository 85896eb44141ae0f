"""Transformer layers and the language-model zoo against PyTorch: ViT, GPT-2, BERT and Llama blocks.

Where the expected numbers come from:
- torch oracle: every module below is written here by hand (no torchvision, no transformers), mirroring
  torchvision 0.29.1's vision_transformer.py (EncoderBlock, VisionTransformer) and Hugging Face's GPT2LMHeadModel,
  BertModel and LlamaForCausalLM. It is measured in eval mode under no_grad on a batch of 1:
  params = sum of parameters().numel() (which counts a tied weight once), buffers = sum of buffers().numel(),
  macs = torch.utils.flop_counter.FlopCounterMode(display=False) total // 2, and the output shape.
- attention is written out (Linear projections, q @ k^T, scale, softmax, @ v) because FlopCounterMode is blind to
  torch's fused attention on CPU: nn.MultiheadAttention in eval mode under no_grad takes the fast path
  aten._native_multi_head_attention (0 counted), and F.scaled_dot_product_attention dispatches to
  aten._scaled_dot_product_flash_attention_for_cpu, which has no flop formula (0 counted). The tests below
  check both, and check that the written-out attention computes what nn.MultiheadAttention does.
- a causal mask in torch is a masked_fill on the full T x T score matrix, so FlopCounterMode counts the square:
  it is compared with archcalc's `causal: false`; archcalc's `causal: true` (the lower triangle, T(T+1)/2 pairs
  per head) is checked by the arithmetic written out in each test. A decode step (one new token against a KV
  cache) has no masked pairs, so there torch and `causal: true` agree exactly.
- the big models (GPT-2 at T=1024, BERT-base, ViT-B) run on torch's meta device: shapes and FLOP counts without
  allocating or computing. test_meta_device_counts_like_cpu checks that this changes no count for the modules
  written here (it does change nn.MultiheadAttention's: on meta its SDPA falls back to bmm, which is counted).
- published figures: GPT-2 small 124,439,808, BERT-base 109,482,240 and Llama-2-7B 6,738,415,616 params, each
  also written out as a sum; ViT-B/16 and B/32 FlopCounterMode / 2 on torchvision's own models from
  tests/data/torchvision_reference.json (measured with torchvision 0.29.1).
The arithmetic-only tests of the same layers are in tests/test_transformer.py.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import archcalc

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402  (after the importorskip)

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_reference.json").read_text())["models"]


# ---------------------------------------------------------------- measuring

def count_macs(fn, *args, **kwargs) -> int:
    """FlopCounterMode's total / 2 for one call, in no_grad (inference, as archcalc counts)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    flops = counter.get_total_flops()
    assert flops % 2 == 0  # 2 FLOPs per multiply-accumulate
    return flops // 2


def measure(model: nn.Module, *inputs, **kwargs) -> dict:
    """One eval-mode forward pass: params, buffers, MACs and the output shape."""
    model.eval()
    out = []
    macs = count_macs(lambda: out.append(model(*inputs, **kwargs)))
    return {"params": sum(p.numel() for p in model.parameters()),
            "buffers": sum(b.numel() for b in model.buffers()),
            "macs": macs, "output_shape": tuple(out[0].shape)}


def analyze(spec: str | Path, **overrides) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(spec), **overrides)


def totals(report: archcalc.Report) -> dict:
    return {"params": report.totals.params, "buffers": report.totals.buffers, "macs": report.totals.macs,
            "output_shape": tuple(report.output_shape)}


def cli_totals(spec: Path, *sets: str) -> dict:
    """The command line's JSON totals, with `--set` overrides."""
    args = [sys.executable, "-m", "archcalc", str(spec), "-f", "json"]
    for s in sets:
        args += ["--set", s]
    done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout)["totals"]


def tokens(t: int, vocab: int, device: str = "cpu"):
    return torch.zeros(1, t, dtype=torch.long, device=device)


# ---------------------------------------------------------------- torch modules, attention written out

def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def rope(x, start: int):
    """Rotary position embedding, as Hugging Face's Llama (elementwise only: FlopCounterMode counts nothing).
    The cos/sin tables are computed here; the frequency tables HF keeps as buffers are RotaryTables' (below)."""
    dh, t = x.shape[-1], x.shape[-2]
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dh, 2, device=x.device, dtype=torch.float32) / dh))
    angles = torch.outer(torch.arange(start, start + t, device=x.device, dtype=torch.float32), inv_freq)
    emb = torch.cat((angles, angles), dim=-1)
    return x * emb.cos() + rotate_half(x) * emb.sin()


class Attention(nn.Module):
    """Self-attention with every matmul visible to FlopCounterMode.

    fused: one Linear(d, (h + 2g) dh) as torch's in_proj / GPT-2's c_attn; else q/k/v_proj as BERT and Llama.
    kv_heads g < num_heads h: grouped-query attention, K and V repeated per group with repeat_interleave.
    causal: a boolean mask on the full score matrix (masked_fill), so every product is still computed.
    cache: (K, V) of earlier tokens, each [B, g, S0, dh]; the new tokens attend to S0 + T keys.
    """

    def __init__(self, d: int, num_heads: int, kv_heads: int | None = None, head_dim: int | None = None,
                 bias: bool = True, fused: bool = True, rotary: bool = False) -> None:
        super().__init__()
        self.h, self.g = num_heads, kv_heads or num_heads
        self.dh = head_dim or d // num_heads
        self.fused, self.rotary = fused, rotary
        if fused:
            self.qkv = nn.Linear(d, (self.h + 2 * self.g) * self.dh, bias=bias)
        else:
            self.q_proj = nn.Linear(d, self.h * self.dh, bias=bias)
            self.k_proj = nn.Linear(d, self.g * self.dh, bias=bias)
            self.v_proj = nn.Linear(d, self.g * self.dh, bias=bias)
        self.out_proj = nn.Linear(self.h * self.dh, d, bias=bias)

    def forward(self, x, causal: bool = False, cache=None):
        b, t, _ = x.shape
        if self.fused:
            q, k, v = self.qkv(x).split([self.h * self.dh, self.g * self.dh, self.g * self.dh], dim=-1)
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q = q.view(b, t, self.h, self.dh).transpose(1, 2)  # [B, h, T, dh]
        k = k.view(b, t, self.g, self.dh).transpose(1, 2)  # [B, g, T, dh]
        v = v.view(b, t, self.g, self.dh).transpose(1, 2)
        start = 0 if cache is None else cache[0].shape[2]
        if self.rotary:
            q, k = rope(q, start), rope(k, start)
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        if self.g != self.h:
            k = k.repeat_interleave(self.h // self.g, dim=1)
            v = v.repeat_interleave(self.h // self.g, dim=1)
        s = k.shape[2]
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.dh))  # [B, h, T, S]
        if causal:  # query i (after `start` cached tokens) sees keys 0 .. start + i
            keep = torch.ones(t, s, dtype=torch.bool, device=x.device).tril(diagonal=s - t)
            scores = scores.masked_fill(~keep, float("-inf"))
        y = scores.softmax(dim=-1) @ v  # [B, h, T, dh]
        return self.out_proj(y.transpose(1, 2).reshape(b, t, self.h * self.dh))


class TorchMHA(nn.Module):
    """torchvision's use of nn.MultiheadAttention (batch_first, need_weights=False)."""

    def __init__(self, d: int, num_heads: int) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(d, num_heads, batch_first=True)

    def forward(self, x, attn_mask=None):
        return self.mha(x, x, x, attn_mask=attn_mask, need_weights=False)[0]


def mlp(d: int, hidden: int, approximate: str = "none") -> nn.Sequential:
    return nn.Sequential(nn.Linear(d, hidden), nn.GELU(approximate=approximate), nn.Linear(hidden, d))


class PreNormBlock(nn.Module):
    """ViT's EncoderBlock (LayerNorm eps 1e-6, GELU) and GPT-2's Block (eps 1e-5, tanh GELU, causal)."""

    def __init__(self, d: int, heads: int, hidden: int, eps: float = 1e-6, approximate: str = "none",
                 causal: bool = False, torch_mha: bool = False) -> None:
        super().__init__()
        self.causal, self.torch_mha = causal, torch_mha
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = TorchMHA(d, heads) if torch_mha else Attention(d, heads)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = mlp(d, hidden, approximate)

    def forward(self, x, cache=None):
        if self.torch_mha:
            x = x + self.attn(self.ln_1(x))
        else:
            x = x + self.attn(self.ln_1(x), causal=self.causal, cache=cache)
        return x + self.mlp(self.ln_2(x))


class ViT(nn.Module):
    """torchvision's VisionTransformer (image 224, 12 layers, width 768, 12 heads, MLP 3072, 1000 classes)."""

    def __init__(self, patch: int, image: int = 224, d: int = 768, depth: int = 12, heads: int = 12,
                 hidden: int = 3072, classes: int = 1000, torch_mha: bool = False) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, d, kernel_size=patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embedding = nn.Parameter(torch.empty(1, (image // patch) ** 2 + 1, d).normal_(std=0.02))
        self.layers = nn.Sequential(*(PreNormBlock(d, heads, hidden, torch_mha=torch_mha) for _ in range(depth)))
        self.ln = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
        return self.head(self.ln(self.layers(x))[:, 0])


class GPT2(nn.Module):
    """GPT2LMHeadModel: lm_head tied to wte (one shared weight, which parameters() yields once)."""

    def __init__(self, vocab: int = 50257, n_ctx: int = 1024, d: int = 768, depth: int = 12,
                 heads: int = 12) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(n_ctx, d)
        self.h = nn.ModuleList(PreNormBlock(d, heads, 4 * d, eps=1e-5, approximate="tanh", causal=True)
                               for _ in range(depth))
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, caches=None):
        start = 0 if caches is None else caches[0][0].shape[2]
        pos = torch.arange(start, start + idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for i, block in enumerate(self.h):
            x = block(x, cache=None if caches is None else caches[i])
        return self.lm_head(self.ln_f(x))


class BertModel(nn.Module):
    """Hugging Face's BertModel with its pooler: post-norm layers, LayerNorm eps 1e-12, exact GELU.
    (HF keeps position_ids and token_type_ids index tables as non-persistent buffers; they are plain
    aranges/zeros here, made in forward.)"""

    def __init__(self, vocab: int = 30522, max_positions: int = 512, type_vocab: int = 2, d: int = 768,
                 depth: int = 12, heads: int = 12) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(max_positions, d)
        self.token_type_embeddings = nn.Embedding(type_vocab, d)
        self.embeddings_norm = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(nn.ModuleDict({
            "attention": Attention(d, heads, fused=False),  # query, key, value and the output dense
            "attention_norm": nn.LayerNorm(d, eps=1e-12),
            "mlp": mlp(d, 4 * d),  # intermediate, GELU, output
            "output_norm": nn.LayerNorm(d, eps=1e-12)}) for _ in range(depth))
        self.pooler = nn.Linear(d, d)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.word_embeddings(idx) + self.token_type_embeddings(torch.zeros_like(idx))
        x = self.embeddings_norm(x + self.position_embeddings(pos))
        for layer in self.layers:
            x = layer["attention_norm"](x + layer["attention"](x))
            x = layer["output_norm"](x + layer["mlp"](x))
        return torch.tanh(self.pooler(x[:, 0]))


class SwiGLU(nn.Module):
    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(d, hidden, bias=False)
        self.up_proj = nn.Linear(d, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, kv_heads: int, ffn: int) -> None:
        super().__init__()
        self.input_layernorm = nn.RMSNorm(d, eps=1e-5)
        self.self_attn = Attention(d, heads, kv_heads, bias=False, fused=False, rotary=True)
        self.post_attention_layernorm = nn.RMSNorm(d, eps=1e-5)
        self.mlp = SwiGLU(d, ffn)

    def forward(self, x, cache=None):
        x = x + self.self_attn(self.input_layernorm(x), causal=True, cache=cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class RotaryTables(nn.Module):
    """HF's LlamaRotaryEmbedding as a holder of buffers: inv_freq and its copy original_inv_freq, head_dim / 2
    frequencies each, non-persistent, once per model (rope() computes the same table where it rotates)."""

    def __init__(self, head_dim: int) -> None:
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.register_buffer("original_inv_freq", inv_freq.clone(), persistent=False)


class Llama(nn.Module):
    """LlamaForCausalLM: no biases, RMSNorm, SwiGLU, RoPE, grouped-query attention, untied lm_head."""

    def __init__(self, vocab: int, d: int, depth: int, heads: int, kv_heads: int, ffn: int) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.rotary_emb = RotaryTables(d // heads)
        self.layers = nn.ModuleList(LlamaDecoderLayer(d, heads, kv_heads, ffn) for _ in range(depth))
        self.norm = nn.RMSNorm(d, eps=1e-5)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx, caches=None):
        x = self.embed_tokens(idx)
        for i, layer in enumerate(self.layers):
            x = layer(x, cache=None if caches is None else caches[i])
        return self.lm_head(self.norm(x))


def kv_caches(depth: int, kv_heads: int, head_dim: int, length: int, device: str = "cpu") -> list:
    return [(torch.zeros(1, kv_heads, length, head_dim, device=device),
             torch.zeros(1, kv_heads, length, head_dim, device=device)) for _ in range(depth)]


# ---------------------------------------------------------------- archcalc specs, inline

PRE_NORM_BLOCK = """
name: pre_norm_block
variables: {T: 10, width: 64, heads: 4, mlp: 256}
input: [T, width]
layers:
  - residual:
      body:
        - layernorm: {name: ln_1, normalized_shape: width, eps: EPS}
        - multihead_attention: {name: attn, num_heads: heads, causal: CAUSAL, cache: 0}
  - residual:
      body:
        - layernorm: {name: ln_2, normalized_shape: width, eps: EPS}
        - linear: {name: mlp_0, out_features: mlp}
        - GELU
        - linear: {name: mlp_2, out_features: width}
"""


def pre_norm_block(causal: bool = False, gpt2: bool = False, cache: int = 0) -> str:
    """ViT's encoder block, or (gpt2) GPT-2's: eps 1e-5, tanh GELU."""
    text = PRE_NORM_BLOCK.replace("EPS", "1.0e-5" if gpt2 else "1.0e-6")
    text = text.replace("GELU", "gelu: {approximate: tanh}" if gpt2 else "gelu")
    return text.replace("CAUSAL", "true" if causal else "false").replace("cache: 0", f"cache: {cache}")


ATTENTION = """
name: gqa
variables: {T: 12, d: 128, heads: 8, kv_heads: 2, head_dim: 16}
input: [T, d]
layers:
  - multihead_attention: {num_heads: heads, kv_heads: kv_heads, head_dim: head_dim, bias: false,
                          qkv: separate, causal: CAUSAL}
"""

LLAMA_LAYER = """
name: llama_layer
variables: {T: 12, width: 128, heads: 8, kv_heads: 2, ffn: 344}
input: [T, width]
layers:
  - residual:
      body:
        - rmsnorm: {name: input_layernorm, normalized_shape: width, eps: 1.0e-5}
        - multihead_attention: {name: self_attn, num_heads: heads, kv_heads: kv_heads, bias: false,
                                qkv: separate, rotary: true, causal: CAUSAL}
  - residual:
      body:
        - rmsnorm: {name: post_attention_layernorm, normalized_shape: width, eps: 1.0e-5}
        - gated_mlp: {name: mlp, hidden_features: ffn, activation: silu}
"""


def causal(text: str, on: bool) -> str:
    return text.replace("CAUSAL", "true" if on else "false")


def square_minus_triangle(t: int) -> int:
    """(query, key) pairs a causal mask hides per head: T^2 - T(T+1)/2, which torch multiplies anyway."""
    return t * t - t * (t + 1) // 2


# ================================================================ 1. ViT encoder block

@pytest.mark.parametrize("t, d, heads, hidden", [(10, 64, 4, 256), (197, 768, 12, 3072)],
                         ids=["small", "vit_b_197_tokens"])
def test_vit_encoder_block(t, d, heads, hidden):
    torch.manual_seed(0)
    got = measure(PreNormBlock(d, heads, hidden), torch.randn(1, t, d))
    report = analyze(pre_norm_block(), T=t, width=d, heads=heads, mlp=hidden)
    assert totals(report) == got
    # and the torch count is the textbook sum: QKV, out projection, QK^T and AV, the MLP's two matrices
    assert got["macs"] == t * d * 3 * d + t * d * d + 2 * t * t * d + 2 * t * d * hidden
    assert got["params"] == 4 * d * d + 4 * d + 2 * d * hidden + hidden + d + 2 * (2 * d)


@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "causal_mask"])
def test_written_out_attention_is_nn_multihead_attention(masked):
    """Weights copied from nn.MultiheadAttention: the same outputs, so the oracle computes the same thing."""
    torch.manual_seed(0)
    d, heads, t = 64, 4, 10
    ref = TorchMHA(d, heads).double().eval()
    ours = Attention(d, heads).double().eval()
    with torch.no_grad():
        ours.qkv.weight.copy_(ref.mha.in_proj_weight)
        ours.qkv.bias.copy_(ref.mha.in_proj_bias)
        ours.out_proj.weight.copy_(ref.mha.out_proj.weight)
        ours.out_proj.bias.copy_(ref.mha.out_proj.bias)
        x = torch.randn(2, t, d, dtype=torch.float64)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1) if masked else None  # True = not allowed
        expected = ref(x, attn_mask=mask)
        got = ours(x, causal=masked)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_flop_counter_is_blind_to_fused_attention():
    """What FlopCounterMode misses on CPU, and why the written-out attention is needed."""
    torch.manual_seed(0)
    d, heads, t, dh = 64, 4, 10, 16
    mha = TorchMHA(d, heads).eval()
    x = torch.randn(1, t, d)
    projections = t * d * 3 * d + t * d * d
    scores = 2 * heads * t * t * dh  # QK^T and AV
    # eval + no_grad: the fast path, one fused op the counter has no formula for
    assert count_macs(mha, x) == 0
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        mha(x)
    assert counter.get_flop_counts().get("Global", {}) == {}
    # with autograd on, the projections go through addmm (counted) but the scores through CPU SDPA (not)
    with FlopCounterMode(display=False) as counter:
        mha(x)
    assert counter.get_total_flops() // 2 == projections
    # F.scaled_dot_product_attention on CPU: nothing counted either
    q = torch.randn(1, heads, t, dh)
    assert count_macs(F.scaled_dot_product_attention, q, q, q) == 0
    assert count_macs(F.scaled_dot_product_attention, q, q, q, is_causal=True) == 0
    # the written-out attention: everything
    assert count_macs(Attention(d, heads).eval(), x) == projections + scores
    # on the meta device nn.MultiheadAttention leaves the fast path and SDPA falls back to bmm: all counted
    with torch.device("meta"):
        assert count_macs(TorchMHA(d, heads).eval(), torch.zeros(1, t, d)) == projections + scores


def test_fused_attention_ops_have_no_flop_formula():
    """The ops behind the blindness: what eval + no_grad nn.MultiheadAttention and CPU SDPA dispatch to."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class Ops(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seen = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.append(func)
            return func(*args, **(kwargs or {}))

    mha, x, q = TorchMHA(64, 4).eval(), torch.randn(1, 10, 64), torch.randn(1, 4, 10, 16)
    with torch.no_grad(), Ops() as ops:
        mha(x)
        F.scaled_dot_product_attention(q, q, q)
    aten = torch.ops.aten
    assert ops.seen == [aten._native_multi_head_attention.default,
                        aten._scaled_dot_product_flash_attention_for_cpu.default]
    assert aten._native_multi_head_attention not in flop_registry
    assert aten._scaled_dot_product_flash_attention_for_cpu not in flop_registry
    assert aten._scaled_dot_product_flash_attention in flop_registry  # the CUDA kernel is counted


def test_vit_b_16_reference_misses_exactly_the_attention_layers():
    """torchvision's vit_b_16 measures 11,271,124,992 MACs under FlopCounterMode (tests/data, torchvision 0.29.1):
    archcalc's total minus the 12 attention layers, which the fast path hides (projections and scores)."""
    t, d, layers = 197, 768, 12  # 14 x 14 patches + the class token
    per_layer = t * d * 2304 + t * d * d + 2 * t * t * d  # QKV (3d = 2304), out projection, QK^T and AV
    assert per_layer == 524_391_936
    report = analyze(SPECS / "vit_b_16.yaml")
    assert report.totals.macs - layers * per_layer == REFERENCE["vit_b_16"]["macs"] == 11_271_124_992
    # and torchvision's metadata _ops (17.564 GMACs) is the full count, attention included
    assert round(report.totals.macs / 1e9, 3) == REFERENCE["vit_b_16"]["torchvision_meta"]["_ops"]


@pytest.mark.parametrize("name, patch", [("vit_b_16", 16), ("vit_b_32", 32)])
def test_vit_zoo_written_out_attention(name, patch):
    """The whole ViT-B on the meta device, attention written out: params, buffers, MACs, output shape."""
    with torch.device("meta"):
        model = ViT(patch)
    got = measure(model, torch.zeros(1, 3, 224, 224, device="meta"))
    assert totals(analyze(SPECS / f"{name}.yaml")) == got
    assert got["params"] == REFERENCE[name]["params"]


def test_vit_b_32_with_nn_multihead_attention_reproduces_torchvisions_count():
    """The same model with nn.MultiheadAttention, on CPU: FlopCounterMode sees no attention at all, and gives
    torchvision's reference figure; that is archcalc's vit_b_32 total minus 12 attention layers (T = 50)."""
    with torch.device("meta"):
        model = ViT(32, torch_mha=True)
    model.to_empty(device="cpu")  # real CPU tensors (the fast path needs them), without initialising 88 M weights
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    got = measure(model, torch.zeros(1, 3, 224, 224))
    assert got["macs"] == REFERENCE["vit_b_32"]["macs"]
    assert got["params"] == REFERENCE["vit_b_32"]["params"]
    t, d = 50, 768  # 7 x 7 patches + the class token
    per_layer = t * d * 3 * d + t * d * d + 2 * t * t * d
    assert analyze(SPECS / "vit_b_32.yaml").totals.macs - 12 * per_layer == got["macs"]


def test_meta_device_counts_like_cpu():
    """The meta device changes no count of the modules written here (so the big models may run on it)."""
    def small_gpt2(device):
        torch.manual_seed(0)
        with torch.device(device):
            return measure(GPT2(vocab=100, n_ctx=32, d=64, depth=2, heads=4), tokens(16, 100, device))
    assert small_gpt2("meta") == small_gpt2("cpu")


# ================================================================ 2. GPT-2: causal block and the whole model

@pytest.mark.parametrize("t", [1, 16, 64])
def test_gpt2_block_causal(t):
    d, heads, dh = 64, 4, 16
    torch.manual_seed(0)
    got = measure(PreNormBlock(d, heads, 4 * d, eps=1e-5, approximate="tanh", causal=True), torch.randn(1, t, d))
    full = analyze(pre_norm_block(causal=False, gpt2=True), T=t, width=d, heads=heads, mlp=4 * d)
    tri = analyze(pre_norm_block(causal=True, gpt2=True), T=t, width=d, heads=heads, mlp=4 * d)
    # torch's masked matmuls compute the full square: causal: false is what it counts
    assert totals(full) == got
    # causal: true counts T(T+1)/2 pairs per head, for QK^T and for AV
    linear = t * (d * 3 * d + d * d + d * 4 * d + 4 * d * d)  # c_attn, c_proj, c_fc, mlp c_proj
    assert tri.totals.macs == linear + 2 * heads * (t * (t + 1) // 2) * dh
    assert got["macs"] - tri.totals.macs == 2 * heads * square_minus_triangle(t) * dh
    assert tri.totals.params == full.totals.params == got["params"]


def gpt2_params(vocab=50257, n_ctx=1024, d=768, depth=12) -> int:
    # per block: ln_1 2d, c_attn d*3d + 3d, attn c_proj d*d + d, ln_2 2d, c_fc d*4d + 4d, mlp c_proj 4d*d + d
    block = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (4 * d * d + 4 * d) + (4 * d * d + d)
    return vocab * d + n_ctx * d + depth * block + 2 * d  # wte (shared with lm_head), wpe, blocks, ln_f


def test_gpt2_small_params_with_tied_head():
    with torch.device("meta"):
        model = GPT2()
    assert model.lm_head.weight is model.wte.weight
    params = sum(p.numel() for p in model.parameters())  # the tied weight is yielded once
    untied = sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False))
    assert untied - params == 50257 * 768
    assert params == gpt2_params() == 124_439_808
    report = analyze(SPECS / "gpt2.yaml")
    assert report.totals.params == params
    assert report.totals.buffers == sum(b.numel() for b in model.buffers()) == 0


def gpt2_spec_without_causal() -> str:
    text = (SPECS / "gpt2.yaml").read_text()
    assert text.count("causal: true") == 1
    return text.replace("causal: true", "causal: false")


@pytest.mark.parametrize("t", [64, 1024])
def test_gpt2_small_prefill(t):
    with torch.device("meta"):
        model = GPT2()
    got = measure(model, tokens(t, 50257, "meta"))
    assert totals(analyze(gpt2_spec_without_causal(), T=t)) == got
    # the zoo spec is causal: torch's count less the masked half of each layer's square, 12 layers
    hidden = 12 * 2 * 12 * square_minus_triangle(t) * 64  # layers * (QK^T + AV) * heads * pairs * dh
    zoo = analyze(SPECS / "gpt2.yaml", T=t)
    assert zoo.totals.macs == got["macs"] - hidden
    assert tuple(zoo.output_shape) == got["output_shape"] == (1, t, 50257)


def test_gpt2_small_cli_set_t():
    """The command line's --set T=64 gives the API's figures (and the torch count at T=64, less the mask)."""
    t = 64
    per_layer = t * (3 * 768 * 768 + 768 * 768 + 8 * 768 * 768) + 2 * 12 * (t * (t + 1) // 2) * 64
    expected = 12 * per_layer + t * 768 * 50257  # blocks and lm_head; embeddings are lookups
    cli = cli_totals(SPECS / "gpt2.yaml", f"T={t}")
    assert cli["macs"] == expected
    assert cli["params"] == gpt2_params()


# ================================================================ 3. grouped-query attention, Llama decoder layer

@pytest.mark.parametrize("kv_heads", [8, 2, 1], ids=["multi_head", "grouped_query", "multi_query"])
def test_grouped_query_attention(kv_heads):
    t, d, h, dh = 12, 128, 8, 16
    torch.manual_seed(0)
    got = measure(Attention(d, h, kv_heads, dh, bias=False, fused=False), torch.randn(1, t, d))
    expected_params = d * h * dh + 2 * d * kv_heads * dh + h * dh * d  # q, k, v, o; no bias
    assert got["params"] == expected_params
    full = analyze(causal(ATTENTION, False), kv_heads=kv_heads)
    assert totals(full) == got
    # causal: same projections, T(T+1)/2 pairs per query head
    tri = analyze(causal(ATTENTION, True), kv_heads=kv_heads)
    assert tri.totals.macs == t * expected_params + 2 * h * (t * (t + 1) // 2) * dh
    # and the causal mask in torch: same count as without (the square)
    assert count_macs(lambda: Attention(d, h, kv_heads, dh, bias=False, fused=False)(
        torch.randn(1, t, d), causal=True)) == got["macs"]


def test_llama_decoder_layer():
    t, d, h, g, ffn, dh = 12, 128, 8, 2, 344, 16
    torch.manual_seed(0)
    got = measure(LlamaDecoderLayer(d, h, g, ffn), torch.randn(1, t, d))
    assert got["params"] == 2 * d + (d * h * dh + 2 * d * g * dh + h * dh * d) + 3 * d * ffn
    assert totals(analyze(causal(LLAMA_LAYER, False))) == got
    tri = analyze(causal(LLAMA_LAYER, True))
    assert got["macs"] - tri.totals.macs == 2 * h * square_minus_triangle(t) * dh


# ================================================================ 4. BERT-base

def bert_params(vocab=30522, max_positions=512, type_vocab=2, d=768, depth=12) -> int:
    layer = (4 * d * d + 4 * d) + 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d) + 2 * d  # attn, norm, mlp, norm
    return (vocab + max_positions + type_vocab) * d + 2 * d + depth * layer + d * d + d  # embeddings, pooler


@pytest.mark.parametrize("t", [16, 512])
def test_bert_base(t):
    """Bidirectional (no mask): params, buffers, MACs and the pooled output all exact."""
    with torch.device("meta"):
        model = BertModel()
    got = measure(model, tokens(t, 30522, "meta"))
    assert got["params"] == bert_params() == 109_482_240
    assert totals(analyze(SPECS / "bert_base.yaml", T=t)) == got
    assert got["output_shape"] == (1, 768)


# ================================================================ 5. Llama-2-7B and a tiny Llama

def test_llama2_7b_params_and_macs_by_arithmetic():
    vocab, d, depth, ffn, t = 32000, 4096, 32, 11008, 4096
    layer = 4 * d * d + 3 * d * ffn + 2 * d  # q, k, v, o (32 kv heads: no grouping), SwiGLU, two RMSNorm weights
    params = 2 * vocab * d + depth * layer + d  # embed_tokens and lm_head (untied), layers, final norm
    assert params == 6_738_415_616
    report = analyze(SPECS / "llama2_7b.yaml")
    assert report.totals.params == params
    assert report.totals.buffers == 2 * 128 // 2  # rotary_emb's inv_freq and original_inv_freq, head_dim / 2 each
    causal_pairs = t * (t + 1) // 2
    macs = depth * (t * (4 * d * d + 3 * d * ffn) + 2 * 32 * causal_pairs * 128) + t * d * vocab
    assert report.totals.macs == macs
    assert tuple(report.output_shape) == (1, t, vocab)
    # a decode step against a cache of 4095: 4096 keys for the one query
    decode = analyze(SPECS / "llama2_7b.yaml", T=1, cache=4095)
    assert decode.totals.macs == depth * (4 * d * d + 3 * d * ffn + 2 * 32 * 4096 * 128) + d * vocab


TINY_LLAMA = {"vocab": 100, "width": 64, "depth": 2, "heads": 4, "kv_heads": 2, "ffn": 172}


@pytest.mark.parametrize("t", [1, 10])
def test_tiny_llama_prefill(t):
    """specs/llama2_7b.yaml with overrides (API) against the same structure in torch."""
    c = TINY_LLAMA
    torch.manual_seed(0)
    model = Llama(c["vocab"], c["width"], c["depth"], c["heads"], c["kv_heads"], c["ffn"])
    got = measure(model, tokens(t, c["vocab"]))
    report = analyze(SPECS / "llama2_7b.yaml", T=t, **c)
    dh = c["width"] // c["heads"]
    hidden = c["depth"] * 2 * c["heads"] * square_minus_triangle(t) * dh
    assert {**totals(report), "macs": report.totals.macs + hidden} == got


def test_tiny_llama_decode_via_cli():
    """The same spec through the command line's --set, for a decode step: exact, no masked pairs."""
    c, cache = TINY_LLAMA, 9
    torch.manual_seed(0)
    model = Llama(c["vocab"], c["width"], c["depth"], c["heads"], c["kv_heads"], c["ffn"])
    dh = c["width"] // c["heads"]
    got = measure(model, tokens(1, c["vocab"]), caches=kv_caches(c["depth"], c["kv_heads"], dh, cache))
    cli = cli_totals(SPECS / "llama2_7b.yaml", "T=1", f"cache={cache}", *(f"{k}={v}" for k, v in c.items()))
    assert (cli["params"], cli["buffers"], cli["macs"]) == (got["params"], got["buffers"], got["macs"])


# ================================================================ 6. decode step with a KV cache

CACHES = [0, 7, 15, 23, 31]  # equally spaced from 7 on, for the differences


def gpt2_block_decode_macs(cache: int, d: int = 64, heads: int = 4) -> int:
    torch.manual_seed(0)
    block = PreNormBlock(d, heads, 4 * d, eps=1e-5, approximate="tanh", causal=True).eval()
    kv = kv_caches(1, heads, d // heads, cache)[0]
    return count_macs(block, torch.randn(1, 1, d), cache=kv)


@pytest.mark.parametrize("cache", CACHES)
def test_decode_step_matches_torch(cache):
    d, heads, dh = 64, 4, 16
    got = gpt2_block_decode_macs(cache, d, heads)
    report = analyze(pre_norm_block(causal=True, gpt2=True, cache=cache), T=1, width=d, heads=heads, mlp=4 * d)
    assert report.totals.macs == got
    assert got == (3 * d * d + d * d + 8 * d * d) + 2 * heads * (cache + 1) * dh  # linear layers, cache + 1 keys
    assert tuple(report.output_shape) == (1, 1, d)


def second_differences(values: list[int]) -> list[int]:
    first = [b - a for a, b in zip(values, values[1:])]
    return [b - a for a, b in zip(first, first[1:])]


def test_decode_is_linear_and_prefill_quadratic():
    d, heads, dh, step = 64, 4, 16, 8
    lengths = CACHES[1:]  # 7, 15, 23, 31
    # decode: one token against a cache of n: torch and archcalc both linear in n, slope 2 h dh per cached token
    torch_decode = [gpt2_block_decode_macs(n, d, heads) for n in lengths]
    ours_decode = [analyze(pre_norm_block(causal=True, gpt2=True, cache=n), T=1, width=d, heads=heads,
                           mlp=4 * d).totals.macs for n in lengths]
    assert ours_decode == torch_decode
    assert second_differences(ours_decode) == [0, 0]
    assert {b - a for a, b in zip(ours_decode, ours_decode[1:])} == {2 * heads * step * dh}
    # prefill of n tokens: quadratic. torch (full square h n^2 dh, twice): second difference 4 h dh step^2;
    # archcalc causal (h n(n+1)/2 dh, twice): 2 h dh step^2, and its non-causal count equals torch's
    torch_prefill = []
    for n in lengths:
        torch.manual_seed(0)
        block = PreNormBlock(d, heads, 4 * d, eps=1e-5, approximate="tanh", causal=True)
        torch_prefill.append(measure(block, torch.randn(1, n, d))["macs"])
    sizes = {"width": d, "heads": heads, "mlp": 4 * d}
    full = [analyze(pre_norm_block(causal=False, gpt2=True), T=n, **sizes).totals.macs for n in lengths]
    tri = [analyze(pre_norm_block(causal=True, gpt2=True), T=n, **sizes).totals.macs for n in lengths]
    assert full == torch_prefill
    assert second_differences(torch_prefill) == [4 * heads * dh * step ** 2] * 2
    assert second_differences(tri) == [2 * heads * dh * step ** 2] * 2


def test_gpt2_small_decode_step():
    """The whole GPT-2 (meta device) decoding token 1024 against a cache of 1023: --set T=1 --set cache=1023."""
    with torch.device("meta"):
        model = GPT2()
    cache = 1023
    got = measure(model, tokens(1, 50257, "meta"), caches=kv_caches(12, 12, 64, cache, "meta"))
    report = analyze(SPECS / "gpt2.yaml", T=1, cache=cache)
    assert totals(report) == got
    assert got["macs"] == 12 * (12 * 768 * 768 + 2 * 12 * (cache + 1) * 64) + 768 * 50257
