"""What an action label may be: one short printable line without path separators.

A label becomes a folder name of the export, a value in ``metadata.jsonl``, a row of the dataset
card's Markdown tables and a line of ``random-people jobs show``; a newline breaks the card, an
ESC sequence reaches the curator's terminal and a ``/`` changes where files go. So every way a
label enters (a job spec, a labels CSV, a folder or file name, ``extract --label``) is checked here.
"""

from __future__ import annotations

MAX_LABEL_CHARS = 100


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot be an action label, or None.

    Labels become folder names, ``metadata.jsonl`` values, rows of the dataset card's tables and
    terminal output, so they must be one printable line without path separators.
    """
    if not label.strip():
        return "is empty"
    if len(label) > MAX_LABEL_CHARS:
        return f"is {len(label)} characters long; the limit is {MAX_LABEL_CHARS}"
    bad = next((c for c in label if not c.isprintable()), None)
    if bad is not None:
        return f"holds the control character {bad!r}; use letters, digits, spaces and punctuation only"
    if "/" in label or "\\" in label:
        return "holds a path separator (/ or \\); use a dot or an underscore instead"
    if label != label.strip():
        return "starts or ends with spaces"
    return None
