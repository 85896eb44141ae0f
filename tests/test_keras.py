"""Keras 3 is the oracle for ``layout: channels_last`` and the Keras vocabulary.

Each case builds a Keras model (functional API, torch backend, every layer named) and writes the same network as an
archcalc spec in Keras' own vocabulary. For every Keras layer, the archcalc layer (or block, when archcalc splits it:
a fused activation, a separable convolution) of the same name must have Keras' output shape
(``layer.output.shape``, batch dropped), its trainable weight count (``layer.trainable_weights``) and its
non-trainable count (``layer.non_trainable_weights``); and the spec's totals must be Keras' ``count_params()``,
``sum(prod(w.shape) for w in model.trainable_weights)`` and the same over ``non_trainable_weights``. archcalc's
``params`` is the trainable count; Keras' total is trainable + non-trainable.

The export is checked against Keras too: the generated torch module, given the Keras model's weights (moved from
Keras' layouts to torch's by the rules written out in ``_copy``), computes Keras' output on the same input.
"""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")

import archcalc  # noqa: E402

L = keras.layers
# Keras' torch backend converts with np.array(x) where numpy 2 asks for a copy keyword: its warning, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _named(ins, outs):
    return keras.Model(ins, outs)


# ---- the models: (Keras builder, the archcalc spec in Keras vocabulary) ----

def conv1d_dense():
    """The issue's case: Conv1D(16, 3) then Dense(5) on [100, 4]: Dense acts on the channels."""
    i = keras.Input((100, 4))
    return _named(i, L.Dense(5, name="fc")(L.Conv1D(16, 3, name="conv")(i)))


CONV1D_DENSE = """name: conv1d_dense
layout: channels_last
input: [100, 4]
layers:
  - Conv1D: {name: conv, filters: 16, kernel_size: 3}
  - Dense: {name: fc, units: 5}
"""


def dcgan():
    """The DCGAN generator (Radford et al. 2016, as in the TensorFlow tutorial): Dense(3136) -> Reshape [7, 7, 64]."""
    i = keras.Input((100,))
    x = L.Dense(7 * 7 * 64, use_bias=False, name="project")(i)
    x = L.BatchNormalization(name="bn0")(x)
    x = L.LeakyReLU(name="act0")(x)
    x = L.Reshape((7, 7, 64), name="reshape")(x)
    x = L.Conv2DTranspose(64, 5, strides=1, padding="same", use_bias=False, name="up1")(x)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.LeakyReLU(negative_slope=0.2, name="act1")(x)
    x = L.Conv2DTranspose(32, 5, strides=2, padding="same", use_bias=False, name="up2")(x)
    x = L.BatchNormalization(name="bn2")(x)
    x = L.LeakyReLU(name="act2")(x)
    x = L.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh", name="up3")(x)
    return _named(i, x)


DCGAN = """name: dcgan
layout: channels_last
input: [100]
layers:
  - Dense: {name: project, units: 3136, use_bias: false}
  - BatchNormalization: {name: bn0}
  - LeakyReLU: {name: act0}
  - Reshape: {name: reshape, target_shape: [7, 7, 64]}
  - Conv2DTranspose: {name: up1, filters: 64, kernel_size: 5, strides: 1, padding: same, use_bias: false}
  - BatchNormalization: {name: bn1}
  - LeakyReLU: {name: act1, negative_slope: 0.2}
  - Conv2DTranspose: {name: up2, filters: 32, kernel_size: 5, strides: 2, padding: same, use_bias: false}
  - BatchNormalization: {name: bn2}
  - LeakyReLU: {name: act2}
  - Conv2DTranspose: {name: up3, filters: 1, kernel_size: 5, strides: 2, padding: same, use_bias: false,
                      activation: tanh}
"""


def lenet():
    """A 2-D convnet: valid and same convolutions, max and average pooling, Flatten, Dropout, Dense. (The average
    pooling's 'same' padding is even here: where it is not, Keras' torch backend pads by replicating the edge and
    averages those copies, where its TensorFlow and JAX backends, and archcalc's export, leave the padding out.)"""
    i = keras.Input((28, 28, 1))
    x = L.Conv2D(6, 5, padding="same", activation="relu", name="c1")(i)
    x = L.MaxPooling2D(name="p1")(x)
    x = L.Conv2D(16, 5, activation="relu", name="c2")(x)
    x = L.AveragePooling2D(3, strides=1, padding="same", name="p2")(x)
    x = L.Flatten(name="flat")(x)
    x = L.Dense(120, activation="relu", name="f1")(x)
    x = L.Dropout(0.5, name="drop")(x)
    x = L.Dense(10, activation="softmax", name="f2")(x)
    return _named(i, x)


LENET = """name: lenet
layout: channels_last
input: [28, 28, 1]
layers:
  - Conv2D: {name: c1, filters: 6, kernel_size: 5, padding: same, activation: relu}
  - MaxPooling2D: {name: p1}
  - Conv2D: {name: c2, filters: 16, kernel_size: 5, activation: relu}
  - AveragePooling2D: {name: p2, pool_size: 3, strides: 1, padding: same}
  - Flatten: {name: flat}
  - Dense: {name: f1, units: 120, activation: relu}
  - Dropout: {name: drop, rate: 0.5}
  - Dense: {name: f2, units: 10, activation: softmax}
"""


def signal1d():
    """A 1-D convnet: strided and same convolutions, asymmetric ZeroPadding1D and Cropping1D, UpSampling1D."""
    i = keras.Input((64, 3))
    x = L.Conv1D(8, 7, strides=2, padding="same", name="c1")(i)
    x = L.BatchNormalization(name="bn")(x)
    x = L.ZeroPadding1D((1, 2), name="pad")(x)
    x = L.MaxPooling1D(3, strides=2, name="pool")(x)
    x = L.Cropping1D((2, 1), name="crop")(x)
    x = L.UpSampling1D(3, name="up")(x)
    x = L.Conv1D(4, 3, dilation_rate=2, name="c2")(x)
    x = L.GlobalAveragePooling1D(name="gap")(x)
    return _named(i, x)


SIGNAL1D = """name: signal1d
layout: channels_last
input: [64, 3]
layers:
  - Conv1D: {name: c1, filters: 8, kernel_size: 7, strides: 2, padding: same}
  - BatchNormalization: {name: bn}
  - ZeroPadding1D: {name: pad, padding: [1, 2]}
  - MaxPooling1D: {name: pool, pool_size: 3, strides: 2}
  - Cropping1D: {name: crop, cropping: [2, 1]}
  - UpSampling1D: {name: up, size: 3}
  - Conv1D: {name: c2, filters: 4, kernel_size: 3, dilation_rate: 2}
  - GlobalAveragePooling1D: {name: gap}
"""


def tcn():
    """A causal temporal convnet: dilated causal Conv1D (1, 2, 4) with residual Adds, a strided causal one."""
    i = keras.Input((40, 2))
    x = L.Conv1D(8, 1, name="stem")(i)
    for d in (1, 2, 4):
        y = L.Conv1D(8, 3, padding="causal", dilation_rate=d, activation="relu", name=f"tcn{d}")(x)
        x = L.Add(name=f"res{d}")([x, y])
    x = L.Conv1D(4, 4, strides=3, padding="causal", name="down")(x)
    return _named(i, L.GlobalMaxPooling1D(name="gmp")(x))


TCN = """name: tcn
layout: channels_last
input: [40, 2]
layers:
  - Conv1D: {name: stem, filters: 8, kernel_size: 1}
  - Conv1D: {name: tcn1, filters: 8, kernel_size: 3, padding: causal, dilation_rate: 1, activation: relu}
  - Add: {name: res1, inputs: [stem, tcn1]}
  - Conv1D: {name: tcn2, filters: 8, kernel_size: 3, padding: causal, dilation_rate: 2, activation: relu}
  - Add: {name: res2, inputs: [res1, tcn2]}
  - Conv1D: {name: tcn4, filters: 8, kernel_size: 3, padding: causal, dilation_rate: 4, activation: relu}
  - Add: {name: res4, inputs: [res2, tcn4]}
  - Conv1D: {name: down, filters: 4, kernel_size: 4, strides: 3, padding: causal}
  - GlobalMaxPooling1D: {name: gmp}
"""


def volume3d():
    """A 3-D convnet: Conv3D, MaxPooling3D, Conv3DTranspose, Cropping3D, ZeroPadding3D, pooling, UpSampling3D."""
    i = keras.Input((16, 16, 12, 2))
    x = L.Conv3D(8, 3, padding="same", activation="relu", name="c")(i)
    x = L.MaxPooling3D(2, name="p")(x)
    x = L.BatchNormalization(name="bn")(x)
    x = L.Conv3DTranspose(4, 2, strides=2, name="t")(x)
    x = L.Cropping3D(((1, 0), (2, 1), 1), name="cr")(x)
    x = L.ZeroPadding3D(1, name="z")(x)
    x = L.AveragePooling3D(2, padding="same", name="a")(x)
    x = L.UpSampling3D(2, name="u")(x)
    x = L.GlobalMaxPooling3D(name="g")(x)
    return _named(i, x)


VOLUME3D = """name: volume3d
layout: channels_last
input: [16, 16, 12, 2]
layers:
  - Conv3D: {name: c, filters: 8, kernel_size: 3, padding: same, activation: relu}
  - MaxPooling3D: {name: p, pool_size: 2}
  - BatchNormalization: {name: bn}
  - Conv3DTranspose: {name: t, filters: 4, kernel_size: 2, strides: 2}
  - Cropping3D: {name: cr, cropping: [[1, 0], [2, 1], 1]}
  - ZeroPadding3D: {name: z, padding: 1}
  - AveragePooling3D: {name: a, pool_size: 2, padding: same}
  - UpSampling3D: {name: u, size: 2}
  - GlobalMaxPooling3D: {name: g}
"""


def merges():
    """Functional merges: a residual Add, Concatenate on the channels (axis -1) and on the height (axis 1),
    Cropping2D, Permute, LayerNormalization, Softmax."""
    i = keras.Input((24, 20, 3))
    a = L.Conv2D(8, 3, padding="same", name="a")(i)
    b = L.BatchNormalization(name="b")(a)
    c = L.ReLU(name="c")(b)
    d = L.Conv2D(8, 3, padding="same", name="d")(c)
    e = L.Add(name="e")([a, d])
    f = L.Conv2D(4, 1, name="f")(i)
    g = L.Concatenate(name="g")([e, f])
    h = L.Concatenate(axis=1, name="h")([g, g])
    k = L.Cropping2D(((2, 1), (0, 3)), name="k")(h)
    p = L.Permute((2, 1, 3), name="p")(k)
    n = L.LayerNormalization(name="n")(p)
    o = L.Conv2D(6, (3, 1), strides=(2, 1), name="o")(n)
    return _named(i, L.Softmax(name="s")(o))


MERGES = """name: merges
layout: channels_last
input: [24, 20, 3]
layers:
  - Conv2D: {name: a, filters: 8, kernel_size: 3, padding: same}
  - BatchNormalization: {name: b}
  - ReLU: {name: c}
  - Conv2D: {name: d, filters: 8, kernel_size: 3, padding: same}
  - Add: {name: e, inputs: [a, d]}
  - Conv2D: {name: f, filters: 4, kernel_size: 1, from: input}
  - Concatenate: {name: g, inputs: [e, f]}
  - Concatenate: {name: h, axis: 1, inputs: [g, g]}
  - Cropping2D: {name: k, cropping: [[2, 1], [0, 3]]}
  - Permute: {name: p, dims: [2, 1, 3]}
  - LayerNormalization: {name: n}
  - Conv2D: {name: o, filters: 6, kernel_size: [3, 1], strides: [2, 1]}
  - Softmax: {name: s}
"""


def mobilenet():
    """MobileNet-style blocks (Howard et al. 2017; v2's ReLU6): depthwise (with a depth multiplier) and separable
    convolutions, BatchNormalization, ReLU(max_value=6), global pooling, a classifier."""
    i = keras.Input((32, 32, 3))
    x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem")(i)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.ReLU(max_value=6, name="stem_relu")(x)
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw1")(x)
    x = L.BatchNormalization(name="dw1_bn")(x)
    x = L.ReLU(6.0, name="dw1_relu")(x)
    x = L.Conv2D(32, 1, use_bias=False, name="pw1")(x)
    x = L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same", name="dw2")(x)
    x = L.SeparableConv2D(48, 3, padding="same", activation="relu", name="sep1")(x)
    x = L.SeparableConv2D(24, 3, strides=2, depth_multiplier=3, use_bias=False, name="sep2")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    return _named(i, L.Dense(10, activation="softmax", name="fc")(x))


MOBILENET = """name: mobilenet
layout: channels_last
input: [32, 32, 3]
layers:
  - Conv2D: {name: stem, filters: 16, kernel_size: 3, strides: 2, padding: same, use_bias: false}
  - BatchNormalization: {name: stem_bn}
  - ReLU: {name: stem_relu, max_value: 6}
  - DepthwiseConv2D: {name: dw1, kernel_size: 3, padding: same, use_bias: false}
  - BatchNormalization: {name: dw1_bn}
  - ReLU: {name: dw1_relu, max_value: 6}
  - Conv2D: {name: pw1, filters: 32, kernel_size: 1, use_bias: false}
  - DepthwiseConv2D: {name: dw2, kernel_size: 3, strides: 2, depth_multiplier: 2, padding: same}
  - SeparableConv2D: {name: sep1, filters: 48, kernel_size: 3, padding: same, activation: relu}
  - SeparableConv2D: {name: sep2, filters: 24, kernel_size: 3, strides: 2, depth_multiplier: 3, use_bias: false}
  - GlobalAveragePooling2D: {name: gap}
  - Dense: {name: fc, units: 10, activation: softmax}
"""


def text_cnn():
    """A text CNN: Embedding, Conv1D, MaxPooling1D, a causal dilated Conv1D, GlobalMaxPooling1D, Dense."""
    i = keras.Input((50,), dtype="int32")
    x = L.Embedding(1000, 32, name="emb")(i)
    x = L.Conv1D(64, 5, activation="relu", name="c1")(x)
    x = L.MaxPooling1D(2, name="p")(x)
    x = L.Conv1D(64, 3, padding="causal", dilation_rate=2, name="c2")(x)
    x = L.GlobalMaxPooling1D(name="g")(x)
    x = L.Dropout(0.5, name="drop")(x)
    return _named(i, L.Dense(1, activation="sigmoid", name="out")(x))


TEXT_CNN = """name: text_cnn
layout: channels_last
input: [50]
layers:
  - Embedding: {name: emb, input_dim: 1000, output_dim: 32}
  - Conv1D: {name: c1, filters: 64, kernel_size: 5, activation: relu}
  - MaxPooling1D: {name: p, pool_size: 2}
  - Conv1D: {name: c2, filters: 64, kernel_size: 3, padding: causal, dilation_rate: 2}
  - GlobalMaxPooling1D: {name: g}
  - Dropout: {name: drop, rate: 0.5}
  - Dense: {name: out, units: 1, activation: sigmoid}
"""


def kim_cnn():
    """Kim's (2014) sentence CNN: filters of widths 3, 4, 5 over the embedding, max over time, concatenated."""
    i = keras.Input((40,), dtype="int32")
    e = L.Embedding(800, 24, name="emb")(i)
    pooled = []
    for w in (3, 4, 5):
        c = L.Conv1D(10, w, activation="relu", name=f"conv{w}")(e)
        pooled.append(L.GlobalMaxPooling1D(name=f"max{w}")(c))
    x = L.Concatenate(name="cat")(pooled)
    return _named(i, L.Dense(2, activation="softmax", name="out")(x))


KIM_CNN = """name: kim_cnn
layout: channels_last
input: [40]
layers:
  - Embedding: {name: emb, input_dim: 800, output_dim: 24}
  - Conv1D: {name: conv3, filters: 10, kernel_size: 3, activation: relu}
  - GlobalMaxPooling1D: {name: max3}
  - Conv1D: {name: conv4, filters: 10, kernel_size: 4, activation: relu, from: emb}
  - GlobalMaxPooling1D: {name: max4}
  - Conv1D: {name: conv5, filters: 10, kernel_size: 5, activation: relu, from: emb}
  - GlobalMaxPooling1D: {name: max5}
  - Concatenate: {name: cat, inputs: [max3, max4, max5]}
  - Dense: {name: out, units: 2, activation: softmax}
"""


def lstm_classifier():
    """Embedding -> LSTM (return_sequences False: the last state only) -> Dense."""
    i = keras.Input((30,), dtype="int32")
    x = L.Embedding(2000, 16, name="emb")(i)
    x = L.LSTM(32, name="lstm")(x)
    return _named(i, L.Dense(3, activation="softmax", name="out")(x))


LSTM_CLASSIFIER = """name: lstm_classifier
layout: channels_last
input: [30]
layers:
  - Embedding: {name: emb, input_dim: 2000, output_dim: 16}
  - LSTM: {name: lstm, units: 32}
  - Dense: {name: out, units: 3, activation: softmax}
"""


def recurrent_stack():
    """LSTM and GRU with return_sequences, GRU(reset_after=False), Bidirectional (concat), TimeDistributed(Dense),
    SimpleRNN, and a Bidirectional GRU returning the last states."""
    i = keras.Input((20,), dtype="int32")
    x = L.Embedding(500, 16, name="emb")(i)
    x = L.LSTM(32, return_sequences=True, name="lstm")(x)
    x = L.GRU(24, return_sequences=True, name="gru")(x)
    x = L.GRU(12, reset_after=False, return_sequences=True, name="gru_v1")(x)
    x = L.Bidirectional(L.LSTM(8, return_sequences=True), name="bi_lstm")(x)
    x = L.TimeDistributed(L.Dense(6, activation="relu"), name="td")(x)
    x = L.SimpleRNN(5, return_sequences=True, name="rnn")(x)
    x = L.Bidirectional(L.GRU(4), name="bi_gru")(x)
    return _named(i, L.Dense(3, name="out")(x))


RECURRENT_STACK = """name: recurrent_stack
layout: channels_last
input: [20]
layers:
  - Embedding: {name: emb, input_dim: 500, output_dim: 16}
  - LSTM: {name: lstm, units: 32, return_sequences: true}
  - GRU: {name: gru, units: 24, return_sequences: true}
  - GRU: {name: gru_v1, units: 12, reset_after: false, return_sequences: true}
  - Bidirectional: {name: bi_lstm, layer: {LSTM: {units: 8, return_sequences: true}}}
  - TimeDistributed: {name: td, layer: {Dense: {units: 6, activation: relu}}}
  - SimpleRNN: {name: rnn, units: 5, return_sequences: true}
  - Bidirectional: {name: bi_gru, layer: {GRU: {units: 4}}}
  - Dense: {name: out, units: 3}
"""


def video():
    """TimeDistributed convolutions over frames [T, H, W, C], then an LSTM over the frame features."""
    i = keras.Input((6, 28, 28, 1))
    x = L.TimeDistributed(L.Conv2D(8, 3, activation="relu"), name="conv")(i)
    x = L.TimeDistributed(L.MaxPooling2D(2), name="pool")(x)
    x = L.TimeDistributed(L.BatchNormalization(), name="bn")(x)
    x = L.TimeDistributed(L.Flatten(), name="flat")(x)
    return _named(i, L.LSTM(16, name="lstm")(x))


VIDEO = """name: video
layout: channels_last
input: [6, 28, 28, 1]
layers:
  - TimeDistributed: {name: conv, layer: {Conv2D: {filters: 8, kernel_size: 3, activation: relu}}}
  - TimeDistributed: {name: pool, layer: {MaxPooling2D: {pool_size: 2}}}
  - TimeDistributed: {name: bn, layer: BatchNormalization}
  - TimeDistributed: {name: flat, layer: Flatten}
  - LSTM: {name: lstm, units: 16}
"""


def reshape_permute():
    """Reshape and Permute in Keras' numbering, Dense on the last axis of a rank-3 tensor, Flatten."""
    i = keras.Input((12, 10))
    x = L.Reshape((4, 3, 10), name="r1")(i)
    x = L.Permute((3, 1, 2), name="perm")(x)
    x = L.Dense(7, name="d1")(x)
    x = L.Reshape((-1, 14), name="r2")(x)
    x = L.Flatten(name="flat")(x)
    return _named(i, L.Dense(2, name="d2")(x))


RESHAPE_PERMUTE = """name: reshape_permute
layout: channels_last
input: [12, 10]
layers:
  - Reshape: {name: r1, target_shape: [4, 3, 10]}
  - Permute: {name: perm, dims: [3, 1, 2]}
  - Dense: {name: d1, units: 7}
  - Reshape: {name: r2, target_shape: [-1, 14]}
  - Flatten: {name: flat}
  - Dense: {name: d2, units: 2}
"""


def transposed():
    """Conv2DTranspose's output rules: same and valid, stride above the kernel, output_padding, dilation."""
    i = keras.Input((5, 6, 2))
    x = L.Conv2DTranspose(3, 3, strides=2, padding="same", name="t1")(i)
    x = L.Conv2DTranspose(3, (2, 3), strides=(3, 2), padding="valid", name="t2")(x)
    x = L.Conv2DTranspose(2, 4, strides=2, padding="same", output_padding=1, name="t3")(x)
    x = L.Conv2DTranspose(2, 3, strides=3, padding="valid", output_padding=(2, 0), name="t4")(x)
    x = L.Conv2DTranspose(2, 3, dilation_rate=2, padding="same", name="t5")(x)
    return _named(i, L.Conv1DTranspose(2, 3, strides=2, padding="same", name="t6")(L.Reshape((-1, 2), name="r")(x)))


TRANSPOSED = """name: transposed
layout: channels_last
input: [5, 6, 2]
layers:
  - Conv2DTranspose: {name: t1, filters: 3, kernel_size: 3, strides: 2, padding: same}
  - Conv2DTranspose: {name: t2, filters: 3, kernel_size: [2, 3], strides: [3, 2], padding: valid}
  - Conv2DTranspose: {name: t3, filters: 2, kernel_size: 4, strides: 2, padding: same, output_padding: 1}
  - Conv2DTranspose: {name: t4, filters: 2, kernel_size: 3, strides: 3, padding: valid, output_padding: [2, 0]}
  - Conv2DTranspose: {name: t5, filters: 2, kernel_size: 3, dilation_rate: 2, padding: same}
  - Reshape: {name: r, target_shape: [-1, 2]}
  - Conv1DTranspose: {name: t6, filters: 2, kernel_size: 3, strides: 2, padding: same}
"""


def unet():
    """A small U-Net: an encoder, UpSampling2D and Conv2DTranspose decoders, Cropping2D on the skip, Concatenate."""
    i = keras.Input((36, 36, 1))
    e1 = L.Conv2D(8, 3, activation="relu", name="e1")(i)
    p1 = L.MaxPooling2D(name="p1")(e1)
    e2 = L.Conv2D(16, 3, activation="relu", name="e2")(p1)
    u1 = L.Conv2DTranspose(8, 2, strides=2, name="u1")(e2)
    skip = L.Cropping2D(2, name="skip")(e1)
    c1 = L.Concatenate(name="c1")([skip, u1])
    d1 = L.Conv2D(8, 3, padding="same", activation="relu", name="d1")(c1)
    u2 = L.UpSampling2D(2, interpolation="bilinear", name="u2")(d1)
    return _named(i, L.Conv2D(2, 1, activation="softmax", name="head")(u2))


UNET = """name: unet
layout: channels_last
input: [36, 36, 1]
layers:
  - Conv2D: {name: e1, filters: 8, kernel_size: 3, activation: relu}
  - MaxPooling2D: {name: p1}
  - Conv2D: {name: e2, filters: 16, kernel_size: 3, activation: relu}
  - Conv2DTranspose: {name: u1, filters: 8, kernel_size: 2, strides: 2}
  - Cropping2D: {name: skip, cropping: 2, from: e1}
  - Concatenate: {name: c1, inputs: [skip, u1]}
  - Conv2D: {name: d1, filters: 8, kernel_size: 3, padding: same, activation: relu}
  - UpSampling2D: {name: u2, size: 2, interpolation: bilinear}
  - Conv2D: {name: head, filters: 2, kernel_size: 1, activation: softmax}
"""


def norms_activations():
    """BatchNormalization without scale and center (on a Dense output and on images), LayerNormalization without
    center, ReLU(max_value=4), ELU, SpatialDropout2D, Activation('swish'), DepthwiseConv1D, SeparableConv1D."""
    i = keras.Input((16, 16, 4))
    x = L.Conv2D(6, 3, name="c")(i)
    x = L.BatchNormalization(center=False, scale=False, name="bn")(x)
    x = L.ReLU(max_value=4.0, name="relu4")(x)
    x = L.SpatialDropout2D(0.2, name="sdrop")(x)
    x = L.Reshape((-1, 6), name="seq")(x)
    x = L.DepthwiseConv1D(3, depth_multiplier=2, name="dw")(x)
    x = L.SeparableConv1D(5, 3, strides=2, padding="same", name="sep")(x)
    x = L.LayerNormalization(center=False, name="ln")(x)
    x = L.ELU(name="elu")(x)
    x = L.Flatten(name="flat")(x)
    x = L.Dense(8, name="fc")(x)
    x = L.BatchNormalization(momentum=0.9, epsilon=1e-5, name="bn_fc")(x)
    return _named(i, L.Activation("swish", name="swish")(x))


NORMS_ACTIVATIONS = """name: norms_activations
layout: channels_last
input: [16, 16, 4]
layers:
  - Conv2D: {name: c, filters: 6, kernel_size: 3}
  - BatchNormalization: {name: bn, center: false, scale: false}
  - ReLU: {name: relu4, max_value: 4.0}
  - SpatialDropout2D: {name: sdrop, rate: 0.2}
  - Reshape: {name: seq, target_shape: [-1, 6]}
  - DepthwiseConv1D: {name: dw, kernel_size: 3, depth_multiplier: 2}
  - SeparableConv1D: {name: sep, filters: 5, kernel_size: 3, strides: 2, padding: same}
  - LayerNormalization: {name: ln, center: false}
  - ELU: {name: elu}
  - Flatten: {name: flat}
  - Dense: {name: fc, units: 8}
  - BatchNormalization: {name: bn_fc, momentum: 0.9, epsilon: 1.0e-5}
  - Activation: {name: swish, activation: swish}
"""

def recurrent_export():
    """The recurrent layers torch's modules compute (GRU with Keras' default reset_after=True), for the export."""
    i = keras.Input((12,), dtype="int32")
    x = L.Embedding(60, 8, name="emb")(i)
    x = L.Bidirectional(L.LSTM(6, return_sequences=True), name="bi_lstm")(x)
    x = L.TimeDistributed(L.Dense(5, activation="relu"), name="td")(x)
    x = L.GRU(4, return_sequences=True, name="gru")(x)
    x = L.SimpleRNN(3, return_sequences=True, name="rnn")(x)
    x = L.Bidirectional(L.GRU(3), name="bi_gru")(x)
    return _named(i, L.Dense(2, name="out")(x))


RECURRENT_EXPORT = """name: recurrent_export
layout: channels_last
input: [12]
layers:
  - Embedding: {name: emb, input_dim: 60, output_dim: 8}
  - Bidirectional: {name: bi_lstm, layer: {LSTM: {units: 6, return_sequences: true}}}
  - TimeDistributed: {name: td, layer: {Dense: {units: 5, activation: relu}}}
  - GRU: {name: gru, units: 4, return_sequences: true}
  - SimpleRNN: {name: rnn, units: 3, return_sequences: true}
  - Bidirectional: {name: bi_gru, layer: {GRU: {units: 3}}}
  - Dense: {name: out, units: 2}
"""

CASES = {
    "conv1d_dense": (conv1d_dense, CONV1D_DENSE),
    "dcgan": (dcgan, DCGAN),
    "lenet": (lenet, LENET),
    "signal1d": (signal1d, SIGNAL1D),
    "tcn": (tcn, TCN),
    "volume3d": (volume3d, VOLUME3D),
    "merges": (merges, MERGES),
    "mobilenet": (mobilenet, MOBILENET),
    "text_cnn": (text_cnn, TEXT_CNN),
    "kim_cnn": (kim_cnn, KIM_CNN),
    "lstm_classifier": (lstm_classifier, LSTM_CLASSIFIER),
    "recurrent_stack": (recurrent_stack, RECURRENT_STACK),
    "video": (video, VIDEO),
    "reshape_permute": (reshape_permute, RESHAPE_PERMUTE),
    "transposed": (transposed, TRANSPOSED),
    "unet": (unet, UNET),
    "norms_activations": (norms_activations, NORMS_ACTIVATIONS),
    "recurrent_export": (recurrent_export, RECURRENT_EXPORT),
}


def count(weights) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


def figures(report) -> dict:
    """name -> (output shape per sample, trainable, non-trainable), for layers and blocks."""
    out = {row.name: (tuple(row.output_shape[1:]), row.trainable, row.non_trainable) for row in report.layers}
    stack = list(report.blocks)
    while stack:
        block = stack.pop()
        t = block.totals
        out[block.name] = (tuple(block.output_shape[1:]), t.trainable, t.non_trainable)
        stack.extend(block.children)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_every_layer_as_keras_builds_it(name):
    build, spec = CASES[name]
    model = build()
    report = archcalc.analyze(archcalc.load(spec))
    ours = figures(report)
    layers = [layer for layer in model.layers if not isinstance(layer, L.InputLayer)]
    assert {layer.name for layer in layers} <= set(ours)
    for layer in layers:
        theirs = (tuple(layer.output.shape[1:]), count(layer.trainable_weights), count(layer.non_trainable_weights))
        assert ours[layer.name] == theirs, layer.name
    assert tuple(report.output_shape[1:]) == tuple(model.output.shape[1:])
    assert report.totals.trainable == report.totals.params == count(model.trainable_weights)
    assert report.totals.non_trainable == count(model.non_trainable_weights)
    assert report.totals.trainable + report.totals.non_trainable == model.count_params()


# ---- the export computes what Keras computes ----

def _torch_modules(module, prefix: str) -> list:
    """The generated module's submodules for one Keras layer, in definition order: the layer itself, or the layers
    archcalc made of it (a block named after it, whose layers have generated names <type>_<n>)."""
    import re
    return [m for name, m in module.named_children() if name == prefix
            or re.fullmatch(rf"{re.escape(prefix)}_[a-z][a-z0-9_]*_\d+", name)]


def _t(array) -> torch.Tensor:
    return torch.as_tensor(np.asarray(keras.ops.convert_to_numpy(array)))


def _conv_kernel(kernel) -> torch.Tensor:
    """Keras' [*k, c_in, c_out] (transposed: [*k, c_out, c_in]) -> torch's [c_out, c_in, *k] ([c_in, c_out, *k])."""
    k = _t(kernel)
    return k.permute(k.dim() - 1, k.dim() - 2, *range(k.dim() - 2))


def _copy(layer, modules: list) -> None:
    """Keras weights into the torch modules archcalc's export wrote for the layer."""
    kind = type(layer).__name__
    w = [_t(v) for v in layer.weights]
    with torch.no_grad():
        if kind == "Dense":
            modules[0].weight.copy_(w[0].T)
            if len(w) > 1:
                modules[0].bias.copy_(w[1])
        elif kind in ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"):
            modules[0].weight.copy_(_conv_kernel(layer.weights[0]).reshape(modules[0].weight.shape))
            if len(w) > 1:
                modules[0].bias.copy_(w[1])
        elif kind in ("DepthwiseConv1D", "DepthwiseConv2D"):  # [*k, c, m] -> [*k, 1, c * m]: channel c*m + j
            k = w[0].reshape(*w[0].shape[:-2], 1, -1)
            modules[0].weight.copy_(k.permute(k.dim() - 1, k.dim() - 2, *range(k.dim() - 2)))
            if len(w) > 1:
                modules[0].bias.copy_(w[1])
        elif kind in ("SeparableConv1D", "SeparableConv2D"):
            k = w[0].reshape(*w[0].shape[:-2], 1, -1)
            modules[0].weight.copy_(k.permute(k.dim() - 1, k.dim() - 2, *range(k.dim() - 2)))
            modules[1].weight.copy_(_conv_kernel(layer.weights[1]))
            if len(w) > 2:
                modules[1].bias.copy_(w[2])
        elif kind == "BatchNormalization":
            named = {v.name: _t(v) for v in layer.weights}
            if "gamma" in named:
                modules[0].weight.copy_(named["gamma"])
                modules[0].bias.copy_(named["beta"])
            modules[0].running_mean.copy_(named["moving_mean"])
            modules[0].running_var.copy_(named["moving_variance"])
        elif kind == "LayerNormalization":
            modules[0].weight.copy_(w[0])
            if len(w) > 1:
                modules[0].bias.copy_(w[1])
        elif kind == "Embedding":
            modules[0].weight.copy_(w[0])
        elif kind in ("LSTM", "GRU", "SimpleRNN"):
            _recurrent(layer, modules[0], "")
        elif kind == "Bidirectional":
            _recurrent(layer.forward_layer, modules[0], "")
            _recurrent(layer.backward_layer, modules[0], "_reverse")
        elif kind == "TimeDistributed":  # a 2-D window layer became the 3-D one with a window of 1 along T
            _copy(layer.layer, modules)
        elif w:
            raise AssertionError(f"no weight copy for {kind}")


def _recurrent(layer, rnn, suffix: str) -> None:
    """Keras' kernel [in, g*u], recurrent kernel [u, g*u] and bias (GRU: [2, 3u]) into torch's weight_ih, weight_hh
    [g*u, .] and biases. LSTM gates are i, f, c, o in both; Keras' GRU gates are z, r, h where torch's are r, z, n."""
    kernel, recurrent, *bias = (_t(v) for v in layer.weights)
    u = recurrent.shape[0]
    order = torch.cat([torch.arange(u, 2 * u), torch.arange(u), torch.arange(2 * u, 3 * u)]) \
        if type(layer).__name__ == "GRU" else torch.arange(kernel.shape[1])
    getattr(rnn, f"weight_ih_l0{suffix}").copy_(kernel[:, order].T)
    getattr(rnn, f"weight_hh_l0{suffix}").copy_(recurrent[:, order].T)
    if bias and bias[0].dim() == 2:  # GRU(reset_after=True): input and recurrent biases, as torch's two
        getattr(rnn, f"bias_ih_l0{suffix}").copy_(bias[0][0, order])
        getattr(rnn, f"bias_hh_l0{suffix}").copy_(bias[0][1, order])
    elif bias:
        getattr(rnn, f"bias_ih_l0{suffix}").copy_(bias[0][order])


def _run_both(build, spec):
    from archcalc.export import export
    model = build()
    rng = np.random.default_rng(0)
    for v in model.weights:  # non-trivial statistics and scales, so that a misplaced axis shows
        v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32") if "variance" in v.name
                 else rng.normal(0, 0.5, v.shape).astype("float32"))
    namespace: dict = {"__name__": "keras_export_test"}
    exec(compile(export(archcalc.load(spec)), "<export>", "exec"), namespace)
    module = next(v for k, v in namespace.items() if isinstance(v, type) and issubclass(v, torch.nn.Module)
                  and v.__module__ == "keras_export_test")().eval()
    for layer in model.layers:
        if layer.weights:
            _copy(layer, _torch_modules(module, layer.name))
    shape = (2, *model.input.shape[1:])
    if "int" in str(model.input.dtype):
        x = rng.integers(0, 40, shape).astype("int32")
        tx = torch.as_tensor(x, dtype=torch.int64)
    else:
        x = rng.normal(0, 1, shape).astype("float32")
        tx = torch.as_tensor(x)
    want = keras.ops.convert_to_numpy(model(x, training=False))
    with torch.no_grad():
        got = module(tx).numpy()
    return want, got


@pytest.mark.parametrize("name", ["conv1d_dense", "dcgan", "lenet", "signal1d", "tcn", "volume3d", "merges",
                                  "mobilenet", "text_cnn", "kim_cnn", "lstm_classifier", "reshape_permute",
                                  "transposed", "unet", "norms_activations", "video", "recurrent_export"])
def test_the_export_computes_what_keras_computes(name):
    """The torch module archcalc writes for a Keras spec holds tensors as Keras does: with Keras' weights it gives
    Keras' output (Dense on the last axis, Reshape/Flatten/Permute in Keras order, channels last between layers)."""
    want, got = _run_both(*CASES[name])
    assert want.shape == got.shape
    # float32 sums of thousands of terms in two orders: a misplaced axis differs by O(1), rounding by ~1e-4
    assert np.allclose(want, got, rtol=1e-3, atol=1e-3), float(np.abs(want - got).max())
