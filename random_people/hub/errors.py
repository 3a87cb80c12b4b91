"""Errors of dataset export and Hub push (exit codes 20-24).

Each says what went wrong and what to do, because exports and pushes are long: a user who
hits one after an hour needs to know whether re-running resumes (it does) and what to fix first.
"""

from __future__ import annotations

from random_people.errors import DiskFullError as _DiskFull
from random_people.errors import RandomPeopleError


class ExportError(RandomPeopleError):
    """The clips or the output folder cannot be exported as asked (bad record, mixed options)."""

    exit_code = 20


class DiskFullError(ExportError, _DiskFull):
    """The export folder's disk is (or would be) full; nothing partial is left under a final name.

    Also a :class:`random_people.errors.DiskFullError`, so one ``except`` catches every full disk."""

    exit_code = 21


class HubAuthError(RandomPeopleError):
    """No token, or the Hub refused the token (invalid, expired, or without write access)."""

    exit_code = 22


class HubRepoError(RandomPeopleError):
    """The repository id is malformed, or the repository cannot be created or written with this token."""

    exit_code = 23


class HubPushError(RandomPeopleError):
    """The push stopped part-way (network, server); re-running it resumes without re-uploading."""

    exit_code = 24
