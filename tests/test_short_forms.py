"""Natural short forms: a group given its list alone, and a Keras layer given its first positional argument, are
accepted with their obvious meaning; any other value where a layer's options belong is refused in one line that
shows the form to write.

Expected values: the arithmetic written out beside each literal; Keras' constructor signatures
(``MaxPooling2D(pool_size=(2, 2), ...)``, ``Activation(activation)``, ``Conv2D(filters, kernel_size, ...)``,
keras.io/api/layers) for the field a first positional argument sets.
"""
from __future__ import annotations

import pytest

import archcalc
from archcalc.core.errors import SpecError


def analyze(layers: str, layout: str = "channels_first", shape: str = "[3, 8, 8]") -> archcalc.Report:
    return archcalc.analyze(archcalc.load(f"name: t\nlayout: {layout}\ninput: {shape}\nlayers:\n{layers}"))


def refusal(layers: str) -> str:
    with pytest.raises(SpecError) as e:
        analyze(layers)
    return e.value.format()


def test_keras_first_positional_argument():
    report = analyze("  - MaxPool2D: 2\n  - Activation: relu\n  - Conv2D: {filters: 4, kernel_size: 1}\n",
                     "channels_last", "[8, 8, 3]")
    assert [(r.type, r.output_shape) for r in report.layers] == [
        ("maxpool2d", (1, 4, 4, 3)),  # pool_size 2 (stride = pool size): 8 // 2 = 4
        ("relu", (1, 4, 4, 3)),
        ("conv2d", (1, 4, 4, 4)),
    ]
    assert report.totals.params == 3 * 4 + 4  # the 1x1 conv: weights + biases


def test_keras_first_argument_alone_still_needs_the_rest():
    message = refusal("  - Conv2D: 8\n")  # Conv2D(8): filters, but a kernel size is required
    assert "missing required field 'kernel_size'" in message


def test_a_group_given_its_list():
    report = analyze("  - conv2d: {out_channels: 3, kernel_size: 1}\n  - residual: [relu, {conv2d: "
                     "{out_channels: 3, kernel_size: 1}}]\n")
    assert [r.type for r in report.layers] == ["conv2d", "relu", "conv2d", "add"]  # body, then the identity added
    assert report.totals.params == 2 * (3 * 3 + 3)  # two 1x1 convs, 3 -> 3 channels, with biases
    sequential = analyze("  - sequential: [relu, {conv2d: {out_channels: 2, kernel_size: 1}}]\n")
    assert [r.type for r in sequential.layers] == ["relu", "conv2d"]


@pytest.mark.parametrize(("item", "expected"), [
    ("maxpool2d: 2", "maxpool2d: 2 gives a value without its field (a layer's options are a mapping: write "
                     "maxpool2d: {kernel_size: 2})"),
    ("leaky_relu: 0.1", "write leaky_relu: {negative_slope: 0.1}"),
    ("relu: 2", "relu: 2: relu takes no value (write the bare name relu)"),
    ("parallel: [relu]", "write parallel: {branches: {a: [...], b: [...]}, merge: add}"),
    ("nothing: 3", "nothing: 3 gives a value, not a mapping of options"),
])
def test_other_values_are_refused_with_the_form_to_write(item, expected):
    message = refusal(f"  - {item}\n")
    # one line: where (the item is on line 5, after name, layout, input and layers), what, and the fix
    assert message.startswith("<string>:5: layer layers[0]: ") and expected in message and "\n" not in message
