"""Hostile names through every output format, names that load-time validation refuses, and outputs that cannot be
written. Each case ends in status 0 with the output escaped as its format requires (the expected text is written
out here by hand, from the format's own rules), or in status 2 with exactly one stderr line starting
``archcalc: `` and no traceback.

Formats and their rules (archcalc/core/escape.py): LaTeX escapes ``\\ { } $ & # % _ ^ ~`` as commands, ``< > |`` as
text symbols and braces ``[ ] *``; CSV puts a single quote before a cell starting with ``= + - @`` (a tab or CR),
numbers excepted outside the name and type columns; Markdown puts a backslash before ``\\ ` * _ [ ] < > | ~ $ & #``
(``_`` inside a word excepted); matplotlib text has every ``$`` escaped (no mathtext) and never uses TeX; HTML is
html.escape'd; JSON is json.dumps. Process-level cases (a full disk, a closed or broken standard output) run in a
subprocess; the others call archcalc.cli.main.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from archcalc.cli import main
from archcalc.core.escape import csv_cell

q = json.dumps  # a JSON string is a YAML double-quoted scalar


def write_spec(folder: Path, layer: str = "conv", network: str = "net", file: str = "net.yaml",
               extra: str = "") -> str:
    """A small convolutional spec with a layer named ``layer`` (and a block named ``b`` + ``layer``)."""
    path = folder / file
    path.write_text(f"name: {q(network)}\ninput: [3, 16, 16]\nlayers:\n"
                    f"  - conv2d: {{name: {q(layer)}, out_channels: 4, kernel_size: 3}}\n"
                    f"  - sequential: {{name: {q('b' + layer)}, layers: [relu]}}\n" + extra, encoding="utf-8")
    return str(path)


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one line of a refusal (status 2, nothing on standard output)."""
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    one_line(captured.err)
    return captured.err.strip()


def one_line(err: str) -> None:
    assert err.startswith("archcalc: ") and err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and err.strip().isprintable()


# ---------------------------------------------------------------- LaTeX

LATEX = [(r"\input{/etc/passwd}", r"\textbackslash{}input\{/etc/passwd\}"),
         (r"$\undefinedmacro{x}$", r"\$\textbackslash{}undefinedmacro\{x\}\$"),
         ("a&b%c#d^e~f_g", r"a\&b\%c\#d\^{}e\textasciitilde{}f\_g"),
         ("[1cm]*<|>", r"{[}1cm{]}{*}\textless{}\textbar{}\textgreater{}"),
         ("\\", r"\textbackslash{}")]
# The control sequences the escaped text may hold: the escapes themselves, and nothing else.
LATEX_ESCAPES = {"textbackslash", "textasciitilde", "textless", "textgreater", "textbar", "{", "}", "$", "&", "#",
                 "%", "_", "^"}


@pytest.mark.parametrize(("name", "escaped"), LATEX, ids=range(len(LATEX)))
def test_latex_names_are_text(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, escaped: str) -> None:
    out = ok(capsys, write_spec(tmp_path, name, network=name), "-f", "latex")
    row = next(line for line in out.splitlines() if line.endswith("\\\\") and " & conv2d & " in line)
    cell = row.split(" & conv2d & ")[0]
    assert cell == escaped
    caption = next(line for line in out.splitlines() if line.startswith("\\caption["))
    assert caption == f"\\caption[{escaped}: cost by layer]{{{escaped}: cost by layer$^{{\\dagger}}$}}"
    note = next(line for line in out.splitlines() if line.startswith("\\par\\smallskip"))
    assert "$^{\\dagger}$\\,convention archcalc: MAC = " in note
    assert set(re.findall(r"\\([A-Za-z]+|.)", cell)) <= LATEX_ESCAPES
    assert "\\input" not in out and "\\undefinedmacro" not in out


# ---------------------------------------------------------------- CSV

CSV_NAMES = ["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", '=HYPERLINK("http://example/x")']


@pytest.mark.parametrize("name", CSV_NAMES, ids=range(len(CSV_NAMES)))
def test_csv_formula_cells_are_quoted(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    # a crop after a valid conv moves the receptive field's start: its padding is -2, a number that stays one
    spec = write_spec(tmp_path, name, network=name, extra="  - crop: {name: cropped, margin: 2}\n")
    rows = list(csv.reader(io.StringIO(ok(capsys, spec, "-f", "csv"))))
    assert rows[1][0] == "'" + name and rows[1][1] == "conv2d"
    assert rows[1][3] == str(4 * 3 * 3 * 3 + 4)  # params: 4 filters of 3 x 3 x 3, and 4 biases
    assert rows[2][0] == f"b{name}.relu_1"  # starts with b: as it is
    crop = next(r for r in rows if r[0] == "cropped")
    assert crop[-1] == "-2" and int(crop[-1]) == -2  # RF padding: 0 (valid conv) - 2 cropped = -2, a number
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows[1:] for cell in r[:2])


def test_csv_cell_rule() -> None:
    assert [csv_cell(v) for v in ("-2", "-1/2", "-1.5e3", "=1", "+1", "@x", "\tx", "\rx", "-H + 1")] == \
        ["-2", "-1/2", "-1.5e3", "'=1", "'+1", "'@x", "'\tx", "'\rx", "'-H + 1"]
    assert [csv_cell(v, text=True) for v in ("-2", "conv", "=1")] == ["'-2", "conv", "'=1"]


# ---------------------------------------------------------------- Markdown

MARKDOWN = [("a|b", "a\\|b"), ("`rm -rf`", "\\`rm -rf\\`"),
            ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
            ("**bold** [x](http://e)", "\\*\\*bold\\*\\* \\[x\\](http://e)"), ("_em_ a_b", "\\_em\\_ a_b"),
            ("$x$ &amp; ~s~ #h \\", "\\$x\\$ \\&amp; \\~s\\~ \\#h \\\\")]


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


@pytest.mark.parametrize(("name", "escaped"), MARKDOWN, ids=range(len(MARKDOWN)))
def test_markdown_names_are_text(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, escaped: str) -> None:
    out = ok(capsys, write_spec(tmp_path, name, network=name), "-f", "markdown")
    lines = out.splitlines()
    assert lines[0] == f"### {escaped}"
    table = [line for line in lines if line.startswith("|")]
    assert all(unescaped_pipes(line) == unescaped_pipes(table[0]) for line in table)
    assert table[2].startswith(f"| {escaped} | conv2d | ")


# ---------------------------------------------------------------- HTML

class Page(HTMLParser):
    """Tags, attributes and texts of a page, as a browser reads them (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.texts: dict[str, list[str]] = {}
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.texts.setdefault(self.open[-1] if self.open else "", []).append(data)


HTML_NAMES = ["<script>alert(1)</script>", '" onmouseover="alert(1)', "' onload='alert(1)</td></tr><tr><td>x",
              "&amp;lt; &#60;"]


@pytest.mark.parametrize("name", HTML_NAMES, ids=range(len(HTML_NAMES)))
def test_html_names_are_text(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    spec, out = write_spec(tmp_path, name, network=name), tmp_path / "report.html"
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # the charts keep their text as text
        ok(capsys, "report", spec, "-o", str(out))
    page = Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert page.tags.count("script") == 1  # archcalc's own
    assert not [a for a, _ in page.attributes if a.startswith("on")]
    assert page.texts["title"] == [f"{name} - archcalc report"] and page.texts["h1"] == [name]
    assert ("data-name", name) in page.attributes and ("data-name", f"b{name}.relu_1") in page.attributes
    assert name in page.texts["a"]  # the layer's name, linked to its line in the spec
    assert name in page.texts["text"]  # an SVG chart's tick label
    spec_lines = "".join(page.texts["span"])
    assert Path(spec).read_text(encoding="utf-8") in spec_lines


# ---------------------------------------------------------------- matplotlib text: plot, report charts, sweep --plot

MATHTEXT = [r"$\undefinedmacro{x}$", "$x^2$", "a$b", "\\$", "$$", r"$\frac{1}{0}$"]


def svg_texts(path: Path) -> list[str]:
    return [t.text or "" for t in ET.parse(path).iter("{http://www.w3.org/2000/svg}text")]


KINDS = ("layers", "summary", "cumulative", "rf")


@pytest.mark.parametrize(("name", "kind"), [(n, KINDS[i % 4]) for i, n in enumerate(MATHTEXT)], ids=range(6))
def test_plot_text_is_not_mathtext(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, kind: str) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    out = tmp_path / "chart.svg"
    with matplotlib.rc_context({"svg.fonttype": "none", "text.usetex": True}):  # a user's rc: TeX is not used
        ok(capsys, "plot", write_spec(tmp_path, name, network=name), "-o", str(out), "--kind", kind)
    texts = svg_texts(out)
    assert any(t.startswith(f"{name}: ") for t in texts)  # the title, as written: one text, not math glyphs
    if kind != "layers":
        assert name in texts  # the layer's tick label
    else:
        assert name in texts and f"b{name}.relu_1" in texts


@pytest.mark.parametrize("name", MATHTEXT[:4], ids=range(4))
def test_sweep_plot_text_is_not_mathtext(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    spec = tmp_path / "sym.yaml"
    spec.write_text(f"name: {q(name)}\nvariables: {{W: 8}}\nsymbols: [W]\ninput: [3, 16, 16]\nlayers:\n"
                    "  - conv2d: {out_channels: W, kernel_size: 3}\n", encoding="utf-8")
    out = tmp_path / "sweep.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        text = ok(capsys, "sweep", str(spec), "--vary", "W=8:32:8", "--metric", "params", "--plot", str(out))
    assert text.splitlines()[1] == f"8,{8 * 3 * 3 * 3 + 8}"  # W filters of 3 x 3 x 3, and W biases
    assert f"{name}: totals against W" in svg_texts(out)


# ---------------------------------------------------------------- names refused at load time

REFUSALS = [("layer", "x\ny", "line break"), ("network", "net\u2028work", "line break"),
            ("block", "b\x00", "does not print"), ("layer", "a\x85b", "line break"),
            ("layer", "bidi\u202e", "does not print"), ("network", "x" * 201, "over the limit of 200")]


@pytest.mark.parametrize(("where", "name", "reason"), REFUSALS, ids=range(len(REFUSALS)))
@pytest.mark.parametrize("command", [[], ["-f", "csv"], ["plot", "-o", "x.png"], ["report", "-o", "x.html"]])
def test_names_are_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, name: str,
                                       reason: str, command: list[str]) -> None:
    if where == "network":
        spec = write_spec(tmp_path, network=name)
        line = 1
    else:
        spec = write_spec(tmp_path, layer=name if where == "layer" else "conv")
        if where == "block":  # write_spec names the block b + the layer's name: give the block its own
            text = Path(spec).read_text(encoding="utf-8").replace(q("bconv"), q(name))
            Path(spec).write_text(text, encoding="utf-8")
        line = 4 if where == "layer" else 5
    argv = [command[0], spec, *command[1:]] if command[:1] in (["plot"], ["report"]) else [spec, *command]
    argv = [str(tmp_path / a) if a.startswith("x.") else a for a in argv]
    err = refused(capsys, *argv)
    assert err.startswith(f"archcalc: {spec}:{line}: ") and reason in err
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.html").exists()


# ---------------------------------------------------------------- output errors

@pytest.fixture
def spec(tmp_path: Path) -> str:
    return write_spec(tmp_path)


def test_output_to_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str) -> None:
    folder = tmp_path / "d.png"
    folder.mkdir()
    for argv in (["report", spec, "-o", str(folder)], ["export", spec, "--to", "pytorch", "-o", str(folder)],
                 ["plot", spec, "-o", str(folder)], ["sweep", spec, "--vary", "x=1", "--plot", str(folder)]):
        assert refused(capsys, *argv) == f"archcalc: {folder}: is a directory, not a file (give " \
                                          f"{argv[-2]} a file name)"


def test_output_to_a_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str) -> None:
    target = tmp_path / "missing" / "out.svg"
    for argv, what in ((["report", spec, "-o", str(target)], "the file"),
                       (["export", spec, "--to", "pytorch", "-o", str(target)], "the file"),
                       (["plot", spec, "-o", str(target)], "the image")):
        err = refused(capsys, *argv)
        assert err.startswith(f"archcalc: {target}: cannot write {what}: the directory {target.parent} does not "
                              "exist")
    assert not target.parent.exists()


def test_output_with_an_empty_name(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    for argv, option in ((["report", spec, "-o", ""], "-o"), (["export", spec, "--to", "pytorch", "-o", ""], "-o"),
                         (["plot", spec, "-o", ""], "-o"), (["sweep", spec, "--vary", "x=1", "--plot", ""], "--plot")):
        assert refused(capsys, *argv) == f"archcalc: {option}: the output file name is empty (give {option} a " \
                                         "file name)"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_output_to_a_full_disk(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    for argv in (["report", spec, "-o", "/dev/full"], ["export", spec, "--to", "pytorch", "-o", "/dev/full"]):
        assert refused(capsys, *argv) == "archcalc: /dev/full: cannot write the file: No space left on device"


def test_output_that_is_the_spec_is_refused_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    spec = write_spec(tmp_path, file="net.svg")  # a spec whose name an image could have
    before = Path(spec).read_bytes()
    link = tmp_path / "link.yaml"
    link.symlink_to(spec)
    cases = [(["report", spec, "-o", spec], "the spec"), (["export", spec, "--to", "pytorch", "-o", spec], "the spec"),
             (["plot", spec, "-o", spec], "the spec"), (["report", str(link), "-o", spec], "the spec"),
             (["plot", spec, "-o", str(tmp_path / ".." / tmp_path.name / "net.svg")], "the spec"),
             (["report", write_spec(tmp_path, file="other.yaml"), "--hardware", spec, "-o", spec],
              "the --hardware file"),
             (["report", str(tmp_path / "other.yaml"), "--convention", spec, "-o", spec], "the --convention file"),
             (["sweep", spec, "--vary", "x=1", "--plot", spec], "the spec")]
    for argv, what in cases:
        err = refused(capsys, *argv)
        assert f": {argv[-2]} names {what} being read" in err and "does not overwrite its input" in err
        assert Path(spec).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.yaml", "net.svg", "other.yaml"]


def test_a_failed_write_leaves_the_old_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    out = tmp_path / "report.html"
    out.write_text("the old report")

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", full)
    for argv in (["report", spec, "-o", str(out)], ["export", spec, "--to", "pytorch", "-o", str(out)]):
        assert refused(capsys, *argv) == f"archcalc: {out}: cannot write the file: No space left on device"
        assert out.read_text() == "the old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.yaml", "report.html"]  # no temporary file left


def test_files_are_written_whole_and_keep_their_permissions(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            spec: str) -> None:
    out = tmp_path / "model.py"
    out.write_text("old")
    out.chmod(0o640)
    link = tmp_path / "link.py"
    link.symlink_to(out)
    ok(capsys, "export", spec, "--to", "pytorch", "-o", str(link))
    assert link.is_symlink() and out.read_text().startswith('"""net: a PyTorch module')
    assert out.stat().st_mode & 0o777 == 0o640
    ok(capsys, "export", spec, "--to", "pytorch", "-o", os.devnull)  # not a regular file: written in place
    assert os.path.exists(os.devnull) and not Path(os.devnull).is_file()


def archcalc_process(*argv: str, shell_redirect: str = "", **kw: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "archcalc", *argv]
    if shell_redirect:  # e.g. ">&-": run through sh, which applies the redirection
        command = ["sh", "-c", f'exec "$@" {shell_redirect}', "sh", *command]
    return subprocess.run(command, text=True, stderr=subprocess.PIPE, timeout=120, **kw)  # type: ignore[call-overload]


ROOT = Path(__file__).resolve().parent.parent
VGG = str(ROOT / "specs" / "vgg16.yaml")
STDOUT_COMMANDS = [[VGG], [VGG, "-f", "json"], ["export", VGG, "--to", "pytorch"], ["schema"],
                   ["formula", str(ROOT / "specs" / "convnet1d.yaml"), "--symbolic", "L"]]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("argv", STDOUT_COMMANDS, ids=lambda a: " ".join(Path(p).stem for p in a))
def test_standard_output_on_a_full_disk(argv: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = archcalc_process(*argv, stdout=full)
    assert done.returncode == 2
    assert done.stderr == "archcalc: <stdout>: cannot write to standard output: No space left on device\n"


@pytest.mark.parametrize("argv", STDOUT_COMMANDS, ids=lambda a: " ".join(Path(p).stem for p in a))
def test_closed_standard_output(argv: list[str]) -> None:
    done = archcalc_process(*argv, shell_redirect=">&-")
    assert done.returncode == 2
    assert done.stderr == "archcalc: <stdout>: standard output is closed (redirect it to a file, or use -o FILE " \
                          "where the command has it)\n"


@pytest.mark.parametrize("argv", [[str(ROOT / "specs" / "resnet152.yaml"), "-f", "json"], ["export", "BIG", "--to",
                                  "pytorch"], ["schema"]], ids=["json", "export", "schema"])
def test_a_broken_pipe_is_a_quiet_end(tmp_path: Path, argv: list[str]) -> None:
    # The reader takes one line and goes, as | head -1 does. Each output is far larger than a pipe's buffer
    # (64 KiB on Linux): resnet152's JSON ~340 KB, the schema ~500 KB, 3,000 layers exported ~250 KB.
    big = tmp_path / "big.yaml"
    big.write_text("name: big\ninput: [4]\nlayers:\n  - {type: relu, repeat: 3000}\n")
    argv = [str(big) if a == "BIG" else a for a in argv]
    process = subprocess.Popen([sys.executable, "-m", "archcalc", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == 0 and err == "" and first
