"""Errors of the experiments package (exit codes 25-29), each telling the user what to fix."""

from __future__ import annotations

from random_people.errors import RandomPeopleError


class ExperimentConfigError(RandomPeopleError):
    """The experiment YAML is missing, malformed, or a field has a bad value (the message names it)."""

    exit_code = 25


class ExperimentDataError(RandomPeopleError):
    """The clips could not be loaded or leave an empty train/test set (e.g. no clip of a class)."""

    exit_code = 26


class ModelUnavailableError(RandomPeopleError):
    """A pretrained checkpoint is not in the local cache and cannot be downloaded (offline)."""

    exit_code = 27


class CheckpointError(RandomPeopleError):
    """A training checkpoint is unreadable or belongs to a different experiment."""

    exit_code = 28


class TrainingError(RandomPeopleError):
    """Training diverged (non-finite loss) or cannot run with the given settings (e.g. no CUDA)."""

    exit_code = 29
