"""A small Hugging Face Hub on 127.0.0.1 for push tests: the endpoints the real ``huggingface_hub``
client calls when it creates a dataset repo, lists it and commits files over the LFS protocol.

The real Hub cannot be reached from our machines, so the push is tested against this server with
the real client. It keeps repositories in memory (git blob ids, LFS objects by SHA-256, commits),
checks the bearer token on every API call, and records every request so tests can assert exactly
what was uploaded. Faults are injected on request: ``drop_commit_after=N`` drops the connection
(no response at all) on the commit request after N successful commits, like a network failure.

Implemented: whoami-v2, repos/create, dataset info (+/revision/<rev>), tree (recursive or not,
with LFS info and folders), paths-info, validate-yaml, preupload, the LFS batch API, LFS PUT upload
+ verify, the NDJSON commit, and file download (HEAD/GET .../resolve/<rev>/<path>, with ranges), so
``datasets.load_dataset(repo_id)`` reads a pushed dataset back.
Xet is not implemented: tests set ``HF_HUB_DISABLE_XET`` so the client uses LFS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import yaml

LFS_SUFFIXES = (".mp4", ".npz", ".parquet", ".mkv", ".avi", ".mov")
MAX_BODY = 512 << 20  # refuse absurd bodies rather than fill memory


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class StoredFile:
    size: int
    blob_id: str
    sha256: str | None = None  # set for LFS files
    data: bytes = b""  # regular files only (LFS content lives in Hub.lfs)


@dataclass
class Repo:
    repo_id: str
    private: bool
    files: dict[str, StoredFile] = field(default_factory=dict)
    commits: list[dict] = field(default_factory=list)  # {"oid", "summary", "added": [...], "deleted": [...]}

    @property
    def head(self) -> str:
        return self.commits[-1]["oid"] if self.commits else "0" * 40


class FakeHub:
    """State of the fake Hub; ``server.url`` is the endpoint to give ``HfApi``."""

    def __init__(self, token: str = "hf_test_write_token", user: str = "tester") -> None:
        self.token = token
        self.user = user
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}  # sha256 -> content
        self.requests: list[tuple[str, str]] = []
        self.lfs_uploads: list[str] = []  # sha256 of every PUT that stored content
        self.drop_commit_after: int | None = None
        self.commits_seen = 0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> "FakeHub":
        hub = self

        class Handler(_Handler):
            state = hub

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def file_bytes(self, repo_id: str, path: str) -> bytes:
        stored = self.repos[repo_id].files[path]
        return self.lfs[stored.sha256] if stored.sha256 else stored.data


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # clients hanging up mid-request are expected
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: FakeHub

    def log_message(self, format: str, *args) -> None:  # keep test output clean
        pass

    # plumbing ----------------------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            for _ in range(1 << 20):  # bounded: at most a million chunks
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length)

    def _send(self, status: int, payload=None, headers: dict[str, str] | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has headers only, or the connection desynchronises
            self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": message}, {"X-Error-Message": message})

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.state.token}":
            return True
        self._error(401, "Invalid credentials in Authorization header")
        return False

    def _readable(self, repo_id: str) -> Repo | None:
        """Like the real Hub: anyone may read a public repo; a wrong token is refused even there,
        and a private repo needs the token (the real Hub then answers 401 too)."""
        if "Authorization" in self.headers or self.state.repos.get(repo_id, None) is None \
                or self.state.repos[repo_id].private:
            if not self._authorized():
                return None
        return self._repo(repo_id)

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.state.repos.get(repo_id)
        if repo is None:
            self._send(404, {"error": "Repository not found"},
                       {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
        return repo

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        path = unquote(url.path)
        with self.state.lock:
            self.state.requests.append((method, path))
        body = self._body() if method in ("POST", "PUT") else b""
        routes = [
            ("GET", r"^/api/whoami-v2$", self._whoami),
            ("POST", r"^/api/repos/create$", self._create),
            ("POST", r"^/api/validate-yaml$", self._validate_yaml),
            ("GET", r"^/api/datasets/([^/]+/[^/]+)(?:/revision/([^/]+))?$", self._info),
            ("GET", r"^/api/datasets/([^/]+/[^/]+)/tree/([^/]+)(/.*)?$", self._tree),
            ("POST", r"^/api/datasets/([^/]+/[^/]+)/paths-info/([^/]+)$", self._paths_info),
            ("GET", r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", self._resolve),
            ("HEAD", r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", self._resolve),
            ("POST", r"^/api/datasets/([^/]+/[^/]+)/preupload/([^/]+)$", self._preupload),
            ("POST", r"^/api/datasets/([^/]+/[^/]+)/commit/([^/]+)$", self._commit),
            ("POST", r"^/datasets/([^/]+/[^/]+)\.git/info/lfs/objects/batch$", self._lfs_batch),
            ("PUT", r"^/lfs-upload/([0-9a-f]{64})$", self._lfs_put),
            ("POST", r"^/lfs-verify/([0-9a-f]{64})$", self._lfs_verify),
        ]
        for verb, pattern, handler in routes:
            match = re.match(pattern, path)
            if verb == method and match:
                handler(*match.groups(), body=body, query=parse_qs(url.query))
                return
        self._error(404, f"no route for {method} {path}")

    # endpoints ---------------------------------------------------------------------------------
    def _whoami(self, body: bytes, query) -> None:
        if self._authorized():
            self._send(200, {"type": "user", "name": self.state.user, "orgs": [],
                             "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}}})

    def _create(self, body: bytes, query) -> None:
        if not self._authorized():
            return
        payload = json.loads(body)
        namespace = payload.get("organization") or self.state.user
        if namespace != self.state.user:
            self._error(403, f"You don't have the rights to create a dataset under the namespace \"{namespace}\"")
            return
        repo_id = f"{namespace}/{payload['name']}"
        with self.state.lock:
            if repo_id in self.state.repos:  # the Hub names the existing repo's URL in its 409
                self._send(409, {"error": "You already created this dataset repo",
                                 "url": f"{self.state.url}/datasets/{repo_id}"},
                           {"X-Error-Message": "You already created this dataset repo"})
                return
            self.state.repos[repo_id] = Repo(repo_id, private=payload.get("visibility") == "private")
        self._send(200, {"url": f"{self.state.url}/datasets/{repo_id}", "name": repo_id})

    def _validate_yaml(self, body: bytes, query) -> None:
        content = json.loads(body)["content"]
        try:
            header = content.split("---\n")[1] if content.startswith("---\n") else ""
            yaml.safe_load(header)
        except (yaml.YAMLError, IndexError) as exc:
            self._send(400, {"errors": [{"message": f"Invalid YAML: {exc}"}], "warnings": []})
            return
        self._send(200, {"errors": [], "warnings": []})

    def _info(self, repo_id: str, revision: str | None, body: bytes, query) -> None:
        if (repo := self._readable(repo_id)) is None:
            return
        self._send(200, {"id": repo_id, "sha": repo.head, "private": repo.private,
                         "siblings": [{"rfilename": p} for p in sorted(repo.files)]})

    def _entry(self, repo: Repo, path: str) -> dict:
        stored = repo.files.get(path)
        if stored is None:  # a folder
            return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "path": path}
        entry = {"type": "file", "oid": stored.blob_id, "size": stored.size, "path": path}
        if stored.sha256:
            entry["lfs"] = {"oid": stored.sha256, "size": stored.size, "pointerSize": 134}
        return entry

    def _children(self, repo: Repo, prefix: str, recursive: bool) -> list[dict]:
        """Files and folders under ``prefix`` (all levels, or the next one)."""
        paths: set[str] = set()
        for path in repo.files:
            if prefix and not path.startswith(prefix + "/"):
                continue
            parts = path[len(prefix) + 1 if prefix else 0:].split("/")
            depth = len(parts) if recursive else 1
            for level in range(1, min(depth, len(parts)) + 1):
                paths.add("/".join(([prefix] if prefix else []) + parts[:level]))
        return [self._entry(repo, p) for p in sorted(paths)]

    def _tree(self, repo_id: str, revision: str, sub: str | None, body: bytes, query) -> None:
        if (repo := self._readable(repo_id)) is None:
            return
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        self._send(200, self._children(repo, (sub or "").strip("/"), recursive))

    def _paths_info(self, repo_id: str, revision: str, body: bytes, query) -> None:
        if (repo := self._readable(repo_id)) is None:
            return
        wanted = parse_qs(body.decode()).get("paths", [])
        folders = {"/".join(p.split("/")[:i]) for p in repo.files for i in range(1, p.count("/") + 1)}
        self._send(200, [self._entry(repo, p) for p in wanted if p in repo.files or p in folders])

    def _resolve(self, repo_id: str, revision: str, path: str, body: bytes, query) -> None:
        if (repo := self._readable(repo_id)) is None:
            return
        if path not in repo.files:
            self._send(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound",
                                                           "X-Error-Message": "Entry not found"})
            return
        stored, data = repo.files[path], self.state.file_bytes(repo_id, path)
        headers = {"X-Repo-Commit": repo.head, "ETag": f'"{stored.blob_id}"', "Accept-Ranges": "bytes"}
        if stored.sha256:
            headers.update({"X-Linked-Etag": f'"{stored.sha256}"', "X-Linked-Size": str(stored.size)})
        status, part = 200, data
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            status, part = 206, data[start:end + 1]
            headers["Content-Range"] = f"bytes {start}-{start + len(part) - 1}/{len(data)}"
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(part)

    def _preupload(self, repo_id: str, revision: str, body: bytes, query) -> None:
        if not self._authorized() or (repo := self._repo(repo_id)) is None:
            return
        files = []
        for item in json.loads(body)["files"]:
            lfs = item["path"].endswith(LFS_SUFFIXES) or item["size"] > 10 << 20
            stored = repo.files.get(item["path"])
            oid = None if stored is None else (stored.sha256 if lfs else stored.blob_id)
            files.append({"path": item["path"], "uploadMode": "lfs" if lfs else "regular",
                          "shouldIgnore": False, "oid": oid})
        self._send(200, {"files": files, "commitOid": repo.head})

    def _lfs_batch(self, repo_id: str, body: bytes, query) -> None:
        if not self._authorized() or self._repo(repo_id) is None:
            return
        objects = []
        for obj in json.loads(body)["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.state.lfs:  # already stored objects get no actions: nothing to upload
                entry["actions"] = {"upload": {"href": f"{self.state.url}/lfs-upload/{obj['oid']}"},
                                    "verify": {"href": f"{self.state.url}/lfs-verify/{obj['oid']}"}}
            objects.append(entry)
        self._send(200, {"transfer": "basic", "objects": objects})

    def _lfs_put(self, oid: str, body: bytes, query) -> None:
        if hashlib.sha256(body).hexdigest() != oid:
            self._error(400, "content does not match its sha256")
            return
        with self.state.lock:
            self.state.lfs[oid] = body
            self.state.lfs_uploads.append(oid)
        self._send(200)

    def _lfs_verify(self, oid: str, body: bytes, query) -> None:
        if not self._authorized():
            return
        self._send(200 if oid in self.state.lfs else 404, {"ok": oid in self.state.lfs})

    def _commit(self, repo_id: str, revision: str, body: bytes, query) -> None:
        if not self._authorized() or (repo := self._repo(repo_id)) is None:
            return
        state = self.state
        if state.drop_commit_after is not None and state.commits_seen >= state.drop_commit_after:
            # A network failure: the request arrived, no response ever comes back.
            state.drop_commit_after = None
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        added, deleted, staged = [], [], {}
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "file":
                data = base64.b64decode(value["content"])
                staged[value["path"]] = StoredFile(len(data), git_blob_id(data), None, data)
                added.append(value["path"])
            elif key == "lfsFile":
                if value["oid"] not in state.lfs:
                    self._error(422, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                    return
                pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{value['oid']}\nsize {value['size']}\n"
                staged[value["path"]] = StoredFile(value["size"], git_blob_id(pointer.encode()), value["oid"])
                added.append(value["path"])
            elif key == "deletedFile":
                deleted.append(value["path"])
        with state.lock:
            for path in deleted:
                repo.files.pop(path, None)
            repo.files.update(staged)
            oid = hashlib.sha1(f"{repo.head}{json.dumps(lines)}".encode()).hexdigest()
            repo.commits.append({"oid": oid, "summary": lines[0]["value"]["summary"], "added": added, "deleted": deleted})
            state.commits_seen += 1
        self._send(200, {"commitUrl": f"{state.url}/datasets/{repo_id}/commit/{oid}", "commitOid": oid,
                         "pullRequestUrl": None})


def serve_fake_hub(monkeypatch, tmp_path, token: str):
    """Start a :class:`FakeHub` and point the real client at it (a generator for pytest fixtures).

    The server speaks LFS, not Xet, so Xet is turned off; no login or token of the machine may
    leak in (``HF_TOKEN`` unset, a private ``HF_HOME``); and the client's default endpoint is the
    server too, so even its agent-registry fetch stays on 127.0.0.1.
    """
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "hf_home" / "token"))
    server = FakeHub(token=token).start()
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", server.url)
    try:
        yield server
    finally:
        server.stop()
