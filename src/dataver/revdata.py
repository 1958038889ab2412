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
        self._listing = None

    @property
    def label(self) -> str:
        return self.rev or WORKSPACE

    def unchanged(self) -> bool:
        """The workspace holds the recorded version of the output (always true at a rev). At
        the workspace this scans it once (the state db spares unchanged files a hash), and the
        scan is the listing."""
        if self.rev is not None:
            return True
        out = self.item.out
        return out.md5 is not None and os.path.lexists(self.item.abspath) and \
            self.listing()[1] == out.md5

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
        if self.rev is None:
            return self._scan_workspace()
        if not out.is_dir:
            path = self._path_of(out.md5)
            size = os.stat(path).st_size if path else None
            return [(posixpath.basename(self.path), out.md5, size)], out.md5
        manifest = self._manifest(progress)
        entries = []
        for rel, md5 in manifest.entries.items():
            path = self._path_of(md5)
            entries.append((rel, md5, os.stat(path).st_size if path else None))
        return entries, out.md5

    def _scan_workspace(self):
        repo, item = self.repo, self.item
        out = item.out
        if not os.path.lexists(item.abspath):
            raise DataError(f"'{self.path}' is not in the workspace",
                            hint="check it out, or name a revision")
        if os.path.isdir(item.abspath):
            manifest, _size, files = repo.hasher.dir_manifest(item.abspath, repo.ignore, out.hash_name)
            repo.state.flush()
            sizes = {f.relpath: f.stat.size for f in files}  # the scan's own stat
            return [(rel, md5, sizes[rel]) for rel, md5 in manifest.entries.items()], manifest.oid
        md5 = repo.hasher.hash_file(item.abspath, out.hash_name)[0]
        repo.state.flush()
        return [(posixpath.basename(self.path), md5, os.stat(item.abspath).st_size)], md5

    def _path_of(self, md5: str) -> str | None:
        odb = self.repo.odb
        return odb.path(md5, self.item.out.hash_name) if odb.exists(md5, self.item.out.hash_name) \
            else None

    def _manifest(self, progress=None):
        """The output's directory manifest: from the cache, else one fetched before without its
        files (kept under .dvc/tmp), else fetched alone now from the default remote."""
        repo, out = self.repo, self.item.out
        try:
            return repo.odb.read_manifest(out.md5, out.hash_name)
        except FileNotFoundError:
            pass
        return side_manifest(repo, out.md5, out.hash_name) or \
            fetch_manifest(repo, self.path, out.md5, out.hash_name)

    def files(self, progress=None) -> tuple[dict[str, str], str]:
        """``({relpath in the output: md5}, the output's md5)``: :meth:`listing` without the
        sizes, so without a stat per file (a 100,000-file manifest is read in ~0.1 s). At a
        revision only the manifest is fetched when the cache lacks it, never the files."""
        if self._listing is not None or not self.unchanged():
            entries, md5 = self.listing(progress)
            return {rel: md5 for rel, md5, _size in entries}, md5
        out = self.item.out
        if not out.is_dir:
            return {posixpath.basename(self.path): out.md5}, out.md5
        return dict(self._manifest(progress).entries), out.md5

    def workspace_path(self, rel: str) -> str:
        """Where file ``rel`` of the output is in the workspace."""
        if os.path.isdir(self.item.abspath):
            return os.path.join(self.item.abspath, *rel.split("/"))
        return self.item.abspath

    def local_paths(self, wanted: list[tuple[str, str]] | None = None, progress=None) -> dict[str, str]:
        """md5 -> a readable local path for the files ``wanted`` (``(rel, md5)``; all when
        None): workspace files at the workspace, else cache objects, fetching the missing ones
        from the default remote first."""
        hash_name = self.item.out.hash_name
        odb = self.repo.odb
        if wanted is None:
            if self.rev is not None and self.item.out.is_dir and \
                    not odb.exists(self.item.out.md5, hash_name):
                # all of it: the whole directory at once, manifest last, as `fetch` does
                fetch_objects(self.repo, [(self.path, self.item.out.md5)], hash_name, progress)
                self._listing = None
            entries, _md5 = self.listing(progress)
            wanted = [(rel, md5) for rel, md5, _size in entries]
        if self.rev is None:
            if not os.path.isdir(self.item.abspath):
                return {md5: self.item.abspath for _rel, md5 in wanted}
            root = self.item.abspath + os.sep
            return {md5: root + rel.replace("/", os.sep) for rel, md5 in wanted}
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

    _need_remote(repo, *objects[0])
    fetch(repo, used=[Used(name, oid, hash_name) for name, oid in objects], progress=progress)


def _manifests_dir(repo) -> str:
    """Where manifests fetched without their files are kept: not the cache, where a `.dir`
    object promises that every file it lists is there too."""
    return os.path.join(repo.tmp_dir, "dataver", "fetched-manifests")


def side_manifest(repo, oid: str, hash_name: str = MD5):
    """The manifest ``oid`` kept by :func:`fetch_manifest`, or None (absent, or not what its
    name says: then fetched again)."""
    try:
        with open(os.path.join(_manifests_dir(repo), oid), "rb") as fobj:
            data = fobj.read()
    except OSError:
        return None
    try:
        return _parse_manifest(data, oid, hash_name, "")
    except UserError:
        return None


def _parse_manifest(data: bytes, oid: str, hash_name: str, where: str):
    from dataver.hashing import md5_bytes
    from dataver.manifest import Manifest

    if hash_name == MD5 and md5_bytes(data) + ".dir" != oid:
        raise DataError(f"directory manifest {oid}{where} does not match its name")
    manifest = Manifest.from_bytes(data, oid)
    return manifest.with_oid(oid) if hash_name == MD5 else manifest


def fetch_manifest(repo, name: str, oid: str, hash_name: str = MD5):
    """Fetch the directory manifest ``oid`` (of output ``name``, for messages) alone from the
    default remote, verify it, keep it under ``.dvc/tmp/dataver/fetched-manifests`` and
    return it. Its files stay where they are: only those asked for later are fetched."""
    from dataver.atomic import write_bytes_atomic
    from dataver.remote import open_remote
    from dataver.remote.base import object_key

    _need_remote(repo, name, oid)
    folder = _manifests_dir(repo)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"{oid}.{os.getpid()}.{os.urandom(3).hex()}.dataver.tmp")
    remote = open_remote(repo)
    try:
        try:
            remote.check()
            failures = remote.backend.get_many([(object_key(oid, hash_name), tmp)], 1)
        except Exception as exc:  # the backend's own types: one line naming the remote
            raise remote.error(exc, "downloading") from exc
        if failures:
            exc = next(iter(failures.values()))
            reason = f"missing on remote '{remote.name}'" if isinstance(exc, FileNotFoundError) \
                else str(remote.error(exc, "downloading"))
            raise DataError(f"cannot fetch the manifest of '{name}' ({oid}): {reason}",
                            hint="push it from a clone that has it")
        with open(tmp, "rb") as fobj:
            data = fobj.read()
        manifest = _parse_manifest(data, oid, hash_name, f" on remote '{remote.name}'")
        write_bytes_atomic(os.path.join(folder, oid), data)
        return manifest
    finally:
        remote.close()
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _need_remote(repo, name: str, oid: str) -> None:
    if not repo.config.get("core", "remote"):
        raise DataError(f"'{name}' ({oid}) is not in the cache, and no default remote is set "
                        "to fetch it from", hint="add one with `dataver remote add -d NAME URL`, "
                        "or fetch the data into the cache first")
