"""Fixture repositories for the migration tests, built with the real git, git-lfs and git-annex.

Every builder takes an empty-or-missing directory and returns a :class:`Fixture`, which knows the
*true content* of every object it committed, so a test can check a migration without trusting the
code under test:

- ``fx.files_at(rev)``    every file of commit ``rev`` -> its real bytes (LFS pointers and annex
                          keys resolved to the content they stand for; ``None`` for an object
                          that was made missing on purpose). Symlinks of locked annex files count
                          as files here.
- ``fx.pointers_at(rev)`` the paths that a migration converts at ``rev`` -> their source id
                          (LFS sha256 oid | annex key | git blob sha of a big plain file).
- ``fx.objects``          source id -> bytes, for every object (including the missing ones).
- ``fx.commits``          label -> commit sha (labels below); ``fx.refs`` every branch and tag.
- ``fx.missing``          ids made missing (locally, and on the server when one was given).

Builders (all deterministic: fixed contents and dates, so commit ids repeat run to run):

``simple_lfs_repo(path)``
    branch ``main``, commits c1..c3: ``*.bin`` tracked by LFS at the root; ``data/a.bin``,
    ``data/b.bin``, ``model.bin``, a plain ``README.md``; c2 modifies ``data/b.bin``; c3 adds
    ``data/c.bin``. No server, no remote. For quick converter / forward tests.

``big_lfs_repo(path)``
    branch ``main``, one commit c1: ``*.bin`` tracked by LFS; ``frames/f00..f11.bin`` (40-62 KB
    each, enough for a folder output), ``model.bin`` (100 KB), ``tiny.bin`` (2 KB). Every
    work-tree file is dated an hour back and the index refreshed, as in a checkout made a while
    ago (git's records of them are not "racily clean"). For the work-tree reuse tests.

``lfs_repo(path, server=None, missing=False)``
    The full scenario. Root ``.gitattributes``: ``*.bin`` -> LFS; ``assets/.gitattributes``
    (subfolder): ``*.png`` -> LFS. A bare remote ``<path>.remote.git`` is ``origin``; with
    ``server`` (tests.migrate.lfs_server.LfsServer) ``lfs.url`` points at it and everything is
    pushed (git and LFS), repository name on the server = ``fx.server_name``. The local LFS
    objects share no file with the remote's (as in a clone from a server).
      c1 (main)  data/images/{a,b,c}.bin (c.bin has a.bin's content: same content, two names),
                 models/m.bin, assets/logo.png, assets/icons/x.png, README.md and
                 data/labels.csv (plain), docs/manual.pdf (PLAIN: no pattern for *.pdf yet)
      c2 (main)  data/images/b.bin modified, data/images/d.bin added; tag ``v1`` (annotated)
                 with ``missing=True`` also data/images/gone.bin (its object is later deleted
                 from the server and from .git/lfs/objects: missing everywhere)
      f1 (feature, from c2)  data/images/e.bin added, assets/logo.png modified
      f2 (feature)           data/images/b.bin modified; tag ``feat-1`` (annotated)
      c3 (main)  rename data/images/a.bin -> data/images/a2.bin, delete models/m.bin,
                 add models/m2.bin (= c2's d.bin content: same content, another name),
                 delete gone.bin (if any); tag ``v1.1`` (lightweight)
      c4 (main)  ``*.pdf`` added to LFS patterns, docs/manual.pdf renormalised: now an LFS pointer
      c5 (main)  merge of ``feature`` (two parents)
      c6 (main)  ``*.pdf`` removed from LFS again, docs/manual.pdf changed and PLAIN again
    So docs/manual.pdf is plain at c1-c3, LFS at c4-c5, plain at c6.
    ``fx.notes`` has the interesting paths: same_content, lfs_then_plain, missing_path.

``lfs_clone(fx, dest)``
    A clone of ``fx``'s bare remote with ``lfs.url`` set and NO LFS object fetched locally
    (GIT_LFS_SKIP_SMUDGE): the case where the migration must fetch from the server.

``annex_repo(path)``
    git-annex repository (``git annex init``), branch ``main`` plus ``dev``:
      c1  locked (symlinks) data/locked/{a,b}.bin with backend SHA256E; data/md5/p.bin and
          data/md5/q.bin with MD5E (q has p's content: same key twice); plain README.md
      c2  unlocked (pointer files) data/unlocked/u.bin (SHA256E) and data/unlocked/v.bin (MD5E);
          data/locked/b.bin modified; tag ``v1`` (annotated)
      d1 (dev, from c2)  data/locked/a.bin renamed to data/locked/a-renamed.bin, data/md5/p.bin
          removed; tag ``dev-1`` (lightweight)
    Annex's own ``git-annex`` branch exists too (a migration must leave it alone).

``plain_git_repo(path, above=64 * 1024)``
    Big binaries committed straight into git; ``fx.notes["above"]`` is the threshold:
      c1  images/{a,b}.jpg (2x above), images/small.txt (below), weights/w.pt (3x above)
      c2  images/b.jpg modified, images/a-copy.jpg = a.jpg's bytes; tag ``v1``
      f1 (branch ``exp`` from c1)  weights/w.pt modified
      c3  weights/w.pt deleted, images/a.jpg renamed to images/first.jpg
"""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import time
from dataclasses import dataclass, field

LFS_ATTR = "filter=lfs diff=lfs merge=lfs -text"
_IDENT = {"GIT_AUTHOR_NAME": "Fixture", "GIT_AUTHOR_EMAIL": "fixture@example.com",
          "GIT_COMMITTER_NAME": "Fixture", "GIT_COMMITTER_EMAIL": "fixture@example.com"}


def payload(name: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes for ``name`` (the same name always gives the same bytes)."""
    return random.Random(name).randbytes(size)


def lfs_pointer(data: bytes) -> bytes:
    """The LFS pointer git-lfs writes for ``data``."""
    oid = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n".encode()


def parse_lfs_pointer(blob: bytes) -> str | None:
    """The sha256 oid of an LFS pointer blob, or None if ``blob`` is not a pointer."""
    if len(blob) > 1024 or not blob.startswith(b"version https://git-lfs"):
        return None
    for line in blob.decode("ascii", "replace").splitlines():
        if line.startswith("oid sha256:"):
            return line[len("oid sha256:"):]
    return None


def parse_annex_key(blob: bytes, mode: str) -> str | None:
    """The annex key of a locked (symlink, mode 120000) or unlocked (pointer file) annexed blob."""
    text = blob.decode("utf-8", "replace").strip()
    if mode == "120000" and "/annex/objects/" in text:
        return os.path.basename(text)
    if mode != "120000" and text.startswith("/annex/objects/") and "\n" not in text:
        return text[len("/annex/objects/"):]
    return None


@dataclass
class Fixture:
    """A built repository and the truth about it (see the module docstring)."""

    path: str
    kind: str                      # "lfs" | "annex" | "git"
    objects: dict[str, bytes] = field(default_factory=dict)
    commits: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    remote: str | None = None      # bare repository path (LFS fixtures)
    lfs_url: str | None = None
    server_name: str | None = None
    notes: dict = field(default_factory=dict)

    def git(self, *args: str, **kwargs) -> str:
        return git(self.path, *args, **kwargs)

    @property
    def refs(self) -> dict[str, str]:
        """Every branch and tag (full ref name -> the object it points at)."""
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags")
        return dict(line.split(" ", 1) for line in out.splitlines())

    def _blobs(self, rev: str) -> list[tuple[str, str, str, bytes]]:
        """(mode, blob sha, path, bytes) of every blob or symlink in ``rev``'s tree."""
        rows = []
        for line in self.git("ls-tree", "-r", "-z", rev, text=False).split(b"\0"):
            if not line:
                continue
            meta, path = line.split(b"\t", 1)
            mode, kind, sha = meta.decode().split()
            if kind == "blob":
                rows.append((mode, sha, path.decode()))
        shas = "\n".join(sha for _, sha, _ in rows) + "\n"
        proc = subprocess.run(["git", "cat-file", "--batch"], cwd=self.path, input=shas.encode(),
                              capture_output=True, check=True)
        out, pos, result = proc.stdout, 0, []
        for mode, sha, path in rows:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            body = out[header_end + 1:header_end + 1 + size]
            pos = header_end + 1 + size + 1
            result.append((mode, sha, path, body))
        return result

    def pointers_at(self, rev: str) -> dict[str, str]:
        """Paths a migration converts at ``rev`` -> source id."""
        found = {}
        for mode, sha, path, body in self._blobs(rev):
            ident = self._source_id(mode, sha, body)
            if ident is not None:
                found[path] = ident
        return found

    def files_at(self, rev: str) -> dict[str, bytes | None]:
        """Every file at ``rev`` -> its real content (pointers resolved; None if missing)."""
        files = {}
        for mode, sha, path, body in self._blobs(rev):
            ident = self._source_id(mode, sha, body)
            if ident is None or self.kind == "git":
                files[path] = body
            else:
                files[path] = None if ident in self.missing else self.objects[ident]
        return files

    def _source_id(self, mode: str, sha: str, body: bytes) -> str | None:
        if self.kind == "lfs":
            return parse_lfs_pointer(body)
        if self.kind == "annex":
            return parse_annex_key(body, mode)
        return sha if len(body) > self.notes["above"] else None


def git(cwd: str, *args: str, text: bool = True, env: dict | None = None,
        input: bytes | None = None) -> str:
    """Run git in ``cwd`` with a fixed identity; raise with git's stderr on failure."""
    full_env = dict(os.environ, **_IDENT, **(env or {}))
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=full_env, input=input)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: "
                             f"{proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode() if text else proc.stdout


class _Builder:
    """Writes files and commits with increasing fixed dates."""

    def __init__(self, path: str, kind: str, **fixture_kw):
        os.makedirs(path, exist_ok=True)
        self.path = path
        self.fx = Fixture(path, kind, **fixture_kw)
        self.tick = 0

    def write(self, rel: str, data: bytes | str) -> bytes:
        full = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if os.path.islink(full):
            os.unlink(full)
        data = data.encode() if isinstance(data, str) else data
        with open(full, "wb") as fobj:
            fobj.write(data)
        return data

    def blob(self, rel: str, name: str, size: int) -> bytes:
        """Write ``payload(name, size)`` at ``rel`` and remember it under its sha256."""
        data = self.write(rel, payload(name, size))
        self.fx.objects[hashlib.sha256(data).hexdigest()] = data
        return data

    def git(self, *args: str, **kwargs) -> str:
        return git(self.path, *args, **kwargs)

    def commit(self, label: str, message: str | None = None, *args: str) -> str:
        self.tick += 1
        date = f"{1700000000 + self.tick * 3600} +0000"
        self.git("commit", "-q", "--no-verify", "-m", message or label, *args,
                 env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        sha = self.git("rev-parse", "HEAD").strip()
        self.fx.commits[label] = sha
        return sha

    def tag(self, name: str, annotated: bool) -> None:
        date = f"{1700000000 + self.tick * 3600 + 60} +0000"
        extra = ["-a", "-m", f"tag {name}"] if annotated else []
        self.git("tag", *extra, name, env={"GIT_COMMITTER_DATE": date})


# --- LFS ----------------------------------------------------------------------------------------
def _lfs_init(b: _Builder) -> None:
    b.git("init", "-q", "-b", "main")
    b.git("lfs", "install", "--local")
    b.git("config", "lfs.locksverify", "false")


def simple_lfs_repo(path: str) -> Fixture:
    """A small LFS repository on ``main`` (see the module docstring)."""
    b = _Builder(path, "lfs")
    _lfs_init(b)
    b.write(".gitattributes", f"*.bin {LFS_ATTR}\n")
    b.blob("data/a.bin", "simple-a", 3000)
    b.blob("data/b.bin", "simple-b", 5000)
    b.blob("model.bin", "simple-model", 8000)
    b.write("README.md", "simple LFS fixture\n")
    b.git("add", "-A")
    b.commit("c1")
    b.blob("data/b.bin", "simple-b2", 5100)
    b.git("add", "-A")
    b.commit("c2")
    b.blob("data/c.bin", "simple-c", 700)
    b.git("add", "-A")
    b.commit("c3")
    return b.fx


def big_lfs_repo(path: str) -> Fixture:
    """LFS files big enough to be kept in place by a migration (see the module docstring)."""
    b = _Builder(path, "lfs")
    _lfs_init(b)
    b.write(".gitattributes", f"*.bin {LFS_ATTR}\n")
    for i in range(12):
        b.blob(f"frames/f{i:02d}.bin", f"frame-{i}", 40_000 + 2_000 * i)
    b.blob("model.bin", "big-model", 100_000)
    b.blob("tiny.bin", "big-tiny", 2_000)
    b.git("add", "-A")
    b.commit("c1")
    age_work_tree(path)
    return b.fx


def age_work_tree(path: str, seconds: int = 3600) -> None:
    """Date every work-tree file ``seconds`` back, then let git record their new stat."""
    when = int(time.time()) - seconds
    for dirpath, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            os.utime(os.path.join(dirpath, name), (when, when), follow_symlinks=False)
    git(path, "update-index", "-q", "--refresh")


def lfs_repo(path: str, server=None, missing: bool = False) -> Fixture:
    """The full LFS scenario (see the module docstring); pushed to ``server`` if given."""
    path = os.path.abspath(path)
    remote = path.rstrip("/") + ".remote.git"
    name = os.path.basename(path.rstrip("/"))
    b = _Builder(path, "lfs", remote=remote, server_name=name)
    _lfs_init(b)
    git(os.path.dirname(path), "init", "-q", "--bare", "-b", "main", remote)
    b.git("remote", "add", "origin", remote)
    if server is not None:
        b.fx.lfs_url = server.url(name)
        b.git("config", "lfs.url", b.fx.lfs_url)
    b.fx.notes = {"same_content": ["data/images/a.bin", "data/images/c.bin"],
                  "lfs_then_plain": "docs/manual.pdf", "missing_path": None}

    b.write(".gitattributes", f"*.bin {LFS_ATTR}\n")
    b.write("assets/.gitattributes", f"*.png {LFS_ATTR}\n")
    a = b.blob("data/images/a.bin", "lfs-a", 4096)
    b.write("data/images/c.bin", a)
    b.blob("data/images/b.bin", "lfs-b", 2048)
    b.blob("models/m.bin", "lfs-m", 10000)
    b.blob("assets/logo.png", "lfs-logo", 1500)
    b.blob("assets/icons/x.png", "lfs-x", 900)
    b.write("README.md", "LFS fixture\n")
    b.write("data/labels.csv", "name,label\na,1\nb,2\n")
    b.write("docs/manual.pdf", payload("manual-v1", 3000))
    b.git("add", "-A")
    b.commit("c1")

    b.blob("data/images/b.bin", "lfs-b2", 2100)
    d = b.blob("data/images/d.bin", "lfs-d", 3333)
    if missing:
        gone = b.blob("data/images/gone.bin", "lfs-gone", 1234)
        b.fx.missing.add(hashlib.sha256(gone).hexdigest())
        b.fx.notes["missing_path"] = "data/images/gone.bin"
    b.git("add", "-A")
    b.commit("c2")
    b.tag("v1", annotated=True)

    b.git("checkout", "-q", "-b", "feature")
    b.blob("data/images/e.bin", "lfs-e", 777)
    b.blob("assets/logo.png", "lfs-logo2", 1600)
    b.git("add", "-A")
    b.commit("f1")
    b.blob("data/images/b.bin", "lfs-b3", 2200)
    b.git("add", "-A")
    b.commit("f2")
    b.tag("feat-1", annotated=True)
    b.git("checkout", "-q", "main")

    b.git("mv", "data/images/a.bin", "data/images/a2.bin")
    b.git("rm", "-q", "models/m.bin")
    b.write("models/m2.bin", d)
    if missing:
        b.git("rm", "-q", "data/images/gone.bin")
    b.git("add", "-A")
    b.commit("c3")
    b.tag("v1.1", annotated=False)

    b.write(".gitattributes", f"*.bin {LFS_ATTR}\n*.pdf {LFS_ATTR}\n")
    b.fx.objects[hashlib.sha256(payload("manual-v1", 3000)).hexdigest()] = payload("manual-v1", 3000)
    b.git("add", "--renormalize", ".")
    b.git("add", "-A")
    b.commit("c4")

    b.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature",
          env={"GIT_AUTHOR_DATE": "1700100000 +0000", "GIT_COMMITTER_DATE": "1700100000 +0000"})
    b.fx.commits["c5"] = b.git("rev-parse", "HEAD").strip()

    b.write(".gitattributes", f"*.bin {LFS_ATTR}\n")
    b.write("docs/manual.pdf", payload("manual-v2", 3100))
    b.git("add", "--renormalize", ".")
    b.git("add", "-A")
    b.commit("c6")

    b.git("push", "-q", "origin", "--all")
    b.git("push", "-q", "origin", "--tags")
    for oid in b.fx.missing:
        os.remove(lfs_object_path(path, oid))
        if server is not None:
            server.delete(name, oid)
    unshare_lfs_objects(path)
    return b.fx


def unshare_lfs_objects(repo: str) -> None:
    """Give every local LFS object of ``repo`` a file of its own. Pushing to a bare remote on
    the same disk hard-links the objects into it; a repository cloned from a server has files
    no other name shares, which a migration links into the cache rather than copies."""
    root = os.path.join(repo, ".git", "lfs", "objects")
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.stat(path).st_nlink > 1:
                shutil.copy2(path, path + ".copy")
                os.replace(path + ".copy", path)


def lfs_object_path(repo: str, oid: str) -> str:
    """Where git-lfs keeps object ``oid`` of ``repo`` locally."""
    return os.path.join(repo, ".git", "lfs", "objects", oid[:2], oid[2:4], oid)


def lfs_clone(fx: Fixture, dest: str) -> str:
    """Clone ``fx``'s bare remote into ``dest`` without fetching any LFS object."""
    env = {"GIT_LFS_SKIP_SMUDGE": "1"}
    git(os.path.dirname(os.path.abspath(dest)) or ".", "clone", "-q", fx.remote, dest, env=env)
    git(dest, "lfs", "install", "--local", "--skip-smudge")
    if fx.lfs_url:
        git(dest, "config", "lfs.url", fx.lfs_url)
    return dest


# --- git-annex ----------------------------------------------------------------------------------
def annex_repo(path: str) -> Fixture:
    """A git-annex repository with locked/unlocked files and MD5E/SHA256E keys (module docstring)."""
    b = _Builder(path, "annex")
    b.git("init", "-q", "-b", "main")
    b.git("annex", "init", "-q", "fixture")
    b.write("README.md", "annex fixture\n")
    b.git("add", "README.md")
    for rel, name, backend in [("data/locked/a.bin", "annex-a", "SHA256E"),
                               ("data/locked/b.bin", "annex-b", "SHA256E"),
                               ("data/md5/p.bin", "annex-p", "MD5E")]:
        _annex_add(b, rel, name, 2500, backend)
    _annex_add(b, "data/md5/q.bin", "annex-p", 2500, "MD5E")
    b.commit("c1")

    _annex_add(b, "data/unlocked/u.bin", "annex-u", 1800, "SHA256E", unlock=True)
    _annex_add(b, "data/unlocked/v.bin", "annex-v", 1900, "MD5E", unlock=True)
    b.git("annex", "unlock", "-q", "data/locked/b.bin")
    os.remove(os.path.join(path, "data/locked/b.bin"))
    _annex_add(b, "data/locked/b.bin", "annex-b2", 2600, "SHA256E")
    b.commit("c2")
    b.tag("v1", annotated=True)

    b.git("checkout", "-q", "-b", "dev")
    b.git("mv", "data/locked/a.bin", "data/locked/a-renamed.bin")
    b.git("rm", "-q", "data/md5/p.bin")
    b.commit("d1")
    b.tag("dev-1", annotated=False)
    b.git("checkout", "-q", "main")
    return b.fx


def _annex_add(b: _Builder, rel: str, name: str, size: int, backend: str,
               unlock: bool = False) -> None:
    data = b.write(rel, payload(name, size))
    b.git("annex", "add", "-q", f"--backend={backend}", rel)
    if unlock:
        b.git("annex", "unlock", "-q", rel)
        b.git("add", rel)
    key = b.git("annex", "lookupkey", rel).strip()
    b.fx.objects[key] = data


# --- big files in plain git ---------------------------------------------------------------------
def plain_git_repo(path: str, above: int = 64 * 1024) -> Fixture:
    """Big binaries committed straight into git (see the module docstring)."""
    b = _Builder(path, "git", notes={"above": above})
    b.git("init", "-q", "-b", "main")
    a = b.write("images/a.jpg", payload("git-a", 2 * above))
    b.write("images/b.jpg", payload("git-b", 2 * above + 17))
    b.write("images/small.txt", "small\n")
    b.write("weights/w.pt", payload("git-w", 3 * above))
    b.git("add", "-A")
    b.commit("c1")

    b.git("checkout", "-q", "-b", "exp")
    b.write("weights/w.pt", payload("git-w2", 3 * above + 5))
    b.git("add", "-A")
    b.commit("f1")
    b.git("checkout", "-q", "main")

    b.write("images/b.jpg", payload("git-b2", 2 * above + 18))
    b.write("images/a-copy.jpg", a)
    b.git("add", "-A")
    b.commit("c2")
    b.tag("v1", annotated=True)
    b.git("rm", "-q", "weights/w.pt")
    b.git("mv", "images/a.jpg", "images/first.jpg")
    b.commit("c3")
    for sha, data in _all_big_blobs(b.fx).items():
        b.fx.objects[sha] = data
    return b.fx


def _all_big_blobs(fx: Fixture) -> dict[str, bytes]:
    found = {}
    for sha in fx.commits.values():
        for mode, blob, path, body in fx._blobs(sha):
            if len(body) > fx.notes["above"]:
                found[blob] = body
    return found
