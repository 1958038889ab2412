"""The repository as the web app sees it: revisions, outputs, listings and objects, with the
caches that make a second view cheap.

Every call that touches the :class:`~dataver.repo.Repo` (git pipe, sqlite state, fact store)
runs on one worker thread (:meth:`Service.call`), so none of them is shared between threads.
Reading an object or making a thumbnail from a local path needs no repo and runs anywhere.

The server serves only objects it has listed: each listing adds its md5s to ``known`` (with
where to fetch the object from), and :meth:`Service.lookup` answers None for any other. A
listing's objects are added when first needed (100,000 of them take ~50 ms), the few a page
shows at once (:meth:`Service.remember`).
"""
from __future__ import annotations

import asyncio
import os
import posixpath
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from dataver.revdata import WORKSPACE
from dataver.ui.safety import NotFound, clean_path, clean_rev, inside, shown

MAX_REV_PARTS = 4  # a revision named in a URL has at most this many "/"-separated parts
WORKSPACE_TTL = 5.0  # seconds a workspace listing is reused (the workspace may change)


class LRU(OrderedDict):
    """A small mapping that forgets its least recently used entries past ``limit``."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def put(self, key, value):
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)
        return value


class Rev:
    """A revision named in a URL: ``name`` as given and ``sha`` (None: the workspace)."""

    __slots__ = ("name", "sha")

    def __init__(self, name: str, sha: str | None):
        self.name, self.sha = name, sha

    @property
    def key(self) -> str:
        return self.sha or WORKSPACE

    @property
    def arg(self) -> str | None:
        """What revdata and the visual model take: the sha, None for the workspace."""
        return self.sha


class Source:
    """Where the objects of one listing can be read: the cache (fetched through ``output``
    from the default remote when missing) or, for the workspace, the files themselves."""

    __slots__ = ("hash_name", "output", "path", "workspace")

    def __init__(self, listing, workspace: bool):
        self.hash_name, self.output, self.path = listing.hash_name, listing.output, listing.path
        self.workspace = workspace

    def name(self, rel: str) -> str:
        return posixpath.join(self.path, rel) if rel else self.path

    def workspace_path(self, rel: str) -> str | None:
        return self.output.workspace_path(rel) if self.workspace else None


class Listing:
    """One output at one revision: its files by path (``{rel: md5}``) and its folders. Sizes
    are read only for the files shown (:meth:`size`): a stat per file of a 100,000-file
    manifest would take most of a cold page."""

    def __init__(self, output, files: dict[str, str], md5: str, sizes: dict | None = None):
        self.output = output
        self.path = output.path  # repo-relative
        self.md5 = md5
        self.hash_name = output.item.out.hash_name
        is_dir = output.item.out.is_dir if output.rev is not None \
            else os.path.isdir(output.item.abspath)
        self.single = not is_dir  # a file output: its one file has rel ""
        self._sizes = sizes or {}
        self._index = self._source = None
        if self.single:
            self.files = {"": next(iter(files.values()))} if files else {}
            self._sizes = {"": next(iter(self._sizes.values()))} if self._sizes else {}
            self._index = ({"": []}, {"": []})
        else:
            self.files = files

    @property
    def folders(self) -> dict[str, list[str]]:
        """Folder -> its subfolders (relative paths, "" the root), sorted."""
        if self._index is None:
            self._index = _index(sorted(self.files))
        return self._index[0]

    @property
    def in_folder(self) -> dict[str, list[str]]:
        """Folder -> the files directly in it, sorted."""
        if self._index is None:
            self._index = _index(sorted(self.files))
        return self._index[1]

    def source(self, workspace: bool) -> Source:
        """Where this listing's objects are read from (one object shared by its files)."""
        if self._source is None:
            self._source = Source(self, workspace)
        return self._source

    def repo_path(self, rel: str) -> str:
        return self.path if self.single else posixpath.join(self.path, rel) if rel else self.path

    def locate(self, rel: str) -> str | None:
        """"folder" or "file" for a path inside the output, None when it names nothing."""
        if rel in self.files:
            return "file"
        return "folder" if rel in self.folders else None

    def size(self, rel: str) -> int | None:
        """The size of file ``rel``: its workspace file's, else its cache object's (None when
        the cache lacks it)."""
        if rel in self._sizes:
            return self._sizes[rel]
        odb = self.output.repo.odb
        try:
            return os.stat(odb.path(self.files[rel], self.hash_name)).st_size
        except OSError:
            return None


def _index(rels: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(folder -> its subfolders, folder -> its files), folders as relative paths ("" the
    root), both sorted."""
    folders: dict[str, set] = {"": set()}
    files: dict[str, list[str]] = {"": []}
    for rel in rels:
        folder = rel.rpartition("/")[0]
        files.setdefault(folder, []).append(rel)
        while folder and folder not in folders:
            folders[folder] = set()
            parent = folder.rpartition("/")[0]
            folders.setdefault(parent, set()).add(folder)
            files.setdefault(folder, [])
            folder = parent
        if folder:
            folders[folder.rpartition("/")[0]].add(folder)
    return {k: sorted(v) for k, v in folders.items()}, files


class Service:
    """One repository served: a worker thread for repo calls, caches, and the known objects."""

    def __init__(self, root: str):
        self.root = root
        self.repo = None
        self.real_root = os.path.realpath(root)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataver-ui-repo")
        self.known: dict[str, tuple[Source, str]] = {}  # md5 -> (source, rel)
        self._pending: list[tuple[Listing, bool]] = []  # listings whose md5s are not in known
        self._pending_lock = threading.Lock()
        self._outputs = LRU(32)
        self._listings = LRU(6)
        self.diffs = LRU(4)
        self.cards = LRU(256)
        self.cocos = LRU(8)
        self.coco_indexes = LRU(3)

    # --- the worker thread ------------------------------------------------------------------
    async def call(self, fn, *args):
        """``fn(*args)`` on the repo worker thread, awaited."""
        return await asyncio.wrap_future(self._worker.submit(fn, *args))

    def start(self) -> None:
        """Open the repository now (errors such as "not a repository" raise here)."""
        self._worker.submit(self.open).result()

    def open(self) -> None:
        """Open the repository (on the worker thread: its sqlite handles live there)."""
        from dataver.repo import Repo

        self.repo = Repo(self.root)
        self.root = self.repo.root
        self.real_root = os.path.realpath(self.root)

    def close(self) -> None:
        """Close the repository (worker thread)."""
        if self.repo is not None:
            self.repo.close()
        self.repo = None

    def shutdown(self) -> None:
        """Close the repository on its thread and end the thread."""
        self._worker.submit(self.close).result()
        self._worker.shutdown(wait=True)

    # --- revisions and outputs ----------------------------------------------------------------
    def rev(self, name: str) -> Rev:
        """The revision ``name`` names (``workspace``, a branch, tag, sha, ``HEAD~1`` ...);
        NotFound unless git resolves it to a commit."""
        from dataver.errors import ScmError

        if name == WORKSPACE:
            return Rev(name, None)
        clean_rev(name)
        try:
            return Rev(name, self.repo.scm.resolve_rev(name))
        except ScmError:
            raise NotFound(f"unknown revision '{shown(name)}'") from None

    def outputs(self, rev: Rev) -> dict:
        """Output path -> OutputData of every cached output at ``rev``."""
        from dataver.revdata import outputs_at
        from dataver.revtree import RevTree

        key = rev.key
        hit = self._outputs.get(key)
        if hit is not None and (rev.sha or time.monotonic() - hit[0] < WORKSPACE_TTL):
            return hit[1]
        if rev.sha is None:
            found = outputs_at(self.repo, None, None)
        else:
            from dataver.revdata import OutputData

            tree = RevTree(self.repo, rev.sha, rev.sha)
            found = [OutputData(self.repo, item, rev.sha, tree) for item in tree.tracked()
                     if item.out.cache and item.out.md5 is not None]
        result = {o.path: o for o in sorted(found, key=lambda o: o.path)}
        self._outputs.put(key, (time.monotonic(), result))
        return result

    def listing(self, rev: Rev, output_path: str) -> Listing:
        """The files of output ``output_path`` at ``rev`` (a `.dir` manifest missing from the
        cache is fetched from the default remote)."""
        key = (rev.key, output_path)
        hit = self._listings.get(key)
        if hit is not None and (rev.sha or time.monotonic() - hit[0] < WORKSPACE_TTL):
            return hit[1]
        output = self.outputs(rev).get(output_path)
        if output is None:
            raise NotFound(f"'{shown(output_path)}' is not a tracked output at {shown(rev.name)}")
        if rev.sha is None:  # a scan of the workspace: sizes come with it
            entries, md5 = output.listing()
            listing = Listing(output, {r: m for r, m, _s in entries}, md5,
                              {r: s for r, _m, s in entries})
        else:
            files, md5 = output.files()
            listing = Listing(output, files, md5)
        self._pending.append((listing, rev.sha is None))
        self._listings.put(key, (time.monotonic(), listing))
        return listing

    def lookup(self, md5: str) -> tuple[Source, str] | None:
        """``(source, rel)`` of an object some listing served holds, else None (any thread)."""
        found = self.known.get(md5)
        if found is None and self._pending:
            with self._pending_lock:
                while self._pending:
                    listing, workspace = self._pending.pop(0)
                    self._register(listing, workspace, listing.files)
            found = self.known.get(md5)
        return found

    def remember(self, listing: Listing, rev: Rev, rels: list[str]) -> None:
        """Make the objects of files ``rels`` of ``listing`` known now (those a page shows)."""
        self._register(listing, rev.sha is None, {rel: listing.files[rel] for rel in rels})

    def _register(self, listing: Listing, workspace: bool, files: dict[str, str]) -> None:
        known, source = self.known, listing.source(workspace)
        if workspace:  # its files can be read where they are: preferred
            known.update((md5, (source, rel)) for rel, md5 in files.items())
            return
        for rel, md5 in files.items():
            if md5 not in known:
                known[md5] = (source, rel)

    def split_revs(self, rest: str, count: int) -> tuple[list[Rev], str]:
        """The ``count`` revisions at the start of a URL's ``rest`` and the path after them. A
        revision may hold ``/`` (a branch ``feature/x``): the shortest run of parts that git
        resolves is taken."""
        parts = rest.split("/")
        revs, at = [], 0
        for _ in range(count):
            rev, width = self._rev_at(parts, at)
            revs.append(rev)
            at += width
        return revs, "/".join(parts[at:])

    def _rev_at(self, parts: list[str], at: int) -> tuple[Rev, int]:
        for width in range(1, min(MAX_REV_PARTS, len(parts) - at) + 1):
            try:
                return self.rev("/".join(parts[at:at + width])), width
            except NotFound:
                continue
        raise NotFound(f"unknown revision '{shown(parts[at] if at < len(parts) else '')}'")

    def locate(self, rev: Rev, path: str) -> tuple[Listing | None, str, str]:
        """``(listing, rel, kind)`` of a repo-relative ``path`` at ``rev``: kind "outputs"
        (path "": the list of outputs), "folder" or "file"; NotFound when it names nothing
        inside a tracked output."""
        path = clean_path(path)
        if path == "":
            return None, "", "outputs"
        outputs = self.outputs(rev)
        for out_path in sorted(outputs, key=len, reverse=True):
            if path == out_path or path.startswith(out_path + "/"):
                listing = self.listing(rev, out_path)
                rel = path[len(out_path) + 1:]
                kind = listing.locate(rel)
                if kind == "file" and rev.sha is None and \
                        not self.in_repo(listing.output.workspace_path(rel)):
                    break  # a symlink out of the repository: not shown
                if kind is not None:
                    return listing, rel, kind
                break
        raise NotFound(f"'{shown(path)}' is not in a tracked output at {shown(rev.name)}")

    # --- objects ------------------------------------------------------------------------------
    def cached_path(self, md5: str) -> str | None:
        """The cache object of a known ``md5`` if the cache has it, else its workspace file if
        that lies inside the repository; None otherwise (no repo call: any thread)."""
        found = self.lookup(md5)
        if found is None:
            return None
        source, rel = found
        odb_path = self._odb_path(md5, source.hash_name)
        if odb_path is not None:
            return odb_path
        ws = source.workspace_path(rel)
        if ws is not None and os.path.isfile(ws) and self.in_repo(ws):
            return ws
        return None

    def in_repo(self, path: str) -> bool:
        """Whether ``path``, symlinks resolved, lies in the repository (outside ``.git``)."""
        git_dir = os.path.join(self.real_root, ".git")
        return inside(path, self.real_root) and not inside(path, git_dir)

    def escapes(self, md5: str) -> bool:
        """Whether known object ``md5`` can only be read through a workspace file that leads
        out of the repository (a symlink): such an object is never served."""
        found = self.lookup(md5)
        if found is None or not found[0].workspace:
            return False
        source, rel = found
        return self._odb_path(md5, source.hash_name) is None and \
            not self.in_repo(source.workspace_path(rel))

    def in_cache(self, md5: str, path: str) -> bool:
        """Whether ``path`` is the cache object of ``md5`` (content fixed by its name)."""
        found = self.lookup(md5)
        return found is not None and path == self.repo.odb.path(md5, found[0].hash_name)

    def _odb_path(self, md5: str, hash_name: str) -> str | None:
        path = self.repo.odb.path(md5, hash_name)
        return path if os.path.isfile(path) else None

    def fetch(self, md5s: list[str]) -> None:
        """Fetch the known objects ``md5s`` the cache lacks from the default remote (worker
        thread); those that cannot be had are left missing."""
        from dataver.errors import DataverError
        from dataver.revdata import fetch_objects

        by_hash: dict[str, list] = {}
        for md5 in md5s:
            found = self.lookup(md5)
            if found is not None and not found[0].workspace and \
                    self._odb_path(md5, found[0].hash_name) is None:
                by_hash.setdefault(found[0].hash_name, []).append((found[0].name(found[1]), md5))
        for hash_name, objects in by_hash.items():
            try:
                fetch_objects(self.repo, objects, hash_name)
            except DataverError:
                pass  # shown as a missing-object placeholder

    def facts(self, items: list[tuple[str, str, str]]) -> dict[str, dict]:
        """Basic facts (image headers) of known objects ``(md5, readable path, name)``, read
        from the fact store, computed for those never seen (worker thread)."""
        from dataver.facts import FactStore, collect

        if not items:
            return {}
        store = FactStore(self.repo.cache_dir, shared=self.repo.odb.shared)
        try:
            known = store.get_many([m for m, _p, _n in items], "basic")
            todo = [(m, p, os.path.getsize(p), n) for m, p, n in items if m not in known and p]
            if todo:
                known.update(collect(store, todo)[0])
            return known
        finally:
            store.close()

    def object_path(self, md5: str) -> str | None:
        """A readable local path of known object ``md5`` (fetched if need be; worker thread)."""
        path = self.cached_path(md5)
        if path is None and self.lookup(md5) is not None:
            self.fetch([md5])
            path = self.cached_path(md5)
        return path
