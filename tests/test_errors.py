"""Bad input: exactly one line on stderr, ``archcalc: FILE:LINE: layer PATH: message (hint)``, exit status 2,
no traceback, and the spec file left untouched."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archcalc.cli import main

HEADER = "name: t\ninput: [3, 8, 8]\nlayers:\n"  # layers start on line 4


def run_bad(capsys, tmp_path: Path, content: str | bytes, *args: str, name: str = "spec.yaml") -> tuple[str, str]:
    """Run the CLI on a spec holding ``content``; check the error contract; return (the line, the path)."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    status = main([str(path), *args])
    out, err = capsys.readouterr()
    assert status == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("archcalc: ")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before  # never modified
    return lines[0], str(path)


def located(text: str, path: str, line: int | None) -> str:
    """Assert the ``archcalc: FILE:LINE: `` prefix and return the rest."""
    prefix = f"archcalc: {path}:{line}: " if line else f"archcalc: {path}: "
    assert text.startswith(prefix), text
    return text[len(prefix):]


def layer_part(rest: str, name: str | None = None) -> str:
    """Assert the ``layer PATH: `` part (exactly ``name`` when given) and return the rest."""
    m = re.match(r"layer ([\w.\[\]]+): ", rest)
    assert m, rest
    if name is not None:
        assert m.group(1) == name, rest
    return rest[m.end():]


# ---------------------------------------------------------------- reading the file

def test_yaml_syntax_error_unclosed_bracket(capsys, tmp_path):
    text = HEADER + "  - conv2d: {out_channels: 4, kernel_size: 3\n  - relu\n"
    line, path = run_bad(capsys, tmp_path, text)
    rest = located(line, path, 4)  # where the '{' was opened, not the end of the file
    assert rest.startswith("YAML syntax error: ")
    assert "never closed" in rest


def test_yaml_syntax_error_bad_indentation(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, "name: t\ninput: [3, 8, 8]\n  extra: 1\nlayers: [relu]\n")
    rest = located(line, path, 3)
    assert "YAML syntax error" in rest and "(check indentation" in rest


def test_yaml_tab_indentation(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "\t- relu\n")
    assert "YAML syntax error" in located(line, path, 4)


def test_empty_file(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, "")
    assert line == f"archcalc: {path}:1: the spec is empty (start with name:, input: and layers:)"  # snapshot


def test_comment_only_file(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, "# nothing yet\n\n")
    assert "the spec is empty" in located(line, path, 1)


def test_missing_file(capsys, tmp_path):
    path = tmp_path / "nope.yaml"
    assert main([str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"archcalc: {path}: no such file: {path} (check the path)\n"  # snapshot
    assert not path.exists()


def test_directory_as_spec(capsys, tmp_path):
    (tmp_path / "net.yaml").write_text(HEADER + "  - relu\n")
    assert main([str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    rest = located(line, str(tmp_path), None)
    assert "is a directory" in rest
    assert "net.yaml" in rest  # the hint names a spec inside it


def test_not_utf8(capsys, tmp_path):
    content = b"name: t\ninput: [3, 8, 8]\n# caf\xe9\nlayers: [relu]\n"
    line, path = run_bad(capsys, tmp_path, content)
    rest = located(line, path, 3)
    assert "not UTF-8" in rest and "save it as UTF-8" in rest


def test_bom_and_crlf_load_fine(capsys, tmp_path):
    path = tmp_path / "windows.yaml"
    content = ("\ufeffname: t\r\ninput: [3, 8, 8]\r\nlayers:\r\n  - relu\r\n"
               "  - conv2d: {out_channels: 4, kernel_size: 3}\r\n")
    path.write_bytes(content.encode("utf-8"))
    before = path.read_bytes()
    assert main([str(path), "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "conv2d_1,conv2d,1x4x6x6," in out  # (8 - 3) + 1 = 6
    assert path.read_bytes() == before


def test_bom_and_crlf_keep_line_numbers(capsys, tmp_path):
    content = ("\ufeffname: t\r\ninput: [3, 8, 8]\r\nlayers:\r\n  - relu\r\n"
               "  - conv2d: {out_channels: 4, kernel_size: 30}\r\n")
    line, path = run_bad(capsys, tmp_path, content.encode("utf-8"))
    rest = layer_part(located(line, path, 5))
    assert "kernel 30 is larger than the padded input 8" in rest


def test_duplicate_yaml_key(capsys, tmp_path):
    text = HEADER + "  - conv2d: {out_channels: 4, kernel_size: 3, out_channels: 5}\n"
    line, path = run_bad(capsys, tmp_path, text)
    assert line == (f"archcalc: {path}:4: duplicate key 'out_channels' "  # snapshot
                    "(it was already set on line 4; keep one)")
    text = "name: t\ninput: [3, 8, 8]\nname: u\nlayers: [relu]\n"
    line, path = run_bad(capsys, tmp_path, text)
    assert "duplicate key 'name'" in located(line, path, 3) and "line 1" in line


def test_alias_bomb_is_refused(capsys, tmp_path):
    rows = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, cur in zip("abcdef", "bcdefg"):
        rows.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    line, path = run_bad(capsys, tmp_path, "\n".join(rows) + "\n")
    assert "expands to more than" in line


# ---------------------------------------------------------------- the spec's structure

def test_unknown_layer_type_suggests_closest(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - relu\n  - conv2: {out_channels: 4, kernel_size: 3}\n")
    rest = layer_part(located(line, path, 5))
    assert rest == "unknown layer type 'conv2' (did you mean 'conv2d'?)"  # snapshot
    line, path = run_bad(capsys, tmp_path, HEADER + "  - type: maxpool\n    kernel_size: 2\n")
    assert "unknown layer type 'maxpool'" in located(line, path, 4) and "did you mean 'maxpool" in line


def test_missing_field(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - relu\n  - conv2d: {out_channels: 4}\n")
    rest = layer_part(located(line, path, 5))
    assert "missing required field 'kernel_size'" in rest and "(add kernel_size" in rest


def test_missing_top_level_field(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, "name: t\nlayers: [relu]\n")
    assert "missing required field 'input'" in line


def test_unknown_field_suggests_closest(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: 4, kernel_size: 3, strides: 2}\n")
    rest = layer_part(located(line, path, 4))
    assert "unknown field 'strides'" in rest and "(did you mean 'stride'?)" in rest
    line, path = run_bad(capsys, tmp_path, HEADER + "  - relu\nbatchsize: 2\n")
    assert "unknown field 'batchsize'" in located(line, path, 5) and "did you mean 'batch'?" in line


def test_misspelt_required_field_is_reported_as_unknown(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: 4, kernal_size: 3}\n")
    rest = layer_part(located(line, path, 4))
    assert "unknown field 'kernal_size'" in rest and "did you mean 'kernel_size'?" in rest


@pytest.mark.parametrize("field, value, words", [
    ("out_channels", "[4]", "expected a positive integer, got [4]"),
    ("kernel_size", "3.5", "expected a positive integer, got 3.5"),
    ("out_channels", "'7/2'", "expected a positive integer, got 7/2"),
    ("bias", "maybe", "expected true or false, got 'maybe'"),
    ("padding", "'middle'", "unknown name 'middle'"),
])
def test_wrong_type(capsys, tmp_path, field, value, words):
    body = {"out_channels": "4", "kernel_size": "3", field: value}
    flow = ", ".join(f"{k}: {v}" for k, v in body.items())
    line, path = run_bad(capsys, tmp_path, HEADER + f"  - relu\n  - conv2d: {{{flow}}}\n")
    rest = layer_part(located(line, path, 5))
    assert rest.startswith(f"{field}: ") and words in rest


def test_block_style_field_error_points_at_the_field_line(capsys, tmp_path):
    text = HEADER + "  - conv2d:\n      out_channels: 4\n      kernel_size: 3\n      bias: maybe\n"
    line, path = run_bad(capsys, tmp_path, text)
    assert "bias: expected true or false" in layer_part(located(line, path, 7))


@pytest.mark.parametrize("value", ["0", "-2"])
def test_zero_or_negative_size(capsys, tmp_path, value):
    line, path = run_bad(capsys, tmp_path, HEADER + f"  - conv2d: {{out_channels: {value}, kernel_size: 3}}\n")
    rest = layer_part(located(line, path, 4))
    assert rest == f"out_channels: expected a positive integer, got {value} (sizes must be positive)"


def test_zero_input_size(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, "name: t\ninput: [3, 0, 32]\nlayers: [relu]\n")
    rest = located(line, path, 2)
    assert rest.startswith("input: ") and "got 0" in rest and "(sizes must be positive)" in rest


def test_empty_layers(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, "name: t\ninput: [3, 8, 8]\nlayers: []\n")
    assert "no layers" in located(line, path, 3)


def test_duplicate_layer_names(capsys, tmp_path):
    text = HEADER + ("  - conv2d: {name: a, out_channels: 4, kernel_size: 3}\n  - relu\n"
                     "  - conv2d: {name: a, out_channels: 4, kernel_size: 3}\n")
    line, path = run_bad(capsys, tmp_path, text)
    rest = layer_part(located(line, path, 6), "a")
    assert "duplicate" in rest and "'a'" in rest and "line 4" in rest


# ---------------------------------------------------------------- shapes

def test_kernel_larger_than_padded_input(capsys, tmp_path):
    text = HEADER + ("  - conv2d: {out_channels: 4, kernel_size: 3}\n"
                     "  - conv2d: {name: big, out_channels: 4, kernel_size: 9, padding: 1}\n")
    line, path = run_bad(capsys, tmp_path, text)
    rest = layer_part(located(line, path, 5), "big")
    assert "kernel 9 is larger than the padded input 6 + 2" in rest  # 8 - 3 + 1 = 6, padding 1 per side
    assert "(reduce kernel_size" in rest


def test_in_channels_disagree(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {in_channels: 5, out_channels: 4, kernel_size: 3}\n")
    rest = layer_part(located(line, path, 4), "conv2d_1")
    assert "in_channels=5" in rest and "has 3 channels" in rest and "set in_channels: 3" in rest


def test_linear_in_features_disagree(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - flatten\n  - linear: {in_features: 100, out_features: 2}\n")
    assert "in_features=100" in layer_part(located(line, path, 5), "linear_1") and "192" in line  # 3*8*8


def test_groups_do_not_divide(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: 4, kernel_size: 3, groups: 2}\n")
    rest = layer_part(located(line, path, 4), "conv2d_1")
    assert "groups=2 does not divide in_channels=3" in rest and "groups must divide" in rest
    line, path = run_bad(capsys, tmp_path, "name: t\ninput: [4, 8, 8]\nlayers:\n"
                                           "  - conv2d: {out_channels: 6, kernel_size: 3, groups: 4}\n")
    assert "groups=4 does not divide out_channels=6" in located(line, path, 4)


def test_conv_after_flatten(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - flatten\n  - conv2d: {out_channels: 4, kernel_size: 3}\n")
    rest = layer_part(located(line, path, 5), "conv2d_1")
    assert "rank-3" in rest and "[192]" in rest and "flatten" in rest  # 3*8*8 = 192


def test_kernel_list_of_wrong_length(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: 4, kernel_size: [3, 3, 3]}\n")
    assert "kernel_size has 3 values but the layer has 2 spatial axes" in layer_part(located(line, path, 4))


# ---------------------------------------------------------------- variables, expressions, --set

def test_unknown_set_name(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, "name: t\nvariables: {H: 8}\ninput: [3, H, 8]\nlayers: [relu]\n",
                         "--set", "W=16")
    assert "--set W: no such variable" in line
    assert "settable names" in line and "H" in line


def test_set_value_is_validated(capsys, tmp_path):
    line, path = run_bad(capsys, tmp_path, HEADER + "  - relu\n", "--set", "batch=0")
    assert "batch: expected a positive integer, got 0" in line


def test_expression_with_unknown_name(capsys, tmp_path):
    text = "name: t\nvariables: {width: 8}\ninput: [3, 8, 8]\nlayers:\n  - relu\n" \
           "  - conv2d: {out_channels: 4 * widht, kernel_size: 3}\n"
    line, path = run_bad(capsys, tmp_path, text)
    rest = layer_part(located(line, path, 6))
    assert "unknown name 'widht'" in rest and "(did you mean 'width'?)" in rest


def test_variable_with_unknown_name(capsys, tmp_path):
    text = "name: t\nvariables:\n  width: 8\n  c: 2 * widht\ninput: [3, 8, 8]\nlayers: [relu]\n"
    line, path = run_bad(capsys, tmp_path, text)
    rest = located(line, path, 4)
    assert "unknown name 'widht'" in rest and "did you mean 'width'?" in rest


def test_variable_error_is_not_called_a_layer(capsys, tmp_path):
    text = "name: t\nvariables:\n  width: 8\n  c: 2 * widht\ninput: [3, 8, 8]\nlayers: [relu]\n"
    line, _ = run_bad(capsys, tmp_path, text)
    assert "layer variables" not in line


def test_unsafe_expression(capsys, tmp_path):
    text = HEADER + "  - conv2d: {out_channels: \"__import__('os')\", kernel_size: 3}\n"
    line, path = run_bad(capsys, tmp_path, text)
    assert "may be called" in layer_part(located(line, path, 4))
    line, path = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: '10**10**10', kernel_size: 3}\n")
    assert "power too large" in line
    line, path = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: '1e400', kernel_size: 3}\n")
    assert "too large" in line


def test_set_input_with_a_word_is_refused(capsys, tmp_path):
    run_bad(capsys, tmp_path, HEADER + "  - relu\n", "--set", "input=3,x")


# ---------------------------------------------------------------- the real process

def _python_m(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-m", "archcalc", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)


def test_process_exit_status_and_no_traceback(tmp_path):
    (tmp_path / "bad.yaml").write_text(HEADER + "  - flatten\n  - conv2d: {out_channels: 4, kernel_size: 3}\n")
    proc = _python_m(tmp_path, "bad.yaml")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("archcalc: bad.yaml:5: layer conv2d_1: expects a rank-3 input")


def test_process_missing_file(tmp_path):
    proc = _python_m(tmp_path, "missing.yaml")
    assert proc.returncode == 2
    # a bare name may be a zoo spec's (archcalc resnet18): the hint says where the zoo's names are listed
    assert proc.stderr == ("archcalc: missing.yaml: no such file or zoo spec: missing.yaml (check the path; "
                           "archcalc zoo lists the zoo's specs)\n")


def test_process_success(tmp_path):
    (tmp_path / "ok.yaml").write_text(HEADER + "  - conv2d: {out_channels: 4, kernel_size: 3}\n")
    proc = _python_m(tmp_path, "ok.yaml", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert '"params": 112' in proc.stdout  # 4 * (3 * 3*3) + 4


def test_merge_with_both_from_and_inputs(capsys, tmp_path):
    """from: on a layer that lists its operands in inputs: was silently ignored; now it is an error."""
    line, _ = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {name: a, out_channels: 3, kernel_size: 1}\n"
                                                 "  - add: {inputs: [a, '.'], from: a}\n")
    assert ":5: layer add_1: add has both from: and inputs:" in line and "inputs: [a, ...]" in line
