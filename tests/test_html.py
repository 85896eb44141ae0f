"""The HTML report: one self-contained page (checked as text), and the page working in headless Chromium.

Expected figures come from the report itself (the page must show what the analysis computed, exactly), and
the ResNet-50 totals from torchvision's published counts (README zoo table: 25,557,032 params).
"""
from __future__ import annotations

import math
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import archcalc
from archcalc.outputs.html import PLOT_NOTE, render_html, write_report

ROOT = Path(__file__).resolve().parents[1]
RESNET50 = ROOT / "specs" / "resnet50.yaml"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

TRICKY = """\
name: "net <b>&amp; co"
# a comment with <script>alert(1)</script>
input: [3, 8, 8]
layers:
  - conv2d: {name: "<b>bold</b>", out_channels: 4, kernel_size: 3}
  - relu
  - flatten
  - linear: {out_features: 2}
"""


class _Rows(HTMLParser):
    """Collects, for the layer table, the attributes of each <tr> in its <tbody>."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str | None]] = []
        self._table = self._body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id") == "layer-table":
            self._table = True
        elif tag == "tbody" and self._table:
            self._body = True
        elif tag == "tr" and self._body:
            self.rows.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._body = False
        elif tag == "table":
            self._table = False


def _rows(page: str) -> list[dict[str, str | None]]:
    parser = _Rows()
    parser.feed(page)
    return parser.rows


@pytest.fixture(scope="module")
def resnet50():
    return archcalc.analyze(archcalc.load(str(RESNET50)))


@pytest.fixture(scope="module")
def resnet50_page(resnet50, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "resnet50.html"
    write_report(resnet50, RESNET50.read_text(encoding="utf-8"), path)
    return path


@pytest.fixture
def no_plot(monkeypatch):
    """archcalc.outputs.plot unavailable (as without matplotlib): None in sys.modules makes the import fail."""
    monkeypatch.setitem(sys.modules, "archcalc.outputs.plot", None)


def _tricky(no_plot=None):
    report = archcalc.analyze(archcalc.load(TRICKY))
    return report, render_html(report, TRICKY)


# ---- the page as text ----------------------------------------------------------------------------------------

def test_self_contained(resnet50_page):
    page = resnet50_page.read_text(encoding="utf-8")
    # nothing fetched: no src/href/url()/@import naming another host, no <link>, no external script
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"""url\(\s*["']?\s*(https?:)?//""", page, re.I)
    assert "@import" not in page and "<link" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page, re.I)
    # every internal link points into the page
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', page))
    # and the browser is told to refuse any load (inline style and script only)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # this spec names no web address, and matplotlib's metadata and namespaces are stripped from the charts
    assert "http://" not in page and "https://" not in page


def test_one_row_per_leaf_layer(resnet50, resnet50_page):
    rows = _rows(resnet50_page.read_text(encoding="utf-8"))
    # stem 4 (conv, bn, relu, maxpool) + 16 bottlenecks x 10 (3 conv, 3 bn, 3 relu, add) + 4 projections x 2
    # (conv, bn) + avgpool + fc = 4 + 160 + 8 + 2 = 174
    assert len(rows) == len(resnet50.layers) == 174
    for row, layer in zip(rows, resnet50.layers):
        assert row["data-name"] == layer.name
        assert row["data-type"] == layer.type
        # the exact values, unformatted, for the sort
        assert row["data-params"] == str(layer.params)
        assert row["data-macs"] == str(layer.macs)
        assert row["data-flops"] == str(layer.flops)
    assert rows[0]["data-rf-size"] == "7x7" and rows[0]["data-rf-jump"] == "2x2"  # conv1: 7x7, stride 2
    assert rows[-1]["data-rf-size"] == "global"  # fc


def test_summary_totals(resnet50_page):
    page = resnet50_page.read_text(encoding="utf-8")
    # torchvision: 25,557,032 params, 4.089 GMACs (4,089,184,256) at 224 x 224
    assert "25,557,032" in page and "(25.56 M)" in page
    assert "4,089,184,256" in page and "(4.09 G)" in page
    assert "[1, 3, 224, 224]" in page and "[1, 1000]" in page


def test_convention_and_spec(resnet50, resnet50_page):
    from html import escape
    page = resnet50_page.read_text(encoding="utf-8")
    assert escape(resnet50.convention.summary()) in page
    for kind, rule in resnet50.convention.to_dict()["rules"].items():
        assert escape(kind) in page and escape(rule) in page
    spec = RESNET50.read_text(encoding="utf-8")
    # the spec line by line, numbered for the links from the layer names
    lines = re.findall(r'<span class="line" id="L(\d+)">(.*?)\n</span>', page, re.S)
    assert [int(n) for n, _ in lines] == list(range(1, len(spec.splitlines()) + 1))
    assert [text for _, text in lines] == [escape(line) for line in spec.splitlines()]
    assert '<a href="#L29">conv1</a>' in page  # conv1 is declared on line 29


def test_user_text_is_escaped(no_plot):
    report, page = _tricky()
    assert "<b>bold</b>" not in page and "<script>alert(1)</script>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page  # the layer name, in the table and the spec
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the spec's comment
    assert "<title>net &lt;b&gt;&amp;amp; co - archcalc report</title>" in page
    rows = _rows(page)
    assert [r["data-name"] for r in rows] == [layer.name for layer in report.layers]
    assert rows[0]["data-name"] == "<b>bold</b>"  # attribute values decode back to the name


def test_without_matplotlib_a_note(no_plot):
    _, page = _tricky()
    assert "<svg" not in page
    assert "pip install &#x27;archcalc[plot]&#x27;" in page and "archcalc[plot]" in PLOT_NOTE


def test_charts_inline_svg(resnet50_page):
    pytest.importorskip("matplotlib")
    page = resnet50_page.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "<?xml" not in page and "<!DOCTYPE svg" not in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # charts' ids are prefixed, so several share a page
    refs = set(re.findall(r'href="#([^"]+)"', page)) | set(re.findall(r"url\(#([^)]+)\)", page))
    assert refs <= set(ids)


def test_extra_sections_and_columns(no_plot):
    report = archcalc.analyze(archcalc.load(TRICKY))
    report.extra["roofline"] = {"device": "gpu <x>", "peak": 1.5e12,
                                "layers": [{"name": "a", "bound": "memory"}, {"name": "b", "bound": "compute"}]}
    # exact figures come as ints or "p/q" strings (roofline's times are Fractions of a second)
    report.layers[0].extra["roofline"] = {"time_s": "1/400000", "bound": "memory", "flops": report.layers[0].flops}
    page = render_html(report, TRICKY)
    assert '<section id="x-roofline"><h2>roofline</h2>' in page and '<a href="#x-roofline">' in page
    assert "gpu &lt;x&gt;" in page and "1.5e+12" in page
    assert "<th>name</th><th>bound</th>" in page and "compute" in page  # a list of dicts: a column per key
    # per-layer extras become sortable columns; layers without them get empty cells
    assert 'title="sort by roofline.time_s">time_s</th>' in page and 'title="sort by roofline.bound">bound</th>' in page
    assert '<span title="1/400000">2.5 µs</span>' in page  # 1/400000 s = 2.5 µs, the exact value as a tooltip
    assert "sort by roofline.flops" not in page  # repeats the FLOPs column
    rows = _rows(page)
    assert rows[0]["data-x0"] == "1/400000" and rows[0]["data-x1"] == "memory" and rows[1]["data-x0"] == ""


def test_symbolic_report(no_plot):
    report = archcalc.analyze(archcalc.load(str(RESNET50), symbolic=["H", "W"]))
    page = render_html(report, RESNET50.read_text(encoding="utf-8"))
    assert str(report.totals.macs) in page  # 81456*H*W + 2048000, as a formula
    assert "Charts are not included" in page
    assert len(_rows(page)) == len(report.layers)


def test_cli_report(tmp_path, no_plot, capsys):
    from archcalc.cli import main
    out = tmp_path / "lenet.html"
    assert main(["report", str(ROOT / "specs" / "lenet5.yaml"), "-o", str(out)]) == 0
    # one line naming what it wrote, on standard output (standard error is for errors)
    assert capsys.readouterr() == (f"wrote {out}: the HTML report of lenet5 (convention archcalc)\n", "")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "61,706" in page  # LeNet-5: 61,706 params (README)


# ---- the page in a browser -----------------------------------------------------------------------------------

def _chromium(tmp_path):
    pytest.importorskip("selenium")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"the browser test needs {CHROMIUM} and {CHROMEDRIVER} "
                    "(Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    options.binary_location = CHROMIUM
    # no network here: without these, Chromium waits on connection attempts
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1400", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def test_page_in_headless_chromium(resnet50, resnet50_page, tmp_path):
    driver = _chromium(tmp_path)
    try:
        from selenium.webdriver.common.by import By
        driver.get(resnet50_page.as_uri())
        assert driver.title == "resnet50 - archcalc report"

        png = tmp_path / "resnet50.png"
        assert driver.save_screenshot(str(png))
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")  # IHDR
        assert width >= 800 and height >= 600 and len(data) > 20_000

        assert len(driver.find_elements(By.CSS_SELECTOR, "#layer-table tbody tr")) == len(resnet50.layers)

        def column(attr):
            return driver.execute_script(
                "return Array.from(document.querySelectorAll('#layer-table tbody tr'))"
                f".map(function (r) {{ return r.getAttribute('data-{attr}'); }});")

        header = driver.find_element(By.CSS_SELECTOR, '#layer-table th[data-attr="params"]')
        # a sort is stable: equal values keep the spec's order
        by_params = sorted(resnet50.layers, key=lambda r: r.params)
        by_params_desc = sorted(resnet50.layers, key=lambda r: -r.params)
        header.click()  # numbers: largest first
        assert header.get_attribute("aria-sort") == "descending"
        assert [int(v) for v in column("params")] == [r.params for r in by_params_desc]
        assert column("name") == [r.name for r in by_params_desc]
        # the largest: layer4.*.conv2, 512 * 512 * 3 * 3 = 2,359,296, then the projection layer4.0.shortcut.0,
        # 1024 * 2048 = 2,097,152, then fc, 2048 * 1000 + 1000 = 2,049,000
        assert column("name")[:5] == ["layer4.0.conv2", "layer4.1.conv2", "layer4.2.conv2", "layer4.0.shortcut.0",
                                      "fc"]
        header.click()
        assert header.get_attribute("aria-sort") == "ascending"
        assert column("name") == [r.name for r in by_params]

        index = driver.find_element(By.CSS_SELECTOR, '#layer-table th[data-attr="index"]')
        index.click()  # back to the spec's order
        assert header.get_attribute("aria-sort") == "none"
        assert column("name") == [r.name for r in resnet50.layers]

        rf = driver.find_element(By.CSS_SELECTOR, '#layer-table th[data-attr="rf-size"]')
        rf.click()  # receptive field, largest first: "global" is larger than any size
        by_rf_desc = sorted(resnet50.layers, key=lambda r: [-math.inf] * 2 if r.rf.to_dict()["size"] == "global"
                            else [-v for v in r.rf.to_dict()["size"]])
        assert column("name") == [r.name for r in by_rf_desc]
        assert column("rf-size")[0] == "global" and column("rf-size")[-1] == "7x7"  # conv1, the first layer

        box = driver.find_element(By.ID, "filter")
        box.send_keys("layer4.2.")
        shown = driver.find_elements(By.CSS_SELECTOR, "#layer-table tbody tr:not([hidden])")
        assert len(shown) == 10  # layer4.2: conv1-3, bn1-3, relu_1-3, add
        assert driver.find_element(By.ID, "shown").text == f"10 of {len(resnet50.layers)} layers"

        if "<svg" in resnet50_page.read_text(encoding="utf-8"):
            sizes = driver.execute_script("return Array.from(document.querySelectorAll('.chart svg'))"
                                          ".map(function (s) { return s.getBoundingClientRect().width; });")
            assert len(sizes) == 3 and all(w > 500 for w in sizes)
        # no script error, and no blocked load (the policy would log one)
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, errors
    finally:
        driver.quit()
