"""The zoo ships with the package: a zoo name works from any directory, a file path wins over it, `archcalc zoo`
lists every spec, and the packaging installs specs/ as archcalc/zoo.

Expected values: the spec files in specs/ (the list and their first header lines), and the arithmetic written
out below; a zoo name's report must equal the report of the file it names.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import archcalc

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
TINY = "name: tiny\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n"
TINY_PARAMS = 4 * 3 * 3 * 3 + 4  # weights + biases


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "archcalc", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)


def test_a_zoo_name_works_from_any_directory(tmp_path):
    done = cli(tmp_path, "resnet18", "-f", "json")
    assert done.returncode == 0, done.stderr
    by_file = archcalc.analyze(archcalc.load(ROOT / "specs" / "resnet18.yaml"))
    assert json.loads(done.stdout)["totals"]["params"] == by_file.totals.params
    assert archcalc.analyze(archcalc.load("resnet18")).totals.macs == by_file.totals.macs


def test_a_file_path_wins_over_a_zoo_name(tmp_path):
    (tmp_path / "resnet18").write_text(TINY)
    done = cli(tmp_path, "resnet18", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["params"] == TINY_PARAMS


def test_an_unknown_name_is_one_line_naming_the_closest(tmp_path):
    done = cli(tmp_path, "resnet19")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("archcalc: resnet19: no such file or zoo spec: resnet19 (did you mean the zoo's "
                           "resnet18?)\n")
    done = cli(tmp_path, "missing/x.yaml")  # a path is never looked up in the zoo
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no such file: missing/x.yaml" in done.stderr


def test_zoo_lists_every_spec_with_its_header(tmp_path):
    done = cli(tmp_path, "zoo")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == SPECS
    vgg16 = next(line for line in lines if line.startswith("vgg16 "))
    first = (ROOT / "specs" / "vgg16.yaml").read_text().splitlines()[0]  # "# VGG-16 (...), as torchvision..."
    assert vgg16.split(None, 1)[1] == first.lstrip("# ").rstrip(".")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_the_package_installs_every_folder_and_the_zoo():
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "archcalc").rglob("__init__.py")}
    assert set(config["packages"]) == folders | {"archcalc.zoo"}  # a new folder must be listed, or it is not installed
    assert config["package-dir"] == {"archcalc.zoo": "specs"}
    assert config["package-data"]["archcalc.zoo"] == ["*.yaml"]
