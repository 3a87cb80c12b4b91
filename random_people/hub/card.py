"""The dataset card (``README.md`` with the Hub's YAML header), generated from the export manifest.

A synthetic dataset is only trustworthy if it says what it is: who the people are (attribute
histograms), how they were made (generator versions, seeds, backgrounds, cameras), what real
data they came from and under which licence, and what they must not be used for. Everything here
is computed from the exported rows, so the card never drifts from the data; nothing depends on
the clock, so the same export writes the same card.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import yaml

from random_people.files import atomic_output
from random_people.hub import layout
from random_people.wording import count

if TYPE_CHECKING:
    from random_people.hub.manifest import Manifest

PAPER = ("Knapp & Bohacek, \"Synthetic Human Action Video Data Generation with Pose Transfer\", "
         "CVPR 2025 SynData4CV workshop, arXiv:2506.09411")


@dataclass(frozen=True)
class CardInfo:
    """What the card cannot learn from the clips: names, licences, where the real clips came from."""

    pretty_name: str = "RANDOM People synthetic human actions"
    license: str = "other"  # Hub licence id of the exported data (e.g. cc-by-4.0); "other" when it is the source's
    source_dataset: str = "unspecified"  # e.g. "Toyota Smarthome"
    source_license: str = "unspecified"  # e.g. "non-commercial research only (Toyota Smarthome terms)"
    source_url: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CardInfo:
        """Known fields only; an unknown key (from a newer version) is ignored, a typo'd one refused."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            from random_people.hub.errors import ExportError

            raise ExportError(f"unknown dataset card field {unknown[0]!r}; known: {', '.join(cls.__dataclass_fields__)}.")
        return cls(**{k: str(v) for k, v in data.items()})


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def _config_entry(manifest: Manifest, config: str) -> dict[str, Any] | None:
    splits = sorted({e["row"]["split"] for e in manifest.entries(config).values()}, key=layout.SPLITS.index)
    if not splits:
        return None
    data_files = []
    for split in splits:
        base = layout.split_dir(config, split)
        if manifest.is_sharded(config):
            data_files.append({"split": split, "path": f"{base}/*.parquet"})
        else:
            data_files.append({"split": split, "path": [f"{base}/{layout.METADATA_NAME}", f"{base}/**/*.mp4"]})
    entry: dict[str, Any] = {"config_name": config, "data_files": data_files}
    if config == layout.SYNTHETIC_CONFIG:
        entry["default"] = True
    return entry


def card_yaml(manifest: Manifest) -> dict[str, Any]:
    """The YAML header: licence, task, tags, size and the configs ``load_dataset(repo_id)`` reads."""
    info = CardInfo.from_dict(manifest.info)
    configs = [c for c in (_config_entry(manifest, layout.SYNTHETIC_CONFIG), _config_entry(manifest, layout.REAL_CONFIG))
               if c]
    return {
        "license": info.license,
        "pretty_name": info.pretty_name,
        "task_categories": ["video-classification"],
        "tags": ["synthetic", "human-action-recognition", "pose-transfer", "gaussian-splatting", "random-people"],
        "size_categories": [_size_category(len(manifest.synthetic) + len(manifest.real))],
        "configs": configs,
    }


def _cell(value: Any) -> str:
    """A value as one Markdown table cell: labels are validated upstream, but a log written by an
    older version may still hold a newline or a ``|``, which would break the card's table."""
    text = "".join(c if c.isprintable() else " " for c in str(value))
    return text.replace("|", "\\|")


def _table(header: list[str], rows: Iterable[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _counts_table(rows: list[dict[str, Any]]) -> str:
    labels = sorted({r["label"] for r in rows})
    splits = [s for s in layout.SPLITS if any(r["split"] == s for r in rows)]
    counts = Counter((r["label"], r["split"]) for r in rows)
    body = [[label, *(counts[(label, s)] for s in splits), sum(counts[(label, s)] for s in splits)] for label in labels]
    body.append(["**total**", *(sum(counts[(label, s)] for label in labels) for s in splits), len(rows)])
    return _table(["action", *splits, "total"], body)


def _histograms(rows: list[dict[str, Any]]) -> str:
    from random_people.avatar.identity import IdentitySpec
    from random_people.avatar.sampler import attribute_histogram, format_histogram

    specs: dict[str, Any] = {}
    per_clip = []
    for row in rows:
        if row["identity_id"] not in specs:
            data = json.loads(row["identity"])  # a captured person's colours are in their identity file, not here
            specs[row["identity_id"]] = IdentitySpec.from_dict({k: data[k] for k in ("seed", "body", "appearance")})
        per_clip.append(specs[row["identity_id"]])
    return format_histogram(attribute_histogram(per_clip), width=24)


def people_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Distinct people in the rows by how they were made: ``{"sampled": n, "captured": n, ...}``."""
    kinds: dict[str, str] = {}
    for row in rows:
        if row["identity_id"] not in kinds:
            provenance = json.loads(row["identity"]).get("provenance") or {}
            kinds[row["identity_id"]] = str(provenance.get("kind", "manual"))
    return dict(Counter(kinds.values()))


def _people_line(rows: list[dict[str, Any]]) -> list[str]:
    """Sampled vs captured people, and the consent statement that captured people need."""
    counts = people_counts(rows)
    captured = counts.get("captured", 0)
    made = counts.get("sampled", 0) + counts.get("manual", 0) + counts.get("imported", 0)
    line = f"People: {count(made, 'synthetic (sampled) person', 'synthetic (sampled) people')}"
    if not captured:
        return [line + "; no captured real people.", ""]
    return [line + f" and **{count(captured, 'captured real person', 'captured real people')}**. Captured people "
            "were filmed with their consent: each captured identity carries its consent record (the statement, who "
            "recorded it and the date), the source video's SHA-256 and the trim in the `identity` column's "
            "`provenance`, and no one is captured by this tool without one.", ""]


def _fidelity_section(rows: list[dict[str, Any]]) -> list[str]:
    """How plausible the clips look to a detector trained on real people (jobs/fidelity.py)."""
    from random_people.jobs.fidelity import THRESHOLDS, fidelity_stats

    values = [r.get("fidelity") for r in rows]
    stats = fidelity_stats(None if v is None or v < 0 else v for v in values)
    intro = ("Every clip was checked as it was made: MediaPipe Pose (trained on real people) ran on "
             "evenly spread frames and was compared with the clip's own labels. `fidelity` = PCK@0.1 of the "
             "visible limb joints (a missed person counts every joint wrong) × the share of frames where the "
             "person is whole in the picture (not cut off by the frame edge, not fully occluded); columns "
             "`fidelity`, `fidelity_pck`, `fidelity_detection_rate`, `fidelity_cut_off_share` (-1 where not "
             "scored) and `fidelity_figures` (all figures as JSON).")
    if not stats.scored:
        return ["## Fidelity", "", intro, "", f"None of the {len(rows)} clips was scored (exported before "
                "fidelity scores existed, or scoring was turned off).", ""]
    below = ", ".join(f"{stats.below[f'{t:g}']} below {t:g}" for t in THRESHOLDS)
    lines = [
        "## Fidelity", "", intro, "",
        f"{stats.scored} of {stats.clips} clips scored: mean {stats.mean:.2f}, median {stats.median:.2f}, "
        f"10th percentile {stats.p10:.2f}, lowest {stats.minimum:.2f}; {below}.", "",
        _table(["fidelity", "clips"], [[band, n] for band, n in stats.histogram]), "",
    ]
    return lines


def _value_list(counter: Counter) -> str:
    return ", ".join(f"`{value}` ({count})" for value, count in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def card_markdown(manifest: Manifest) -> str:
    """The card's body (Markdown), every number computed from the exported rows."""
    info = CardInfo.from_dict(manifest.info)
    rows = [e["row"] for e in manifest.synthetic.values()]
    real_rows = [e["row"] for e in manifest.real.values()]
    seeds = [r["seed"] for r in rows]
    options = manifest.options
    sharded = manifest.is_sharded(layout.SYNTHETIC_CONFIG)
    parts = [f"# {info.pretty_name}", ""]
    if info.description:
        parts += [info.description, ""]
    parts += [
        f"**{count(len(rows), 'synthetic clip')}** of {count(len({r['label'] for r in rows}), 'action')}, "
        f"performed by {count(len({r['identity_id'] for r in rows}), 'synthetic person', 'synthetic people')} "
        f"re-performing the motion of {count(len({r['source_clip_id'] for r in rows}), 'real source clip')}"
        + (f", plus the **{count(len(real_rows), 'real source clip')}** in the `real` config" if real_rows else "")
        + ".",
        "",
        *(_people_line(rows) if rows else []),
        "Made with RANDOM People following " + PAPER + ": the pose of each real clip is "
        "extracted, fitted to a body model and re-performed by a 3D Gaussian avatar of a sampled synthetic "
        "person, rendered over a new background from a new or matched camera.",
        "",
        "## Load it",
        "",
        "```python",
        "from datasets import load_dataset, Video",
        "ds = load_dataset(\"<this repo id>\")            # config \"synthetic\" (default)"
        + ("\nreal = load_dataset(\"<this repo id>\", \"real\")   # the real source clips" if real_rows else ""),
        "ds = ds.cast_column(\"video\", Video(decode=False))  # paths/bytes; decoding needs torchcodec",
        "```",
        "",
        "A local copy loads with `load_dataset(\"videofolder\", data_dir=\"<folder>/synthetic\")`"
        + (" (Parquet shards: `load_dataset(\"parquet\", data_dir=\"<folder>/synthetic\")`)." if sharded else "."),
        "",
        "## Contents",
        "",
        _counts_table(rows) if rows else "(no synthetic clips)",
        "",
        "Splits do not leak: every clip made from one real source clip, and every clip of one real subject "
        f"(where known), is in one split only. Target shares train/validation/test = "
        f"{'/'.join(f'{r:g}' for r in options.get('ratios', []))}, split seed {options.get('split_seed', 0)}; "
        f"the assignment is in `{layout.MANIFEST_NAME}`.",
        "",
        "## How it was generated",
        "",
        f"- Generator versions: {_value_list(Counter(r['generator_version'] for r in rows))}",
        f"- Backgrounds: {_value_list(Counter(r['background_kind'] for r in rows))}; "
        f"{len({r['background'] for r in rows})} distinct backgrounds (pasted behind the person, not physically placed)",
        f"- Cameras: {_value_list(Counter(r['camera_mode'] or 'unspecified' for r in rows))}",
        f"- Seeds: {len(set(seeds))} distinct, from {min(seeds, default=0)} to {max(seeds, default=0)}; "
        "each row's `seed`, `identity` and `camera` rebuild its clip",
        f"- Jobs: {len({r['job_id'] for r in rows if r['job_id']})}",
        f"- Frame rates: {_value_list(Counter(r['fps'] for r in rows))}; sizes: "
        f"{_value_list(Counter(str(r['width']) + 'x' + str(r['height']) for r in rows))}",
        "",
        "## The synthetic people",
        "",
        "Attribute histograms over clips (a person appearing in several clips counts each time):",
        "",
        "```text",
        _histograms(rows) if rows else "(none)",
        "```",
        "",
        *(_fidelity_section(rows) if rows else []),
        "## Source data",
        "",
        f"- Source dataset: {info.source_dataset}" + (f" ({info.source_url})" if info.source_url else ""),
        f"- Source licence: {info.source_license}. The motions (and, in the `real` config, the clips) derive "
        "from it, so its terms apply to this dataset too.",
        "",
        "## Files and columns",
        "",
        "Each split folder holds `metadata.jsonl` (one row per clip), the clips under `<action>/`, and per clip "
        "`<clip>_mask.mp4` (lossless alpha mask), `<clip>_labels.npz` (per-frame COCO-17 2D/3D keypoints with "
        "visibility, boxes, masks, intrinsics and extrinsics) and `motions/<sha256>.npz` (the body parameters "
        "re-performed, one file per source clip and trim, named by its SHA-256)." if not sharded else
        "Each split folder holds Parquet shards; the video and mask are `Video` columns and the labels and "
        "motion `.npz` files are byte columns (`labels_npz`, `motion_npz`).",
        "",
        "Columns: `label` (action), `source_clip_id` (SHA-256 of the real clip), `source_subject`, identity "
        "attributes (`sex`, `age_years`, `age_group`, `ancestry_*`, `skin_tone` on the Monk scale, `height_z` "
        "(z-score for age and sex), `weight`, clothing and hair; the full spec in `identity`), `background`, "
        "`background_kind`, camera (`camera_mode`, `camera_K`, `camera_world_to_camera`, full dict in `camera`), "
        "`seed`, `generator_version`, `job_id`, timing and size, and the label file paths.",
        "",
        "## Intended use",
        "",
        "Training and evaluating human action recognition, especially to add examples of under-represented "
        "people, viewpoints and backgrounds, and few-shot experiments comparing real, synthetic and mixed "
        "training data.",
        "",
        "## Limitations",
        "",
        "- The people are synthetic: bodies, skin, hair and clothes are sampled, not real individuals; their "
        "appearance is simpler than real people's (painted-on facial features without expressions, "
        "strand hair, garments drawn on a layer over the body).",
        "- Backgrounds are pasted behind the person, not physically placed: lighting, contact and occlusion "
        "with the scene are approximate.",
        "- Motions are fitted from monocular video and can carry fitting errors (foot sliding, jitter, wrong depth).",
        "- Attribute labels describe the generator's parameters, not perceived identity; do not use this data "
        "to infer sex, age or ancestry of real people.",
        "",
        "## Citation",
        "",
        PAPER,
        "",
    ]
    return "\n".join(parts)


def render_card(manifest: Manifest) -> str:
    header = yaml.safe_dump(card_yaml(manifest), sort_keys=False, allow_unicode=True)
    return f"---\n{header}---\n\n{card_markdown(manifest)}"


def write_card(folder: Path, manifest: Manifest) -> Path:
    path = folder / layout.CARD_NAME
    with atomic_output(path) as tmp:
        tmp.write_text(render_card(manifest), encoding="utf-8")
    return path
