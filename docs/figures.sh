#!/usr/bin/env bash
# Regenerates the figures shown in README.md (needs the plot extra: pip install -e '.[plot]').
# SVG output carries no date and fixed element ids, so a rerun only changes a file when its chart changes.
set -euo pipefail
cd "$(dirname "$0")/.."

archcalc plot specs/resnet50.yaml --kind summary -o docs/resnet50_summary.svg
archcalc plot specs/vgg16.yaml --kind rf -o docs/vgg16_rf.svg
