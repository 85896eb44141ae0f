"""Recurrent layers ``lstm``, ``gru`` and ``rnn``, as torch.nn.LSTM, GRU and RNN (inference, sequence first).

Per sample the input is ``[T, input_size]`` and the output ``[T, D * H_out]``: D = 2 when bidirectional,
H_out = proj_size (LSTM with a projection) or hidden_size; with ``output: last`` (Keras' default,
return_sequences=False) it is the final hidden state of each direction, ``[D * H_out]``. The per-unit cell
arithmetic is in ``CELLS``. Keras keeps one bias per gate row (``hidden_bias: false``), torch two.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..core.declare import choice, field, maybe
from ..core.errors import ShapeError, SpecError
from ..core.fields import Flag, NonNegInt, Number, PositiveInt
from ..core.num import fmt_number, is_concrete
from .activation import PER_ELEMENT
from .base import GLOBAL, Cost, LayerSpec, Shape, check_equal, formula


class Cell(NamedTuple):
    """One time step of one hidden unit, beyond the matrix-vector products and the bias adds."""

    gates: int  # gate groups: W_ih and W_hh have gates * hidden_size rows, b_ih and b_hh as many entries
    elementwise: int  # adds and multiplies
    how: str  # what the elementwise count is made of
    activations: tuple[tuple[str, str], ...]  # (function, what it makes), costed by activation.PER_ELEMENT


# Counted as torch's CPU cells compute them (aten/src/ATen/native/RNN.cpp: LSTMCell, GRUCell, SimpleCell).
CELLS: dict[str, Cell] = {
    "lstm": Cell(4, 8, "4 adds of the input and hidden gate pre-activations, (W_ih x + b_ih) + (W_hh h + b_hh); "
                       "c' = f*c + i*g: 3; h' = o*tanh(c'): 1",
                 (("sigmoid", "i"), ("sigmoid", "f"), ("tanh", "g"), ("sigmoid", "o"), ("tanh", "c'"))),
    # torch applies the reset gate after the hidden matmul and its bias, and forms h' as (h - n)*z + n
    "gru": Cell(3, 7, "2 adds of the input and hidden pre-activations of r and z; n = tanh((W_in x + b_in) + "
                      "r*(W_hn h + b_hn)): 1 mul, 1 add; h' = (h - n)*z + n: 3",
                (("sigmoid", "r"), ("sigmoid", "z"), ("tanh", "n"))),
    "rnn": Cell(1, 1, "1 add of the input and hidden pre-activations", (("nonlinearity", "h' (tanh or relu)"),)),
}


class RecurrentSpec(LayerSpec):
    """Fields shared by lstm, gru and rnn, named as in torch.nn.RNNBase."""

    input_size = field(maybe(PositiveInt), None, "Input features; inferred from the last dimension of the "
                                                 "[T, features] input, checked against it when given.")
    hidden_size = field(PositiveInt, description="Features of the hidden state h (and of the LSTM cell c).")
    num_layers = field(PositiveInt, 1, "Stacked layers; layer 2 on reads the previous layer's output.")
    bias = field(Flag, True, "Learnable biases b_ih and b_hh (two per gate, as torch has).")
    hidden_bias = field(Flag, True, "With bias: the second bias b_hh of each gate, as torch has; false keeps one "
                                    "bias per gate, as Keras' LSTM, SimpleRNN and GRU(reset_after=False) do.")
    output = field(choice("sequence", "last"), "sequence", "sequence: every step's hidden state, [T, D * H_out] "
                                                           "(torch's output, Keras' return_sequences=True); last: "
                                                           "the final state of each direction, [D * H_out] "
                                                           "(Keras' default).")
    bidirectional = field(Flag, False, "Run a second pass backwards in time; the output concatenates both.")
    proj_size = field(NonNegInt, 0, "LSTM only: project h to proj_size features (W_hr, no bias); 0 means no "
                                    "projection. Must be 0 on gru and rnn, as in torch.")
    dropout = field(Number, 0, "Dropout between stacked layers in training (no count changes at inference).")
    batch_first = field(Flag, False, "torch's memory layout flag; shapes here are per sample, [T, features] "
                                     "either way (no count changes).")
    kind = "recurrent"


class LSTMGRUSpec(RecurrentSpec):
    """Long short-term memory (torch.nn.LSTM) or gated recurrent unit (torch.nn.GRU)."""

    TYPES = ("lstm", "gru")
    reset_after = field(Flag, True, "GRU only: apply the reset gate after the hidden matmul (torch; Keras' default "
                                    "reset_after=True); false applies it to h before (Keras' reset_after=False, "
                                    "one bias per gate): the same counts.")


class RNNSpec(RecurrentSpec):
    """Elman RNN, h' = nonlinearity(W_ih x + b_ih + W_hh h + b_hh), as torch.nn.RNN."""

    TYPES = ("rnn",)
    nonlinearity = field(choice("tanh", "relu"), "tanh", "'tanh' or 'relu', as torch.nn.RNN.")


def _check_options(spec: RecurrentSpec) -> None:
    """The refusals torch makes when the module is built, as one-line errors."""
    if spec.type != "lstm" and not (is_concrete(spec.proj_size) and spec.proj_size == 0):
        raise SpecError(f"proj_size={spec.proj_size}: only lstm has a projection (torch.nn.{spec.type.upper()} "
                        f"has none)", hint="remove proj_size, or use lstm")
    h, p = spec.hidden_size, spec.proj_size
    if is_concrete(h) and is_concrete(p) and p >= h:
        raise SpecError(f"proj_size={p} must be smaller than hidden_size={h}, as in torch",
                        hint="use a proj_size below hidden_size, or 0 for no projection")
    if spec.type != "gru" and not getattr(spec, "reset_after", True):
        raise SpecError("reset_after applies to gru only", hint="remove reset_after")
    if spec.type == "gru" and not spec.reset_after and spec.hidden_bias and spec.bias:
        raise SpecError("reset_after: false has one bias per gate (Keras)", hint="add hidden_bias: false")
    if not 0 <= spec.dropout <= 1:
        raise SpecError(f"dropout={fmt_number(spec.dropout, '.6g')} is not a probability", hint="use a value in [0, 1]")


@formula(LSTMGRUSpec)
@formula(RNNSpec)
def recurrent(spec: RecurrentSpec, x: Shape) -> Cost:
    """Every time step of every layer and direction runs gates*H rows of W_ih and of W_hh (plus W_hr)."""
    if len(x) != 2:
        raise ShapeError(f"expects a per-sample input [T, input_size] (sequence first), got shape {list(x)}",
                         hint="token ids need an embedding first" if len(x) == 1 else
                         "merge the extra dimensions into the features first: flatten: {start_dim: 2}")
    _check_options(spec)
    t, n_in = x
    check_equal(spec.input_size, n_in, "input_size", "features in its last dimension")
    cell = CELLS[spec.type]
    g, h, n_layers = cell.gates, spec.hidden_size, spec.num_layers
    d = 2 if spec.bidirectional else 1
    proj = spec.proj_size  # a symbol is a positive integer, so only a literal 0 means "no projection"
    no_proj = is_concrete(proj) and proj == 0
    h_out = h if no_proj else proj

    def step_macs(width: Any) -> Any:
        """One direction of one layer reading `width` features, one time step."""
        # W_ih x: g*H rows of width; W_hh h_prev: g*H rows of H_out; W_hr h: H_out rows of H (LSTM projection)
        return g * h * (width + h_out) + (0 if no_proj else h_out * h)

    # layer 1 reads the input; layers 2.. read the output of the layer below, D * H_out features
    per_step = d * (step_macs(n_in) + (n_layers - 1) * step_macs(d * h_out))
    macs = t * per_step
    biases = (2 if spec.hidden_bias else 1) if spec.bias else 0  # b_ih (and b_hh) per gate row
    bias_params = biases * g * h
    units = t * n_layers * d * h  # hidden units updated over the sequence, all layers and directions
    functions = [spec.nonlinearity if f == "nonlinearity" else f for f, _ in cell.activations]
    last = spec.output == "last"  # the final state of each direction: every output feature has seen every step
    return Cost(
        shape=(d * h_out,) if last else (t, d * h_out),
        params=per_step + n_layers * d * bias_params,  # one weight per MAC of a step: W_ih, W_hh, W_hr
        macs=macs,
        flops={
            "linear": 2 * macs,
            "bias": units * biases * g,  # an add per bias per gate row
            "activation": units * sum(PER_ELEMENT[f][0] for f in functions),
            "elementwise": units * cell.elementwise,
        },
        # An output at step t sees every input step <= t (all steps when bidirectional) and every feature.
        # Causal prefixes are not one window, so the time axis is marked global, as are the features.
        rf={0: GLOBAL, 1: GLOBAL},
        dims=((0, 1),) if last else None,
    )
