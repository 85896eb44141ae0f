"""archcalc export --to pytorch: the generated module, run by torch, against archcalc's analysis of the same spec.

Where the expected numbers come from: one side is archcalc's analysis; the other is torch running the generated
code, which is made from the layer specs alone (no archcalc formula goes into it), measured as in the other
oracle tests: params = sum of parameters().numel() (a tied weight once), buffers = sum of buffers().numel(),
MACs = torch.utils.flop_counter.FlopCounterMode total // 2 of one eval-mode forward under no_grad, and the output
shape. Known differences are compensated by arithmetic written out here, never skipped:
- a causal mask (and a sliding window) hides scores that torch still computes: FlopCounterMode counts the full
  T x (cache + T) square per head, archcalc the pairs the mask keeps; masked_macs() adds 2 * dh MACs back per head
  and hidden (query, key) pair (QK^T and AV).
- nn.LSTM/GRU/RNN on CPU may run oneDNN's fused kernel, which FlopCounterMode does not see (tests/test_recurrent.py
  shows it): specs with a recurrent layer run with oneDNN off, where torch's cells are counted matmuls.
- the big models run on the meta device (shapes, no arithmetic); test_meta_device_counts_like_cpu checks that this
  changes no count. A mixture of experts routes by value, so it runs on CPU only.
- attention that torch computes natively is exported as nn.MultiheadAttention (as torchvision's ViT). In eval mode
  under no_grad it runs torch's fused fast path, which FlopCounterMode counts as 0, projections included (the torch
  preset says so; tests/test_peers.py checks it). To measure what it computes, a model holding one runs with grad
  enabled (the slow path: counted projection matmuls) and the math backend of scaled_dot_product_attention (its
  QK^T and AV as counted bmm calls; the CPU flash kernel would count 0). The arithmetic is the same either way.
No spec needed a smaller size for speed: even Llama-2-7B at T = 4096 runs on the meta device in well under a second.
"""
from __future__ import annotations

import re
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest
from layer_specs import SPECS as LAYERS
from layer_specs import spec_text

import archcalc
from archcalc.core.errors import ArchcalcError
from archcalc.read.graph import Group, Leaf

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
ATTENTION = ("multihead_attention", "scaled_dot_product_attention")
RECURRENT = ("lstm", "gru", "rnn")


def export(spec: str | Path, **overrides) -> str:
    from archcalc.export import export as to_source
    return to_source(archcalc.load(spec, **overrides))


def leaves(nodes: list) -> list[Leaf]:
    out: list[Leaf] = []
    for node in nodes:
        if isinstance(node, Leaf):
            out.append(node)
            continue
        assert isinstance(node, Group)
        out += leaves(node.children)
        for _, branch in node.branches:
            out += leaves(branch)
        if node.merge is not None:
            out.append(node.merge)
    return out


def masked_macs(network: archcalc.Network, report: archcalc.Report) -> int:
    """MACs torch spends on scores that a causal mask (or a window) hides: per head and hidden pair, dh for QK^T
    and dh for AV. Query i (0-based, after `cache` earlier positions) keeps min(window, cache + i + 1) keys of the
    cache + T it is scored against."""
    rows = {row.name: row for row in report.layers}
    total = 0
    for leaf in leaves(network.nodes):
        s = leaf.spec
        if leaf.type not in ATTENTION or not s.causal:
            continue
        _, t, width = rows[leaf.path].output_shape
        h = s.num_heads
        dh = s.head_dim or width // h  # the output is [T, d] (d = h dh by default) or [T, h dh]
        keys = s.cache + t
        kept = sum(min(s.window or keys, s.cache + i + 1) for i in range(t))
        total += report.input_shape[0] * 2 * h * dh * (t * keys - kept)
    return total


def build(source: str, device: str = "cpu"):
    """The generated module (seeded, eval mode) and its example input, from the source text."""
    import torch
    namespace: dict = {"__name__": "archcalc_export_test"}
    exec(compile(source, "<archcalc export>", "exec"), namespace)
    cls = namespace[re.search(r"model = (\w+)\(\)\.eval\(\)", source).group(1)]
    torch.manual_seed(0)
    with torch.device(device):
        model = cls().eval()
    return model, namespace["example_input"](device)


def measure(source: str, device: str = "cpu", onednn: bool = True) -> dict:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode
    model, x = build(source, device)
    flags = nullcontext() if onednn else torch.backends.mkldnn.flags(enabled=False)
    grad, kernel = torch.no_grad(), nullcontext()
    if any(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules()):
        # nn.MultiheadAttention under no_grad in eval runs torch's fused fast path, which FlopCounterMode counts as 0
        # (projections included). With grad enabled it takes the slow path, whose projections are counted matmuls;
        # its core, F.scaled_dot_product_attention, runs as counted bmm calls with the math backend (on CPU the fused
        # flash kernel would count 0). The arithmetic is the same; only what the counter sees changes.
        grad, kernel = torch.enable_grad(), sdpa_kernel(SDPBackend.MATH)
    with grad, kernel, flags, FlopCounterMode(display=False) as counter:
        y = model(*x) if isinstance(x, tuple) else model(x)  # a tuple: several network inputs (inputs:)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return {"params": sum(p.numel() for p in model.parameters()),
            "buffers": sum(b.numel() for b in model.buffers()),
            "macs": flops // 2, "output_shape": tuple(map(tuple, (t.shape for t in y))) if isinstance(y, tuple)
            else tuple(y.shape)}  # several outputs (an outputs: header): a tuple of them


def expected(network: archcalc.Network) -> dict:
    """archcalc's figures, the MACs plus what torch computes under a causal mask (masked_macs)."""
    report = archcalc.analyze(network)
    return {"params": report.totals.params, "buffers": report.totals.buffers,
            "macs": report.totals.macs + masked_macs(network, report),
            "output_shape": tuple(tuple(out.output_shape) for out in report.outputs) if report.outputs
            else tuple(report.output_shape)}


def check(spec: str | Path, device: str | None = None, **overrides) -> dict:
    """Export, run, and compare every figure; returns torch's measurement."""
    from archcalc.export import export as to_source
    network = archcalc.load(spec, **overrides)
    want = expected(network)
    types = {leaf.type for leaf in leaves(network.nodes)}
    if device is None:  # small models on CPU (real arithmetic), big ones on the meta device
        small = want["macs"] <= 10 ** 9 and want["params"] <= 2 * 10 ** 7
        device = "cpu" if small or "moe" in types else "meta"
    got = measure(to_source(network), device, onednn=not types & set(RECURRENT))
    assert got == want
    return got


# ---------------------------------------------------------------- generation needs no torch

def test_generation_imports_no_torch():
    """Exporting is string building: no torch module is loaded, and the result compiles."""
    code = ("import sys, archcalc\n"
            "from archcalc.export import export\n"
            "for name in ('gpt2', 'llama2_7b', 'resnet50', 'lstm_lm', 'shufflenet_v2_x1_0'):\n"
            "    compile(export(archcalc.load(f'specs/{name}.yaml')), name, 'exec')\n"
            "assert not [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for path in (ROOT / "archcalc" / "export").glob("*.py"):
        assert not re.search(r"^\s*(import torch|from torch)", path.read_text(), re.M), path


def test_default_run_does_not_import_the_exporter():
    code = ("import sys\nfrom archcalc.cli import main\nassert main(['specs/lenet5.yaml']) == 0\n"
            "assert 'archcalc.export' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_layer_type_has_a_translation():
    from archcalc.export.pytorch import TORCH
    from archcalc.layers import LAYER_TYPES
    assert set(TORCH) == set(LAYER_TYPES)


# ---------------------------------------------------------------- the zoo

@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_zoo(path):
    pytest.importorskip("torch")
    check(path)


def test_meta_device_counts_like_cpu():
    """The meta device changes no count of the generated code: convs and norms, a causal transformer, a decode step
    with a K/V cache, and an LSTM (counted on meta; on CPU with oneDNN off)."""
    pytest.importorskip("torch")
    small_gpt2 = {"T": 16, "vocab": 100, "n_ctx": 32, "width": 64, "depth": 2, "heads": 4}
    small_llama = {"T": 1, "cache": 7, "vocab": 100, "width": 64, "depth": 2, "heads": 4, "kv_heads": 2, "ffn": 96}
    for spec, overrides in [("resnet18", {"H": 64, "W": 64}), ("gpt2", small_gpt2), ("llama2_7b", small_llama),
                            ("lstm_lm", {"T": 5, "vocab": 50, "hidden": 16})]:
        cpu = check(ROOT / "specs" / f"{spec}.yaml", "cpu", **overrides)
        meta = check(ROOT / "specs" / f"{spec}.yaml", "meta", **overrides)
        assert cpu == meta, spec


def test_lstm_with_onednn_counts_all_but_the_fused_kernel():
    """Why recurrent specs run with oneDNN off: on CPU with it on, nn.LSTM's fused kernel is invisible to
    FlopCounterMode, which then counts exactly archcalc's MACs less the LSTM layer's (the embedding and decoder)."""
    torch = pytest.importorskip("torch")
    if not torch.backends.mkldnn.is_available():
        pytest.skip("this torch has no oneDNN")
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / "lstm_lm.yaml"))
    (lstm,) = [row for row in report.layers if row.type == "lstm"]
    got = measure(export(ROOT / "specs" / "lstm_lm.yaml"), "cpu", onednn=True)
    assert got["macs"] == report.totals.macs - lstm.macs == 35 * 650 * 10000  # the decoder alone
    assert got["params"] == report.totals.params


def test_causal_compensation_is_the_hidden_triangle():
    """GPT-2 at T = 1024: torch's count exceeds archcalc's by the 12 layers x 12 heads of hidden pairs, each
    2 x 64 MACs; T^2 - T(T+1)/2 pairs are hidden per head."""
    network = archcalc.load(ROOT / "specs" / "gpt2.yaml")
    t = 1024
    assert masked_macs(network, archcalc.analyze(network)) == 12 * 12 * 2 * 64 * (t * t - t * (t + 1) // 2)


# ---------------------------------------------------------------- every layer type and its options

# LAYERS: the small specs of tests/layer_specs.py, every one exported and measured here
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_options(name):
    pytest.importorskip("torch")
    check(spec_text(name), "cpu")


def test_every_layer_type_is_exported_above():
    """Each type of the catalogue is in a spec exported and measured by these tests (the zoo or LAYERS)."""
    from archcalc.layers import LAYER_TYPES
    seen = set()
    for spec in [*SPECS, *(spec_text(name) for name in LAYERS)]:
        seen |= {leaf.type for leaf in leaves(archcalc.load(spec).nodes)}
    assert set(LAYER_TYPES) - seen == set()


def test_generated_code_is_readable():
    """Submodules are named after archcalc's layer paths; a tensor read once is `x`, others by name; torchvision's
    module style: activations and pools are nn modules, the head is pool then torch.flatten, residuals `+`."""
    source = export(ROOT / "specs" / "resnet18.yaml")
    assert "self.layer1_0_conv1 = nn.Conv2d(64, 64, kernel_size=3, padding=1, bias=False)" in source
    assert "        x = x + maxpool\n" in source and "layer1_0 = self.layer1_0_relu_2(x)" in source
    assert "self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)" in source
    assert "self.avgpool = nn.AdaptiveAvgPool2d(1)" in source and "x = torch.flatten(self.avgpool(x), 1)" in source
    assert "F." not in source  # no functional call left in a torchvision-style network
    vit = export(ROOT / "specs" / "vit_b_16.yaml")
    assert "self.encoder_layer_0_self_attention = nn.MultiheadAttention(768, 12, batch_first=True)" in vit
    assert "x = self.encoder_layer_0_self_attention(x, x, x, need_weights=False)[0]" in vit
    assert "self.encoder_layer_0_gelu_1 = nn.GELU()" in vit and "self.dropout_1 = nn.Dropout(p=0.0)" in vit
    assert "self.lm_head.weight = self.wte.weight" in export(ROOT / "specs" / "gpt2.yaml")
    assert max(len(line) for line in source.splitlines()) <= 120


def test_zoo_exports_compute_each_op_as_the_reference_code():
    """A layer's call is the form the export writes: torchvision's functions where its models call them, plain
    parameters where it holds them, Hugging Face's attention written out."""
    densenet = export(ROOT / "specs" / "densenet121.yaml")
    assert "x = F.relu(x)\n        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)\n" in densenet
    assert densenet.count("F.relu(") == 1 and "nn.ReLU()" in densenet  # the head's; the dense layers' are modules
    assert "x.mean([2, 3])" in export(ROOT / "specs" / "mnasnet1_0.yaml")
    inception = export(ROOT / "specs" / "inception_v3.yaml")
    assert "nn.ReLU" not in inception and "F.avg_pool2d(" in inception and "F.max_pool2d(" in inception
    assert "self.maxpool1 = nn.MaxPool2d(3, stride=2)" in inception  # the stem's pools are modules
    convnext = export(ROOT / "specs" / "convnext_tiny.yaml")
    assert "self.features_0_1_norm = FunctionalLayerNorm(96, eps=1e-06)" in convnext
    assert "self.features_1_0_layer_scale = nn.Parameter(torch.ones(96))" in convnext and "Scale(" not in convnext
    assert "nn.Flatten(1)" in convnext and "StochasticDepth(" in convnext
    vit = export(ROOT / "specs" / "vit_b_16.yaml")
    assert "self.class_token = nn.Parameter(torch.zeros(1, 1, 768))" in vit
    assert "self.pos_embedding = nn.Parameter(torch.randn(197, 768) * 0.02)" in vit and "ClassToken" not in vit
    bert = export(ROOT / "specs" / "bert_base.yaml")
    assert "nn.MultiheadAttention(" not in bert and "BoundActivation(F.gelu)" in bert
    assert "torch.matmul(F.softmax(scores, dim=-1), v)" in bert


# ---------------------------------------------------------------- what the generated code computes

def generated(name: str, device: str = "cpu"):
    return build(export(spec_text(name) if name in LAYERS else name), device)


def test_attention_computes_what_nn_multihead_attention_computes():
    """Attention torch computes natively is exported as nn.MultiheadAttention; attention written out (call: explicit,
    a separate Q/K/V projection, with or without a causal mask) computes what nn.MultiheadAttention computes given
    its weights, split per projection."""
    torch = pytest.importorskip("torch")
    native, _ = build(export("name: a\ninput: [7, 16]\nlayers:\n  - multihead_attention: {num_heads: 4}\n"))
    assert [type(m) for m in native.modules()][1:] == [torch.nn.MultiheadAttention,
                                                       torch.nn.modules.linear.NonDynamicallyQuantizableLinear]
    for causal in (False, True):
        text = ("name: a\ninput: [7, 16]\nlayers:\n"
                f"  - multihead_attention: {{num_heads: 4, qkv: separate, causal: {str(causal).lower()}, "
                "call: explicit}\n")
        model, _ = build(export(text))
        (attention,) = [m for m in model.modules() if type(m).__name__ == "Attention"]
        ref = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
        with torch.no_grad():
            for i, proj in enumerate((attention.q_proj, attention.k_proj, attention.v_proj)):
                proj.weight.copy_(ref.in_proj_weight[16 * i:16 * (i + 1)])
                proj.bias.copy_(ref.in_proj_bias[16 * i:16 * (i + 1)])
            attention.out_proj.weight.copy_(ref.out_proj.weight)
            attention.out_proj.bias.copy_(ref.out_proj.bias)
            x = torch.randn(3, 7, 16)
            mask = torch.ones(7, 7, dtype=torch.bool).triu(1) if causal else None  # True: not allowed
            torch.testing.assert_close(model(x), ref(x, x, x, attn_mask=mask, need_weights=False)[0])


def test_attend_matches_torch_sdpa_with_groups_cache_and_window():
    """attend() against F.scaled_dot_product_attention given the mask written out: key j is visible to query i
    (at position cache + i) when cache + i - window < j <= cache + i; K/V heads repeated per group; zero cache."""
    torch = pytest.importorskip("torch")
    namespace: dict = {}
    exec(export(spec_text("attention")), namespace)
    attend = namespace["attend"]
    b, t, h, g, dh, cache, window = 2, 5, 4, 2, 8, 3, 4
    q, k, v = torch.randn(b, t, h * dh), torch.randn(b, t, g * dh), torch.randn(b, t, g * dh)
    got = attend(q, k, v, h, g, dh, causal=True, window=window, cache=cache)
    heads = lambda z, n: z.reshape(b, t, n, dh).transpose(1, 2)  # noqa: E731
    past = torch.zeros(b, g, cache, dh)
    keys = torch.cat([past, heads(k, g)], 2).repeat_interleave(h // g, 1)
    values = torch.cat([past, heads(v, g)], 2).repeat_interleave(h // g, 1)
    position = torch.arange(cache, cache + t)[:, None]
    key = torch.arange(cache + t)[None, :]
    visible = (key <= position) & (key > position - window)
    want = torch.nn.functional.scaled_dot_product_attention(heads(q, h), keys, values, attn_mask=visible)
    torch.testing.assert_close(got, want.transpose(1, 2).reshape(b, t, h * dh))


def test_moe_routes_each_token_to_its_top_k_experts():
    """The sparse MoE equals the dense computation: every expert on every token, the top-k gates kept."""
    torch = pytest.importorskip("torch")
    text = "name: m\ninput: [9, 12]\nbatch: 2\nlayers:\n  - moe: {experts: 4, top_k: 2, hidden_features: 10}\n"
    model, x = build(export(text))
    (moe,) = [m for m in model.modules() if type(m).__name__ == "MoE"]
    with torch.no_grad():
        tokens = x.reshape(-1, 12)
        probs = moe.router(tokens).softmax(-1)
        top = probs.topk(2, dim=-1)
        gates = torch.zeros_like(probs).scatter(1, top.indices, top.values)  # [N, E]: 0 off the top 2
        dense = sum(gates[:, e, None] * expert(tokens) for e, expert in enumerate(moe.experts))
        torch.testing.assert_close(model(x), dense.reshape(2, 9, 12))


def test_keras_same_pooling_leaves_padding_out_and_shuffle_is_torchs():
    torch = pytest.importorskip("torch")
    text = ("name: p\ninput: [2, 5, 5]\nlayers:\n  - avgpool2d: {kernel_size: 2, stride: 2, padding: same}\n"
            "  - maxpool2d: {kernel_size: 2, stride: 2, padding: same}\n")
    model, _ = build(export(text))
    with torch.no_grad():
        assert torch.equal(model(torch.ones(1, 2, 5, 5)), torch.ones(1, 2, 2, 2))  # no zero or -inf mixed in
        assert torch.equal(model(-torch.ones(1, 2, 5, 5)), -torch.ones(1, 2, 2, 2))
    model, _ = build(export("name: s\ninput: [6, 2]\nlayers:\n  - channel_shuffle: {groups: 3}\n"))
    x = torch.randn(2, 6, 2)
    torch.testing.assert_close(model(x), torch.nn.ChannelShuffle(3)(x))


def test_dropout_and_stochastic_depth_are_identities_at_inference_only():
    torch = pytest.importorskip("torch")
    model, x = generated("dropout")
    with torch.no_grad():
        torch.testing.assert_close(model(x), x.reshape(1, 4, 2, 3, 5))
        model.train()
        assert not torch.equal(model(x), x.reshape(1, 4, 2, 3, 5))


def test_generated_file_runs_as_a_script(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "lenet5.py"
    done = subprocess.run([sys.executable, "-m", "archcalc", "export", "specs/lenet5.yaml", "--to", "pytorch", "-o",
                           str(path)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout == f"wrote {path}: the PyTorch code of lenet5\n"  # the one line naming what it wrote
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / "lenet5.yaml"))
    assert f"params {report.totals.params:,}" in run.stdout  # 61,706
    assert "output shape (1, 10)" in run.stdout


def test_token_input_is_valid_ids():
    torch = pytest.importorskip("torch")
    source = export(ROOT / "specs" / "gpt2.yaml", T=8)
    assert "VOCAB = 50257" in source and "INPUT_SHAPE = (1, 8)" in source
    namespace: dict = {}
    exec(compile(source, "<archcalc export>", "exec"), namespace)
    x = namespace["example_input"]()
    assert x.dtype == torch.int64 and 0 <= int(x.min()) and int(x.max()) < 50257


# ---------------------------------------------------------------- command line and refusals

def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archcalc", *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_writes_to_stdout_or_a_file(tmp_path):
    done = cli("export", "specs/resnet18.yaml", "--to", "pytorch", "--set", "H=64", "--set", "W=64")
    assert done.returncode == 0, done.stderr
    assert "class Resnet18(nn.Module):" in done.stdout and "INPUT_SHAPE = (1, 3, 64, 64)" in done.stdout
    path = tmp_path / "net.py"
    done = cli("export", "specs/resnet18.yaml", "--to", "pytorch", "--set", "H=64", "--set", "W=64", "-o", str(path))
    assert done.returncode == 0 and done.stdout == f"wrote {path}: the PyTorch code of resnet18\n"
    written = path.read_text().replace("specs/resnet18.yaml", str(ROOT / "specs" / "resnet18.yaml"))
    assert written == export(ROOT / "specs" / "resnet18.yaml", H=64, W=64)


def refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    done = cli("export", str(path), "--to", "pytorch")
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    return line.replace(str(path), "spec.yaml")


def test_refusals_are_one_line(tmp_path):
    custom = ("name: c\ninput: [3, 8, 8]\ncustom:\n  space_to_depth:\n    args: {block: 2}\n"
              "    output: [\"in0 * block * block\", \"in1 // block\", \"in2 // block\"]\n"
              "layers:\n  - space_to_depth: {name: s2d}\n")
    assert refusal(tmp_path, custom) == (
        "archcalc: spec.yaml:8: layer s2d: custom layer type 'space_to_depth' cannot be exported to PyTorch: it is "
        "declared by its cost formulas only, with no computation to translate (replace it with built-in layer types "
        "to export)")
    symbolic = "name: s\nsymbols: [H]\ninput: [3, H, H]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n"
    assert refusal(tmp_path, symbolic) == ("archcalc: spec.yaml: cannot export with symbols without values (H) (give "
                                           "them values, e.g. --set H=...)")
    transposed = ("name: t\ninput: [3, 8]\nlayers:\n  - conv_transpose1d: {name: up, out_channels: 2, kernel_size: 2, "
                  "padding_mode: reflect}\n")
    assert "layer up: padding_mode='reflect' cannot be exported" in refusal(tmp_path, transposed)
    rotary = ("name: r\ninput: [4, 12]\nlayers:\n  - multihead_attention: {name: attn, num_heads: 4, rotary: true}\n")
    assert "layer attn: rotary with an odd head_dim (3) cannot be exported" in refusal(tmp_path, rotary)
    tied = ("name: t\ninput: [6]\nlayers:\n  - embedding: {name: wte, num_embeddings: 10, embedding_dim: 8}\n"
            "  - linear: {name: head, out_features: 5, bias: false, tied_to: wte}\n")
    assert "layer head: tied_to 'wte': its weight is [10, 8] but this layer's is [5, 8]" in refusal(tmp_path, tied)
    conv = ("name: t\ninput: [1, 4, 4]\nlayers:\n  - conv2d: {name: c, out_channels: 8, kernel_size: 3}\n  - flatten\n"
            "  - linear: {name: head, out_features: 2, bias: false, tied_to: c}\n")
    assert "layer head: tied_to 'c' names a conv2d layer" in refusal(tmp_path, conv)
    pooled = "name: p\ninput: [2, 3, 4, 5, 6]\nlayers:\n  - global_avgpool: {name: gap}\n"  # 4 spatial axes
    assert refusal(tmp_path, pooled) == ("archcalc: spec.yaml:4: layer gap: torch has no adaptive pooling over 4 "
                                         "spatial axes, module or function (call: reduction writes it as a "
                                         "reduction over the spatial axes (x.mean))")
    assert cli("export", "specs/lenet5.yaml", "--to", "jax").returncode == 2  # argparse: invalid choice


def test_export_function_refuses_unknown_targets():
    from archcalc.export import export as to_source
    with pytest.raises(ArchcalcError, match="cannot export to 'onnx'"):
        to_source(archcalc.load(ROOT / "specs" / "lenet5.yaml"), "onnx")
