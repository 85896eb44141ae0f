"""Recurrent layers (lstm, gru, rnn) and the LSTM language model in specs/lstm_lm.yaml.

Where the expected numbers come from:
- arithmetic: torch's weight shapes (torch.nn.LSTM/GRU/RNN docs: weight_ih_l[k] is (gates*H, in), weight_hh_l[k]
  (gates*H, H_out), b_ih and b_hh (gates*H), LSTM weight_hr_l[k] (proj_size, H); layer k >= 1 reads D*H_out
  features) and the FLOP rules of archcalc/count/convention.py, written out next to each literal;
- torch oracle: params = sum of parameters().numel() of nn.LSTM/GRU/RNN; MACs = FlopCounterMode total / 2 of the
  cells written below by hand (one nn.Linear per gate for W_ih and W_hh, a Python loop over time), whose outputs
  are checked equal to nn.LSTM/GRU/RNN's with the same weights, so they are the same computation.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main
from archcalc.core.errors import ShapeError, SpecError
from archcalc.count.convention import ARCHCALC

SPECS = Path(__file__).resolve().parent.parent / "specs"
# torch's notices when an LSTM with a projection, or oneDNN switched off, leaves the oneDNN path
pytestmark = [pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN"),
              pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN")]


def one(layer: str, input: str, batch: int = 1):
    """The row of a one-layer network."""
    (row,) = archcalc.analyze(archcalc.load(f"name: t\ninput: {input}\nbatch: {batch}\nlayers:\n  - {layer}\n")).layers
    return row


def cli_error(capsys, tmp_path: Path, layer: str, input: str = "[5, 8]") -> str:
    """The CLI's one-line error for a one-layer spec (the layer on line 4): exit 2, no traceback."""
    path = tmp_path / "spec.yaml"
    path.write_text(f"name: t\ninput: {input}\nlayers:\n  - {layer}\n", encoding="utf-8")
    status = main([str(path)])
    out, err = capsys.readouterr()
    assert status == 2, err
    assert out == "" and "Traceback" not in err
    (line,) = err.splitlines()
    prefix = f"archcalc: {path}:4: layer "
    assert line.startswith(prefix), line
    return line[len(prefix):]


# ---------------------------------------------------------------- arithmetic

def test_lstm_one_layer():
    row = one("lstm: {hidden_size: 16}", "[5, 8]")
    assert row.output_shape == (1, 5, 16)
    # W_ih 4*16 x 8 = 512, W_hh 4*16 x 16 = 1024, b_ih + b_hh 2 * 4*16 = 128
    assert row.params == 512 + 1024 + 128 == 1664
    # per step 4*16*(8 + 16) = 1536 MACs, over T = 5 steps
    assert row.macs == 5 * 1536 == 7680
    # per hidden unit and step (5 * 16 = 80 of them): bias 2*4 = 8; sigmoid 3 x3 + tanh 1 x2 = 11; elementwise 4 + 3 + 1
    assert row.flops_by_kind == {"linear": 2 * 7680, "bias": 80 * 8, "activation": 80 * 11, "elementwise": 80 * 8}
    assert row.flops == 15360 + 640 + 880 + 640 == 17520


def test_lstm_stacked_bidirectional_with_projection():
    row = one("lstm: {hidden_size: 16, proj_size: 4, num_layers: 2, bidirectional: true}", "[5, 8]")
    # H_out = proj_size = 4, D = 2: the output has 2 * 4 features
    assert row.output_shape == (1, 5, 8)
    # per direction, layer 1 (in 8): W_ih 64*8 = 512, W_hh 64*4 = 256, W_hr 4*16 = 64, biases 128 -> 960;
    # layer 2 reads D * H_out = 8 features: the same 960.  2 layers x 2 directions
    assert row.params == 2 * 2 * (512 + 256 + 64 + 128) == 3840
    # MACs per step and direction: 512 + 256 + 64 = 832 per layer; 2 layers x 2 directions x 5 steps
    assert row.macs == 5 * 2 * 2 * 832 == 16640
    # cell work runs on H = 16 units: 5 steps x 2 layers x 2 directions x 16 = 320 unit updates
    assert row.flops_by_kind == {"linear": 2 * 16640, "bias": 320 * 8, "activation": 320 * 11,
                                 "elementwise": 320 * 8}


def test_gru_without_bias():
    row = one("gru: {hidden_size: 64, bias: false}", "[10, 32]")
    assert row.output_shape == (1, 10, 64)
    # W_ih 3*64 x 32 = 6144, W_hh 3*64 x 64 = 12288, no biases
    assert row.params == 6144 + 12288 == 18432
    assert row.macs == 10 * 18432 == 184320
    # 10 * 64 = 640 unit updates: sigmoid r, z (3 each) + tanh n (1) = 7; elementwise 2 + 2 + 3 = 7; no bias adds
    assert row.flops_by_kind == {"linear": 2 * 184320, "activation": 640 * 7, "elementwise": 640 * 7}


def test_gru_bias_adds_count_both_biases():
    row = one("gru: {hidden_size: 4}", "[1, 2]")
    # b_ih and b_hh of 3 gates: 6 adds per unit, 4 units, 1 step (the reset gate scales W_hn h + b_hn, so b_hn
    # is added before it and cannot be folded into b_in)
    assert row.flops_by_kind["bias"] == 4 * 6
    assert row.params == 3 * 4 * (2 + 4) + 2 * 3 * 4 == 96


def test_rnn_relu_three_layers_bidirectional():
    row = one("rnn: {hidden_size: 20, nonlinearity: relu, num_layers: 3, bidirectional: true}", "[7, 10]")
    assert row.output_shape == (1, 7, 40)
    # per direction: layer 1: 20*10 + 20*20 + 2*20 = 640; layers 2, 3 read 2*20 = 40: 20*40 + 20*20 + 40 = 1240
    assert row.params == 2 * (640 + 2 * 1240) == 6240
    # per step: 2 directions x (200 + 400 + 2 * (800 + 400))
    assert row.macs == 7 * 2 * (600 + 2 * 1200) == 42000
    # 7 steps x 3 layers x 2 directions x 20 units = 840 updates: 2 bias adds, 1 add, relu 1
    assert row.flops_by_kind == {"linear": 84000, "bias": 840 * 2, "activation": 840, "elementwise": 840}


def test_rnn_tanh_is_the_default():
    row = one("rnn: {hidden_size: 3}", "[2, 3]")
    # tanh counts 1 per element, like relu: 2 steps x 3 units
    assert row.flops_by_kind["activation"] == 6
    assert row.params == 3 * 3 + 3 * 3 + 2 * 3 == 24


def test_dropout_costs_nothing():
    assert one("lstm: {hidden_size: 8, num_layers: 2, dropout: 0.5}", "[4, 8]").flops == \
        one("lstm: {hidden_size: 8, num_layers: 2}", "[4, 8]").flops


def test_batch_scales_macs_not_params():
    row = one("lstm: {hidden_size: 16}", "[5, 8]", batch=3)
    assert row.output_shape == (3, 5, 16)
    assert (row.params, row.macs) == (1664, 3 * 7680)


def test_input_size_given_and_matching():
    assert one("gru: {input_size: 8, hidden_size: 4}", "[5, 8]").params == 3 * 4 * (8 + 4) + 2 * 3 * 4


def test_receptive_field_is_global():
    # every output sees every feature and (through the recurrence) every earlier step
    row = one("lstm: {hidden_size: 4}", "[6, 8]")
    assert row.rf.to_dict() == {"size": "global", "jump": "global", "padding": "global"}


def test_convention_states_the_cell_counts():
    rules = ARCHCALC.to_dict()["rules"]
    assert "8 bias adds" in rules["recurrent.lstm"] and "8 elementwise" in rules["recurrent.lstm"]
    assert "6 bias adds" in rules["recurrent.gru"] and "7 elementwise" in rules["recurrent.gru"]
    assert "r*(W_hn h + b_hn)" in rules["recurrent.gru"]
    assert "2 bias adds" in rules["recurrent.rnn"] and "1 elementwise" in rules["recurrent.rnn"]


# ---------------------------------------------------------------- errors

def test_input_size_mismatch_is_a_shape_error(capsys, tmp_path):
    with pytest.raises(ShapeError, match="input_size=9"):
        one("lstm: {input_size: 9, hidden_size: 4}", "[5, 8]")
    rest = cli_error(capsys, tmp_path, "lstm: {input_size: 9, hidden_size: 4}")
    assert rest == ("lstm_1: input_size=9 but the incoming tensor has 8 features in its last dimension "
                    "(set input_size: 8, or leave it out to infer it)")


def test_token_ids_need_an_embedding(capsys, tmp_path):
    rest = cli_error(capsys, tmp_path, "lstm: {hidden_size: 4}", input="[35]")
    assert rest == ("lstm_1: expects a per-sample input [T, input_size] (sequence first), got shape [35] "
                    "(token ids need an embedding first)")


def test_rank3_input_is_refused(capsys, tmp_path):
    rest = cli_error(capsys, tmp_path, "gru: {hidden_size: 4}", input="[3, 8, 8]")
    assert "got shape [3, 8, 8]" in rest and "flatten: {start_dim: 2}" in rest


@pytest.mark.parametrize("kind", ["gru", "rnn"])
def test_proj_size_is_lstm_only(capsys, tmp_path, kind):
    rest = cli_error(capsys, tmp_path, f"{kind}: {{hidden_size: 16, proj_size: 4}}")
    assert rest == (f"{kind}_1: proj_size=4: only lstm has a projection (torch.nn.{kind.upper()} has none) "
                    f"(remove proj_size, or use lstm)")
    assert one(f"{kind}: {{hidden_size: 16, proj_size: 0}}", "[5, 8]").params > 0  # 0 is allowed, as in torch


def test_proj_size_must_be_below_hidden_size(capsys, tmp_path):
    rest = cli_error(capsys, tmp_path, "lstm: {hidden_size: 16, proj_size: 16}")
    assert rest.startswith("lstm_1: proj_size=16 must be smaller than hidden_size=16")


def test_dropout_must_be_a_probability(capsys, tmp_path):
    rest = cli_error(capsys, tmp_path, "lstm: {hidden_size: 16, dropout: 1.5}")
    assert rest == "lstm_1: dropout=1.5 is not a probability (use a value in [0, 1])"
    with pytest.raises(SpecError, match="dropout"):
        one("gru: {hidden_size: 4, dropout: -0.1}", "[5, 8]")


@pytest.mark.parametrize("layer, words", [
    ("lstm: {hidden_size: 16, nonlinearity: relu}", "unknown field 'nonlinearity'"),  # torch.nn.LSTM has none
    ("rnn: {hidden_size: 16, nonlinearity: sigmoid}", "'tanh' or 'relu'"),
    ("lstm: {input_size: 8}", "missing required field 'hidden_size'"),
    ("gru: {hidden_size: 0}", "expected a positive integer"),
    ("lstm: {hidden_size: 4, num_layers: 0}", "expected a positive integer"),
    ("lstm: {hidden_size: 4, proj_size: -1}", "expected an integer >= 0"),
])
def test_option_errors(capsys, tmp_path, layer, words):
    assert words in cli_error(capsys, tmp_path, layer)


# ---------------------------------------------------------------- symbolic mode

def test_symbolic_sequence_length_and_sizes():
    sympy = pytest.importorskip("sympy")
    t, h, p, i = (sympy.Symbol(n, integer=True, positive=True) for n in "THPI")
    spec = "name: t\nsymbols: [T, H, P, I]\ninput: [T, I]\nlayers:\n" \
           "  - lstm: {hidden_size: H, proj_size: P, num_layers: 2, bidirectional: true}\n"
    row = archcalc.analyze(archcalc.load(spec)).layers[0]
    assert row.output_shape == (1, t, 2 * p)
    # per direction: layer 1: 4H(I + P) + PH + 8H; layer 2 reads 2P: 4H(2P + P) + PH + 8H
    layer1, layer2 = 4 * h * (i + p) + p * h + 8 * h, 4 * h * (3 * p) + p * h + 8 * h
    assert sympy.expand(row.params - 2 * (layer1 + layer2)) == 0
    assert sympy.expand(row.macs - 2 * t * (layer1 + layer2 - 16 * h)) == 0  # the biases are not MACs
    # 2 layers x 2 directions x T steps x H units, 8 + 11 + 8 FLOPs each beyond the matmuls
    assert sympy.expand(row.flops - 2 * row.macs - 4 * t * h * 27) == 0


def test_symbolic_sequence_length_of_the_zoo_spec():
    sympy = pytest.importorskip("sympy")
    t = sympy.Symbol("T", integer=True, positive=True)
    report = archcalc.analyze(archcalc.load(SPECS / "lstm_lm.yaml", symbolic=["T"]))
    # per token: LSTM 2 x 4*650*(650 + 650) = 6,760,000; decoder 650 * 10,000 = 6,500,000
    assert sympy.expand(report.totals.macs - (6_760_000 + 6_500_000) * t) == 0
    assert report.totals.params == 19_780_400  # no parameter depends on T
    assert int(report.totals.macs.subs(t, 35)) == archcalc.analyze(archcalc.load(SPECS / "lstm_lm.yaml")).totals.macs


def test_symbolic_num_layers():
    sympy = pytest.importorskip("sympy")
    n = sympy.Symbol("L", integer=True, positive=True)
    report = archcalc.analyze(archcalc.load("name: t\nsymbols: [L]\ninput: [5, 8]\nlayers:\n"
                                            "  - rnn: {hidden_size: 16, num_layers: L}\n"))
    # layer 1: 16*8 + 16*16 + 32 = 416; each further layer reads 16: 16*16 + 16*16 + 32 = 544
    assert sympy.expand(report.totals.params - (416 + (n - 1) * 544)) == 0


# ---------------------------------------------------------------- the zoo spec, by arithmetic

def test_lstm_lm_figures():
    report = archcalc.analyze(archcalc.load(SPECS / "lstm_lm.yaml"))
    rows = {r.name: r for r in report.layers}
    assert report.output_shape == (1, 35, 10000)
    # embedding 10,000 x 650; LSTM per layer 4*650*(650 + 650) + 2*4*650 = 3,385,200, two layers;
    # decoder 650 x 10,000 + 10,000
    assert rows["embed"].params == 10000 * 650 == 6_500_000
    assert rows["lstm"].params == 2 * (4 * 650 * 1300 + 8 * 650) == 6_770_400
    assert rows["decoder"].params == 650 * 10000 + 10000 == 6_510_000
    assert report.totals.params == 6_500_000 + 6_770_400 + 6_510_000 == 19_780_400
    # MACs over 35 tokens: LSTM 35 x 2 x 4*650*1300; decoder 35 x 650 x 10,000; a lookup has none
    assert rows["lstm"].macs == 35 * 2 * 3_380_000 == 236_600_000
    assert rows["decoder"].macs == 35 * 650 * 10000 == 227_500_000
    assert report.totals.macs == 464_100_000


# ---------------------------------------------------------------- torch oracle

# (archcalc type, torch options), the options named alike in both.
CONFIGS = [
    ("lstm", {}),
    ("lstm", {"num_layers": 3}),
    ("lstm", {"num_layers": 2, "bidirectional": True}),
    ("lstm", {"proj_size": 5}),
    ("lstm", {"num_layers": 2, "bidirectional": True, "proj_size": 5}),
    ("lstm", {"num_layers": 2, "bias": False}),
    ("lstm", {"num_layers": 2, "proj_size": 3, "bias": False, "dropout": 0.3}),
    ("gru", {}),
    ("gru", {"num_layers": 3, "bidirectional": True}),
    ("gru", {"num_layers": 2, "bias": False}),
    ("rnn", {}),
    ("rnn", {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True}),
    ("rnn", {"num_layers": 2, "bias": False}),
]
INPUT, HIDDEN, STEPS = 8, 16, 5


def config_id(config: tuple[str, dict]) -> str:
    kind, options = config
    return "-".join([kind, *(f"{k}={v}" for k, v in options.items())])


def archcalc_row(kind: str, options: dict, steps: int = STEPS):
    layer = {"type": kind, "hidden_size": HIDDEN, **options}
    return archcalc.analyze(archcalc.load({"name": "t", "input": [steps, INPUT], "layers": [layer]})).layers[0]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_module(torch, kind: str, options: dict):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    return cls(INPUT, HIDDEN, **options).eval()


GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def hand_written(torch, reference):
    """The cells of ``reference`` (an nn.LSTM/GRU/RNN) as explicit modules: one nn.Linear per gate for the
    input and for the hidden matmul, nn.Linear for the LSTM projection, a Python loop over time steps; the
    weights are copied from ``reference`` (torch's gate order: LSTM i, f, g, o; GRU r, z, n)."""
    nn = torch.nn
    kind = type(reference).__name__.lower()
    g, h, bias = GATES[kind], reference.hidden_size, reference.bias
    h_out = reference.proj_size or h
    d = 2 if reference.bidirectional else 1

    class Direction(nn.Module):
        def __init__(self, layer: int, suffix: str) -> None:
            super().__init__()
            width = reference.input_size if layer == 0 else d * h_out
            self.ih = nn.ModuleList(nn.Linear(width, h, bias=bias) for _ in range(g))
            self.hh = nn.ModuleList(nn.Linear(h_out, h, bias=bias) for _ in range(g))
            self.proj = nn.Linear(h, h_out, bias=False) if reference.proj_size else None
            params = dict(reference.named_parameters())
            with torch.no_grad():
                for name, linears in (("ih", self.ih), ("hh", self.hh)):
                    for j, linear in enumerate(linears):
                        linear.weight.copy_(params[f"weight_{name}_l{layer}{suffix}"].chunk(g)[j])
                        if bias:
                            linear.bias.copy_(params[f"bias_{name}_l{layer}{suffix}"].chunk(g)[j])
                if self.proj is not None:
                    self.proj.weight.copy_(params[f"weight_hr_l{layer}{suffix}"])

        def step(self, x, hx, cx):
            pre_i = [lin(x) for lin in self.ih]
            pre_h = [lin(hx) for lin in self.hh]
            if kind == "lstm":
                i, f, gg, o = (a + b for a, b in zip(pre_i, pre_h))
                cx = torch.sigmoid(f) * cx + torch.sigmoid(i) * torch.tanh(gg)
                hx = torch.sigmoid(o) * torch.tanh(cx)
                return (hx if self.proj is None else self.proj(hx)), cx
            if kind == "gru":
                r = torch.sigmoid(pre_i[0] + pre_h[0])
                z = torch.sigmoid(pre_i[1] + pre_h[1])
                n = torch.tanh(pre_i[2] + r * pre_h[2])  # the reset gate scales W_hn h + b_hn
                return (hx - n) * z + n, cx
            act = torch.relu if reference.nonlinearity == "relu" else torch.tanh
            return act(pre_i[0] + pre_h[0]), cx

        def forward(self, xs, reverse: bool):
            batch = xs.shape[1]
            hx, cx = xs.new_zeros(batch, h_out), xs.new_zeros(batch, h)
            outs = [None] * len(xs)
            for t in (reversed(range(len(xs))) if reverse else range(len(xs))):
                hx, cx = self.step(xs[t], hx, cx)
                outs[t] = hx
            return torch.stack(outs), hx

    class Cells(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(
                nn.ModuleList(Direction(k, "_reverse" if s else "") for s in range(d))
                for k in range(reference.num_layers))

        def forward(self, xs):
            finals = []
            for directions in self.layers:
                runs = [cell(xs, reverse=s == 1) for s, cell in enumerate(directions)]
                xs = torch.cat([out for out, _ in runs], dim=-1)
                finals += [last for _, last in runs]
            return xs, torch.stack(finals)

    return Cells().eval()


def macs_of(torch, module, *inputs) -> int:
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_params_equal_torch(torch, config):
    kind, options = config
    reference = torch_module(torch, kind, options)
    row = archcalc_row(kind, options)
    assert row.params == sum(p.numel() for p in reference.parameters())
    x = torch.zeros(STEPS, 1, INPUT)
    with torch.no_grad():
        out = reference(x)[0]
    assert row.output_shape == (1, *out.shape[::2])  # torch's [T, batch, features], batch-first here


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_hand_written_cells_compute_what_torch_computes_and_give_the_macs(torch, config):
    kind, options = config
    torch.manual_seed(0)
    reference = torch_module(torch, kind, options)
    cells = hand_written(torch, reference)
    x = torch.randn(STEPS, 2, INPUT)
    with torch.no_grad():
        expected = reference(x)
        got, h_n = cells(x)
    torch.testing.assert_close(got, expected[0], rtol=1e-5, atol=1e-5)
    last_h = expected[1][0] if kind == "lstm" else expected[1]  # LSTM returns (h_n, c_n)
    torch.testing.assert_close(h_n, last_h, rtol=1e-5, atol=1e-5)
    # the same computation, counted matmul by matmul (batch 1, as archcalc's default)
    assert macs_of(torch, cells, torch.zeros(STEPS, 1, INPUT)) == archcalc_row(kind, options).macs


# Why not FlopCounterMode on nn.LSTM itself: the counter only knows ops it has a formula for (mm, addmm, bmm,
# convolution, attention kernels), and counts any other op as 0 without a warning. On CPU with float32 and
# oneDNN available, nn.LSTM runs the fused aten.mkldnn_rnn_layer kernel (cuDNN's aten._cudnn_rnn on a GPU),
# which has no formula, so it counts 0 FLOPs (checked below). nn.GRU and nn.RNN on CPU, and nn.LSTM with a
# projection, in float64 or with oneDNN disabled, decompose into addmm cells that are counted. The hand-written
# cells above give the MACs whatever path torch takes; the measurement with oneDNN disabled is a second check.

def test_flop_counter_sees_nothing_of_the_fused_lstm_kernel(torch):
    if not torch.backends.mkldnn.is_available():
        pytest.skip("this torch has no oneDNN")
    lstm = torch.nn.LSTM(INPUT, HIDDEN).eval()
    x = torch.zeros(STEPS, 1, INPUT)
    assert macs_of(torch, lstm, x) == 0  # aten.mkldnn_rnn_layer: uncounted
    with torch.backends.mkldnn.flags(enabled=False):
        assert macs_of(torch, lstm, x) == archcalc_row("lstm", {}).macs == 5 * 4 * 16 * (8 + 16)


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_macs_equal_flop_counter_on_torch_modules_without_onednn(torch, config):
    kind, options = config
    with torch.backends.mkldnn.flags(enabled=False):
        got = macs_of(torch, torch_module(torch, kind, options), torch.zeros(STEPS, 1, INPUT))
    assert got == archcalc_row(kind, options).macs


def test_lstm_lm_equals_torch(torch):
    """specs/lstm_lm.yaml against nn.Embedding + nn.LSTM + nn.Linear (Zaremba et al. 2014, medium)."""
    nn = torch.nn
    torch.manual_seed(0)

    class LanguageModel(nn.Module):
        def __init__(self, recurrent=None) -> None:
            super().__init__()
            self.embed = nn.Embedding(10000, 650)
            self.drop = nn.Dropout(0.5)
            self.lstm = nn.LSTM(650, 650, num_layers=2, dropout=0.5) if recurrent is None else recurrent
            self.decoder = nn.Linear(650, 10000)

        def forward(self, tokens):
            out = self.lstm(self.drop(self.embed(tokens)))[0]
            return self.decoder(self.drop(out))

    model = LanguageModel().eval()
    report = archcalc.analyze(archcalc.load(SPECS / "lstm_lm.yaml"))
    rows = {r.name: r for r in report.layers}
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    for name in ("embed", "lstm", "decoder"):
        assert rows[name].params == sum(p.numel() for p in getattr(model, name).parameters()), name

    cells = hand_written(torch, model.lstm)
    unrolled = LanguageModel(cells).eval()
    unrolled.embed, unrolled.decoder = model.embed, model.decoder
    tokens = torch.randint(0, 10000, (35, 1))  # [T, batch], as nn.LSTM expects by default
    with torch.no_grad():
        expected = model(tokens)
        got = unrolled(tokens)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert tuple(report.output_shape) == (1, *expected.shape[::2])
    assert macs_of(torch, unrolled, tokens) == report.totals.macs == 464_100_000

