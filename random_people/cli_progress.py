"""How the command line shows the library's ``progress(fraction, message)`` callbacks.

On a terminal: one tqdm bar redrawn in place. Anywhere else (a pipe, a log file, CI), a bar's
redraws become hundreds of near-identical lines, so instead each stage gets one line with its
duration when it ends, plus at most one "still working" line per ``heartbeat_s`` for stages that
run long (a first-run body-model cache build takes minutes).
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from typing import Callable, Iterator, TextIO

from tqdm import tqdm

Progress = Callable[[float, str], None]

HEARTBEAT_S = 30.0


def stage_name(message: str) -> str:
    """The stage a message belongs to: its text before any ':' or '(' detail, counters removed.

    "Detecting the person: frame 40 of ~230" and "... frame 50 of ~230" are one stage, and so
    are "rendered frame 3/60" and "rendered frame 4/60".
    """
    head = re.split(r"[:(]", message, maxsplit=1)[0]
    words = [word for word in head.split() if not re.search(r"\d", word)]
    while words and words[-1] in {"of", "/", "~", "…"}:
        words.pop()
    return " ".join(words).rstrip(" .…,;") or message.strip()


class StageLines:
    """Progress as plain lines: ``<command>: <stage> (<seconds> s)`` once per stage."""

    def __init__(self, command: str, stream: TextIO, heartbeat_s: float = HEARTBEAT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.command = command
        self.stream = stream
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.stage = ""
        self.stage_started = 0.0
        self.last_line = 0.0
        self.message = ""

    def __call__(self, fraction: float, message: str) -> None:
        now = self.clock()
        name = stage_name(message)
        if fraction >= 1.0:  # the end ("Done", "Ready"): close the last stage, start none
            self.finish_stage(now)
        elif name != self.stage:
            self.finish_stage(now)
            self.stage, self.stage_started, self.last_line = name, now, now
        elif now - self.last_line >= self.heartbeat_s:
            so_far = "" if "elapsed" in message else f" ({now - self.stage_started:.0f} s so far)"
            self._write(f"{self.command}: {message}{so_far}")
            self.last_line = now
        self.message = message

    def finish_stage(self, now: float | None = None) -> None:
        if self.stage:
            now = self.clock() if now is None else now
            self._write(f"{self.command}: {self.stage} ({now - self.stage_started:.1f} s)")
            self.stage = ""

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


@contextlib.contextmanager
def progress_reporter(command: str, quiet: bool, stream: TextIO | None = None) -> Iterator[Progress]:
    """A ``progress`` callback for ``command``: a bar on a terminal, stage lines elsewhere."""
    stream = stream or sys.stderr
    if quiet:
        yield lambda fraction, message: None
        return
    if not stream.isatty():
        lines = StageLines(command, stream)
        try:
            yield lines
        finally:
            lines.finish_stage()
        return
    with tqdm(total=100, desc=command, unit="%", file=stream, bar_format="{l_bar}{bar}| {desc}") as bar:
        def progress(fraction: float, message: str) -> None:
            bar.n = int(fraction * 100)
            bar.set_description(message[:60])
            bar.refresh()

        yield progress
