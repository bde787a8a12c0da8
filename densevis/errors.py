"""The one exception type densevis raises for bad user input."""

from __future__ import annotations


class DenseVisError(ValueError):
    """A problem with what the user asked for, worded for the user.

    The CLI prints ``str(error)`` as one line and exits non-zero; the app shows it next to the
    control. Nothing catching it should ever print a traceback.
    """
