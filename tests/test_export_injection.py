"""archcalc export --to pytorch cannot carry code: text from a spec or its file name stays text in the generated file.

A spec puts hostile text in every place a name can stand (the network's name, the file name, layer, block-call,
repeat, sequential and parallel names, branch keys, save names, from:, inputs: and tied_to references). Text that
load-time validation refuses (line breaks, control and format characters, too long) gives one line and status 2,
and no file. Text it accepts (quotes, triple quotes, backslashes, \\N{...} and \\x.. written out, hashes, odd file
names) gives a file that is parsed with ``ast`` and ``tokenize``, never run: its statements are exactly those of
the same spec with plain names, every string constant is the intended text, and every comment is the group's path.
No torch is needed: nothing is executed.
"""
from __future__ import annotations

import ast
import io
import json
import keyword
import os
import tokenize
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import archcalc
from archcalc.cli import main
from archcalc.core.escape import py_comment, py_doc, py_str

# Places a name can stand; the spec below writes each one with its letter prefixed, so that they stay distinct.
POSITIONS = ("network", "layer", "save", "block_call", "repeat", "sequential", "parallel", "branch", "inner",
             "inputs", "from", "tied_to")
PLAIN = "n"


def spec_text(names: dict[str, str]) -> str:
    """A sequence model using every place a name can stand; ``names`` gives the text of some of them (the others
    stay plain). References name what they refer to: inputs: the save name, from: and tied_to the first layer."""
    v = {p: names.get(p, PLAIN) for p in POSITIONS}
    q = json.dumps  # a JSON string is a YAML double-quoted scalar: any character can be written
    return "\n".join([
        f"name: {q(v['network'])}",
        "input: [6]",
        "layout: sequence",
        "blocks:",
        "  unit:",
        "    layers:",
        "      - linear: {out_features: 8}",
        "layers:",
        f"  - embedding: {{name: {q('e' + v['layer'])}, num_embeddings: 10, embedding_dim: 8, "
        f"save: {q('s' + v['save'])}}}",
        f"  - unit: {{name: {q('b' + v['block_call'])}}}",
        f"  - {{type: relu, name: {q('r' + v['repeat'])}, repeat: 2}}",
        f"  - sequential: {{name: {q('q' + v['sequential'])}, layers: [relu]}}",
        "  - parallel:",
        f"      name: {q('p' + v['parallel'])}",
        "      branches:",
        f"        {q('k' + v['branch'])}: [{{sequential: {{name: {q('i' + v['inner'])}, layers: [relu]}}}}]",
        "        other: [relu]",
        "      merge: add",
        f"  - add: {{inputs: [{q('s' + v['inputs'])}, .]}}",
        f"  - relu: {{from: {q('e' + v['from'])}}}",
        f"  - linear: {{name: lm_head, out_features: 10, bias: false, tied_to: {q('e' + v['tied_to'])}}}",
        "",
    ])


def everywhere(name: str) -> dict[str, str]:
    """``name`` in every place; references then name the layers that carry it."""
    return dict.fromkeys(POSITIONS, name)


def export_file(tmp_path: Path, text: str, file_name: str = "net.yaml") -> tuple[str, str]:
    """(the generated source, the spec path as the export names it)."""
    folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    spec = folder / file_name
    spec.write_text(text, encoding="utf-8")
    out = folder / "out.py"
    assert main(["export", str(spec), "--to", "pytorch", "-o", str(out)]) == 0
    return out.read_text(encoding="utf-8"), str(spec)


# ---- reading a generated file without running it ----

def kinds(statements: list[ast.stmt]) -> list[str]:
    return [type(s).__name__ for s in statements]


def network_class(tree: ast.Module) -> ast.ClassDef:
    classes = [s for s in tree.body if isinstance(s, ast.ClassDef) and any(
        isinstance(b, ast.Attribute) and b.attr == "Module" for b in s.bases)]
    assert len(classes) == 1
    return classes[0]


def method(cls: ast.ClassDef, name: str) -> ast.FunctionDef:
    (fn,) = [s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == name]
    return fn


def string_constants(tree: ast.Module) -> Counter[str]:
    return Counter(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def comments(source: str) -> list[str]:
    return [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]


# Names and attributes a payload would need (the file's own: model.eval(), no such name).
DANGEROUS = {"__import__", "eval", "exec", "compile", "open", "getattr", "setattr", "os", "sys", "subprocess",
             "system", "globals", "locals", "vars", "breakpoint", "input"}
DANGEROUS_ATTRIBUTES = {"system", "popen", "__import__", "__builtins__", "__globals__", "__subclasses__", "run"}


def check_structure(source: str, baseline: str) -> ast.Module:
    """``source`` has the statements of ``baseline`` (the same spec with plain names), kind for kind, and no name
    a payload would need; returns its tree."""
    compile(source, "<export>", "exec", dont_inherit=True)  # compiles (NUL bytes, \N escapes); nothing runs
    tree, base = ast.parse(source), ast.parse(baseline)
    assert kinds(tree.body) == kinds(base.body)
    assert set(kinds(tree.body)) <= {"Expr", "Import", "ImportFrom", "Assign", "ClassDef", "FunctionDef", "If"}
    assert isinstance(tree.body[0], ast.Expr) and all(not isinstance(s, ast.Expr) for s in tree.body[1:])
    main_block = tree.body[-1]
    assert isinstance(main_block, ast.If) and ast.unparse(main_block.test) == "__name__ == '__main__'"
    cls, base_cls = network_class(tree), network_class(base)
    assert cls.name.isascii() and cls.name.isidentifier() and not keyword.iskeyword(cls.name)
    assert kinds(cls.body) == kinds(base_cls.body) == ["Expr", "FunctionDef", "FunctionDef"]
    forward, base_forward = method(cls, "forward"), method(base_cls, "forward")
    assert kinds(forward.body) == kinds(base_forward.body)
    assert set(kinds(forward.body[:-1])) == {"Assign"} and kinds(forward.body[-1:]) == ["Return"]
    init, base_init = method(cls, "__init__"), method(base_cls, "__init__")
    assert kinds(init.body) == kinds(base_init.body)
    assert set(kinds(init.body[1:])) == {"Assign"}  # after super().__init__(): self.<attr> = ...
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert all(n.isascii() and n.isidentifier() for n in names | attributes)
    assert not names & DANGEROUS and not attributes & DANGEROUS_ATTRIBUTES
    return tree


def docstrings(tree: ast.Module) -> tuple[str, str]:
    module_doc = ast.get_docstring(tree, clean=False)
    class_doc = ast.get_docstring(network_class(tree), clean=False)
    assert module_doc is not None and class_doc is not None
    return module_doc, class_doc


def expected_docstrings(baseline: ast.Module, name: str, file: str) -> tuple[str, str]:
    """The docstrings of the file for a network ``name`` read from ``file``: the first line of the module's and the
    class's name both; the rest (archcalc's figures) is the baseline's, as the figures do not depend on names."""
    rest = docstrings(baseline)[0].split("\n", 1)[1]
    return (f"{name}: a PyTorch module generated by archcalc {archcalc.__version__} from {file}\n{rest}",
            f"{name} as declared in {file}; layers are named after their archcalc paths.")


def check_texts(source: str, baseline: str, name: str, file: str) -> None:
    """Every string constant of ``source`` is the intended text: the docstrings hold the network's name and the
    file name exactly, and all other constants are the baseline's."""
    tree, base = ast.parse(source), ast.parse(baseline)
    module_doc, class_doc = docstrings(tree)
    assert (module_doc, class_doc) == expected_docstrings(base, name, file)
    rest, base_rest = string_constants(tree), string_constants(base)
    rest.subtract([module_doc, class_doc])
    base_rest.subtract(docstrings(base))
    assert +rest == +base_rest


# ---- names that load-time validation accepts: the file is text where the spec had text ----

ACCEPTED = ['"""', "'''", '"""; __import__("os")', "\\", "end\\", "\\N{BULLET}", "\\x00", "\\u2028", "\\n",
            "q'u\"o", "#hash", "(x", "a b", "é ☃", "x" * 199]


@pytest.mark.parametrize("name", ACCEPTED, ids=range(len(ACCEPTED)))
def test_names_everywhere_stay_text(tmp_path: Path, name: str) -> None:
    source, file = export_file(tmp_path, spec_text(everywhere(name)))
    baseline, base_file = export_file(tmp_path, spec_text({}))
    check_structure(source, baseline)
    check_texts(source, baseline, name, file)
    # Every group's path is one comment, as written (the names are printable, so printed as they are):
    # b = block call, r = repeat, q = sequential, p = parallel, k = branch key, i = a sequential inside the branch
    groups = [f"# b{name} (unit)", f"# r{name} (repeat)", f"# q{name} (sequential)", f"# p{name} (parallel)",
              f"# p{name}.k{name}.i{name} (sequential)"]
    found = comments(source)
    assert all(g in found for g in groups), (groups, found)
    assert f"# tied_to e{name}: one shared weight" in found
    assert len(found) == len(comments(baseline))


PAYLOADS = ['pwn"""; __import__("os").system("touch /tmp/x"); """', "pwn'''; __import__('os').system('id'); '''",
            'a\\N{LATIN SMALL LETTER A}\\x41\\u0041\\', 'ends in a quote"', "ends in a backslash\\",
            "r'raw' f'{x}' b'\\xff'"]


@pytest.mark.parametrize("name", PAYLOADS, ids=range(len(PAYLOADS)))
def test_network_name_cannot_close_the_docstring(tmp_path: Path, name: str) -> None:
    source, file = export_file(tmp_path, spec_text({"network": name}))
    baseline, _ = export_file(tmp_path, spec_text({}))
    check_structure(source, baseline)
    check_texts(source, baseline, name, file)


FILE_NAMES = ['net"""; __import__("os").system("id"); """.yaml', "a\nimport os.yaml", "a\rcr.yaml", "a\r\ncrlf.yaml",
              "\\N{BULLET}.yaml", "\\x41.yaml", "a\u2028ls.yaml", "a\x85nel.yaml", "a\x0bvt\x0cff\x1cfs.yaml",
              "a'''b.yaml", "back\\slash\\.yaml", "# hash.yaml", "\x1b[31mred.yaml", os.fsdecode(b"\xff\xfe.yaml")]


@pytest.mark.parametrize("file_name", FILE_NAMES, ids=range(len(FILE_NAMES)))
def test_file_names_stay_text(tmp_path: Path, file_name: str) -> None:
    try:
        source, file = export_file(tmp_path, spec_text({}), file_name)
    except OSError:
        pytest.skip(f"the file system refuses the name {file_name!r}")
    baseline, _ = export_file(tmp_path, spec_text({}))
    check_structure(source, baseline)
    check_texts(source, baseline, PLAIN, file)
    after_breaks = file_name.splitlines()[1:]  # what a line break in the name would have put on a line of its own
    assert not any(line.startswith(tuple(after_breaks)) for line in source.splitlines() if after_breaks)


# ---- names that load-time validation refuses: one line, status 2, no file ----

REFUSED = {"\n": "line break", "\r": "line break", "\r\n": "line break", "\x0b": "line break", "\x0c": "line break",
           "\x1c": "line break", "\x1e": "line break", "\x85": "line break", "\u2028": "line break",
           "\u2029": "line break", "\x00": "does not print", "\x1b": "does not print", "\t": "does not print",
           "\u202e": "does not print", "\u200b": "does not print", "\ufeff": "does not print",
           "\xa0": "does not print"}


def refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[str, Path, Path]:
    """(the one stderr line, the spec, the -o path that must not exist) of an export that must fail."""
    spec, out = tmp_path / "net.yaml", tmp_path / "out.py"
    spec.write_text(text, encoding="utf-8")
    assert main(["export", str(spec), "--to", "pytorch", "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("archcalc: ")
    assert captured.err.strip().isprintable()
    assert not out.exists()
    return captured.err.strip(), spec, out


def line_of(text: str, needle: str) -> int:
    (line,) = [i for i, row in enumerate(text.splitlines(), 1) if needle in row]
    return line


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("char", list(REFUSED), ids=[repr(c) for c in REFUSED])
def test_names_that_do_not_print_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], position: str,
                                             char: str) -> None:
    name = f"x{char}import os"
    text = spec_text({position: name})
    err, spec, _ = refusal(tmp_path, capsys, text)
    where = line_of(text, json.dumps(name)[1:-1])  # the line that holds it
    assert err.startswith(f"archcalc: {spec}:{where}: "), err
    assert REFUSED[char] in err and "names are printable text on one line" in err


@pytest.mark.parametrize("position", POSITIONS)
def test_names_longer_than_the_cap_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               position: str) -> None:
    from archcalc.read.graph import MAX_NAME, MAX_REF
    reference = position in ("inputs", "from", "tied_to")  # a dotted path of names: "e.x.x...", MAX_REF + 1 long
    limit = MAX_REF if reference else MAX_NAME
    text = ".x" * (MAX_REF // 2) if reference else "x" * (MAX_NAME + (position == "network"))  # + its prefix
    err, _, _ = refusal(tmp_path, capsys, spec_text({position: text}))
    assert f"over the limit of {limit}" in err and len(err) < 400


@pytest.mark.parametrize("section", ["blocks", "custom"])
@pytest.mark.parametrize("name", ["a\nb", "a\u2028b", "a\x00b", '"""', "a b", "x" * 201])
def test_block_and_custom_type_names_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str,
                                                  name: str) -> None:
    body = "{layers: [relu]}" if section == "blocks" else "{macs: 0}"
    text = f"name: n\ninput: [4]\n{section}:\n  {json.dumps(name)}: {body}\nlayers:\n  - relu\n"
    err, spec, _ = refusal(tmp_path, capsys, text)
    assert err.startswith(f"archcalc: {spec}:4: ") and ("identifier" in err or "over the limit" in err)


# ---- the rules themselves, on any text ----

TRICKY = ['"', "'", "\"'", '"""', "'''", "\\", "\\\\\"", "\\N{BULLET}", "\\x", "\x00", "\n", "\r\n", "\u2028",
          "\x85", "\ud800", "\udcff", "\U0010ffff", "\u202e", "#", "end\\"]


def check_rules(text: str) -> None:
    literal = py_str(text)
    assert ast.literal_eval(literal) == text and len(literal.splitlines()) == 1 and literal.isprintable()
    doc = f'"""{py_doc(text)}"""'
    assert ast.literal_eval(doc) == text and len(doc.splitlines()) == 1 and doc.isprintable()
    comment = f"x = 1  # {py_comment(text)}\ny = 2\n"
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(comment).readline)
              if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
    assert [t.type for t in tokens].count(tokenize.COMMENT) == 1 and kinds(ast.parse(comment).body) == ["Assign"] * 2


@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
def test_python_rules_on_tricky_text(text: str) -> None:
    check_rules(text)


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_python_rules_on_any_text(text: str) -> None:
    check_rules(text)


def test_literals_keep_double_quotes_only_when_the_value_allows_it() -> None:
    # the value decides: no quote inside -> "...", else whatever repr() chose
    assert py_str("reflect") == '"reflect"' and py_str("a'b") == '"a\'b"' and py_str('a"b') == "'a\"b'"
    assert py_str("a\\b") == '"a\\\\b"' and py_str("a\nb") == '"a\\nb"'
