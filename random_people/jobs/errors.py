"""Errors of bulk jobs, each with its own CLI exit code."""

from __future__ import annotations

from random_people.errors import RandomPeopleError


class JobSpecError(RandomPeopleError):
    """A job spec is malformed: the message lists every field that is wrong and how to fix it."""

    exit_code = 16


class JobNotFoundError(RandomPeopleError):
    """No job (or task) with that id in the log."""

    exit_code = 17


class JobStateError(RandomPeopleError):
    """The operation does not apply to the job in its current state (e.g. resuming a finished job)."""

    exit_code = 18


class DatabaseError(RandomPeopleError):
    """The job log cannot be opened or upgraded (bad URL, unreadable file, newer schema)."""

    exit_code = 19
