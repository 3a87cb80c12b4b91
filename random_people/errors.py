"""Errors a user can act on.

Every error raised for bad input carries a message that says what was wrong and what to do,
and an exit code the CLI returns, so scripts can tell a bad clip from a crash.
"""

from __future__ import annotations


class RandomPeopleError(Exception):
    """Base class: a problem with the user's input or environment, not a bug."""

    exit_code = 1


class InvalidInputError(RandomPeopleError):
    """The file is not something we can read (wrong type, corrupt, truncated)."""

    exit_code = 3


class InputTooLargeError(RandomPeopleError):
    """The input exceeds a configured limit (file size, resolution, duration)."""

    exit_code = 4


class EmptyVideoError(InvalidInputError):
    """The video holds no decodable frames (or none in the requested range)."""

    exit_code = 5


class NoPersonError(RandomPeopleError):
    """The pose detector found no person (or too few frames with one) in the clip."""

    exit_code = 6


class BodyModelError(RandomPeopleError):
    """A body model could not be loaded (missing or malformed model files)."""

    exit_code = 7


class MotionFileError(RandomPeopleError):
    """A motion file is unreadable, of an unknown version, or inconsistent."""

    exit_code = 8


class DiskFullError(RandomPeopleError):
    """The disk filled up while writing; whatever was being written was removed, nothing partial stays."""

    exit_code = 21
