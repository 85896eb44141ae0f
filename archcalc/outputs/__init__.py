"""Outputs: text formats, the HTML report, plots, writing files."""
