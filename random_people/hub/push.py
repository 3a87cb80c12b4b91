"""Push an exported dataset folder to the Hugging Face Hub: resumable, incremental, token-safe.

How a push works, and why:

1. The folder must be an export (it has the manifest); the repo id is checked locally first, so a
   typo fails in a millisecond, not after hashing gigabytes.
2. The token comes from the caller (a UI field or ``--token``), else ``HF_TOKEN``, else the
   ``huggingface_hub`` login. It is checked with ``whoami`` before anything is uploaded. It is
   passed to the client and nowhere else: never logged, never stored, never in an error message.
3. The repository's file list is compared with the folder (SHA-256 for LFS files, git blob ids
   for small ones). Files already there are skipped, so a second push of the same data makes no
   commit at all and a push of new clips commits only them.
4. What is left is committed in batches (``files_per_commit`` / ``bytes_per_commit``), data first
   and the ``metadata.jsonl`` files, card and manifest last, so nothing describes clips that have
   not landed. If the network fails mid-way, committed batches stay, LFS objects that reached the
   server are not uploaded again (the LFS batch API reports them present), and re-running the same
   push resumes.
   On the real Hub with ``hf_xet`` installed, ``huggingface_hub`` moves the bytes over Xet, which
   deduplicates the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from random_people.files import sha256_file
from random_people.hub import layout
from random_people.hub.errors import HubAuthError, HubPushError, HubRepoError

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
DEFAULT_FILES_PER_COMMIT = 500
DEFAULT_BYTES_PER_COMMIT = 2 << 30
UPLOAD_GROUP = 48  # files uploaded between two progress reports (the client uploads 5 at a time)
MANAGED_PREFIXES = (f"{layout.SYNTHETIC_CONFIG}/", f"{layout.REAL_CONFIG}/")
LAST_FILES = (layout.CARD_NAME, layout.MANIFEST_NAME)


@dataclass(frozen=True)
class PushPlan:
    """What a push of this folder would send (before asking the Hub what it already has)."""

    folder: Path
    files: list[tuple[str, int]]  # (path in repo, size in bytes), sorted
    total_bytes: int
    synthetic_clips: int
    real_clips: int
    split_counts: dict[str, int]  # synthetic clips per split
    card: str


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    url: str
    commits: list[str]  # commit ids made by this push (empty: nothing had changed)
    uploaded: list[str]  # paths added or changed
    deleted: list[str]  # paths removed from the repo (left over from an earlier layout)
    unchanged: int  # files already on the Hub

    @property
    def no_op(self) -> bool:
        return not self.commits


def _noop(fraction: float, message: str) -> None:
    pass


def plan_push(folder: str | os.PathLike[str]) -> PushPlan:
    """The files a push sends and the card it publishes; refuses a folder that is not an export."""
    from random_people.hub.manifest import load_manifest

    folder = Path(folder)
    if not (folder / layout.MANIFEST_NAME).is_file():
        from random_people.hub.errors import ExportError

        raise ExportError(f"{folder} holds no {layout.MANIFEST_NAME}: it is not an exported dataset. "
                          "Run `random-people export` first and push the folder it writes.")
    manifest = load_manifest(folder)
    files = [(name, (folder / name).stat().st_size) for name in layout.dataset_files(folder)]
    card_path = folder / layout.CARD_NAME
    return PushPlan(folder, files, sum(size for _, size in files), len(manifest.synthetic), len(manifest.real),
                    manifest.split_counts(), card_path.read_text() if card_path.exists() else "")


def check_repo_id(repo_id: str) -> str:
    """``user/name`` with the Hub's allowed characters, or :class:`HubRepoError` saying what is wrong."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    repo_id = (repo_id or "").strip()
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise HubRepoError(f"repo id {repo_id!r} must be 'user/name' or 'organization/name', e.g. 'alice/my-actions'.")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise HubRepoError(f"repo id {repo_id!r} is not valid on the Hub: {exc}") from None
    return repo_id


def resolve_token(token: str | None = None) -> str:
    """The token to use: the given one, else ``HF_TOKEN``, else the ``huggingface_hub`` login."""
    from huggingface_hub import get_token

    for candidate in (token, os.environ.get("HF_TOKEN"), get_token()):
        if candidate and candidate.strip():
            return candidate.strip()
    raise HubAuthError("no Hugging Face token: paste a write token (huggingface.co/settings/tokens), set HF_TOKEN, "
                       "or run `hf auth login`.")


def _git_blob_id(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _unchanged(local: Path, remote) -> bool:
    """Same content on both sides? LFS files by SHA-256, small files by git blob id."""
    if remote.size != local.stat().st_size:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == sha256_file(local)
    return remote.blob_id == _git_blob_id(local)


def _last(path: str) -> bool:
    """Does ``path`` describe the data (and so go in the last commit)?"""
    return path in LAST_FILES or path.endswith("/" + layout.METADATA_NAME)


def _batches(paths: list[tuple[str, int]], files_per_commit: int, bytes_per_commit: int) -> list[list[str]]:
    """Commit batches: data in path order; the ``metadata.jsonl`` files, then card and manifest, ride in the last.

    Each commit is atomic on the Hub, so no row or card describes clips that have not landed (an
    interrupted push leaves a repo that still loads).
    """
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for path, bytes_ in paths:
        if _last(path):
            continue
        if current and (len(current) >= files_per_commit or size + bytes_ > bytes_per_commit):
            batches.append(current)
            current, size = [], 0
        current.append(path)
        size += bytes_
    last = sorted((p for p, _ in paths if _last(p)), key=lambda p: (p in LAST_FILES, p))
    if current or last:
        batches.append(current + last)
    return batches


@contextlib.contextmanager
def _client_bars_off() -> Iterator[None]:
    """Silence huggingface_hub's own per-file tqdm bars while we report through ``progress``."""
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            enable_progress_bars()


def _failures() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the Hub or the network said no": HTTP errors and the client's transport errors.

    ``huggingface_hub`` has used ``requests``, ``httpx`` and ``httpx2`` across versions; whichever is
    installed is caught, anything else (a bug) propagates.
    """
    import importlib

    from huggingface_hub.errors import HfHubHTTPError

    errors: list[type[BaseException]] = [HfHubHTTPError, OSError]
    for module, name in (("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException")):
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _translate(exc: Exception, repo_id: str, done: int, total: int) -> Exception:
    """A client or network exception as one of our errors (never echoing headers, so never the token)."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    resume = f"{done} of {total} files had landed; run the same push again to resume (nothing is uploaded twice)."
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, RepositoryNotFoundError) or status == 404:
        return HubRepoError(f"the Hub has no dataset repo {repo_id} this token can see; check the id and the "
                            "token's access.")
    if status == 401:
        return HubAuthError("the Hub refused the token (invalid or expired); create a new write token at "
                            "huggingface.co/settings/tokens.")
    if status == 403:
        return HubRepoError(f"this token may not write to {repo_id}: use a token with write access to that "
                            "namespace, or push to your own namespace.")
    if isinstance(exc, HfHubHTTPError):
        return HubPushError(f"the Hub answered with an error (HTTP {status}). {resume}")
    if isinstance(exc, OSError) and getattr(exc, "filename", None):  # our side: a file, not the network
        return HubPushError(f"a file of the dataset could not be read ({exc.strerror or type(exc).__name__}: "
                            f"{exc.filename}); export the folder again if it changed, then re-run the push. {resume}")
    return HubPushError(f"the connection to the Hub failed ({type(exc).__name__}). {resume}")


def push_dataset(
    folder: str | os.PathLike[str],
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    endpoint: str | None = None,
    files_per_commit: int = DEFAULT_FILES_PER_COMMIT,
    bytes_per_commit: int = DEFAULT_BYTES_PER_COMMIT,
    progress: Progress | None = None,
) -> PushResult:
    """Make the dataset repo ``repo_id`` hold exactly the export in ``folder`` (see the module docstring).

    ``endpoint`` is the Hub's URL (default: the ``HF_ENDPOINT`` or huggingface.co).
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    progress = progress or _noop
    plan = plan_push(folder)
    repo_id = check_repo_id(repo_id)
    api = HfApi(endpoint=endpoint, token=resolve_token(token))
    total = len(plan.files)
    failures = _failures()
    progress(0.0, "Checking the token…")
    try:
        user = api.whoami()
    except failures as exc:
        raise _translate(exc, repo_id, 0, total) from None
    logger.info("Pushing %s (%d files, %.1f MB) to %s as %s", plan.folder, total, plan.total_bytes / 1e6,
                repo_id, user.get("name", "?"))
    try:
        repo_url = str(api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True))
        progress(0.02, "Comparing with the repository…")
        remote = {f.path: f for f in api.list_repo_tree(repo_id, repo_type="dataset", recursive=True)
                  if hasattr(f, "blob_id")}
    except failures as exc:
        raise _translate(exc, repo_id, 0, total) from None

    changed = [(p, s) for p, s in plan.files if p not in remote or not _unchanged(plan.folder / p, remote[p])]
    local = {p for p, _ in plan.files}
    deleted = sorted(p for p in remote if p.startswith(MANAGED_PREFIXES) and p not in local)
    unchanged = total - len(changed)
    if not changed and not deleted:
        progress(1.0, f"Nothing to push: {repo_id} already holds these {total} files.")
        return PushResult(repo_id, repo_url, [], [], [], unchanged)

    batches = _batches(changed, files_per_commit, bytes_per_commit) or [[]]  # deletions only: one commit of them
    sizes = dict(changed)
    to_send = max(sum(sizes.values()), 1)
    sent = 0
    commits: list[str] = []
    landed = unchanged
    for i, batch in enumerate(batches):
        part = f" (part {i + 1}/{len(batches)})" if len(batches) > 1 else ""
        additions = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(plan.folder / p)) for p in batch]
        try:
            with _client_bars_off():
                # Upload in small groups first, for progress; the commit then only references them.
                for start in range(0, len(additions), UPLOAD_GROUP):
                    group = additions[start:start + UPLOAD_GROUP]
                    progress(0.05 + 0.9 * sent / to_send, f"Uploading {len(group)} files{part}…")
                    api.preupload_lfs_files(repo_id, additions=group, repo_type="dataset", free_memory=False)
                    sent += sum(sizes[op.path_in_repo] for op in group)
                deletions = [CommitOperationDelete(path_in_repo=p) for p in deleted] if i == len(batches) - 1 else []
                progress(0.05 + 0.9 * sent / to_send, f"Committing {len(batch)} files{part}…")
                info = api.create_commit(
                    repo_id, repo_type="dataset", operations=[*additions, *deletions],
                    commit_message=f"RANDOM People export: {plan.synthetic_clips} synthetic clips{part}",
                )
        except failures as exc:
            raise _translate(exc, repo_id, landed, total) from None
        commits.append(info.oid)
        landed += len(batch)
    progress(1.0, f"Pushed {len(changed)} files in {len(commits)} commits to {repo_url}")
    logger.info("Pushed %d files (%d unchanged, %d deleted) to %s in %d commits", len(changed), unchanged,
                len(deleted), repo_id, len(commits))
    return PushResult(repo_id, repo_url, commits, [p for p, _ in changed], deleted, unchanged)
