"""CLI commands for dataset export and Hub push (`export`, `push`): parse, call the library, report; no business logic."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands to the ``random-people`` parser."""
