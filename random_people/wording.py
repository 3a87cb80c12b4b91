"""Small helpers for sentences shown to people: counts with the right plural."""

from __future__ import annotations


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``count(1, "clip")`` -> ``"1 clip"``; ``count(3, "person", "people")`` -> ``"3 people"``."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
