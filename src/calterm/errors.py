"""One exception type a user can act on.

Every face prints a :class:`CaltermError` as one line and exits with its ``exit_code``:
2 for bad usage or unreadable input, 1 when a computation fails or its result is doubtful.
"""

from __future__ import annotations


class CaltermError(Exception):
    """A failure explained in one line, with the exit code the CLI should return."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(CaltermError):
    """Bad usage or unreadable input: missing file, wrong shape, impossible parameter (exit 2)."""

    exit_code = 2


class ComputationError(CaltermError):
    """The computation ran but failed or gave a result we will not present as a success (exit 1)."""

    exit_code = 1


class Cancelled(CaltermError):
    """A long job stopped because its cancel token was set."""

    exit_code = 1

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
