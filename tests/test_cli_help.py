"""Each command's --help: its own description, only the options it uses, each with help text, and examples that
run as written."""
from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from archcalc.cli import ABOUT, COMMANDS, _parser, main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [(command, example) for command, (_, examples) in ABOUT.items() for example in examples]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_is_the_commands_own(command):
    parser = _parser(command)
    text = parser.format_help()
    about, examples = ABOUT[command]
    assert " ".join(about.split()) in " ".join(text.split()) and all(e in text for e in examples)
    assert command is None or about != ABOUT[None][0]
    for action in parser._actions:
        assert action.help, f"archcalc {command or ''} {action.option_strings or action.dest}: no help text"


@pytest.mark.parametrize(("command", "absent"), [
    ("plot", "--symbolic"), ("plot", "--simplify"), ("sweep", "--symbolic"), ("solve", "--collect"),
    ("compare", "--convention"), ("compare", "--simplify"), ("export", "--batch"), ("zoo", "--set"),
])
def test_options_that_do_not_apply_are_not_offered(command, absent):
    assert absent not in _parser(command).format_help()


@pytest.mark.parametrize(("command", "example"), EXAMPLES, ids=[e for _, e in EXAMPLES])
def test_every_example_runs(command, example, tmp_path, capsys):
    pytest.importorskip("matplotlib") if command == "plot" else None
    argv = shlex.split(example.split(">")[0])[1:]
    here = os.getcwd()
    os.chdir(ROOT)  # examples name specs/ of a checkout, or zoo names
    try:
        argv = [str(tmp_path / a) if a.endswith((".png", ".svg", ".html", ".py")) else a for a in argv]
        status = main(argv)
    finally:
        os.chdir(here)
    out, err = capsys.readouterr()
    assert status == 0 and err == "", err
