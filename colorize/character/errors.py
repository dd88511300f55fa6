"""What `colorize character` and the app's character training raise: one line each."""

from __future__ import annotations


class CharacterError(Exception):
    """One line that names the file, folder or character and the problem."""


class Cancelled(CharacterError):
    """Stopped on request; the work folder keeps the last checkpoint, so a re-run continues."""
