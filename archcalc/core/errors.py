"""The one error channel: every mistake in a spec is an ``ArchcalcError`` with a location and a fix."""
from __future__ import annotations


class ArchcalcError(Exception):
    """A user error. ``format()`` gives the one line the CLI prints: ``FILE:LINE: layer PATH: message (hint)``."""

    def __init__(self, message: str, *, hint: str | None = None, path: str | None = None,
                 file: str | None = None, line: int | None = None, what: str = "layer") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = path
        self.file = file
        self.line = line
        self.what = what  # what the path names: a layer, a variable, a block definition

    def locate(self, *, path: str | None = None, file: str | None = None,
               line: int | None = None, what: str | None = None) -> ArchcalcError:
        """Fill in whatever part of the location is still unknown; the innermost context wins."""
        if self.path is None and path is not None:
            self.path = path
            self.what = what or self.what
        self.file = self.file or file
        self.line = self.line or line
        return self

    def format(self) -> str:
        where = self.file or "<spec>"
        if self.line:
            where += f":{self.line}"
        text = f"{where}: "
        if self.path:
            text += f"{self.what} {self.path}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        text = " ".join(text.split())  # always one line
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)  # and printable (a file name's bytes)

    def __str__(self) -> str:
        return self.format()


class SpecError(ArchcalcError):
    """The spec is malformed: YAML syntax, schema, unknown names, bad expressions."""


class ShapeError(ArchcalcError):
    """The spec is well formed but a layer cannot accept the tensor it receives."""


class InputError(ArchcalcError):
    """The spec file itself cannot be read (missing, a directory, not UTF-8, empty)."""


class OutputError(ArchcalcError):
    """An output cannot be written: the path is a directory or unwritable, the disk is full, standard output is
    closed, or the output would overwrite the spec being read."""
