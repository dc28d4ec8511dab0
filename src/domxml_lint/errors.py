"""Errors that stop a file from being linted or fixed.

Every error names the file and, where there is one, the line and column, and
says what to do. The CLI prints ``str(error)`` as one line and exits with 2.
"""

from __future__ import annotations


class DomxmlLintError(Exception):
    """Base class of every error this package raises on purpose."""


class UsageError(DomxmlLintError):
    """A bad option, selector, configuration key or path given by the user."""


class InputError(DomxmlLintError):
    """A file that cannot be read, parsed or safely processed.

    ``line`` takes an lxml ``sourceline`` as it comes (an int, or None when lxml
    does not know it).
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        hint: str = "",
        line: object = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.message = message
        self.hint = hint
        self.line = line if isinstance(line, int) else None
        self.column = column
        super().__init__(str(self))

    def __reduce__(self):
        # Keyword-only fields: the default exception pickling would lose them,
        # and --jobs sends errors back from worker processes.
        return _rebuild_input_error, (
            type(self),
            self.path,
            self.message,
            self.hint,
            self.line,
            self.column,
        )

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return printable(text)


def printable(text: str) -> str:
    """``text`` on one line with control characters escaped.

    File names and file content reach these messages; a newline would split the
    one-line error, and an escape sequence could rewrite the user's terminal.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class HostileInputError(InputError):
    """XML features that can read files, reach the network or blow up memory."""


class InternalError(InputError):
    """A bug in domxml-lint or a plugin; the file is left untouched."""


class FixNotWritten(InputError):
    """A file was checked and fixed in memory, but the fixed file could not be written.

    The file is unchanged, so its findings still stand and are reported.
    """


def _rebuild_input_error(cls, path, message, hint, line, column):
    return cls(path, message, hint=hint, line=line, column=column)
