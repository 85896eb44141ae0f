"""Analyses over a report: memory, roofline, sweeps and solving, comparison of conventions."""
