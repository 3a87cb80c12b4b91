"""Benchmark: dataset export and Hub push (issue 6).

Makes N real H.264 clips (grainy 256x256, 60 frames, plus mask, labels and motion files), then
times: exporting them (copy layout), exporting them again (no-op), loading the export with
``datasets``, pushing it with the real ``huggingface_hub`` client to the test Hub on 127.0.0.1
(``tests/hub_server.py``; LFS protocol, one machine, so this measures our overhead and the client's,
not the internet), pushing again (no-op: hashing only), and packing the same clips as Parquet
shards. Prints peak RSS.

    python benchmarks/hub.py [--clips 120]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _timed(label: str, fn, size_mb: float | None = None):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    rate = f"  ({size_mb / seconds:.0f} MB/s)" if size_mb else ""
    print(f"{label:<34} {seconds:7.2f} s{rate}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=120, help="synthetic clips (2 per source clip)")
    args = parser.parse_args()
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    import huggingface_hub.constants
    from hub_fixtures import make_clips
    from hub_server import FakeHub

    from random_people.hub.export import export_dataset
    from random_people.hub.push import push_dataset

    huggingface_hub.constants.HF_HUB_DISABLE_XET = True
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        clips = make_clips(work / "clips", n_sources=max(args.clips // 2, 1), per_source=2, frames=60, size=256,
                           noise=True)
        size_mb = sum(f.stat().st_size for f in (work / "clips").iterdir()) / 1e6
        print(f"{len(clips)} clips, {size_mb:.1f} MB of clip, mask, labels and motion files")
        folder = work / "ds"
        _timed("export (copy layout)", lambda: export_dataset(clips, folder), size_mb)
        _timed("export again (no-op)", lambda: export_dataset(clips, folder))

        from datasets import load_dataset
        _timed("datasets.load_dataset(videofolder)",
               lambda: load_dataset("videofolder", data_dir=str(folder / "synthetic"), cache_dir=str(work / "c")))

        hub = FakeHub(token="hf_bench").start()
        huggingface_hub.constants.ENDPOINT = hub.url
        try:
            push = lambda: push_dataset(folder, "tester/bench", token="hf_bench", endpoint=hub.url)  # noqa: E731
            result = _timed("push to 127.0.0.1 (LFS)", push, size_mb)
            print(f"{'':<34} {len(result.uploaded)} files, {len(result.commits)} commit(s)")
            _timed("push again (no-op, hashing only)", push, size_mb)
        finally:
            hub.stop()
        _timed("export as Parquet shards", lambda: export_dataset(clips, work / "sharded", shard_threshold=1,
                                                                 clips_per_shard=100), size_mb)
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
