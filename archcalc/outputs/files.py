"""Writing what a command makes: to standard output, or to a file written whole or not at all.

Each failure is an ``OutputError``, which the CLI prints as one line with exit status 2: an empty name, a directory,
a missing directory, no permission, a full disk, a closed standard output, or an output file that is one of the
files being read (refused before anything is written, so the spec is never overwritten).
"""
from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable

from ..core.errors import OutputError


def check_target(path: str, inputs: Iterable[tuple[str, str | None]] = (), option: str = "-o",
                 what: str = "the file") -> None:
    """Refuse an output ``path`` that cannot be a file to write, or that is one of ``inputs``, (what, path) pairs of
    the files the command reads (``-`` and names that are not files are skipped)."""
    if not path:
        raise OutputError("the output file name is empty", file=option, hint=f"give {option} a file name")
    if os.path.isdir(path):
        raise OutputError("is a directory, not a file", file=path, hint=f"give {option} a file name")
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        raise OutputError(f"cannot write {what}: the directory {parent} does not exist", file=path,
                          hint="create it first, or write elsewhere")
    for read, source in inputs:
        if source and source != "-" and _same(path, source):
            also = "" if source == path else f" ({source})"
            raise OutputError(f"{option} names {read} being read{also}; archcalc does not overwrite its input",
                              file=path, hint=f"give {option} another file name")


def _same(a: str, b: str) -> bool:
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def write_file(path: str | os.PathLike[str], data: str | bytes, what: str = "the file") -> None:
    """Write ``data`` (text as UTF-8) to ``path`` whole: into a new file beside it, renamed over it once complete,
    so that a failed write leaves the old file, or none, and never half of one. A symbolic link is written through
    (the link stays); a path that is not a regular file (``/dev/null``, a FIFO) is written directly."""
    shown = os.fspath(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        try:
            mode = os.stat(shown).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            _write_directly(shown, payload)
            return
        target = os.path.realpath(shown)
        if mode is not None and not os.access(target, os.W_OK):
            raise PermissionError(13, "Permission denied")  # as open() would: a read-only file stays as it is
        try:
            _replace(target, payload)
        except PermissionError:  # a directory we may not add to, holding a file we may write
            if not os.path.isfile(target):
                raise
            _write_directly(target, payload)
    except OSError as e:
        raise OutputError(f"cannot write {what}: {e.strerror or e}", file=shown) from None


def _write_directly(target: str, payload: bytes) -> None:
    with open(target, "wb") as f:
        f.write(payload)


def _replace(target: str, payload: bytes) -> None:
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f".{name}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to open()
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        if os.path.exists(target):
            os.chmod(temporary, os.stat(target).st_mode & 0o7777)  # a replaced file keeps its permissions
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def write_stdout(text: str) -> None:
    """Write ``text`` to standard output and flush it, so that a full disk is reported here, as one line. A broken
    pipe (``| head``) propagates: the CLI ends quietly then."""
    out = sys.stdout
    if out is None:  # started with standard output closed (>&-)
        raise OutputError("standard output is closed", file="<stdout>",
                          hint="redirect it to a file, or use -o FILE where the command has it")
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as e:  # ValueError: the stream was closed from Python
        discard_stdout()
        raise OutputError(f"cannot write to standard output: {getattr(e, 'strerror', None) or e}",
                          file="<stdout>") from None


def discard_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last flush of what could not be
    written (a full disk, a closed pipe) does not fail again at exit with a message of its own."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's captured stream)
        pass
