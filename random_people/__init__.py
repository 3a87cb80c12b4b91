"""RANDOM People: synthetic human-action videos from real ones."""

__version__ = "0.1.0"
