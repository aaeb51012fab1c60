"""Reading a file the user names (an ontology, the shapes, a query, a card file): a regular file of bounded size, or a refusal.

Why one reader: ``atmp --ontology /dev/zero`` read without end until the kernel's OOM killer stopped it at
24 GB, and a FIFO given as a path blocked the process forever in ``open``. Every rule or card file is read
here: it is opened without blocking (``O_NONBLOCK``: opening a FIFO with no writer returns at once), the
*opened* file is checked to be a regular file (so a path swapped between a check and the open is caught
too), its size is compared with the limit before anything is read, and at most ``limit + 1`` bytes are
read (a file that grows while it is read is refused as well). Each refusal is a :class:`FileRefused` that
names the path and what is wrong; the command line answers it with exit 2.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

MAX_RULE_FILE_BYTES = 32 * 1024 * 1024  # an ontology, shapes file or query; the shipped ontology is 0.4 MB

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


class FileRefused(ValueError):
    """A named file that is not read: missing, not a regular file, too large or unreadable. ``str()`` says which and why."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_file(path: str | os.PathLike, *, limit: int | None = MAX_RULE_FILE_BYTES, what: str = "file", hint: str = "") -> BinaryIO:
    """``path`` opened for reading if it is a regular file (of at most ``limit`` bytes, unless None); :class:`FileRefused` otherwise.

    ``hint`` ends the not-a-regular-file message (``" (or - for standard input)"`` where a command reads one)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileRefused(path, "no such file") from None
    except OSError as exc:
        raise FileRefused(path, f"cannot read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(path, f"not a regular file ({_kind(info.st_mode)}); give the {what} as a file{hint}")
        if limit is not None and info.st_size > limit:
            raise FileRefused(path, f"{what} too large ({info.st_size} bytes > {limit})")
        return os.fdopen(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def read_file(path: str | os.PathLike, *, limit: int = MAX_RULE_FILE_BYTES, what: str = "file", hint: str = "") -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes; :class:`FileRefused` otherwise."""
    with open_file(path, limit=limit, what=what, hint=hint) as stream:
        try:
            data = _read_at_most(stream, limit + 1)
        except OSError as exc:
            raise FileRefused(path, f"cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise FileRefused(path, f"{what} too large (more than {limit} bytes)")
    return data


def read_stream(stream: BinaryIO, *, limit: int, name: str = "standard input", what: str = "input") -> bytes:
    """At most ``limit`` bytes of an open stream (standard input); :class:`FileRefused` when it holds more."""
    data = _read_at_most(stream, limit + 1)
    if len(data) > limit:
        raise FileRefused(name, f"{what} too large (more than {limit} bytes)")
    return data


def _read_at_most(stream: BinaryIO, size: int) -> bytes:
    """``stream.read(size)`` that keeps reading after short reads (pipes deliver what they have) until ``size`` or the end."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def read_text(path: str | os.PathLike, *, limit: int = MAX_RULE_FILE_BYTES, what: str = "file") -> str:
    """:func:`read_file` decoded as UTF-8 (FileRefused naming the byte where it is not)."""
    data = read_file(path, limit=limit, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRefused(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
