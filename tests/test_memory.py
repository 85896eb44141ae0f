"""The memory report (archcalc.analyses.memory, --memory): parameter bytes, the peak of live activations along the
graph, training memory and the KV cache. Expected values are arithmetic written out from the shapes in the specs; the
torch tests measure the same quantities on a small CPU model (an independent oracle) and explain every gap."""
from __future__ import annotations

import json
import warnings
import weakref
from pathlib import Path
from typing import Any

import pytest

import archcalc
from archcalc.analyses.memory import annotate, peak
from archcalc.cli import main
from archcalc.core.errors import SpecError
from archcalc.outputs.render import FORMATS

ROOT = Path(__file__).resolve().parent.parent


def memory(text: str, dtype: str = "fp32", optimizer: str = "adam", symbolic: tuple[str, ...] = (), **overrides: Any):
    return annotate(archcalc.analyze(archcalc.load(text, symbolic=symbolic), **overrides), dtype, optimizer)


def live(report: Any) -> list[int]:
    return [row.extra["memory"]["live_bytes"] for row in report.layers]


MLP = """\
name: mlp
input: [784]
layers:
  - linear: {name: fc1, out_features: 256}
  - relu: {name: act}
  - linear: {name: fc2, out_features: 10}
"""
MLP_PARAMS = (784 * 256 + 256) + (256 * 10 + 10)  # = 203,530


# ---------------------------------------------------------------- inference: parameters and the live peak

def test_mlp_parameters_live_tensors_and_peak() -> None:
    r = memory(MLP)
    m = r.extra["memory"]
    assert MLP_PARAMS == 203_530
    assert (m["param_bytes"], m["buffer_bytes"]) == (MLP_PARAMS * 4, 0)
    # fc1 reads the input (784) and writes 256; act reads fc1's 256 and writes 256; fc2 reads 256, writes 10.
    assert live(r) == [(784 + 256) * 4, (256 + 256) * 4, (256 + 10) * 4]
    inference = m["inference"]
    assert (inference["peak_activation_bytes"], inference["peak_layer"]) == ((784 + 256) * 4, "fc1")
    assert inference["input_bytes"] == 784 * 4
    assert inference["kv_cache_bytes"] == 0
    assert inference["total_bytes"] == MLP_PARAMS * 4 + (784 + 256) * 4
    # per layer: weights and outputs at the dtype
    fc1 = r.layers[0].extra["memory"]
    assert (fc1["param_bytes"], fc1["output_bytes"], fc1["buffer_bytes"]) == ((784 * 256 + 256) * 4, 256 * 4, 0)


RESIDUAL = """\
name: res
input: [8, 4, 4]                  # 128 elements
layers:
  - conv2d: {name: stem, out_channels: 8, kernel_size: 3, padding: 1, bias: false}   # 8*4*4 = 128
  - residual:
      body:
        - conv2d: {name: a, out_channels: 16, kernel_size: 1, bias: false}           # 256
        - {type: relu, name: r}                                                      # 256
        - conv2d: {name: b, out_channels: 8, kernel_size: 1, bias: false}            # 128
  - global_avgpool: {name: pool}                                                     # 8
"""


def test_residual_shortcut_keeps_its_input_live_until_the_add() -> None:
    r = memory(RESIDUAL)
    assert [row.name for row in r.layers] == ["stem", "a", "r", "b", "add", "pool"]
    # elements live while each layer runs; stem's output (128) is read again by the add, so it stays:
    expected = [128 + 128,              # stem: the input, its output
                128 + 256,              # a: stem (kept for the add), a
                128 + 256 + 256,        # r: stem, a (its input), r
                128 + 256 + 128,        # b: stem, r, b
                128 + 128 + 128,        # add: stem, b, add
                128 + 8]                # pool: add, pool
    assert live(r) == [4 * e for e in expected]
    m = r.extra["memory"]["inference"]
    assert (m["peak_activation_bytes"], m["peak_layer"]) == (4 * 640, "r")
    # without the shortcut, r would hold only a and r: the shortcut costs stem's 128 elements at the peak
    plain = memory(RESIDUAL.replace("  - residual:\n      body:\n", "  - sequential:\n      layers:\n"))
    assert plain.extra["memory"]["inference"]["peak_activation_bytes"] == 4 * (256 + 256)


def test_parallel_branches_run_one_after_another() -> None:
    r = memory("""\
name: par
input: [4, 8]                     # 32 elements
layers:
  - parallel:
      name: mix
      branches:
        p: [{conv1d: {name: p1, out_channels: 8, kernel_size: 1}}]                  # 64
        q: [{conv1d: {name: q1, out_channels: 2, kernel_size: 1}},                  # 16
            {conv1d: {name: q2, out_channels: 2, kernel_size: 1}}]                  # 16
      merge: concat                                                                 # 80
""")
    assert [row.name for row in r.layers] == ["mix.p.p1", "mix.q.q1", "mix.q.q2", "mix.concat"]
    expected = [32 + 64,                # p1: the input (q1 still reads it), p1
                32 + 64 + 16,           # q1: the input, p1 (kept for the concat), q1
                64 + 16 + 16,           # q2: p1, q1, q2 (the input is no longer needed)
                64 + 16 + 80]           # concat: p1, q2, the concat
    assert live(r) == [4 * e for e in expected]
    assert r.extra["memory"]["inference"]["peak_layer"] == "mix.concat"


SKIP = """\
name: skip
variables: {L: 3}
symbols: [L]
input: [4, 8]                     # 32 elements
layers:
  - conv1d: {name: enc, out_channels: 4, kernel_size: 1}                             # 32, read again by cat
  - sequential:
      name: body
      repeat: L
      layers:
        - conv1d: {name: up, out_channels: 8, kernel_size: 1}                        # 64
        - conv1d: {name: down, out_channels: 4, kernel_size: 1}                      # 32
  - concat: {name: cat, inputs: [enc, "."]}                                          # 64
"""


def test_a_named_tensor_stays_live_until_a_later_layer_reads_it() -> None:
    r = memory(SKIP)
    assert [row.name for row in r.layers][:3] == ["enc", "body.0.up", "body.0.down"]
    expected = [32 + 32,                # enc: the input, enc
                32 + 64,                # body.0.up reads enc (kept for cat), writes 64
                32 + 64 + 32,           # body.0.down: enc, up, down
                32 + 32 + 64,           # body.1.up: enc, body.0.down, up
                32 + 64 + 32,
                32 + 32 + 64,
                32 + 64 + 32,
                32 + 32 + 64]           # cat: enc, body.2.down, cat
    assert live(r) == [4 * e for e in expected]


def test_symbolic_repeat_unit_is_a_copy_after_the_first() -> None:
    """With L a symbol the repeat is costed as one unit; its live figures are those of copies 2..L, which read
    the previous copy's output while enc stays live (at L = 3: body.1.up and body.1.down)."""
    r = memory(SKIP, symbolic=("L",))
    assert [row.name for row in r.layers] == ["enc", "body.i.up", "body.i.down", "cat"]
    assert live(r) == [4 * (32 + 32), 4 * (32 + 32 + 64), 4 * (32 + 64 + 32), 4 * (32 + 32 + 64)]
    # saved for backward: the input (32), enc (32), L copies of up and down (64 + 32), cat (64), x 4 bytes
    assert r.extra["memory"]["training"]["saved_activation_bytes"] == f"{4 * (64 + 32)}*L + {4 * (32 + 32 + 64)}"


def test_views_and_identities_count_as_new_buffers() -> None:
    r = memory("""\
name: views
input: [2, 3, 4]                  # 24 elements
layers:
  - flatten
  - identity
  - dropout
""")
    assert live(r) == [4 * (24 + 24)] * 3  # each reads the previous buffer and writes its own (assumption 3)
    assert any("no views" in a for a in r.extra["memory"]["assumptions"])


# ---------------------------------------------------------------- training: dtype x optimizer

# bytes per parameter: (weight, gradient, fp32 master weight, fp32 optimizer state)
TRAINING = [
    ("fp32", "sgd", (4, 4, 0, 0)),       # 8
    ("fp32", "momentum", (4, 4, 0, 4)),  # 12
    ("fp32", "adam", (4, 4, 0, 8)),      # 16
    ("bf16", "sgd", (2, 2, 4, 0)),       # 8: mixed precision keeps fp32 master weights even for sgd
    ("bf16", "momentum", (2, 2, 4, 4)),  # 12
    ("bf16", "adam", (2, 2, 4, 8)),      # 16, the ZeRO paper's 2 + 2 + 12
    ("fp16", "adam", (2, 2, 4, 8)),      # 16
]


@pytest.mark.parametrize(("dtype", "optimizer", "parts"), TRAINING)
def test_training_memory_by_dtype_and_optimizer(dtype: str, optimizer: str, parts: tuple[int, ...]) -> None:
    r = memory(MLP, dtype, optimizer)
    size = {"fp32": 4, "bf16": 2, "fp16": 2}[dtype]
    t = r.extra["memory"]["training"]
    weight, gradient, master, state = parts
    assert t["bytes_per_param"] == sum(parts)
    assert (t["weight_bytes"], t["gradient_bytes"]) == (MLP_PARAMS * weight, MLP_PARAMS * gradient)
    assert (t["master_weight_bytes"], t["optimizer_state_bytes"]) == (MLP_PARAMS * master, MLP_PARAMS * state)
    saved = (784 + 256 + 256 + 10) * size  # the input and every layer's output
    assert t["saved_activation_bytes"] == saved
    assert t["total_bytes"] == MLP_PARAMS * sum(parts) + saved


def test_int8_has_inference_figures_but_no_training() -> None:
    r = memory(MLP, "int8")
    m = r.extra["memory"]
    assert m["param_bytes"] == MLP_PARAMS and m["training"] is None
    assert m["inference"]["peak_activation_bytes"] == 784 + 256
    assert "no figures for int8" in FORMATS["table"](r, None)


def test_buffers_are_counted_at_the_dtype_without_gradients_or_state() -> None:
    r = memory("name: bn\ninput: [16, 2, 2]\nlayers: [batchnorm2d]\n", "bf16")
    buffers = 16 + 16 + 1  # running mean, running variance, num_batches_tracked
    m = r.extra["memory"]
    assert m["buffer_bytes"] == 2 * buffers
    assert m["training"]["total_bytes"] == 32 * 16 + 2 * buffers + 2 * (64 + 64)  # 32 params x 16 bytes


def test_batch_scales_activations_and_cache_but_not_weights() -> None:
    one, eight = memory(MLP), memory(MLP, batch=8)
    assert eight.extra["memory"]["param_bytes"] == one.extra["memory"]["param_bytes"]
    assert eight.extra["memory"]["inference"]["peak_activation_bytes"] == 8 * (784 + 256) * 4
    assert live(eight) == [8 * v for v in live(one)]
    assert eight.extra["memory"]["batch"] == 8
    assert eight.extra["memory"]["training"]["saved_activation_bytes"] == 8 * (784 + 256 + 256 + 10) * 4


# ---------------------------------------------------------------- KV cache (a test-only layer with a cache)

@pytest.fixture()
def kv_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``kv_stub``: passes its input through and keeps K and V for ``positions`` tokens of its width, as an
    attention layer does (2 * positions * width elements per sample)."""
    from archcalc.core.declare import field
    from archcalc.core.fields import PositiveInt
    from archcalc.layers import LAYER_TYPES
    from archcalc.layers.base import REGISTRY, Cost, LayerSpec, LayerType

    class KVStub(LayerSpec):
        """Test-only layer with a K/V cache."""

        TYPES = ("kv_stub",)
        positions = field(PositiveInt, description="Cached positions.")

    def kv_stub(spec: KVStub, x: tuple[Any, ...]) -> Cost:
        return Cost(shape=x, cache=2 * spec.positions * x[-1])

    monkeypatch.setitem(REGISTRY, "kv_stub", LayerType("kv_stub", KVStub, kv_stub))
    monkeypatch.setitem(LAYER_TYPES.index, "kv_stub", "test")


KV = """\
name: kv
input: [4, 16]                    # 4 tokens of width 16
batch: 3
layers:
  - kv_stub: {positions: 100}     # 2 * 100 * 16 = 3,200 elements per sample
  - linear: {out_features: 16}
  - kv_stub: {positions: 100}
"""


def test_kv_cache_sums_the_layers_caches_times_batch_and_dtype(kv_layer: None) -> None:
    r = memory(KV, "fp16")
    per_layer = 2 * 100 * 16 * 3  # elements, batch 3
    assert [row.cache for row in r.layers] == [per_layer, 0, per_layer]
    assert r.totals.cache == 2 * per_layer
    m = r.extra["memory"]
    assert m["inference"]["kv_cache_bytes"] == 2 * per_layer * 2  # fp16: 38,400 bytes
    assert [row.extra["memory"]["kv_cache_bytes"] for row in r.layers] == [per_layer * 2, 0, per_layer * 2]
    params = 16 * 16 + 16
    peak_bytes = m["inference"]["peak_activation_bytes"]
    assert m["inference"]["total_bytes"] == params * 2 + peak_bytes + 2 * per_layer * 2
    data = json.loads(FORMATS["json"](r, None))
    assert data["totals"]["cache"] == 2 * per_layer and data["layers"][0]["cache"] == per_layer
    table = FORMATS["table"](r, None)
    assert "KV cache" in table.splitlines()[1]  # a column, since the network has a cache


def test_gpt2_kv_cache_from_its_attention_layers() -> None:
    """GPT-2 small: 12 attention layers each keep K and V, 768 wide, for every position of the context."""
    r = memory(ROOT / "specs" / "gpt2.yaml", "bf16", batch=4)  # a prefill of T = 1024 tokens
    assert r.extra["memory"]["inference"]["kv_cache_bytes"] == 12 * 2 * 768 * 1024 * 4 * 2  # x batch 4, 2 bytes
    symbolic = memory(ROOT / "specs" / "gpt2.yaml", "bf16", symbolic=("B", "T"))
    assert symbolic.extra["memory"]["inference"]["kv_cache_bytes"] == f"{12 * 2 * 768 * 2}*B*T"


def test_encoders_have_no_kv_cache() -> None:
    """BERT-base and ViT-B/16 attend over their whole input at once: no K/V is kept, so no KV cache bytes (before,
    every attention layer counted one: BERT-base 12 x 2 x 768 x 512 elements, 18.9 MB in bf16; ViT-B/16 12 x 2 x
    768 x 197, 7.3 MB), no KV cache column, and inference = parameters + buffers + peak activations."""
    for name in ("bert_base", "vit_b_16"):
        r = memory(ROOT / "specs" / f"{name}.yaml", "bf16", batch=2)
        inference = r.extra["memory"]["inference"]
        assert inference["kv_cache_bytes"] == 0, name
        assert all(row.extra["memory"]["kv_cache_bytes"] == 0 for row in r.layers), name
        m = r.extra["memory"]
        assert inference["total_bytes"] == m["param_bytes"] + m["buffer_bytes"] + inference["peak_activation_bytes"]
        assert "KV cache" not in FORMATS["table"](r, None).splitlines()[1], name


def test_fake_cost_cache_is_carried_batch_scaled() -> None:
    """The engine carries Cost.cache into LayerResult like activations: x batch, and x count in a repeat."""
    from archcalc.walk.report import LayerResult, Totals
    from archcalc.walk.rf import RF
    row = LayerResult("a", "attention", "attention", (2, 4), 0, 0, 0, 0, {}, 8, RF.of_input(1), cache=2 * 640)
    row.scale(12)  # a symbolic repeat of 12 layers
    totals = Totals()
    totals.add(row)
    assert (row.cache, totals.cache) == (12 * 1280, 12 * 1280)


# ---------------------------------------------------------------- symbolic mode

def test_symbolic_peak_is_a_closed_form_when_one_tensor_set_dominates() -> None:
    r = annotate(archcalc.analyze(archcalc.load(ROOT / "specs" / "vgg16.yaml", symbolic=["H", "W"])))
    m = r.extra["memory"]["inference"]
    # relu_1 reads conv1_1's 64 x H x W output and writes its own: 128 H W values x 4 bytes
    assert (m["peak_activation_bytes"], m["peak_layer"]) == ("512*H*W", "relu_1")
    numeric = annotate(archcalc.analyze(archcalc.load(ROOT / "specs" / "vgg16.yaml")))
    assert numeric.extra["memory"]["inference"]["peak_activation_bytes"] == 512 * 224 * 224


def test_symbolic_peak_with_floors_is_an_exact_max_and_names_no_layer() -> None:
    # the zoo spec without its assumption (symbols: multiples of 32), so that its sizes keep their floors
    text = "\n".join(line for line in (ROOT / "specs" / "resnet18.yaml").read_text().splitlines()
                     if not line.startswith("symbols:"))
    r = annotate(archcalc.analyze(archcalc.load(text, symbolic=["H", "W"])))
    m = r.extra["memory"]["inference"]
    assert m["peak_layer"] is None and "Max(" in m["peak_activation_bytes"]
    assert "depends on the symbols" in FORMATS["table"](r, 1)
    assert any("symbolic count" in a for a in r.extra["memory"]["assumptions"])


def test_peak_helper() -> None:
    assert peak([3, 7, 7, 1]) == (7, 1)  # the first occurrence
    assert peak([]) == (0, None)


# ---------------------------------------------------------------- command line and formats

def test_cli_memory_table_json_csv_markdown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "mlp.yaml"
    spec.write_text(MLP)
    assert main([str(spec), "--memory", "--dtype", "bf16", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "live" in out.splitlines()[1]
    # (784 + 256) values x 2 bytes x batch 2 = 4,160 bytes
    assert "peak activations  4,160 bytes (4.16 KB) while fc1 runs" in out
    assert "2 weight + 2 gradient + 4 fp32 master weight + 8 fp32 adam state = 16 bytes" in out
    assert "assumptions" in out and "no in-place operations" in out
    assert main([str(spec), "--optimizer", "sgd", "-f", "json"]) == 0  # --optimizer implies --memory
    data = json.loads(capsys.readouterr().out)
    assert data["memory"]["optimizer"] == "sgd" and data["memory"]["training"]["bytes_per_param"] == 8
    assert data["layers"][0]["memory"]["live_bytes"] == (784 + 256) * 4
    for key in ("params", "buffers", "macs", "flops", "activations"):  # the contract's keys are still there
        assert key in data["totals"] and key in data["layers"][0]
    assert main([str(spec), "--memory", "-f", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("param_bytes,buffer_bytes,live_bytes,output_bytes,kv_cache_bytes")
    assert lines[1].endswith(f"{(784 * 256 + 256) * 4},0,{(784 + 256) * 4},{256 * 4},0")
    assert lines[4].startswith("total,") and lines[4].endswith(f"{MLP_PARAMS * 4},0,{(784 + 256) * 4},"
                                                               f"{(256 + 256 + 10) * 4},0")
    assert any(line.startswith("# memory assumption: ") for line in lines)
    assert main([str(spec), "--memory", "-f", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "| live (bytes) |" in out and "- Peak activations: 4,160 bytes while fc1 runs" in out


def test_cli_batch_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "mlp.yaml"
    spec.write_text(MLP)
    assert main([str(spec), "--batch", "0"]) == 2
    assert capsys.readouterr().err.strip() == "archcalc: --batch: --batch 0 is not a positive integer (e.g. --batch 8)"
    assert main([str(spec), "--batch", "2", "--set", "batch=3"]) == 2
    assert "given twice" in capsys.readouterr().err


def test_unknown_dtype_or_optimizer_from_python() -> None:
    report = archcalc.analyze(archcalc.load(MLP))
    with pytest.raises(SpecError, match="unknown optimizer 'lamb'"):
        annotate(report, "fp32", "lamb")
    with pytest.raises(SpecError, match="unknown dtype 'fp8'"):
        annotate(report, "fp8")


def test_a_convention_that_drops_parameters_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ROOT / "specs" / "gpt2.yaml"), "--memory", "--convention", "kaplan"]) == 2
    assert "needs every parameter" in capsys.readouterr().err


def test_html_report_shows_the_memory_totals(tmp_path: Path) -> None:
    from archcalc.outputs.html import render_html
    page = render_html(memory(MLP, "bf16"), MLP)
    assert "peak activations" in page and 'id="x-memory"' in page and "live_bytes" in page


# ---------------------------------------------------------------- PyTorch as the oracle

SMALL = """\
name: small
input: [3, 16, 16]
batch: 2
layers:
  - conv2d: {name: stem, out_channels: 8, kernel_size: 3, padding: 1}
  - relu
  - maxpool2d: {kernel_size: 2}
  - residual:
      body:
        - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, bias: false}
        - batchnorm2d
        - relu
        - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, bias: false}
        - batchnorm2d
  - relu
  - global_avgpool: {keepdims: true}
  - flatten
  - linear: {out_features: 10}
"""


def _small_model(torch: Any) -> Any:
    """SMALL in torch, as a list of top-level layers (run one after another, so that nothing but the data flow
    keeps a tensor alive); the residual's add is a module so that a hook sees it."""
    nn = torch.nn

    class Add(nn.Module):
        def forward(self, a: Any, b: Any) -> Any:
            return a + b

    class Residual(nn.Module):
        def __init__(self, body: Any) -> None:
            super().__init__()
            self.body, self.add = body, Add()

        def forward(self, x: Any) -> Any:
            return self.add(self.body(x), x)  # x, the shortcut, stays live while the body runs

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        Residual(nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                               nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))),
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)).eval()


def _live_tensor_tracker(torch: Any, exclude: set[int]) -> Any:
    """A dispatch mode that, after every aten op, knows the bytes of the distinct storages some tensor still
    refers to (a view shares its base's storage; parameters and buffers, ``exclude``, are weights)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class LiveTensors(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.refs: dict[int, list[int]] = {}  # storage address -> [bytes, tensors referring to it]
            self.now = self.peak = 0

        def track(self, t: Any) -> None:
            storage = t.untyped_storage()
            key = storage.data_ptr()
            if key in exclude or storage.nbytes() == 0:
                return
            entry = self.refs.setdefault(key, [storage.nbytes(), 0])
            if entry[1] == 0:
                self.now += entry[0]
            entry[1] += 1
            weakref.finalize(t, self.release, key)  # runs when the tensor object dies

        def release(self, key: int) -> None:
            entry = self.refs[key]
            entry[1] -= 1
            if entry[1] == 0:
                self.now -= entry[0]
                del self.refs[key]

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor):
                    self.track(t)
            self.peak = max(self.peak, self.now)
            return out

    return LiveTensors()


@pytest.mark.parametrize(("dtype", "name"), [("float32", "fp32"), ("bfloat16", "bf16")])
def test_torch_parameter_bytes(dtype: str, name: str) -> None:
    torch = pytest.importorskip("torch")
    model = _small_model(torch).to(getattr(torch, dtype))
    m = memory(SMALL, name).extra["memory"]
    assert sum(p.numel() * p.element_size() for p in model.parameters()) == m["param_bytes"]
    # Buffers: torch keeps num_batches_tracked in int64 (8 bytes, one per batch norm) whatever the dtype, where
    # archcalc counts every buffer value at the dtype (assumption 1): 2 batch norms x (8 - bytes per value) more.
    size = {"fp32": 4, "bf16": 2}[name]
    assert sum(b.numel() * b.element_size() for b in model.buffers()) == m["buffer_bytes"] + 2 * (8 - size)


@pytest.mark.parametrize(("dtype", "name"), [("float32", "fp32"), ("bfloat16", "bf16")])
def test_torch_live_tensors_match_the_analytical_live_set(dtype: str, name: str) -> None:
    """Measured: the live tensor storages (a dispatch mode with weakref finalizers) when each layer's forward
    hook fires (its inputs and output exist, and whatever the data flow still holds)."""
    torch = pytest.importorskip("torch")
    model = _small_model(torch).to(getattr(torch, dtype))
    exclude = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    tracker = _live_tensor_tracker(torch, exclude)
    measured: list[int] = []
    for module in model.modules():
        if not list(module.children()):
            module.register_forward_hook(lambda *_: measured.append(tracker.now))
    with torch.no_grad(), tracker:
        x = torch.randn(2, 3, 16, 16, dtype=getattr(torch, dtype))
        for layer in model:
            x = layer(x)
    r = memory(SMALL, name)
    analytical = live(r)
    names = [row.name for row in r.layers]
    assert len(measured) == len(analytical) == 13
    flatten = names.index("flatten_1")
    # Every layer matches exactly except flatten: torch's flatten is a view of the pooled tensor (no new storage),
    # while archcalc gives every layer its own buffer (assumption 3): the gap is flatten's output.
    flatten_out = r.layers[flatten].extra["memory"]["output_bytes"]  # 2 x 8 values
    assert measured[flatten] == analytical[flatten] - flatten_out
    assert [v for i, v in enumerate(measured) if i != flatten] == [v for i, v in enumerate(analytical) if i != flatten]
    peak_bytes = r.extra["memory"]["inference"]["peak_activation_bytes"]
    assert max(measured) == peak_bytes == {"fp32": 32_768, "bf16": 16_384}[name]  # relu_1: 2 x (2*8*16*16) values
    # Within an op the tracker sees temporaries too. In bf16, max pooling runs max_pool2d_with_indices and drops
    # the int64 indices after the call: 2*8*8*8 values x 8 bytes = 8,192 on top of its input (2*8*16*16 x 2 bytes
    # = 8,192) and output (2*8*8*8 x 2 = 2,048), kernel workspace that archcalc leaves out (assumption 4). The
    # fp32 kernel makes no indices.
    assert tracker.peak == {"fp32": peak_bytes, "bf16": 8_192 + 2_048 + 8_192}[name]


def test_torch_allocator_peak_is_the_live_set_plus_kernel_workspace(tmp_path: Path) -> None:
    """Measured: every CPU allocation during the forward pass (the profiler's memory timeline). It is at least the
    analytical peak; the rest is workspace inside a layer, not counted by assumption 4: oneDNN's convolution
    reorders its input, weights and output to and from a blocked layout. Observed with torch 2.13 on x86: 55,296
    bytes during the stem convolution, its input and output (6,144 + 16,384) plus 32,768 of oneDNN buffers (two
    output-sized), against the analytical 32,768 at relu_1; the exact workspace depends on the CPU and oneDNN."""
    torch = pytest.importorskip("torch")
    from torch.profiler import ProfilerActivity, profile
    model = _small_model(torch)
    if not hasattr(profile, "export_memory_timeline"):
        pytest.skip("this torch has no profiler memory timeline")

    def run() -> Any:
        x = torch.randn(2, 3, 16, 16)
        for layer in model:
            x = layer(x)
        return x

    with torch.no_grad():
        run()  # warm-up: one-time allocations stay out of the measurement
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True,
                     with_stack=True) as prof:
            run()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated in favour of a CUDA-only API
        path = tmp_path / "memory_timeline.json"  # [times, [bytes by category]]
        prof.export_memory_timeline(str(path), device="cpu")
    _, sizes = json.loads(path.read_text())
    totals = [sum(s) for s in sizes]
    measured = max(totals) - totals[0]  # above what existed before (parameters and buffers)
    r = memory(SMALL)
    analytical = r.extra["memory"]["inference"]["peak_activation_bytes"]
    assert measured >= analytical
    # workspace bound: three more copies of the largest convolution's input, output and weights
    stem = r.layers[0].extra["memory"]
    assert measured - analytical <= 3 * (stem["live_bytes"] + stem["param_bytes"])


def test_torch_training_state_and_saved_tensors() -> None:
    """Gradients and Adam's state from a real step; the tensors autograd saves for backward."""
    torch = pytest.importorskip("torch")
    model = _small_model(torch).train()
    r = memory(SMALL, "fp32", "adam")
    t = r.extra["memory"]["training"]
    exclude = {p.untyped_storage().data_ptr() for p in [*model.parameters(), *model.buffers()]}
    saved: dict[int, int] = {}

    def pack(x: Any) -> Any:
        storage = x.untyped_storage()
        if storage.data_ptr() not in exclude and x.is_floating_point():
            saved[storage.data_ptr()] = storage.nbytes()
        return x

    optimizer = torch.optim.Adam(model.parameters())
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        loss = model(torch.randn(2, 3, 16, 16)).sum()
    loss.backward()
    optimizer.step()
    params = list(model.parameters())
    assert sum(p.grad.numel() * p.grad.element_size() for p in params) == t["gradient_bytes"]
    state = [optimizer.state[p] for p in params]
    moments = sum(s[k].numel() * s[k].element_size() for s in state for k in ("exp_avg", "exp_avg_sq"))
    assert moments == t["optimizer_state_bytes"]  # 2 buffers x 1,498 params x 4 bytes
    # torch also keeps Adam's step count as one 4-byte tensor per parameter tensor (8 here): not counted
    assert sum(s["step"].numel() * s["step"].element_size() for s in state) == 4 * len(params)
    # Saved for backward: archcalc keeps the input and every output (an upper bound); torch keeps what each
    # backward needs (conv and linear their input, relu its output, batch norm its input and batch statistics,
    # nothing for add or average pooling), all of them among archcalc's tensors, plus small batch statistics
    # (2 x 8 floats per batch norm) and max pooling's int64 indices (not floating point, left out above).
    statistics = 2 * 2 * 8 * 4
    assert sum(saved.values()) <= t["saved_activation_bytes"] + statistics


def test_symbolic_workspace_is_shown_in_the_users_symbols(tmp_path: Path, capsys: Any) -> None:
    """A dense attention's scores (workspace) with T a multiple of 8: every figure is written in T, never in the
    internal T_8 (T = 8 * T_8) the engine computes with. fp32, 4 heads, width 64, batch 1: saved = (input T*64 +
    output T*64 + scores 4*T*T) x 4 bytes = 16*T**2 + 512*T."""
    import sympy
    spec = tmp_path / "attn.yaml"
    spec.write_text("name: attn\nsymbols: {T: {multiple_of: 8}}\ninput: [T, 64]\n"
                    "layers:\n  - multihead_attention: {num_heads: 4}\n")
    T = sympy.Symbol("T", integer=True, positive=True)
    saved = sympy.expand((T * 64 + T * 64 + 4 * T * T) * 4)
    assert main([str(spec), "--memory"]) == 0
    out = capsys.readouterr().out
    assert "T_8" not in out
    assert f"saved             {saved} bytes" in out
    assert main([str(spec), "--memory", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["memory"]["training"]["saved_activation_bytes"] == str(saved)
