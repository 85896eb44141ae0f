"""Counting conventions: the interface, the built-in presets and convention files."""
