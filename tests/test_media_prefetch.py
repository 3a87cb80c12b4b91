"""The decoding thread behind ``media.prefetch``: it stops when its consumer stops, and a
consumer closed on the decoding thread itself (the garbage collector may finalise an unfinished
generator on any thread) ends cleanly instead of trying to wait for itself."""

from __future__ import annotations

import threading
import time

from random_people.media import prefetch


def test_stopping_early_stops_the_decoding_thread():
    produced = []

    def source():
        for i in range(10_000):
            produced.append(i)
            yield i

    frames = prefetch(source(), depth=2)
    assert [next(frames) for _ in range(3)] == [0, 1, 2]
    frames.close()
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count, "the decoding thread went on after its consumer stopped"
    assert count <= 3 + 2 + 2  # what was handed over, the queue, the one in hand


def test_closed_on_the_decoding_thread_itself():
    outcome: dict[str, object] = {}
    frames = None

    def source():
        yield 0
        yield 1
        # The consumer is suspended at its yield: close it here, on the decoding thread, as the
        # garbage collector would when it finalises a generator in a reference cycle.
        try:
            frames.close()
            outcome["closed"] = threading.current_thread().name
        except BaseException as exc:  # noqa: BLE001 -- the test reports whatever came out
            outcome["error"] = repr(exc)
        yield 2

    frames = prefetch(source(), depth=1)
    assert next(frames) == 0
    deadline = time.monotonic() + 5
    while not outcome and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outcome == {"closed": "decode"}, outcome
