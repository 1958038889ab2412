"""The data of tracked outputs at the workspace or at any git revision, without a checkout:
their files (relpath, md5, size) and a readable local path for each object, fetched from the
default remote on demand (only the objects asked for). Shared by data cards, the visual diff
and the UI, so each reaches data the same way: RevTree for `.dvc` files, the object store for
content, the transfer layer for remotes."""
from __future__ import annotations

import os
import posixpath

from dataver.errors import TargetError, UserError
from dataver.hashing import MD5

WORKSPACE = "workspace"


class DataError(UserError):
    """The data of an output cannot be had as asked."""


class OutputData:
    """One tracked output at one revision (``rev`` None: the workspace)."""

    def __init__(self, repo, item, rev: str | None, tree=None):
        self.repo, self.item, self.rev, self.tree = repo, item, rev, tree
        self.path = os.path.relpath(item.abspath, repo.root).replace(os.sep, "/")
        self._unchanged: bool | None = None
        self._listing = None

    @property
    def label(self) -> str:
        return self.rev or WORKSPACE

    def unchanged(self) -> bool:
        """The workspace holds the recorded version of the output (always true at a rev)."""
        if self._unchanged is None:
            from dataver.ops.status import out_state

            self._unchanged = self.rev is not None or (
                self.item.out.md5 is not None and out_state(self.repo, self.item) is None)
        return self._unchanged

    def read_git_file(self, rel: str) -> str | None:
        """A git-tracked file (repo-relative) as of this revision (the workspace's copy at
        the workspace); None if absent."""
        if self.tree is not None:
            data = self.tree.read_bytes(rel)
            return None if data is None else data.decode("utf-8", "replace")
        try:
            with open(os.path.join(self.repo.root, rel), encoding="utf-8", errors="replace") as fobj:
                return fobj.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def listing(self, progress=None):
        """``(entries, md5)``: entries are ``(relpath in the output, md5, size or None)`` for
        every file; md5 is the output's (of the workspace content when that changed). At a
        revision sizes are None for objects not in the cache (see :meth:`local_paths`)."""
        if self._listing is None:
            self._listing = self._list(progress)
        return self._listing

    def _list(self, progress):
        item = self.item
        out = item.out
        if not self.unchanged():
            return self._scan_workspace()
        if not out.is_dir:
            path = self._path_of(out.md5)
            size = os.stat(path).st_size if path else None
            return [(posixpath.basename(self.path), out.md5, size)], out.md5
        manifest = self._manifest(progress)
        entries = []
        for rel, md5 in manifest.entries.items():
            path = os.path.join(item.abspath, *rel.split("/")) if self.rev is None \
                else self._path_of(md5)
            try:
                size = os.stat(path).st_size if path else None
            except FileNotFoundError:
                size = None
            entries.append((rel, md5, size))
        return entries, out.md5

    def _scan_workspace(self):
        repo, item = self.repo, self.item
        out = item.out
        if not os.path.lexists(item.abspath):
            raise DataError(f"'{self.path}' is not in the workspace",
                            hint="check it out, or name a revision")
        if os.path.isdir(item.abspath):
            manifest, _size, _n = repo.hasher.dir_manifest(item.abspath, repo.ignore, out.hash_name)
            repo.state.flush()
            entries = [(rel, md5, os.stat(os.path.join(item.abspath, *rel.split("/"))).st_size)
                       for rel, md5 in manifest.entries.items()]
            return entries, manifest.oid
        md5 = repo.hasher.hash_file(item.abspath, out.hash_name)[0]
        repo.state.flush()
        return [(posixpath.basename(self.path), md5, os.stat(item.abspath).st_size)], md5

    def _path_of(self, md5: str) -> str | None:
        odb = self.repo.odb
        return odb.path(md5, self.item.out.hash_name) if odb.exists(md5, self.item.out.hash_name) \
            else None

    def _manifest(self, progress=None):
        repo, out = self.repo, self.item.out
        try:
            return repo.odb.read_manifest(out.md5, out.hash_name)
        except FileNotFoundError:
            fetch_objects(repo, [(self.path, out.md5)], out.hash_name, progress)
            return repo.odb.read_manifest(out.md5, out.hash_name)

    def workspace_path(self, rel: str) -> str:
        """Where file ``rel`` of the output is in the workspace."""
        if not self.item.out.is_dir and self.unchanged() and self.rev is None:
            return self.item.abspath
        return os.path.join(self.item.abspath, *rel.split("/")) if os.path.isdir(self.item.abspath) \
            else self.item.abspath

    def local_paths(self, wanted: list[tuple[str, str]] | None = None, progress=None) -> dict[str, str]:
        """md5 -> a readable local path for the files ``wanted`` (``(rel, md5)``; all when
        None): workspace files at the workspace, else cache objects, fetching the missing ones
        from the default remote first."""
        entries, _md5 = self.listing(progress)
        if wanted is None:
            wanted = [(rel, md5) for rel, md5, _size in entries]
        if self.rev is None:
            return {md5: self.workspace_path(rel) for rel, md5 in wanted}
        hash_name = self.item.out.hash_name
        odb = self.repo.odb
        missing = [(f"{self.path}/{rel}", md5) for rel, md5 in wanted if not odb.exists(md5, hash_name)]
        if missing:
            fetch_objects(self.repo, missing, hash_name, progress)
            self._listing = None  # sizes are known now
        return {md5: odb.path(md5, hash_name) for _rel, md5 in wanted}


def outputs_at(repo, targets: list[str] | None, rev: str | None) -> list[OutputData]:
    """The cached outputs named by ``targets`` (paths relative to the working directory; all
    when none) at ``rev`` (None: the workspace)."""
    if rev is None:
        from dataver.ops.targets import resolve

        return [OutputData(repo, item, None) for item in resolve(repo, targets) if item.out.cache]
    tree = repo.at_rev(rev)
    items = [i for i in tree.tracked() if i.out.cache and i.out.md5 is not None]
    if targets:
        chosen = []
        for target in targets:
            abspath = os.path.abspath(target)
            found = [i for i in items if abspath in (i.abspath, i.dvcfile.path)
                     or i.abspath.startswith(abspath.rstrip(os.sep) + os.sep)]
            if not found:
                raise TargetError(f"is not a tracked output at {rev}", path=target,
                                  hint="name an output or its .dvc file as committed at that revision")
            chosen += [i for i in found if i not in chosen]
        items = chosen
    return [OutputData(repo, item, rev, tree) for item in items]


def fetch_objects(repo, objects: list[tuple[str, str]], hash_name: str = MD5, progress=None) -> None:
    """Fetch the objects ``(name for messages, oid)`` the cache lacks from the default remote
    (a `.dir` oid brings its files too). Raises a one-line error when there is no remote or it
    lacks them."""
    from dataver.ops.sync import fetch
    from dataver.transfer import Used

    if not repo.config.get("core", "remote"):
        name, oid = objects[0]
        raise DataError(f"'{name}' ({oid}) is not in the cache, and no default remote is set "
                        "to fetch it from", hint="add one with `dataver remote add -d NAME URL`, "
                        "or fetch the data into the cache first")
    fetch(repo, used=[Used(name, oid, hash_name) for name, oid in objects], progress=progress)
