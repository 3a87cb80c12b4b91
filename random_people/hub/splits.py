"""Leak-free train/validation/test splits: every clip made from one source clip, and every clip of
one real subject (where known), lands in one split only.

A model evaluated on the synthetic re-performance of a motion it trained on (or on the same real
person) scores higher than it would on new people: that is leakage, and it would make every
real-vs-synthetic comparison look better than it is. So the unit of splitting is a *group*: the
connected component of source clips and subjects (a subject links all their source clips; a
source clip links every synthetic clip made from it).

Assignments are kept in the export manifest and never change, so exporting again (with new
clips) is incremental: old groups keep their split and new groups fill whichever split is furthest
below its target share. The order new groups are placed in is a hash of the seed and the group,
so the same inputs always give the same splits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from random_people.hub.errors import ExportError
from random_people.hub.layout import SPLITS

DEFAULT_RATIOS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class SplitMember:
    """One clip's say in the split: which source clip it came from, which subject (if known)."""

    source_clip_id: str
    source_subject: str | None = None
    weight: int = 1  # clips this member stands for (balances splits by clip count)


def check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    """(train, validation, test) shares that are non-negative and sum to 1 (a clear error otherwise)."""
    values = tuple(float(r) for r in ratios)
    if len(values) != 3 or any(r < 0 for r in values) or abs(sum(values) - 1.0) > 1e-6 or values[0] <= 0:
        raise ExportError(
            f"split ratios must be three non-negative shares (train, validation, test) summing to 1 with "
            f"train > 0, e.g. 0.8,0.1,0.1; got {ratios!r}."
        )
    return values  # type: ignore[return-value]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:  # path compression
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _nodes(member: SplitMember) -> list[str]:
    nodes = [f"source:{member.source_clip_id}"]
    if member.source_subject:
        nodes.append(f"subject:{member.source_subject}")
    return nodes


def assign_splits(
    members: Iterable[SplitMember],
    previous: Mapping[str, str] | None = None,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    seed: int = 0,
) -> dict[str, str]:
    """Split of every node (``source:<id>`` and ``subject:<name>``), keeping ``previous`` ones.

    Returns the full node -> split map to store in the manifest. Raises :class:`ExportError` when
    new clips would join two groups that earlier exports already put in different splits (the
    folder would then leak; the message says which, and that a fresh folder fixes it).
    """
    ratios = check_ratios(ratios)
    previous = dict(previous or {})
    members = list(members)
    uf = _UnionFind()
    for node in previous:
        uf.find(node)
    weights: dict[str, int] = {}
    for member in members:
        nodes = _nodes(member)
        uf.find(nodes[0])
        for node in nodes[1:]:
            uf.union(nodes[0], node)
        weights[nodes[0]] = weights.get(nodes[0], 0) + member.weight

    groups: dict[str, list[str]] = {}
    for node in list(uf.parent):
        groups.setdefault(uf.find(node), []).append(node)

    counts = {split: 0 for split in SPLITS}
    fresh: list[tuple[str, list[str]]] = []
    result: dict[str, str] = {}
    for root, nodes in groups.items():
        known = {previous[n] for n in nodes if n in previous}
        if len(known) > 1:
            spread = ", ".join(f"{n} in {previous[n]}" for n in sorted(nodes) if n in previous)
            raise ExportError(
                f"these clips link groups that earlier exports put in different splits ({spread}); "
                "exporting them here would leak between splits. Export to a new, empty folder instead."
            )
        if known:
            split = known.pop()
            result.update({n: split for n in nodes})
            counts[split] += sum(weights.get(n, 0) for n in nodes)
        else:
            fresh.append((root, nodes))

    def order(item: tuple[str, list[str]]) -> str:
        return hashlib.sha256(f"{seed}:{item[0]}".encode()).hexdigest()

    total = sum(counts.values())
    for _, nodes in sorted(fresh, key=order):
        weight = sum(weights.get(n, 0) for n in nodes)
        total += weight
        # The split furthest below its target share after adding this group (ties: train first).
        split = max(SPLITS, key=lambda s: (ratios[SPLITS.index(s)] * total - counts[s], -SPLITS.index(s)))
        counts[split] += weight
        result.update({n: split for n in nodes})
    return result


def split_of(source_clip_id: str, assignments: Mapping[str, str]) -> str:
    """The split a clip made from ``source_clip_id`` belongs to."""
    return assignments[f"source:{source_clip_id}"]
