"""Small helpers for sentences shown to people: counts with the right plural."""

from __future__ import annotations


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``count(1, "clip")`` -> ``"1 clip"``; ``count(3, "person", "people")`` -> ``"3 people"``."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


import re

# An absolute POSIX path of two or more parts (``/tmp/gradio/ab12/bad.npz``): its last part is kept.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])/(?:[^\s/'\"`:,;()]+/)+([^\s/'\"`:,;()]+)")
# Library and dependency messages that speak the implementation's language, in the user's words.
_PLAIN_WORDS = (
    ("Cannot load file containing pickled data when allow_pickle=False",
     "it holds pickled Python objects, which are never loaded (they can run code); use a motion .npz saved by "
     "RANDOM People (Clip & pose, or `random-people extract`)"),
    ("Object arrays cannot be loaded when allow_pickle=False",
     "it holds pickled Python objects, which are never loaded (they can run code); use a motion .npz saved by "
     "RANDOM People (Clip & pose, or `random-people extract`)"),
    ("File is not a zip file", "it is not an .npz archive"),
)


def for_people(message: str) -> str:
    """A message fit for the app's page: server paths cut to their file name, implementation
    phrases said plainly. The server's folders (upload caches, data dir) are nobody's business
    on a public page, and a file name is all the person who uploaded it needs."""
    text = _ABSOLUTE_PATH.sub(r"\1", str(message))
    for technical, plain in _PLAIN_WORDS:
        text = text.replace(technical, plain)
    return text
