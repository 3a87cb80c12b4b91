"""The Gradio app (``build_app``, ``launch``): one module per tab, no business logic."""

from random_people.ui.app import build_app, launch

__all__ = ["build_app", "launch"]
