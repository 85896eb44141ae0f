"""Hostile input files: each case ends in exit 0 with a correct report, or exit 2 with exactly one
``archcalc: `` line and no traceback. Bounds are asserted as work done (bytes read, parser events, layers
built), never in seconds; a hang guard only keeps a regression from hanging the suite.

Classes: FIFOs, devices, the size cap, the standard-input cap, a closed standard input, deep nesting (flow
and block), many lines, a long line, merge keys, non-UTF-8 convention and hardware files.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from archcalc.cli import main
from archcalc.read import graph, spec, yamlio

ROOT = Path(__file__).resolve().parent.parent
HEADER = "name: t\ninput: [3, 8, 8]\nlayers:\n"  # layers start on line 4
CONV = "conv2d: {out_channels: 4, kernel_size: 3}"  # on [3, 8, 8]: 4 x 6 x 6, 4 * 3 * 3 * 3 + 4 = 112 params
CONV_PARAMS = 112
HANG_SECONDS = 60  # a guard against hanging the suite; nothing here asserts speed
HARDWARE = "my-gpu: {peak_flops: {fp32: 19.5e12}, bandwidth: 2.039e12}\n"
VGG = str(ROOT / "specs" / "vgg16.yaml")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
needs_devices = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")


class Hang(BaseException):
    """Raised by the guard; a BaseException so that the CLI's ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def guard():
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise Hang(f"still running after {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with guard():
        status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line(status: int, out: str, err: str) -> str:
    """The error contract: exit 2, nothing on stdout, one ``archcalc: `` line, no traceback."""
    assert status == 2, (status, err[-2000:])
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("archcalc: ")
    return lines[0]


def bad(capsys, *argv: str) -> str:
    return one_line(*cli(capsys, *argv))


def good(capsys, *argv: str) -> str:
    status, out, err = cli(capsys, *argv)
    assert status == 0, err[-2000:]
    assert err == ""
    return out


def totals(out: str) -> dict:
    return json.loads(out)["totals"]


def process(tmp_path: Path, *args: str, shell_stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m archcalc ARGS`` as a real process (``shell_stdin``: a redirection for sh, e.g. ``<&-``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "archcalc", *args]
    if shell_stdin is not None:
        command = ["sh", "-c", 'exec "$@" ' + shell_stdin, "sh", *command]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
                          stdin=None if shell_stdin is not None else subprocess.DEVNULL)


def process_line(proc: subprocess.CompletedProcess) -> str:
    return one_line(proc.returncode, proc.stdout, proc.stderr)


def count_calls(monkeypatch, owner, name: str) -> Counter:
    """Count the calls of ``owner.name``: the work a bound allows."""
    calls: Counter = Counter()
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls[name] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def write(tmp_path: Path, text: str | bytes, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def convention_text() -> str:
    return (ROOT / "archcalc" / "count" / "conventions" / "torch.yaml").read_text(encoding="utf-8")


# ---------------------------------------------------------------- FIFOs: refused by stat, never opened

@needs_fifo
@pytest.mark.parametrize("where", ["spec", "hardware", "convention", "report"])
def test_fifo_is_refused_without_blocking(capsys, tmp_path, where):
    """Nothing ever writes to this FIFO: opening it to read would block for ever."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    argv = {"spec": [fifo], "hardware": [VGG, "--hardware", fifo], "convention": [VGG, "--convention", fifo],
            "report": ["report", fifo, "-o", tmp_path / "r.html"]}[where]
    line = bad(capsys, *argv)
    assert f"{fifo}: this is a named pipe (FIFO), not a regular file" in line
    assert not (tmp_path / "r.html").exists()


# ---------------------------------------------------------------- devices

@needs_devices
@pytest.mark.parametrize("device, where", [("/dev/zero", "spec"), ("/dev/urandom", "spec"), ("/dev/null", "spec"),
                                           ("/dev/zero", "hardware"), ("/dev/urandom", "convention")])
def test_devices_are_refused_before_reading(capsys, monkeypatch, device, where):
    if not Path(device).exists():
        pytest.skip(f"no {device}")
    argv = {"spec": [device], "hardware": [VGG, "--hardware", device],
            "convention": [VGG, "--convention", device]}[where]
    opened = count_calls(monkeypatch, os, "open")
    line = bad(capsys, *argv)
    assert f"{device}: this is a character device, not a regular file" in line
    assert opened["open"] == (0 if where == "spec" else 1)  # only the spec itself (vgg16.yaml) was opened


# ---------------------------------------------------------------- the size cap (10 MiB)

def test_the_size_cap_is_10_mib():
    assert spec.MAX_BYTES == 10 * 2**20


@pytest.mark.parametrize("where", ["spec", "hardware", "convention"])
def test_files_over_the_cap_are_refused_unread(capsys, tmp_path, where):
    """A sparse file of 200 MB: refused from its size alone, in bounded memory."""
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(200 * 10**6)
    argv = {"spec": [big], "hardware": [VGG, "--hardware", big], "convention": [VGG, "--convention", big]}[where]
    tracemalloc.start()
    try:
        line = bad(capsys, *argv)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"{big}: the file is larger than 10 MiB (10,485,760 bytes)" in line
    assert peak < 50 * 2**20  # the analysis of vgg16 included; the 200 MB were never read


def test_a_spec_at_the_cap_is_read_and_one_byte_more_is_not(capsys, tmp_path):
    head = HEADER + f"  - {CONV}\n# "
    padding = spec.MAX_BYTES - len(head) - 1
    at_cap = write(tmp_path, head + "x" * padding + "\n")
    assert at_cap.stat().st_size == spec.MAX_BYTES
    assert totals(good(capsys, at_cap, "-f", "json"))["params"] == CONV_PARAMS
    over = write(tmp_path, head + "x" * (padding + 1) + "\n", "over.yaml")
    assert "the file is larger than 10 MiB" in bad(capsys, over)


def test_the_cap_holds_for_a_file_that_grows_after_the_check(capsys, tmp_path, monkeypatch):
    """The size is checked by stat, and again on what was read (at most cap + 1 bytes)."""
    path = write(tmp_path, HEADER + f"  - {CONV}\n")
    real_stat = os.stat

    def small_stat(p, *args, **kwargs):
        result = real_stat(p, *args, **kwargs)
        if str(p) == str(path):
            with open(path, "ab") as f:  # it grows once the check is passed
                f.write(b"#" * (spec.MAX_BYTES + 10) + b"\n")
        return result

    monkeypatch.setattr(os, "stat", small_stat)
    assert "the file is larger than 10 MiB" in bad(capsys, path)


# ---------------------------------------------------------------- standard input: the same cap

class Endless(io.RawIOBase):
    """Standard input that never ends (like /dev/zero), recording what was asked of it."""

    def __init__(self, chunk: bytes = b"#") -> None:
        self.chunk = chunk
        self.asked: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        if size is None or size < 0:
            raise AssertionError("standard input read without a limit")
        return (self.chunk * (size // len(self.chunk) + 1))[:size]


class Stdin:
    def __init__(self, buffer) -> None:
        self.buffer = buffer


def test_endless_stdin_is_read_to_the_cap_and_no_further(capsys, monkeypatch):
    endless = Endless()
    monkeypatch.setattr(sys, "stdin", Stdin(endless))
    line = bad(capsys, "-")
    assert line == ("archcalc: <stdin>: standard input holds more than 10 MiB (10,485,760 bytes) "
                    "(a spec stays small with repeat: and blocks:)")
    assert endless.asked == [spec.MAX_BYTES + 1]


def test_stdin_at_the_cap_is_read_and_one_byte_more_is_not(capsys, monkeypatch):
    head = (HEADER + f"  - {CONV}\n# ").encode()
    at_cap = head + b"x" * (spec.MAX_BYTES - len(head) - 1) + b"\n"
    assert len(at_cap) == spec.MAX_BYTES
    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(at_cap)))
    assert totals(good(capsys, "-", "-f", "json"))["params"] == CONV_PARAMS
    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(at_cap + b"\n")))
    assert "standard input holds more than 10 MiB" in bad(capsys, "-")


@needs_devices
def test_dev_zero_on_stdin_of_the_process(tmp_path):
    line = process_line(process(tmp_path, "-", shell_stdin="< /dev/zero"))
    assert line.startswith("archcalc: <stdin>: standard input holds more than 10 MiB")


def test_stdin_that_is_not_utf8(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(HEADER.encode() + b"  - relu  # \xff\n")))
    assert bad(capsys, "-").startswith("archcalc: <stdin>:4: standard input is not UTF-8 text")


# ---------------------------------------------------------------- a closed standard input

@pytest.mark.parametrize("argv", [["-"], ["formula", "-"], ["export", "-", "--to", "pytorch"],
                                  ["report", "-", "-o", "r.html"]], ids=["table", "formula", "export", "report"])
def test_closed_stdin_in_a_real_process(tmp_path, argv):
    """``archcalc - <&-``: Python starts with sys.stdin set to None."""
    line = process_line(process(tmp_path, *argv, shell_stdin="<&-"))
    assert line == "archcalc: <stdin>: standard input is closed (pipe a spec in: archcalc - < net.yaml)"
    assert not (tmp_path / "r.html").exists()


def test_closed_stdin_stream_in_process(capsys, monkeypatch):
    closed = io.BytesIO(b"name: t\n")
    closed.close()
    monkeypatch.setattr(sys, "stdin", Stdin(closed))
    assert bad(capsys, "-").startswith("archcalc: <stdin>: cannot read standard input")
    monkeypatch.setattr(sys, "stdin", None)
    assert bad(capsys, "-").startswith("archcalc: <stdin>: standard input is closed")


# ---------------------------------------------------------------- deep nesting: flow style

def nested_sequentials(depth: int, flow: bool) -> str:
    """``depth`` sequentials, one inside the other, around one conv: 2 + 3 * depth YAML levels (the root
    mapping and the layers list, then a mapping, a mapping and a list per sequential)."""
    if flow:
        inner = CONV.join("{}")
        for _ in range(depth):
            inner = f"{{sequential: {{layers: [{inner}]}}}}"
        return HEADER.replace("layers:\n", f"layers: [{inner}]\n")
    rows, indent = [], "  "
    for _ in range(depth):
        rows.append(f"{indent}- sequential:\n{indent}    layers:\n")
        indent += "      "
    rows.append(f"{indent}- {CONV}\n")
    return HEADER + "".join(rows)


def test_depth_limit_is_100_levels():
    assert yamlio.MAX_DEPTH == 100  # 9 times the deepest zoo spec (11 levels)


@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_nested_structures_up_to_the_limit_are_analysed(capsys, tmp_path, flow):
    # 32 sequentials: 2 + 96 = 98 levels, then the conv's own mapping: 99 <= 100
    out = good(capsys, write(tmp_path, nested_sequentials(32, flow)), "-f", "json")
    assert totals(out)["params"] == CONV_PARAMS
    assert json.loads(out)["output_shape"] == [1, 4, 6, 6]
    # 33: the innermost layer list is the 101st level
    line = bad(capsys, write(tmp_path, nested_sequentials(33, flow)))
    assert "the YAML is nested more than 100 levels deep" in line


def test_100000_nested_brackets_in_a_real_process(tmp_path):
    """The 200 KB spec that segfaulted the interpreter inside libyaml's composer (exit 139)."""
    write(tmp_path, HEADER.replace("layers:\n", "layers: " + "[" * 10**5 + "]" * 10**5 + "\n"))
    line = process_line(process(tmp_path, "spec.yaml"))
    # libyaml 0.2.6 (PyYAML 6.0.3+) stops its scanner at 1,000 flow levels itself; earlier, archcalc's bound
    assert line.startswith(("archcalc: spec.yaml:3: the YAML is nested more than 100 levels deep",
                            "archcalc: spec.yaml:3: YAML syntax error: exceeded maximum nesting depth"))


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}")], ids=["lists", "mappings"])
def test_the_line_where_the_limit_is_passed(capsys, tmp_path, monkeypatch, opening, closing):
    def text(levels: int) -> str:  # the root mapping is level 1; the brackets on line 5 open the others
        return ("name: t\ninput: [3, 8, 8]\nlayers: [relu]\nextra:\n  " + opening * levels + "1" + closing * levels
                + "\n")
    assert "unknown field 'extra'" in bad(capsys, write(tmp_path, text(99)))  # 100 levels: read, then refused
    events = count_calls(monkeypatch, yamlio._Base, "get_event")
    line = bad(capsys, write(tmp_path, text(500)))  # below libyaml's own flow limit (1,000 in libyaml 0.2.6)
    assert line.startswith(f"archcalc: {tmp_path / 'spec.yaml'}:5: the YAML is nested more than 100 levels deep")
    assert events["get_event"] < 2 * 101 + 20  # refused where the limit was passed: the rest is never read


def test_aliases_count_as_deep_as_what_they_name(capsys, tmp_path):
    """Each alias is shallow where it is written; expanded, the value would be 3 x 40 levels deep."""
    deep = "[" * 40 + "{}" + "]" * 40
    text = (f"name: t\ninput: [3, 8, 8]\nlayers: [relu]\nx:\n  a: &a {deep.format(1)}\n  b: &b {deep.format('*a')}\n"
            f"  c: {deep.format('*b')}\n")
    # x is level 2; a's lists are levels 3-42; b's alias sits at 42 + 40 = 82; c's at 42 + 80 = 122
    line = bad(capsys, write(tmp_path, text))
    assert ":7: the YAML is nested more than 100 levels deep (*b is as deep as what it names)" in line


# ---------------------------------------------------------------- deep nesting: block style

def test_100000_compact_block_sequences(tmp_path):
    """``- - - - ... relu`` nests one block sequence per dash, on one line."""
    write(tmp_path, HEADER + "- " * 10**5 + "relu\n")
    line = process_line(process(tmp_path, "spec.yaml"))
    assert line.startswith("archcalc: spec.yaml:4: the YAML is nested more than 100 levels deep")


def test_block_mappings_nested_by_indentation(capsys, tmp_path):
    def text(keys: int) -> str:
        rows = "".join(" " * (k + 1) + f"k{k}:\n" for k in range(keys)) + " " * (keys + 1) + "v: 1\n"
        return "name: t\ninput: [3, 8, 8]\nlayers: [relu]\nextra:\n" + rows
    # the root mapping is level 1 and k<j> (on line 5 + j) opens level j + 2: 98 keys reach 100 levels
    assert "unknown field 'extra'" in bad(capsys, write(tmp_path, text(98)))
    line = bad(capsys, write(tmp_path, text(150)))
    assert f"{tmp_path / 'spec.yaml'}:{5 + 99}: the YAML is nested more than 100 levels deep" in line
    line = bad(capsys, write(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers:\n" + "".join(
        " " * (2 * k + 2) + "- \n" for k in range(150))))  # block sequences, one per line
    assert "the YAML is nested more than 100 levels deep" in line


def test_blocks_multiply_nesting_and_are_bounded_as_expanded(capsys, tmp_path):
    """Every block is shallow as written, but each calls the next: 20 blocks of 4 inline sequentials nest 100
    layer lists. Past 64 (graph.MAX_NESTING), one line; this overflowed Python's stack (exit 3)."""
    def spec_text(blocks: int, inline: int) -> str:
        rows = ["name: t", "input: [3, 8, 8]", "blocks:"]
        for b in range(1, blocks + 1):
            inner = f"b{b + 1}" if b < blocks else CONV.join("{}")
            for _ in range(inline):
                inner = f"{{sequential: {{layers: [{inner}]}}}}"
            rows.append(f"  b{b}: {{layers: [{inner}]}}")
        return "\n".join([*rows, "layers: [b1]"]) + "\n"
    assert graph.MAX_NESTING == 64
    # 1 (layers) + 21 blocks x (1 + 2) = 64 layer lists: the limit itself
    assert totals(good(capsys, write(tmp_path, spec_text(21, 2)), "-f", "json"))["params"] == CONV_PARAMS
    assert "layer lists are nested more than 64 deep" in bad(capsys, write(tmp_path, spec_text(20, 4)))
    assert "layer lists are nested more than 64 deep" in bad(capsys, write(tmp_path, spec_text(32, 10)))


# ---------------------------------------------------------------- many lines

def test_a_million_layer_lines(capsys, tmp_path, monkeypatch):
    """9 MB, under the size cap: refused at the 20,001st layer, the rest never built."""
    path = write(tmp_path, HEADER + "  - relu\n" * 10**6)
    leaves = count_calls(monkeypatch, graph.Expander, "leaf")
    line = bad(capsys, path)
    assert line.startswith(f"archcalc: {path}:20004: layer layers[20000]: the spec expands to more than 20,000 "
                           "layers and groups (")
    assert leaves["leaf"] == graph.MAX_NODES + 1


def test_a_million_comment_and_blank_lines(capsys, tmp_path):
    path = write(tmp_path, "# a comment\n\n" * 500_000 + HEADER + f"  - {CONV}\n")
    assert totals(good(capsys, path, "-f", "json"))["params"] == CONV_PARAMS
    path = write(tmp_path, "\n" * 10**6 + HEADER + "  - flatten\n  - conv2d: {out_channels: 4, kernel_size: 3}\n")
    line = bad(capsys, path)
    assert line.startswith(f"archcalc: {path}:{10**6 + 5}: layer conv2d_1: ")  # line numbers stay exact


MEASURED = """
import sys
from archcalc.read import yamlio
from archcalc.cli import main
events, get = [0], yamlio._Base.get_event
def counted(self):
    events[0] += 1
    return get(self)
yamlio._Base.get_event = counted
status = main(sys.argv[1:])
# the high-water mark of this process' own memory (ru_maxrss would include the parent's, inherited at exec)
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(events[0], peak)
sys.exit(status)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from /proc (Linux)")
def test_a_file_just_under_the_cap_of_tiny_nodes(tmp_path):
    """The most nodes the cap allows: a digit and a comma each, over five million. The node limit (2,000,000)
    is checked as the parser reads, so the rest is never read, and no node graph is held: peak memory stays
    far below the 443 MiB that PyYAML's composer and constructor took for one million such nodes."""
    head = "name: t\ninput: [3, 8, 8]\nlayers: ["
    count = (spec.MAX_BYTES - len(head) - 3) // 2
    path = write(tmp_path, head + "1," * count + "1]\n")
    assert path.stat().st_size <= spec.MAX_BYTES
    proc = subprocess.run([sys.executable, "-c", MEASURED, str(path)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = one_line(proc.returncode, "", proc.stderr)
    assert line.startswith(f"archcalc: {path}:3: the YAML expands to more than 2,000,000 nodes")
    events, peak_kib = map(int, proc.stdout.split())
    assert yamlio.MAX_NODES < events <= yamlio.MAX_NODES + 10  # stream, document and list ends besides nodes
    assert peak_kib < 300 * 1024, peak_kib


def test_collections_are_capped_as_they_are_read(capsys, tmp_path, monkeypatch):
    """Each mapping or list written holds memory (aliases share theirs): at most 200,000, 10 per layer at
    the layer limit. 1.16 million one-key mappings took 595 MiB before this limit."""
    assert yamlio.MAX_COLLECTIONS == 200_000
    text = "name: t\ninput: [3, 8, 8]\nlayers: [relu]\nx: [" + "[], " * 300_000 + "1]\n"
    line = bad(capsys, write(tmp_path, text))
    assert line.startswith(f"archcalc: {tmp_path / 'spec.yaml'}:4: the YAML holds more than 200,000 mappings")
    # the boundary, made small: the root mapping, input's list, layers' list, and two mappings per conv: 7
    monkeypatch.setattr(yamlio, "MAX_COLLECTIONS", 7)
    text = HEADER + "".join(f"  - {CONV}\n" for _ in range(2))
    assert totals(good(capsys, write(tmp_path, text), "-f", "json"))["params"] == 112 + (4 * 4 * 9 + 4)
    line = bad(capsys, write(tmp_path, text + "  - relu: {}\n"))
    assert line.startswith(f"archcalc: {tmp_path / 'spec.yaml'}:6: the YAML holds more than 7 mappings and lists")


# ---------------------------------------------------------------- a long line

def test_a_9_mib_description_on_one_line(capsys, tmp_path):
    path = write(tmp_path, f"name: t\ninput: [3, 8, 8]\ndescription: {'x' * (9 * 2**20)}\nlayers:\n  - {CONV}\n")
    assert totals(good(capsys, path, "-f", "json"))["params"] == CONV_PARAMS


def test_a_long_flow_list_of_layers_on_one_line(capsys, tmp_path, monkeypatch):
    path = write(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers: [" + "relu, " * (2**20 // 6) + "relu]\n")  # 1 MiB
    leaves = count_calls(monkeypatch, graph.Expander, "leaf")
    assert "the spec expands to more than 20,000 layers" in bad(capsys, path)
    assert leaves["leaf"] == graph.MAX_NODES + 1


def test_a_50_mb_single_line_is_refused_by_size(capsys, tmp_path):
    path = write(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers: [relu]\ndescription: " + "x" * (50 * 10**6) + "\n")
    assert "the file is larger than 10 MiB" in bad(capsys, path)


def test_a_long_plain_key(capsys, tmp_path):
    """libyaml allows a simple key of at most 1024 characters; longer, a syntax error on its line."""
    path = write(tmp_path, f"name: t\ninput: [3, 8, 8]\n{'k' * 2**20}: 1\nlayers: [relu]\n")
    assert bad(capsys, path).startswith(f"archcalc: {path}:3: YAML syntax error: ")


# ---------------------------------------------------------------- merge keys: YAML's rule, whatever PyYAML

def conv_shapes(out: str) -> list[list[int]]:
    return [row["output_shape"] for row in json.loads(out)["layers"]]


def test_the_first_merged_map_wins(capsys, tmp_path):
    """https://yaml.org/type/merge.html: of several maps merged, an earlier one takes precedence."""
    text = (HEADER + "  - conv2d: {<<: [{out_channels: 2}, {out_channels: 6, kernel_size: 1}]}\n"
            "  - conv2d: {<<: [{out_channels: 5, kernel_size: 3}, {kernel_size: 1}]}\n")
    # 2 channels, 1x1 on 8x8; then 5 channels, 3x3 on 8x8 (so 6x6)
    assert conv_shapes(good(capsys, write(tmp_path, text), "-f", "json")) == [[1, 2, 8, 8], [1, 5, 6, 6]]


def test_own_keys_override_merged_ones_wherever_written(capsys, tmp_path):
    text = (HEADER + "  - conv2d: &base {out_channels: 4, kernel_size: 3}\n"
            "  - conv2d: {<<: *base, kernel_size: 1}\n"
            "  - conv2d: {kernel_size: 1, <<: *base}\n"
            "  - conv2d: {<<: [*base, {out_channels: 9}], out_channels: 7}\n")
    # 3x3 on 8x8 -> 6x6; then two 1x1 keep 6x6; the last is 3x3 (from base) with its own 7 channels -> 4x4
    assert conv_shapes(good(capsys, write(tmp_path, text), "-f", "json")) == \
        [[1, 4, 6, 6], [1, 4, 6, 6], [1, 4, 6, 6], [1, 7, 4, 4]]


@pytest.mark.parametrize("body, words", [
    ("{<<: *base, kernel_size: 1, kernel_size: 2}", "duplicate key 'kernel_size' (it was already set on line 5"),
    ("{<<: *base, <<: *base}", "duplicate key '<<'"),
    ("{<<: 5}", "a merge key (<<) takes a mapping or a list of mappings"),
    ("{<<: [*base, relu]}", "a merge key (<<) takes a mapping or a list of mappings"),
], ids=["own-key-twice", "merge-twice", "scalar", "list-with-a-scalar"])
def test_merge_key_errors(capsys, tmp_path, body, words):
    text = HEADER + "  - conv2d: &base {out_channels: 4, kernel_size: 3}\n" + f"  - conv2d: {body}\n"
    line = bad(capsys, write(tmp_path, text))
    assert f"{tmp_path / 'spec.yaml'}:5: " in line and words in line


# ---------------------------------------------------------------- non-UTF-8 convention and hardware files

@pytest.mark.parametrize("tail, line_no", [
    (b"# caf\xe9 in Latin-1\n", 1),
    (b"# cut inside a character \xe2\x82", 1),
    (None, None),  # the whole file in UTF-16, with its BOM
], ids=["latin-1", "truncated", "utf-16"])
def test_convention_file_not_utf8(capsys, tmp_path, tail, line_no):
    text = convention_text()
    data = text.encode("utf-16") if tail is None else text.encode() + tail
    path = write(tmp_path, data, "conv.yaml")
    expected = 1 if tail is None else text.count("\n") + line_no
    line = bad(capsys, VGG, "--convention", path)
    assert line == f"archcalc: {path}:{expected}: the file is not UTF-8 text (save it as UTF-8)"


@pytest.mark.parametrize("data, line_no, suffix", [
    (HARDWARE.encode() + b"# \xff\n", 2, ""),
    (HARDWARE.encode("utf-16"), 1, ""),
    (HARDWARE.encode() + b"other: {title: caf\xe9}\n", 2, ":my-gpu"),
], ids=["bad-byte", "utf-16", "file-and-entry"])
def test_hardware_file_not_utf8(capsys, tmp_path, data, line_no, suffix):
    path = write(tmp_path, data, "hw.yaml")
    line = bad(capsys, VGG, "--hardware", f"{path}{suffix}")
    assert line == f"archcalc: {path}:{line_no}: the file is not UTF-8 text (save it as UTF-8)"


def test_a_convention_and_a_hardware_file_that_are_fine(capsys, tmp_path):
    """The same reader accepts good files: the torch preset copied to a file counts as the preset does."""
    path = write(tmp_path, convention_text(), "conv.yaml")
    assert totals(good(capsys, VGG, "--convention", path, "-f", "json")) == \
        totals(good(capsys, VGG, "--convention", "torch", "-f", "json"))
    hw = write(tmp_path, HARDWARE, "hw.yaml")
    out = good(capsys, VGG, "--hardware", hw, "-f", "json")
    assert "my-gpu" in out
