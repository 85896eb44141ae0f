"""Robustness: bad input never crashes, hangs or runs code.

1. Property tests (hypothesis) on random *valid* specs, sequential and branchy: the report's invariants.
2. Mutation fuzzing of the zoo (``specs/*.yaml``) through the CLI, in-process: every mutated spec gives a
   report (exit 0) or one ``archcalc: `` line on stderr (exit 2), never an internal error. A case still running
   after ``HANG_SECONDS`` is interrupted so that the suite cannot hang; speed is measured in benchmarks/.
   ``ARCHCALC_FUZZ_CASES=100000 pytest tests/test_fuzz.py`` runs more by hand (the "nightly" profile; it also
   scales the hypothesis examples); ``ARCHCALC_FUZZ_SEED`` picks another seeded stream of mutations.
3. Safe YAML: alias bombs, duplicate keys, python tags.
4. Size limits: each limit has a one-line error just above it; exact integers beyond float precision.
5. File handling not covered by test_errors.py: standard input, other encodings, no files written.
6. Regressions: the crashes this fuzzing found, each as the smallest spec that showed it.
"""
from __future__ import annotations

import contextlib
import copy
import glob
import io
import json
import os
import random
import re
import signal
import sys
import threading
import time
import tracemalloc
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcalc
from archcalc.cli import main
from archcalc.core import expr
from archcalc.core.errors import ArchcalcError
from archcalc.read import graph, yamlio

ROOT = Path(__file__).resolve().parent.parent
FUZZ_CASES = int(os.environ.get("ARCHCALC_FUZZ_CASES", "2000"))
FUZZ_SEED = os.environ.get("ARCHCALC_FUZZ_SEED", "archcalc")
MIN_CASES = 2000
HANG_SECONDS = 60.0  # a case still running after this is interrupted (and fails) instead of hanging the suite
HEADER = "name: t\ninput: [3, 8, 8]\nlayers:\n"  # layers start on line 4
EXAMPLES = max(100, FUZZ_CASES // 20)
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=FUZZ_CASES <= MIN_CASES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------- helpers

class Hang(BaseException):
    """Raised by ``deadline``; a BaseException so that the CLI's ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Interrupt the block after ``seconds`` (Unix main thread; elsewhere the block just runs)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli(capsys, path: Path | str, *args: str, seconds: float = HANG_SECONDS) -> tuple[int, str, str, float]:
    """(status, stdout, stderr, seconds) of ``archcalc PATH ARGS`` run in-process; the seconds are reported,
    never asserted (a loaded machine is slow)."""
    capsys.readouterr()
    start = time.perf_counter()
    with deadline(seconds):
        status = main([str(path), *args])
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    return status, out, err, elapsed


def one_error_line(status: int, out: str, err: str) -> str:
    """Assert the error contract (exit 2, one ``archcalc: `` line, no traceback) and return the line."""
    assert status == 2, (status, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("archcalc: ")
    return lines[0]


def run_bad(capsys, tmp_path: Path, text: str | bytes, *args: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    status, out, err, _ = cli(capsys, path, *args)
    return one_error_line(status, out, err)


def run_ok(capsys, tmp_path: Path, text: str, *args: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    status, out, err, _ = cli(capsys, path, *args)
    assert status == 0, err
    assert err == ""
    return out


def count_calls(monkeypatch, owner, name: str) -> Counter:
    """Count the calls of ``owner.name``: work done, the measure of a bound (seconds vary with the machine)."""
    calls: Counter = Counter()
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls[name] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def is_count(x) -> bool:
    return type(x) is int and x >= 0  # not bool, not float, not Fraction


def check_report(report) -> dict:
    """The invariants of any numeric report; returns its JSON form."""
    for row in report.layers:
        for field in ("params", "buffers", "macs", "flops"):
            assert is_count(getattr(row, field)), (row.name, field, getattr(row, field))
        assert all(type(d) is int and d >= 1 for d in row.output_shape), (row.name, row.output_shape)
    names = [row.name for row in report.layers]
    assert len(set(names)) == len(names), names
    by_name = {row.name: row for row in report.layers}
    for field in ("params", "buffers", "macs", "flops", "activations"):
        total = getattr(report.totals, field)
        assert is_count(total) and total == sum(getattr(row, field) for row in report.layers), field

    def walk(blocks):
        for block in blocks:
            assert block.layers and all(name in by_name for name in block.layers), (block.name, block.layers)
            for field in ("params", "buffers", "macs", "flops"):
                value = getattr(block.totals, field)
                assert is_count(value), (block.name, field, value)
                assert value == sum(getattr(by_name[n], field) for n in block.layers), (block.name, field)
            children = {n for child in block.children for n in child.layers}
            assert children <= set(block.layers), block.name
            walk(block.children)
    walk(report.blocks)

    data = report.to_dict()
    text = json.dumps(data)
    assert json.loads(text) == data
    assert json.loads(text)["totals"]["macs"] == report.totals.macs
    return data


# ---------------------------------------------------------------- 1. random valid specs

ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "gelu", "identity",
               {"leaky_relu": {"negative_slope": 0.2}}, {"elu": {"alpha": 1.0}}, {"gelu": {"approximate": "tanh"}},
               {"dropout": {"p": 0.5}}]


class Chain:
    """A spec under construction, with the per-sample shape it has reached (channels first)."""

    def __init__(self, draw, channels: int, spatial: list[int]) -> None:
        self.draw = draw
        self.nd = len(spatial)
        self.c, self.spatial = channels, list(spatial)
        self.input = [channels, *spatial]
        self.layers: list = []
        self.blocks: dict = {}

    def ints(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, max(lo, hi)))

    # ---- layers that keep the chain plain (no merges, no upsampling)

    def conv(self) -> None:
        n = min(self.spatial)
        p = self.ints(0, 2)
        d = self.ints(1, 2)
        k = self.ints(1, 5)
        if d * (k - 1) + 1 > n + 2 * p:
            k, d = 1, 1
        s = self.ints(1, 3)
        c_out = self.ints(1, 16)
        common = [g for g in range(1, min(self.c, c_out) + 1) if self.c % g == 0 and c_out % g == 0]
        g = self.draw(st.sampled_from(common))
        body = {"out_channels": c_out, "kernel_size": k, "stride": s, "padding": p, "dilation": d}
        if g > 1:
            body["groups"] = g
        if self.draw(st.booleans()):
            body["bias"] = False
        if self.draw(st.booleans()):
            body["out_channels"] = f"{c_out} * one"  # an expression over a variable
        self.layers.append({f"conv{self.nd}d": body})
        span = d * (k - 1) + 1
        self.c = c_out
        self.spatial = [(m + 2 * p - span) // s + 1 for m in self.spatial]

    def pool(self) -> None:
        n = min(self.spatial)
        k = self.ints(1, min(3, n))
        p = self.ints(0, k // 2)
        kind = self.draw(st.sampled_from(["maxpool", "avgpool"]))
        body: dict = {"kernel_size": k}
        s = k
        if self.draw(st.booleans()):
            s = self.ints(1, 3)
            body["stride"] = s
        if p:
            body["padding"] = p
        self.layers.append({f"{kind}{self.nd}d": body})
        self.spatial = [(m + 2 * p - k) // s + 1 for m in self.spatial]

    def norm(self) -> None:
        kind = self.draw(st.sampled_from(["batchnorm", "instancenorm", "groupnorm", "layernorm"]))
        if kind == "groupnorm":
            groups = self.draw(st.sampled_from([g for g in range(1, self.c + 1) if self.c % g == 0]))
            self.layers.append({"groupnorm": {"num_groups": groups}})
        elif kind == "layernorm":
            self.layers.append({"layernorm": {"normalized_shape": self.spatial[-1]}})
        elif kind == "instancenorm":
            self.layers.append({f"instancenorm{self.nd}d": {"affine": self.draw(st.booleans())}})
        else:
            self.layers.append(self.draw(st.sampled_from([f"batchnorm{self.nd}d",
                                                          {f"batchnorm{self.nd}d": {"affine": False}}])))

    def activation(self) -> None:
        self.layers.append(copy.deepcopy(self.draw(st.sampled_from(ACTIVATIONS))))

    def repeat(self) -> None:
        unit = self.draw(st.sampled_from([
            {"relu": {}},
            {f"conv{self.nd}d": {"out_channels": self.c, "kernel_size": 3, "padding": 1}},
            {"sequential": {"layers": [{f"conv{self.nd}d": {"out_channels": self.c, "kernel_size": 1}}, "tanh"]}},
        ]))
        ((key, body),) = unit.items()
        self.layers.append({key: {**body, "repeat": self.ints(1, 3)}})

    def block(self) -> None:
        """A call of the spec's block ``unit`` (conv, norm, optional activation), maybe repeated."""
        self.blocks["unit"] = {"args": {"w": "int", "stride": 1, "act": True}, "layers": [
            {f"conv{self.nd}d": {"name": "conv", "out_channels": "w", "kernel_size": 3, "stride": "stride",
                                 "padding": 1, "bias": False}},
            {f"batchnorm{self.nd}d": {"name": "bn"}},
            {"relu": {"if": "act"}},
        ]}
        w, s = self.ints(1, 12), self.ints(1, 2)
        call: dict = {"w": w}
        if self.draw(st.booleans()):
            call["act"] = False
        if self.draw(st.booleans()):
            call.update(repeat=self.ints(1, 3), stride=f"{s} if i == 0 else 1")
        elif s != 1:
            call["stride"] = s
        self.layers.append({"unit": call})
        self.c = w
        self.spatial = [(m - 1) // s + 1 for m in self.spatial]  # kernel 3, padding 1, stride s

    # ---- merges

    def residual(self) -> None:
        c2, s = self.ints(1, 12), self.ints(1, 2)
        body = [{f"conv{self.nd}d": {"out_channels": c2, "kernel_size": 3, "stride": s, "padding": 1}},
                f"batchnorm{self.nd}d", "relu"]
        spec: dict = {"body": body}
        if c2 != self.c or s != 1 or self.draw(st.booleans()):
            spec["shortcut"] = [{f"conv{self.nd}d": {"out_channels": c2, "kernel_size": 1, "stride": s}}]
        self.layers.append({"residual": spec})
        self.c = c2
        self.spatial = [(m - 1) // s + 1 for m in self.spatial]

    def parallel(self) -> None:
        merge = self.draw(st.sampled_from(["concat", "add", "mul", {"concat": {"dim": 1}}]))
        c1 = self.ints(1, 8)
        c2 = c1 if merge in ("add", "mul") else self.ints(1, 8)
        a = [{f"conv{self.nd}d": {"out_channels": c1, "kernel_size": 1}}]
        b = [{f"maxpool{self.nd}d": {"kernel_size": 3, "stride": 1, "padding": 1}},
             {f"conv{self.nd}d": {"out_channels": c2, "kernel_size": 1}}]
        branches = {"a": a, "b": b} if self.draw(st.booleans()) else [a, b]
        self.layers.append({"parallel": {"branches": branches, "merge": merge}})
        self.c = c1 + c2 if merge not in ("add", "mul") else c1

    def head(self) -> None:
        self.layers.append(self.draw(st.sampled_from(["flatten", "global_avgpool"])))
        out = self.ints(1, 20)
        self.layers.append({"linear": {"out_features": out, "bias": self.draw(st.booleans())}})
        self.spatial, self.c = [], out

    def spec(self, batch: int) -> dict:
        out = {"name": "random", "variables": {"one": 1}, "input": self.input,
               "batch": batch, "layers": self.layers}
        if self.blocks:
            out["blocks"] = self.blocks
        return out


@st.composite
def specs(draw, branchy: bool):
    """(spec dict, expected per-sample output shape)."""
    spatial = draw(st.one_of(st.lists(st.integers(6, 200), min_size=1, max_size=1),
                             st.lists(st.integers(6, 40), min_size=2, max_size=2)))
    chain = Chain(draw, draw(st.integers(1, 8)), spatial)
    steps = ["conv", "pool", "norm", "activation", "repeat", "block"]
    steps += ["residual", "parallel"] * 2 if branchy else []
    for _ in range(draw(st.integers(1, 8))):
        getattr(chain, draw(st.sampled_from(steps)))()
    if draw(st.booleans()):
        chain.head()
    return chain.spec(draw(st.integers(1, 4))), [chain.c, *chain.spatial]


def analyze_both_ways(spec: dict):
    """The report from the dict, and from its YAML text; both must agree."""
    report = archcalc.analyze(archcalc.load(spec))
    text = yaml.safe_dump(spec, sort_keys=False)
    again = archcalc.analyze(archcalc.load(text))
    assert again.to_dict()["totals"] == report.to_dict()["totals"]
    return report


def rf_size_key(value) -> tuple:
    """Order receptive-field sizes: any finite size < global."""
    if value == "global":
        return (1, 0)
    assert not isinstance(value, str) or "/" in value, value  # a plain chain has no markers but global
    return (0, Fraction(value))


@PROPERTY
@given(specs(branchy=False))
def test_plain_chains(case):
    spec, shape = case
    report = analyze_both_ways(spec)
    check_report(report)
    assert list(report.output_shape) == [spec["batch"], *shape]
    # along a plain chain (no merges, no upsampling or transposed conv) the receptive field never shrinks
    previous = None
    for row in report.to_dict()["layers"]:
        size = row["rf"]["size"]
        sizes = [size] * len(spec["input"][1:]) if isinstance(size, str) else size
        key = [rf_size_key(v) for v in sizes]
        if previous is not None:
            assert all(b >= a for a, b in zip(previous, key)), (row["name"], previous, key)
        previous = key


@PROPERTY
@given(specs(branchy=True))
def test_branchy_specs(case):
    spec, shape = case
    report = analyze_both_ways(spec)
    check_report(report)
    assert list(report.output_shape) == [spec["batch"], *shape]


@PROPERTY
@given(st.integers(1, 64), st.integers(1, 64), st.integers(1, 8), st.integers(1, 2), st.booleans())
def test_block_totals_match_hand_arithmetic(channels, width, repeat, stride, bias):
    """A repeated block of conv2d (3x3, padding 1) + batchnorm2d on an 8x8 input, summed by hand."""
    spec = {"name": "b", "input": [channels, 8, 8], "blocks": {"unit": {"args": {"w": "int", "s": 1}, "layers": [
        {"conv2d": {"name": "conv", "out_channels": "w", "kernel_size": 3, "stride": "s", "padding": 1,
                    "bias": bias}}, {"batchnorm2d": {"name": "bn"}}]}},
        "layers": [{"unit": {"name": "stage", "repeat": repeat, "w": width, "s": f"{stride} if i == 0 else 1"}}]}
    report = archcalc.analyze(archcalc.load(spec))
    check_report(report)
    side = (8 - 1) // stride + 1
    params = (width * channels * 9 + width * bias) + (repeat - 1) * (width * width * 9 + width * bias) \
        + repeat * 2 * width  # conv weights + biases, batchnorm weight and bias
    macs = width * side * side * 9 * (channels + (repeat - 1) * width)
    assert (report.totals.params, report.totals.macs) == (params, macs)
    (stage,) = report.blocks
    assert stage.name == "stage" and (stage.totals.params, stage.totals.macs) == (params, macs)
    assert [child.name for child in stage.children] == [f"stage.{i}" for i in range(repeat)]


# ---------------------------------------------------------------- 2. mutation fuzzing of the zoo

HUGE = [10**30, 2**63, 2**64 + 1, 10**400, 10**18]  # far above every limit
STRINGS = ["", "abc", "x" * 1500, "1/0", "__import__('os').system('echo PWNED')", "2**99999", "i", "-1", "3.5",
           "same", "nan", "1e400", "(" * 200 + "1" + ")" * 200, "!!python/object", "*", ".", "2 if i else",
           "min(1)", "10**10**10", "\x00", "\u00e9", "True", "a.b", "width", "-" * 60 + "1"]
NEW_KEYS = ["type", "name", "repeat", "if", "from", "save", 5, None, True, "layers", "inputs", "args"]


def random_value(rng: random.Random):
    kind = rng.randrange(10)
    if kind == 0:
        return rng.choice(HUGE)
    if kind == 1:
        return -rng.choice([1, 2, 7, 10**20])
    if kind == 2:
        return rng.choice(STRINGS)
    if kind == 3:
        return rng.choice([[], [1], [[1, 2]], [None], ["a", 3], [0] * 9, [10**30, 1], ["relu"]])
    if kind == 4:
        return None
    if kind == 5:
        return rng.choice([True, False])
    if kind == 6:
        return rng.choice([0.5, 1e308, float("inf"), float("-inf"), float("nan"), -0.0, 3.0, 1e-300])
    if kind == 7:
        return rng.choice([{}, {"a": 1}, {"relu": None}, {"type": 5}, {5: 1}, {None: None}])
    if kind == 8:
        return 0
    return rng.randint(-3, 300)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def mutate_tree(tree, rng: random.Random):
    """One structural mutation: delete a key or item, replace a value, swap two values, rename a key or
    duplicate an item, or wrap a value."""
    paths = list(_paths(tree))[1:]
    if not paths:
        return random_value(rng)
    path = rng.choice(paths)
    parent, key = _get(tree, path[:-1]), path[-1]
    op = rng.randrange(6)
    if op == 0:
        del parent[key]
    elif op in (1, 2):
        parent[key] = random_value(rng)
    elif op == 3:
        other = rng.choice(paths)
        try:
            a, b = copy.deepcopy(_get(tree, path)), copy.deepcopy(_get(tree, other))
            _get(tree, other[:-1])[other[-1]] = a
            parent[key] = b
        except (KeyError, IndexError, TypeError):
            pass  # one contained the other
    elif op == 4:
        if isinstance(parent, dict):
            value = parent.pop(key)
            parent[rng.choice([f"{key}x", str(key)[:-1] or "k", *NEW_KEYS])] = value
        else:
            parent.insert(key, copy.deepcopy(parent[key]))
    else:
        parent[key] = rng.choice([[parent[key]], {"x": parent[key]}, {"repeat": parent[key]}])
    return tree


def mutate_text(text: str, rng: random.Random) -> str | bytes:
    """One textual mutation: truncation, random bytes, indentation damage, a line deleted, duplicated or
    swapped, or one character replaced by YAML punctuation."""
    lines = text.splitlines(keepends=True)
    op = rng.randrange(7)
    if op == 0:
        return text[:rng.randrange(len(text) + 1)]
    if op == 1:
        data = text.encode("utf-8")
        at = rng.randrange(len(data) + 1)
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + data[at:]
    if not lines:
        return text
    i = rng.randrange(len(lines))
    if op == 2:
        line = lines[i]
        lines[i] = rng.choice([" " + line, line[1:], line.lstrip(), "\t" + line, "  " * rng.randint(1, 5) + line])
    elif op == 3:
        del lines[i]
    elif op == 4:
        lines.insert(i, lines[rng.randrange(len(lines))])
    elif op == 5:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        chars = list(text)
        chars[rng.randrange(len(chars))] = rng.choice(":-[]{},#&*!|>'\"% \n")
        return "".join(chars)
    return "".join(lines)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def mutate(text: str, rng: random.Random, tree=None) -> str | bytes:
    """A mutated copy of ``text`` (``tree``: its parsed form, when already at hand)."""
    if rng.random() < 0.5:
        tree = copy.deepcopy(tree) if tree is not None else yaml.load(text, Loader=_LOADER)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            tree = mutate_tree(tree, rng)
        return yaml.dump(tree, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    out: str | bytes = text
    for _ in range(rng.choice([1, 1, 2])):
        if isinstance(out, bytes):
            break
        out = mutate_text(out, rng)
    return out


ZOO = sorted(glob.glob(str(ROOT / "specs" / "*.yaml")))
FORMATS = ["table", "table", "json", "csv", "markdown", "latex"]


@pytest.fixture(scope="module")
def fuzz_stats():
    return Counter()


def summary(stats: Counter) -> str:
    return (f"archcalc fuzz: {stats['cases']} cases run, mutated zoo specs (seed {FUZZ_SEED!r}): {stats['ok']} "
            f"reports, {stats['errors']} one-line errors, slowest "
            f"{stats['slowest_ms'] / 1000:.2f} s")


def test_mutated_zoo_specs_never_crash(capsys, tmp_path, fuzz_stats):
    assert ZOO, "no specs/*.yaml"
    texts = {spec: Path(spec).read_text(encoding="utf-8") for spec in ZOO}
    trees = {spec: yaml.load(text, Loader=_LOADER) for spec, text in texts.items()}
    run_dir, kept = tmp_path / "run", tmp_path / "failures"
    run_dir.mkdir()
    path = run_dir / "case.yaml"
    failures: list[str] = []
    for case in range(FUZZ_CASES):
        rng = random.Random(f"{FUZZ_SEED}:{case}")
        spec = ZOO[case % len(ZOO)]
        mutated = mutate(texts[spec], rng, trees[spec])
        path.write_bytes(mutated if isinstance(mutated, bytes) else mutated.encode("utf-8", "surrogatepass"))
        fmt = rng.choice(FORMATS)
        try:
            status, out, err, elapsed = cli(capsys, path, "-f", fmt)
        except Hang:
            status, out, err, elapsed = -1, "", "hang", HANG_SECONDS
        fuzz_stats["cases"] += 1
        fuzz_stats["slowest_ms"] = max(fuzz_stats["slowest_ms"], int(elapsed * 1000))
        lines = err.splitlines()
        before = len(failures)
        if status == 0 and err == "" and out:
            fuzz_stats["ok"] += 1
        elif status == 2 and out == "" and len(lines) == 1 and lines[0].startswith("archcalc: ") \
                and "Traceback" not in err:
            fuzz_stats["errors"] += 1
        else:
            failures.append(f"case {case} ({Path(spec).name}): exit {status}, stderr {err[-600:]!r}")
        if before < len(failures) <= 20:  # keep the first bad inputs for a repro
            kept.mkdir(exist_ok=True)
            (kept / f"case_{case}.yaml").write_bytes(path.read_bytes())
    with capsys.disabled():  # the count is printed with or without -s
        print(f"\n{summary(fuzz_stats)}")
    assert not failures, (f"{len(failures)} bad cases; reproduce with ARCHCALC_FUZZ_SEED={FUZZ_SEED!r} and the "
                          f"case number, inputs kept in {kept}:\n" + "\n".join(failures[:10]))
    assert os.listdir(run_dir) == ["case.yaml"]  # nothing written next to the spec
    assert fuzz_stats["cases"] == FUZZ_CASES


def test_fuzz_ran_enough_cases(fuzz_stats):
    """The default run covers at least 2,000 mutated specs (runs after the fuzz test, in file order)."""
    if not fuzz_stats:
        pytest.skip("the fuzz test was not selected")
    if FUZZ_CASES < MIN_CASES:
        pytest.skip(f"ARCHCALC_FUZZ_CASES={FUZZ_CASES} asks for fewer than {MIN_CASES}")
    assert fuzz_stats["cases"] >= MIN_CASES, fuzz_stats
    assert fuzz_stats["ok"] > 0 and fuzz_stats["errors"] > 0  # the mutations reach both outcomes


def test_mutations_are_deterministic():
    """A case number names one mutated text, so a failure can be replayed."""
    text = Path(ZOO[0]).read_text(encoding="utf-8")
    assert [mutate(text, random.Random(f"{FUZZ_SEED}:{c}")) for c in range(20)] == \
           [mutate(text, random.Random(f"{FUZZ_SEED}:{c}")) for c in range(20)]


# ---------------------------------------------------------------- 2b. mutations of names, expressions, options
# Each class runs its own seeded cases (a case number replays one), with the invariant of section 2: a report
# (exit 0) or one ``archcalc: `` line (exit 2), never an internal error (exit 3) or a hang.

EXTRA_CASES = max(1, FUZZ_CASES // 100)  # cases per class and output: 20 by default
DRAWN_CASES = max(1, FUZZ_CASES // 400)  # for plots and reports, which draw with matplotlib: 5 by default
SMALL_ZOO = [str(ROOT / "specs" / f"{n}.yaml") for n in ("lenet5", "tcn", "convnet1d", "squeezenet1_1")]
NAMED_ZOO = [str(ROOT / "specs" / f"{n}.yaml") for n in ("lenet5", "resnet18", "googlenet", "mobilenet_v3_small",
                                                          "gpt2", "unet")]
NAME_INSERTS = ['"""', "'''", "\n", "\r", "\r\n", "\\N", "\\N{BULLET}", "\x00", "\u2028", "\u2029", "\u0085", "\\",
                "\\\\", "$", "$\\undefinedmacro{x}$", "|", "\\input{/etc/passwd}", "#", "%", "&", "_", "^", "{", "}",
                "<script>", "\t", "\x1b[31m", "\ufeff", "'", '"', "`", "*/", "-->", ".", " "]
NAME_PREFIXES = ["=", "+", "-", "@", "=cmd|' /C calc'!A0", "\\", "$", "|"]
OUTPUTS = ["table", "json", "csv", "markdown", "latex", "export", "plot", "report"]


def _mutated_name(name: str, rng: random.Random) -> str:
    op = rng.randrange(3)
    if op == 0:
        return rng.choice(NAME_PREFIXES) + name
    if op == 1:
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(name) + 1)
            name = name[:at] + rng.choice(NAME_INSERTS) + name[at:]
        return name
    return "".join(rng.choice(NAME_INSERTS) for _ in range(rng.randint(1, 4)))


def _name_places(tree) -> list[tuple[str, object, object]]:
    """(kind, container, key) of every name a spec chooses: the network's, a layer's ``name:``, a block's,
    a parallel branch's."""
    places = [("spec", tree, "name")] if isinstance(tree.get("name"), str) else []
    for block in (tree.get("blocks") or {}):
        places.append(("block", tree["blocks"], block))

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("name"), str):
                places.append(("layer", node, "name"))
            branches = node.get("branches")
            if isinstance(branches, dict):
                places.extend(("branch", branches, key) for key in branches)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(tree.get("layers"))
    walk(tree.get("blocks"))
    return places


def _rename_key(container: dict, old, new) -> None:
    """Rename a key in place, keeping its position."""
    items = [(new if k == old else k, v) for k, v in container.items()]
    container.clear()
    container.update(items)


def _rename_calls(node, old: str, new: str) -> None:
    """Block calls use the block's name as their layer type: rename them with it."""
    if isinstance(node, dict):
        if old in node:
            _rename_key(node, old, new)
        if node.get("type") == old:
            node["type"] = new
        for value in node.values():
            _rename_calls(value, old, new)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if value == old:
                node[i] = new
            else:
                _rename_calls(value, old, new)


def mutate_names(tree, rng: random.Random):
    """One to three names of the spec replaced by hostile ones (calls of a renamed block follow it)."""
    tree = copy.deepcopy(tree)
    for _ in range(rng.choice([1, 1, 2, 3])):
        places = _name_places(tree)
        kind, container, key = rng.choice(places)
        if kind in ("spec", "layer"):
            container[key] = _mutated_name(container[key], rng)
        else:
            new = _mutated_name(str(key), rng)
            if new in container:
                continue
            _rename_key(container, key, new)
            if kind == "block":
                _rename_calls(tree.get("layers"), key, new)
                _rename_calls(tree.get("blocks"), key, new)
    return tree


def _output_args(output: str, tmp: Path) -> tuple[list[str], list[str]]:
    """(arguments before the spec, after it) that ask for ``output``."""
    if output in ("export",):
        return ["export"], ["--to", "pytorch"]
    if output == "plot":
        return ["plot"], ["-o", str(tmp / "out.svg")]
    if output == "report":
        return ["report"], ["-o", str(tmp / "out.html")]
    return [], ["-f", output]


def run_argv(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        with deadline(HANG_SECONDS):
            status = main(argv)
    except Hang:
        status = -1
    except SystemExit as e:  # argparse; the generated options are meant to pass it
        status = -2 if e.code != 0 else 0
    out, err = capsys.readouterr()
    return status, out, err


def contract_holds(status: int, out: str, err: str) -> bool:
    lines = err.splitlines()
    if status == 0:
        return "Traceback" not in err
    return status == 2 and out == "" and len(lines) == 1 and lines[0].startswith("archcalc: ") \
        and "Traceback" not in err


def check_cases(capsys, tmp_path: Path, label: str, make_case, cases: int = EXTRA_CASES) -> None:
    """Run ``make_case(rng, case_dir) -> argv`` for ``cases`` seeded cases; fail listing every broken one."""
    failures = []
    for case in range(cases):
        rng = random.Random(f"{FUZZ_SEED}:{label}:{case}")
        case_dir = tmp_path / f"case{case}"
        case_dir.mkdir()
        argv = make_case(rng, case_dir)
        status, out, err = run_argv(capsys, argv)
        if not contract_holds(status, out, err):
            failures.append(f"{label} case {case}: exit {status}, argv {argv!r}, stderr {err[-400:]!r}")
    assert not failures, (f"{len(failures)} of {cases} cases broke the contract (ARCHCALC_FUZZ_SEED="
                          f"{FUZZ_SEED!r}):\n" + "\n".join(failures[:5]))


@pytest.mark.parametrize("output", OUTPUTS)
def test_hostile_names_never_crash(capsys, tmp_path, output):
    """Names holding quotes, line breaks (\\n, \\r, U+2028, U+0085), \\N, NUL, backslashes, $, |, = ... in
    every output: a report or one line."""
    trees = {path: yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER) for path in NAMED_ZOO}

    def make_case(rng, case_dir):
        drawn = output in ("plot", "report")
        path = rng.choice(NAMED_ZOO if not drawn else [SMALL_ZOO[0], SMALL_ZOO[2]])
        tree = trees.get(path) or yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
        spec_path = case_dir / "spec.yaml"
        spec_path.write_text(yaml.dump(mutate_names(tree, rng), Dumper=_DUMPER, sort_keys=False,
                                       allow_unicode=True), encoding="utf-8")
        before, after = _output_args(output, case_dir)
        return [*before, str(spec_path), *after]

    check_cases(capsys, tmp_path, f"names-{output}", make_case,
                DRAWN_CASES if output in ("plot", "report") else EXTRA_CASES)


def hostile_expression(rng: random.Random, kind: str) -> str:
    if kind == "deep":
        k = rng.choice([10, 49, 50, 51, 100, 300, 1000])
        return rng.choice(["(" * k + "1" + ")" * k, "-" * k + "4", "min(" * k + "1" + ", 1)" * k,
                           "not " * k + "1", "(" * k + "H" + ")" * k])
    if kind == "power":
        return rng.choice(["2**4096", "2**4097", "10**10**10", "9**9**9", "2**-100000", "(1/3)**100000",
                           f"2**{rng.randrange(10**6)}", "4**2048", "(2**2048)**2", "10**400 / 3", "1e308 * 10",
                           "2**2048 * 2**2048", "-(2**4000)", "2**4080"])
    if kind == "chain":
        n = rng.choice([10, 100, 499, 500, 501, 1000])
        op = rng.choice(["+", "*", "-", "//", " if 1 else "])
        return op.join([rng.choice(["1", "2", "H", "2**60", "x"])] * n)
    return rng.choice(["1e400", "0.1 + 0.2", "1/0", "0**-1", "nan", "1e-400", "3.5", "2**0.5", "1e308",
                       "-1e308", "10**308 * 10.0"])


@pytest.mark.parametrize("kind", ["deep", "power", "chain", "float"])
def test_hostile_expressions_never_crash(capsys, tmp_path, kind):
    """A numeric field, a variable or a block argument replaced by a hostile expression."""
    base = yaml.load((ROOT / "specs" / "lenet5.yaml").read_text(encoding="utf-8"), Loader=_LOADER)

    def make_case(rng, case_dir):
        tree = copy.deepcopy(base)
        text = hostile_expression(rng, kind)
        where = rng.randrange(4)
        if where == 0:
            tree["variables"][rng.choice(list(tree["variables"]))] = text
        elif where == 1:
            fields = [(body, k) for item in tree["layers"] if isinstance(item, dict) for body in item.values()
                      for k, v in body.items() if isinstance(v, int)]
            body, key = rng.choice(fields)
            body[key] = text
        elif where == 2:
            tree["layers"].insert(rng.randrange(len(tree["layers"])), {"elu": {"alpha": text}})
        else:
            tree["variables"]["x"] = text
            tree["layers"].append({"relu": {"repeat": "1 if x else 1"}})
        spec_path = case_dir / "spec.yaml"
        spec_path.write_text(yaml.dump(tree, Dumper=_DUMPER, sort_keys=False), encoding="utf-8")
        return rng.choice([[str(spec_path), "-f", rng.choice(FORMATS)], [str(spec_path), "--symbolic", "H"],
                           [str(spec_path), "--memory"], [str(spec_path), "--hardware", "a100-80gb-sxm"],
                           ["export", str(spec_path), "--to", "pytorch"], ["compare", str(spec_path)]])

    check_cases(capsys, tmp_path, f"expressions-{kind}", make_case)


def _names(rng: random.Random) -> str:
    return rng.choice(["H", "W", "T", "L", "classes", "channels", "batch", "nope", "x y", "²", "__import__", "i",
                       "levels", "H"])


OPTION_VALUES = {
    "set": ["0", "-1", "1", "7", "32", "64", "3x", "H * 2", "10**3", "1/2", "", "abc", "-0", "H", "1,2"],
    "batch": ["1", "0", "-3", "8", "7"], "depth": ["0", "1", "-1", "3"], "max": ["1", "0", "-1", "100", "4096"],
    "efficiency": ["1", "0.5", "0", "-1", "0.01"]}
HUGE_OPTION_VALUES = {
    "set": ["²", "1e400", str(10**30), "2**62", "9" * 50, "9" * 5000, "2**4080", "1e308"],
    "batch": [str(2**63), str(10**30)], "depth": [str(10**6), str(10**30)], "max": [str(10**9), str(10**30)],
    "efficiency": ["nan", "inf", "1e308", "1e-308"]}


def option_args(command: str, rng: random.Random, case_dir: Path, huge: bool = False) -> list[str]:
    """Random, argparse-valid options for ``command``: every value is what a user could type; with ``huge``,
    some are huge numbers or digits other than 0-9."""
    pools = {k: OPTION_VALUES[k] + (HUGE_OPTION_VALUES[k] if huge else []) for k in OPTION_VALUES}
    args: list[str] = []
    if command not in ("schema", "zoo"):
        for _ in range(rng.randrange(3)):
            args += ["--set", f"{_names(rng)}={rng.choice(pools['set'])}"]
    if command in ("formula", "sweep", "solve", "compare", "plot", "report"):
        # each command takes only the options it uses (archcalc COMMAND --help)
        if command in ("formula", "compare", "report") and rng.random() < 0.3:
            args += ["--symbolic", *(_names(rng) for _ in range(rng.randint(1, 2)))]
        if command in ("formula", "report") and rng.random() < 0.3:
            args += ["--simplify", rng.choice(["expand", "factor", "collect", "none"])]
        if command in ("formula", "report") and rng.random() < 0.2:
            args += ["--collect", _names(rng)]
        if rng.random() < 0.3:
            args += ["--batch", rng.choice(pools["batch"])]
        if command != "compare" and rng.random() < 0.3:
            args += ["--convention", rng.choice(["archcalc", "torch", "fvcore", "ptflops", "thop", "torchinfo",
                                                 "paper", "kaplan", "nope", str(case_dir / "missing.yaml")])]
    if command == "formula":
        args += ["--metric", rng.choice(["params", "buffers", "macs", "flops", "activations", "rf"])]
        if rng.random() < 0.5:
            args.append("--latex")
    elif command == "sweep":
        for _ in range(rng.randint(1, 2)):
            args += ["--vary", f"{_names(rng)}=" + rng.choice(
                ["32:64:32", "8:16:8", "32", "1,2,3", "1:10:0", "10:1:1", "a:b:c", "", "1:2:3:4", "-5:5:5",
                 "0:0:1", "224,256", "1:100:7",
                 *(["1:1000000000000000000000:100000000000000000000", "1:10:10000000000000000000000"] if huge
                   else [])])]
        args += ["--metric", *rng.sample(["params", "buffers", "macs", "flops", "activations"], rng.randint(1, 3))]
        args += ["-f", rng.choice(["csv", "json", "table"])]
        if rng.random() < 0.2:
            args += ["--plot", str(case_dir / "sweep.svg")]
    elif command == "solve":
        args += ["--budget", rng.choice(["macs=4e9", "params=25M", "flops=1e12", "macs=1", "macs=0", "macs=-1",
                                         "macs=abc", "x=1", "activations=10G", "params=1/3", "macs=",
                                         *(["macs=1e400", "macs=1e4000"] if huge else [])])]
        args += ["--for", _names(rng)]
        if rng.random() < 0.5:
            args += ["--max", rng.choice(pools["max"])]
    elif command == "compare":
        args += ["--metric", rng.choice(["macs", "flops"]), "-f", rng.choice(["table", "markdown", "json"])]
    elif command == "plot":
        args += ["-o", str(case_dir / rng.choice(["p.svg", "p.png", "p.pdf"])),
                 "--kind", rng.choice(["layers", "cumulative", "rf", "summary"])]
        if rng.random() < 0.5:
            args += ["--depth", rng.choice(pools["depth"])]
    elif command == "report":
        args += ["-o", str(case_dir / "r.html")]
        if rng.random() < 0.5:
            args += ["--hardware", rng.choice(["a100-80gb-sxm", "h100-sxm", "cpu", "nope", "list",
                                               str(case_dir / "missing.yaml")])]
        if rng.random() < 0.4:
            args += ["--dtype", rng.choice(["fp32", "bf16", "fp16", "int8"])]
        if rng.random() < 0.4:
            args += ["--efficiency", rng.choice(pools["efficiency"])]
        if rng.random() < 0.3:
            args.append("--memory")
        if rng.random() < 0.3:
            args += ["--optimizer", rng.choice(["sgd", "momentum", "adam"])]
    elif command == "export":
        args += ["--to", "pytorch"]
        if rng.random() < 0.5:
            args += ["-o", str(case_dir / "model.py")]
    return args


COMMANDS = ("formula", "sweep", "solve", "compare", "plot", "report", "export", "schema", "zoo")


def _command_case(command: str, huge: bool):
    def make_case(rng, case_dir):
        argv = [command] if command in ("schema", "zoo") else [command, rng.choice(SMALL_ZOO)]
        return argv + option_args(command, rng, case_dir, huge)
    return make_case


@pytest.mark.parametrize("command", COMMANDS)
def test_subcommand_options_never_crash(capsys, tmp_path, command):
    """Every subcommand with random option values: a result or one line."""
    check_cases(capsys, tmp_path, f"options-{command}", _command_case(command, huge=False),
                DRAWN_CASES if command in ("plot", "report", "schema", "zoo") else EXTRA_CASES)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ("schema", "zoo")])
def test_huge_option_values_never_crash(capsys, tmp_path, command):
    """The same, with huge numbers among the values (2**63, 10**30, 5,000 digits, '²', nan, inf)."""
    check_cases(capsys, tmp_path, f"huge-options-{command}", _command_case(command, huge=True),
                DRAWN_CASES if command in ("plot", "report") else EXTRA_CASES)


# ---------------------------------------------------------------- 3. safe YAML

def billion_laughs(levels: int = 9) -> str:
    rows = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijklmnop"
    for prev, cur in zip(names[:levels - 1], names[1:levels]):
        rows.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(rows) + "\n"


def test_billion_laughs_is_refused_quickly_in_bounded_memory(monkeypatch):
    text = billion_laughs(9)  # 10**9 strings once expanded
    events = count_calls(monkeypatch, yamlio._Base, "get_event")
    import resource
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    tracemalloc.start()
    try:
        with deadline(HANG_SECONDS), pytest.raises(ArchcalcError) as info:
            yamlio.load_yaml(text, "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # the text has 9 rows of 12 parser events: refused while reading it, nothing expanded
    assert 0 < events["get_event"] <= 9 * 12 + 5, events
    assert peak < 50 * 2**20, peak  # Python allocations
    if sys.platform.startswith("linux"):
        assert rss_after - rss_before < 50 * 2**10  # and the process (libyaml's C allocations too)
    assert "expands to more than" in info.value.format()
    assert "\n" not in info.value.format()


def test_billion_laughs_through_the_cli(capsys, tmp_path):
    line = run_bad(capsys, tmp_path, "name: t\ninput: [3, 8, 8]\nlayers: [relu]\n" + billion_laughs(9))
    assert "expands to more than" in line


def test_merge_keys_override_without_being_duplicates(capsys, tmp_path):
    """``<<: *base`` then an own key is YAML's override (not a duplicate key); an own key twice still is."""
    out = run_ok(capsys, tmp_path, HEADER + "  - conv2d: &base {out_channels: 4, kernel_size: 3}\n"
                 "  - conv2d: {<<: *base, kernel_size: 1}\n"
                 "  - conv2d: {<<: [{out_channels: 2}, {out_channels: 6}], kernel_size: 1}\n", "-f", "csv")
    shapes = re.findall(r"^conv2d_\d,conv2d,([\dx]+),", out, re.M)
    assert shapes == ["1x4x6x6", "1x4x6x6", "1x2x6x6"]  # the first of several merged maps wins, as in YAML
    line = run_bad(capsys, tmp_path, HEADER + "  - conv2d: &base {out_channels: 4, kernel_size: 3}\n"
                                              "  - conv2d: {<<: *base, kernel_size: 1, kernel_size: 2}\n")
    assert line.endswith("duplicate key 'kernel_size' (it was already set on line 5; keep one)")


@pytest.mark.parametrize("where", ["block", "nested"])
def test_duplicate_keys_anywhere(capsys, tmp_path, where):
    if where == "block":
        text = ("name: t\ninput: [3, 8, 8]\nblocks:\n  b:\n    layers: [relu]\n  b:\n    layers: [tanh]\n"
                "layers: [b]\n")
        line_no = 6
    else:
        text = HEADER + "  - residual:\n      body: [relu]\n      body: [tanh]\n"
        line_no = 6
    line = run_bad(capsys, tmp_path, text)
    assert f":{line_no}: duplicate key " in line


PYTHON_TAGS = [
    "!!python/object/apply:os.system ['touch {s}']",
    "!!python/object/new:os.system ['touch {s}']",
    "!!python/object/apply:subprocess.call [['touch', '{s}']]",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:builtins.object {{}}",
    "!<tag:yaml.org,2002:python/object/apply:os.system> ['touch {s}']",
]


@pytest.mark.parametrize("tag", PYTHON_TAGS)
@pytest.mark.parametrize("where", ["name", "layer", "key"])
def test_python_tags_are_refused_never_run(capsys, tmp_path, monkeypatch, tag, where):
    sentinel = tmp_path / "PWNED"
    value = tag.format(s=sentinel)
    text = {"name": f"name: {value}\ninput: [3, 8, 8]\nlayers: [relu]\n",
            "layer": HEADER + f"  - conv2d: {{out_channels: {value}, kernel_size: 3}}\n",
            "key": HEADER + f"  - ? {value}\n    : 1\n"}[where]
    monkeypatch.chdir(tmp_path)
    line = run_bad(capsys, tmp_path, text)
    assert "python/" in line
    with pytest.raises(ArchcalcError):
        archcalc.load(text)
    assert not sentinel.exists()
    assert sorted(os.listdir(tmp_path)) == ["spec.yaml"]


def test_tag_directive_cannot_reach_python_tags(capsys, tmp_path):
    sentinel = tmp_path / "PWNED"
    text = f"%TAG !p! tag:yaml.org,2002:python/\n---\nname: !p!object/apply:os.system ['touch {sentinel}']\n"
    run_bad(capsys, tmp_path, text)
    assert not sentinel.exists()


@pytest.mark.parametrize("value, words", [
    ("!!int abc", "invalid literal"),
    ("!!float abc", "could not convert"),
    ("2020-13-01", "month must be in 1..12"),
    ("9" * 5000, "an integer has too many digits"),
])
def test_values_their_tag_cannot_hold(capsys, tmp_path, value, words):
    """Fixed here: these escaped load_yaml as ValueError (exit 3)."""
    line = run_bad(capsys, tmp_path, f"name: t\ninput: [3, 8, 8]\nlayers: [relu]\ndescription: {value}\n")
    assert "YAML error" in line and words in line


# ---------------------------------------------------------------- 4. size limits

def nested_blocks(depth: int) -> str:
    """Blocks b1 -> b2 -> ... -> b<depth>, each calling the next; the last holds a relu."""
    rows = ["name: t", "input: [3, 8, 8]", "blocks:"]
    for k in range(1, depth + 1):
        inner = f"b{k + 1}" if k < depth else "relu"
        rows.append(f"  b{k}: {{layers: [{inner}]}}")
    rows.append("layers: [b1]")
    return "\n".join(rows) + "\n"


def test_block_nesting_limit(capsys, tmp_path):
    out = run_ok(capsys, tmp_path, nested_blocks(graph.MAX_DEPTH), "-f", "csv")
    assert "b1_1.b2_1.b3_1.b4_1." in out and f"b{graph.MAX_DEPTH}_1.relu_1," in out
    line = run_bad(capsys, tmp_path, nested_blocks(graph.MAX_DEPTH + 1))
    assert f"blocks are nested more than {graph.MAX_DEPTH} deep" in line


def test_repeat_count_limit(capsys, tmp_path, monkeypatch):
    leaves = count_calls(monkeypatch, graph.Expander, "leaf")
    for count in (graph.MAX_NODES + 1, 10**30, "'10**100'"):
        line = run_bad(capsys, tmp_path, HEADER + f"  - relu: {{repeat: {count}}}\n")
        assert leaves["leaf"] == 0  # refused before a single layer is built
        assert "repeat" in line and f"above the limit of {graph.MAX_NODES:,}" in line


def test_total_layer_limit(capsys, tmp_path, monkeypatch):
    """Nested repeats multiply; the node count is checked as the tree grows (a small limit keeps this fast).
    Issue 12 made every node count, groups too: 5 copies of (a sequential + 10 relus) are 55 nodes."""
    monkeypatch.setattr(graph, "MAX_NODES", 55)
    unit = "  - sequential: {{repeat: {outer}, layers: [{{relu: {{repeat: 10}}}}]}}\n"
    out = run_ok(capsys, tmp_path, HEADER + unit.format(outer=5), "-f", "json")
    assert len(json.loads(out)["layers"]) == 50
    line = run_bad(capsys, tmp_path, HEADER + unit.format(outer=6))
    assert "the spec expands to more than 55 layers and groups (" in line and "reduce repeat counts)" in line


def test_total_layer_limit_at_full_size(capsys, tmp_path, monkeypatch):
    """At the real limit: 1,000 x 1,000 relus are refused as the tree grows, not after building 10**6 layers."""
    leaves = count_calls(monkeypatch, graph.Expander, "leaf")
    line = run_bad(capsys, tmp_path, HEADER + "  - sequential: {repeat: 1000, layers: [{relu: {repeat: 1000}}]}\n")
    assert f"expands to more than {graph.MAX_NODES:,} layers" in line
    assert leaves["leaf"] <= graph.MAX_NODES + 1  # work within the cap: a repeat that cannot fit stops after a copy


def test_yaml_node_limit_boundary(monkeypatch):
    # root map 1 + key a 1 + [1, 1, 1] 4 + key b 1 + [*a, *a] (1 + 4 + 4) = 16 nodes once expanded
    text = "a: &a [1, 1, 1]\nb: [*a, *a]\n"
    monkeypatch.setattr(yamlio, "MAX_NODES", 16)
    assert yamlio.load_yaml(text) == {"a": [1, 1, 1], "b": [[1, 1, 1], [1, 1, 1]]}
    monkeypatch.setattr(yamlio, "MAX_NODES", 15)
    with pytest.raises(ArchcalcError, match="expands to more than 15 nodes"):
        yamlio.load_yaml(text)


def test_yaml_node_limit_at_full_size(capsys, tmp_path, monkeypatch):
    # a: 1 + 1,000 nodes; b: 1 + 1,000 * 1,001; c: 1 + 2 * that = 2,002,003 > 2,000,000
    text = ("name: t\ninput: [3, 8, 8]\nlayers: [relu]\nd:\n  a: &a [" + ", ".join(["1"] * 1000) + "]\n"
            "  b: &b [" + ", ".join(["*a"] * 1000) + "]\n  c: [*b, *b]\n")
    events = count_calls(monkeypatch, yamlio._Base, "get_event")
    line = run_bad(capsys, tmp_path, text)
    assert f"the YAML expands to more than {yamlio.MAX_NODES:,} nodes" in line
    assert events["get_event"] < 2_100  # the ~2,000 events of the text itself, nothing expanded


def test_expression_length_limit(capsys, tmp_path):
    at_limit = "4" + " " * (expr.MAX_LENGTH - 1)
    out = run_ok(capsys, tmp_path, HEADER + f"  - conv2d: {{out_channels: '{at_limit}', kernel_size: 3}}\n",
                 "-f", "csv")
    assert "1x4x6x6" in out
    line = run_bad(capsys, tmp_path, HEADER + f"  - conv2d: {{out_channels: '{at_limit} ', kernel_size: 3}}\n")
    assert f"expression is longer than {expr.MAX_LENGTH} characters" in line


def test_expression_depth_limit(capsys, tmp_path):
    # "--...-4": Expression > UnaryOp x k > Constant is k + 2 levels deep
    k = expr.MAX_DEPTH - 2
    out = run_ok(capsys, tmp_path, HEADER + f"  - conv2d: {{out_channels: '{'-' * k}4', kernel_size: 3}}\n",
                 "-f", "csv")
    assert "1x4x6x6" in out
    line = run_bad(capsys, tmp_path, HEADER + f"  - conv2d: {{out_channels: '{'-' * (k + 2)}4', kernel_size: 3}}\n")
    assert f"expression is nested more than {expr.MAX_DEPTH} levels deep" in line


def test_power_limit(capsys, tmp_path):
    # 2 ** e costs 2 bits per unit of e in the check: 2 ** 2048 is at the limit of 4096
    assert expr.MAX_POWER_BITS == 4096
    out = run_ok(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: '2**2048', kernel_size: 1}\n", "-f", "json")
    assert json.loads(out)["totals"]["params"] == 2**2048 * 3 + 2**2048  # weight [c, 3, 1, 1] + bias [c]
    line = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: '2**2049', kernel_size: 1}\n")
    assert "power too large" in line and "limited to 4096 bits" in line


def test_expression_results_are_bounded(capsys, tmp_path, monkeypatch):
    """Fixed here: products are bounded like powers. Chained through variables they grew without limit
    (a: 40 factors of 2**2000, b: a*...*a, c: b*...*b, d: c*...*c was 5 * 10**9 bits, gigabytes and minutes)."""
    a = "*".join(["2**2000"] * 40)
    b, c, d = ("*".join([name] * 40) for name in "abc")
    text = f"name: t\nvariables:\n  a: '{a}'\n  b: '{b}'\n  c: '{c}'\n  d: '{d}'\ninput: [3, 8, 8]\nlayers: [relu]\n"
    largest = [0]
    product = expr._Evaluator.visit_BinOp

    def measured(self, node):
        value = product(self, node)
        largest[0] = max(largest[0], value.bit_length() if isinstance(value, int) else 0)
        return value

    monkeypatch.setattr(expr._Evaluator, "visit_BinOp", measured)
    line = run_bad(capsys, tmp_path, text)
    # refused at the first product over the limit, so nothing larger than two bounded factors was computed
    assert expr.MAX_BITS < largest[0] <= 2 * expr.MAX_BITS
    assert ":3: variable a: a result in" in line and "is too large (results are limited to 4096 bits)" in line
    line = run_bad(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: '2**2048 * 2**2048', kernel_size: 1}\n")
    assert "too large" in line


@pytest.mark.parametrize("variable, expression, channels", [
    ("0.5", "x * 10**400", 5 * 10**399),  # once an int too large to convert to float (OverflowError, exit 3)
    ("1.0e+300", "x ** 2", 10**600),  # once a float overflow
    ("1.0e+300", "x // 10**400", 0),  # 10**300 // 10**400 = 0 channels: refused
])
def test_float_variables_are_exact_and_cannot_overflow(capsys, tmp_path, variable, expression, channels):
    """Fixed here: OverflowError escaped the evaluator (exit 3). A float variable is the decimal it was written as,
    so the figures are exact: a 1x1 conv from 3 channels has 3c weights + c biases = 4c parameters."""
    text = (f"name: t\nvariables: {{x: {variable}}}\ninput: [3, 8, 8]\nlayers:\n"
            f"  - conv2d: {{out_channels: '{expression}', kernel_size: 1}}\n")
    if channels == 0:
        assert "out_channels: expected a positive integer, got 0" in run_bad(capsys, tmp_path, text)
        return
    out = run_ok(capsys, tmp_path, text, "-f", "json")
    assert json.loads(out)["totals"]["params"] == 4 * channels


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_numbers_are_refused(capsys, tmp_path, value):
    """Fixed here: leaky_relu: {negative_slope: .inf} crashed converting infinity to a fraction."""
    line = run_bad(capsys, tmp_path, HEADER + f"  - leaky_relu: {{negative_slope: {value}}}\n")
    assert "negative_slope: expected a finite number" in line


def test_symbolic_adaptive_pooling_is_bounded(capsys, tmp_path, monkeypatch):
    """Fixed here: a symbolic size pooled to 10**9 outputs looped over every integer up to 10**9 (a hang;
    10**6 took 9 s); a closed form with too many terms is refused, small ones still work."""
    text = "name: t\nsymbols: [H]\ninput: [3, H, H]\nlayers:\n  - adaptive_avgpool2d: {output_size: %s}\n"
    from archcalc.layers import pool
    terms = count_calls(monkeypatch, pool, "_phi")  # one call per term of the closed form
    for size in ("1000000000", "[360, 360]"):
        line = run_bad(capsys, tmp_path, text % size)
        assert terms["_phi"] == 0  # refused before a term is built
        assert "adaptive pooling of" in line and "closed form" in line
    out = run_ok(capsys, tmp_path, text % "[6, 7]", "-f", "json")
    flops = json.loads(out)["totals"]["flops"]
    import sympy
    H = sympy.Symbol("H", integer=True, positive=True)
    formula = sympy.sympify(flops, locals={"H": H})
    for h in (6, 7, 12, 13, 42, 100):  # n + o - gcd(n, o) per axis, times 3 channels
        from math import gcd
        assert formula.subs(H, h) == 3 * (h + 6 - gcd(h, 6)) * (h + 7 - gcd(h, 7)), h


def test_exact_integers_beyond_float_precision(capsys, tmp_path):
    """A linear layer with ~10**16 MACs (odd, above 2**53) and a relu over 10**15 + 10**9 elements."""
    n_in, n_out, batch = 100_000_007, 100_000_037, 3
    out = run_ok(capsys, tmp_path, f"name: t\ninput: [{n_in}]\nbatch: {batch}\nlayers:\n"
                                   f"  - linear: {{out_features: {n_out}}}\n", "-f", "json")
    data = json.loads(out)
    macs = n_in * n_out * batch
    assert macs == 30_000_013_200_000_777 and macs > 2**53 and float(macs) != macs
    assert data["totals"]["macs"] == macs
    assert data["totals"]["params"] == n_in * n_out + n_out == 10_000_004_500_000_296
    assert data["totals"]["flops"] == 2 * macs + n_out * batch
    out = run_ok(capsys, tmp_path, "name: t\ninput: [1000, 1000000, 1000001]\nlayers: [relu]\n", "-f", "json")
    totals = json.loads(out)["totals"]
    assert totals["activations"] == totals["flops"] == 1_000_001_000_000_000
    assert type(archcalc.analyze(archcalc.load({"name": "t", "input": [n_in], "batch": batch,
                                                "layers": [{"linear": {"out_features": n_out}}]})).totals.macs) is int


# ---------------------------------------------------------------- 5. file handling

def test_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(HEADER + "  - conv2d: {out_channels: 4, kernel_size: 3}\n"))
    status, out, err, _ = cli(capsys, "-", "-f", "json")
    assert status == 0 and err == ""
    assert json.loads(out)["totals"]["params"] == 112  # 4 * 3 * 3 * 3 + 4
    monkeypatch.setattr(sys, "stdin", io.StringIO(HEADER + "  - relu\n  - conv2d: {out_channels: 4}\n"))
    line = one_error_line(*cli(capsys, "-")[:3])
    assert line.startswith("archcalc: <stdin>:5: layer ") and "missing required field 'kernel_size'" in line
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert "the spec is empty" in one_error_line(*cli(capsys, "-")[:3])


def test_stdin_with_bom_and_crlf(capsys, monkeypatch):
    text = ("\ufeffname: t\r\ninput: [3, 8, 8]\r\nlayers:\r\n  - relu\r\n"
            "  - conv2d: {out_channels: 4, kernel_size: 30}\r\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    line = one_error_line(*cli(capsys, "-")[:3])
    assert line.startswith("archcalc: <stdin>:5: layer ")


def test_cr_only_line_ends_keep_line_numbers(capsys, tmp_path):
    line = run_bad(capsys, tmp_path, (HEADER + "  - relu\n  - conv2d: {out_channels: 4, kernel_size: 30}\n")
                   .replace("\n", "\r"))
    assert line.startswith(f"archcalc: {tmp_path / 'spec.yaml'}:5: ")


@pytest.mark.parametrize("data, line_no", [
    ((HEADER + "  - relu\n").encode("utf-16"), 1),  # UTF-16 with its BOM
    (HEADER.encode() + b"  - relu\n  # \xc0\xaf overlong\n", 5),
    (HEADER.encode() + b"  - relu\n  # \xed\xa0\x80 surrogate\n", 5),
    (HEADER.encode() + b"  - relu\n  # cut \xe2\x82", 5),
], ids=["utf-16", "overlong", "surrogate", "truncated"])
def test_not_utf8(capsys, tmp_path, data, line_no):
    line = run_bad(capsys, tmp_path, data)
    assert line.startswith(f"archcalc: {tmp_path / 'spec.yaml'}:{line_no}: the file is not UTF-8 text")


@pytest.mark.parametrize("char", ["\x00", "\x07", "\ufffe"], ids=["nul", "bell", "non-character"])
def test_control_characters(capsys, tmp_path, char):
    line = run_bad(capsys, tmp_path, HEADER + f"  - relu{char}\n")
    assert "YAML" in line


def test_nothing_is_written_next_to_the_spec(capsys, tmp_path, monkeypatch):
    """Successful and failing runs, in every format, leave the spec's directory (and the cwd) as they were."""
    monkeypatch.chdir(tmp_path)
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(HEADER + "  - conv2d: {out_channels: 4, kernel_size: 3}\n  - flatten\n"
                             "  - linear: {out_features: 2}\n")
    bad.write_text(HEADER + "  - flatten\n  - conv2d: {out_channels: 4, kernel_size: 3}\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    for fmt in ("table", "json", "csv", "markdown", "latex"):
        assert cli(capsys, good, "-f", fmt)[0] == 0
        assert cli(capsys, "good.yaml", "-f", fmt)[0] == 0
        assert cli(capsys, bad, "-f", fmt)[0] == 2
    assert cli(capsys, tmp_path / "missing.yaml")[0] == 2
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before


# ---------------------------------------------------------------- 6. regressions found by this fuzzing

BLOCK = "name: t\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {w: 1}\n    layers: [relu]\nlayers:\n"


def test_block_argument_named_by_a_number(capsys, tmp_path):
    line = run_bad(capsys, tmp_path, BLOCK + "  - b: {5: 1}\n")
    assert "b has no argument 5" in line and "its arguments: w" in line


def test_variables_not_a_mapping(capsys, tmp_path):
    line = run_bad(capsys, tmp_path, "name: t\nvariables: 5\nsymbols: [H]\ninput: [3, 8, 8]\nlayers: [relu]\n")
    assert "variables must be a mapping" in line


@pytest.mark.parametrize("symbols", ["[1]", "[null]", "{5: null}", "[{H: 1}]", "['2x']"])
def test_symbol_names_must_be_identifiers(capsys, tmp_path, symbols):
    line = run_bad(capsys, tmp_path, f"name: t\nsymbols: {symbols}\ninput: [3, 8, 8]\nlayers: [relu]\n")
    assert "is not an identifier" in line and ":2:" in line  # the symbols line


def test_table_of_counts_beyond_float_range(capsys, tmp_path):
    """A float overflows near 1e308; the table shows such counts in scientific notation."""
    out = run_ok(capsys, tmp_path, HEADER + "  - conv2d: {out_channels: '10**320', kernel_size: 1}\n")
    # params: weight 3 * 10**320 (3 in-channels, 1x1 kernel) + bias 10**320 = 4e320
    assert "4.00e+320" in out


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_counts_print_exactly_up_to_the_digit_cap(capsys, tmp_path, fmt):
    """Counts are exact up to the cap on numbers; past it, one line. (Issue 12 capped every number, at
    num.MAX_BITS = 4,096 bits, below Python's 4,300-digit int <-> str limit: this test printed 4,817 digits.)"""
    from archcalc.core.num import MAX_BITS
    text = "name: t\nvariables: {n: '2**2000'}\ninput: [%s]\nlayers: [relu]\n"
    limit = sys.get_int_max_str_digits()
    out = run_ok(capsys, tmp_path, text % "n, n", "-f", fmt)
    assert sys.get_int_max_str_digits() == limit  # the CLI restores the interpreter's limit
    activations = (2**2000) ** 2  # the relu's output elements: 4,001 bits, 1,205 digits
    assert activations.bit_length() <= MAX_BITS
    if fmt == "json":
        assert json.loads(out)["layers"][0]["activations"] == activations
    else:
        assert f",{activations}," in out
    line = run_bad(capsys, tmp_path, text % "n, n, n", "-f", fmt)  # 6,001 bits
    assert "has more than 4,096 bits" in line


@pytest.mark.parametrize("field", ["macs: null", "params: [1]", "flops: {a: 1}", "params: 1.5", "buffers: -1",
                                   "macs: 'in0 / 2'"])
def test_custom_layer_costs_must_be_integers(capsys, tmp_path, field):
    line = run_bad(capsys, tmp_path, f"name: t\ninput: [3, 8, 8]\ncustom:\n  c: {{{field}}}\nlayers: [c]\n")
    assert f"{field.split(':')[0]} is " in line and "integer" in line


@pytest.mark.parametrize("rf", ["{kernel: .inf}", "{stride: {}}", "{kernel: 0}", "{padding: 0.5}"])
def test_custom_layer_rf_must_be_integers(capsys, tmp_path, rf):
    line = run_bad(capsys, tmp_path, f"name: t\ninput: [3, 8, 8]\ncustom:\n  c: {{rf: {rf}}}\nlayers: [c]\n")
    assert "rf." in line and "integer" in line


def test_largest_allowed_spec_runs(capsys, tmp_path):
    """The layer limit sits where a maximal spec still finishes well inside the hang guard."""
    path = tmp_path / "spec.yaml"
    path.write_text(HEADER + f"  - relu: {{repeat: {graph.MAX_NODES}}}\n", encoding="utf-8")
    status, out, err, _ = cli(capsys, path, "-f", "json")
    assert status == 0, err
    assert len(json.loads(out)["layers"]) == graph.MAX_NODES
