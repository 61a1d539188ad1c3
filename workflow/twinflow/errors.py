"""Errors a user can cause.

Every mistake a user can make (a bad case file, an unreadable image, a missing model) is a
:class:`TwinflowError` whose ``str`` is one line. The CLI prints these lines and exits with
status 2; anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class TwinflowError(Exception):
    """A user-facing error: one or more one-line messages, exit status 2."""

    exit_code = 2

    def __init__(self, *lines: str) -> None:
        if not lines:
            raise ValueError("TwinflowError needs at least one message")
        self.lines: tuple[str, ...] = tuple(printable(line.replace("\n", " "))
                                            for line in lines)
        super().__init__("\n".join(self.lines))


def printable(text: str) -> str:
    """``text`` with control and other non-printable characters escaped (``\x1b``, ``\t``):
    a key or file name from someone else's file must not drive the user's terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


class CaseError(TwinflowError):
    """A case file that does not validate (``FILE:LINE:COL: key.path: message`` lines)."""


class InputError(TwinflowError):
    """An input file (image, mesh, model) that cannot be read or is inconsistent."""


class OutputError(TwinflowError):
    """An output path that cannot be written as a regular file (a FIFO, device or folder
    there, or a folder that cannot be made)."""
