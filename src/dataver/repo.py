"""Repo: root discovery, config, lock, and the wiring of state, cache and git. Porcelain methods
(one per command) delegate to ``dataver.ops``; they return data and never print."""
from __future__ import annotations

import errno
import os
from functools import cached_property

from dataver import dvcfile
from dataver.config import Config
from dataver.errors import DvcFileError, NotARepoError, PathTooLongError, TargetError
from dataver.lock import RepoLock
from dataver.odb import ObjectStore
from dataver.paths import PATH_MAX, byte_len, check_creatable, display, fits
from dataver.scm import Git, NoScm, find_git_root
from dataver.state import State
from dataver.workspace import Hasher, IgnoreRules

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Iterator

DVC_DIR = ".dvc"


class Tracked:
    """An output together with the `.dvc` file that declares it."""

    __slots__ = ("dvcfile", "out", "abspath")

    def __init__(self, dvcfile: dvcfile.DvcFile, out: dvcfile.Output, abspath: str):
        self.dvcfile = dvcfile
        self.out = out
        self.abspath = abspath

    def __repr__(self) -> str:
        return f"Tracked({self.abspath!r})"

    @property
    def relpath(self) -> str:
        return os.path.relpath(self.abspath)


def _stage_outputs(path: str) -> set[str]:
    """Absolute paths of a dvc.yaml's outputs (empty if it cannot be read: that error is
    reported when its stages are loaded)."""
    try:  # declared outputs: dvc.lock is not needed (`dag` never reads it)
        with open(path, "rb") as fobj:
            stages = dvcfile.pipeline_loads(fobj.read(), None, path)
    except (DvcFileError, OSError):
        return set()
    return {stage.out_abspath(out) for stage in stages for out in stage.outs}


class Repo:
    """A DVC-compatible repository rooted at ``root`` (the directory holding ``.dvc/``)."""

    def __init__(self, root: str | None = None, config: dict | None = None,
                 remote: str | None = None, remote_config: dict | None = None,
                 remotes_checked: bool = True):
        """``config``, ``remote`` and ``remote_config`` override the config files for this
        object only, as in DVC; ``remotes_checked``: see :class:`dataver.config.Config`."""
        self._config_overrides = (config, remote, remote_config)
        self._remotes_checked = remotes_checked
        start = os.path.abspath(root or os.getcwd())
        found = self.find_root(start)
        if found is None:
            raise NotARepoError(
                "not a dataver/DVC repository (no .dvc directory found)", path=start,
                hint="run `dataver init` first",
            )
        self.root = found
        self.dvc_dir = os.path.join(found, DVC_DIR)
        self.tmp_dir = os.path.join(self.dvc_dir, "tmp")
        self.lock = RepoLock(self.tmp_dir)

    # --- discovery and wiring --------------------------------------------------------------
    @staticmethod
    def find_root(start: str) -> str | None:
        """The nearest directory at or above ``start`` that contains ``.dvc/``."""
        path = os.path.abspath(start)
        while True:
            if os.path.isdir(os.path.join(path, DVC_DIR)):
                return path
            parent = os.path.dirname(path)
            if parent == path:
                return None
            path = parent

    @classmethod
    def init(cls, root: str | None = None, no_scm: bool = False, force: bool = False) -> "Repo":
        """Create ``.dvc/`` as ``dvc init`` does; see :mod:`dataver.ops.init`."""
        from dataver.ops.init import init

        return init(cls, os.path.abspath(root or os.getcwd()), no_scm=no_scm, force=force)

    @cached_property
    def real_root(self) -> str:
        """``root`` with symlinks resolved, to tell where a path really lands."""
        return os.path.realpath(self.root)

    @cached_property
    def config(self) -> Config:
        return Config(self.dvc_dir, *self._config_overrides, remotes_checked=self._remotes_checked)

    @cached_property
    def cache_dir(self) -> str:
        return self.config.get("cache", "dir") or os.path.join(self.dvc_dir, "cache")

    @cached_property
    def odb(self) -> ObjectStore:
        return ObjectStore(self.cache_dir, shared=self.config.get("cache", "shared") == "group",
                           manifest_index=os.path.join(self.tmp_dir, "dataver", "manifests"),
                           records=self.state)

    @cached_property
    def state(self) -> State:
        return State(os.path.join(self.tmp_dir, "dataver", "state.db"))

    @cached_property
    def hasher(self) -> Hasher:
        return Hasher(self.state, self.root, manifests=self.odb.read_manifest)

    @cached_property
    def ignore(self) -> IgnoreRules:
        return IgnoreRules(self.root)

    @cached_property
    def scm(self):
        if self.config.get_bool("core", "no_scm"):
            return NoScm()
        git_root = find_git_root(self.root)
        return Git(git_root) if git_root else NoScm()

    @cached_property
    def linker(self):
        from dataver.linking import Linker

        return Linker(self.config.link_types())

    @cached_property
    def materializer(self):
        from dataver.checkout import Materializer

        return Materializer(self.odb, self.hasher, self.linker, self.ignore)

    def materialize(self, abspath: str, oid: str, hash_name: str, isexec: bool = False,
                    force: bool = False, relink: bool = False, manifest=None, progress=None):
        """Put object ``oid`` (a file or a `.dir`) at ``abspath``; returns a CheckoutResult.
        ``manifest`` is the already-loaded manifest of a `.dir` oid; ``progress`` shows the
        work on a directory."""
        from dataver.manifest import is_dir_oid

        if is_dir_oid(oid):
            manifest = manifest or self.odb.read_manifest(oid, hash_name)
            check_creatable(abspath, manifest)
            return self.materializer.checkout_dir(abspath, manifest, hash_name, force, relink,
                                                  progress)
        return self.materializer.checkout_file(abspath, oid, hash_name, isexec, force, relink)

    def close(self) -> None:
        """Flush the state database and end the git helper process."""
        if "odb" in self.__dict__:
            self.odb.close()
        if "state" in self.__dict__:
            self.state.close()
        if "scm" in self.__dict__:
            self.scm.close()

    def __enter__(self) -> "Repo":
        """Commands open the repository here. As DVC's do, they fail on a malformed config file
        (even a command that needs no option from it) and restore `.dvc/.gitignore`."""
        from dataver.ops.init import restore_dvc_gitignore

        self.config  # noqa: B018 -- loading validates every level (cached while unchanged)
        restore_dvc_gitignore(self)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- collecting .dvc files ---------------------------------------------------------------
    def iter_dvcfiles(self) -> Iterator[str]:
        """Every `.dvc` file and `dvc.yaml` in the workspace (not descending into tracked outputs
        or ignored dirs), in DVC's order: a top-down walk taking each folder's entries as the
        file system lists them (its files, then its subfolders one by one). `status`, `dag` and
        the other commands that go through all of them list them in that order, as DVC does."""
        stack = [self.root]
        outs: set[str] = set()  # outputs are not searched for .dvc files
        while stack:
            directory = stack.pop()
            try:
                entries = list(os.scandir(directory))
            except OSError as exc:
                # what no path reaches (unreadable, gone, or too long a path for the kernel)
                # holds no .dvc file DVC could read either
                if exc.errno not in (errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENAMETOOLONG):
                    raise
                continue
            for entry in entries:
                if dvcfile.is_dvcfile(entry.name) and entry.is_file():
                    yield entry.path
                    outs.add(entry.path[: -len(dvcfile.SUFFIX)])
                elif entry.name == dvcfile.PIPELINE_FILE and entry.is_file():
                    yield entry.path
                    outs |= _stage_outputs(entry.path)
            for entry in reversed(entries):  # the stack gives the first subfolder first
                if not entry.is_dir(follow_symlinks=False) or entry.path in outs:
                    continue
                rel = os.path.relpath(entry.path, self.root).replace(os.sep, "/")
                if not self.ignore.is_ignored(rel, True):
                    stack.append(entry.path)

    def load_dvcfile(self, path: str) -> dvcfile.DvcFile:
        """Read a `.dvc` file (read-only: edit through ``dvcfile.load``, which round-trips)."""
        return dvcfile.read(path)

    def tracked(self) -> list[Tracked]:
        """Every output of every `.dvc` file, validated to lie inside the repo."""
        result = []
        for path in self.iter_dvcfiles():
            result += self.tracked_in(path)
        return result

    def tracked_in(self, path: str) -> list[Tracked]:
        """Outputs of one `.dvc` file, or of every stage of a `dvc.yaml` (hashes from dvc.lock)."""
        if dvcfile.is_pipeline_file(path):
            from dataver.pipeline.resolved import load_pipeline  # templated stages resolved

            dfiles = load_pipeline(self, path)
        else:
            dfiles = [self.load_dvcfile(path)]
        items = []
        for dfile in dfiles:
            self.check_wdir(dfile, where=path)
            for out in dfile.outs:
                abspath = dfile.out_abspath(out)
                self.check_inside(abspath, where=path)
                items.append(Tracked(dfile, out, abspath))
        return items

    def check_wdir(self, dfile: dvcfile.DvcFile, where: str | None = None) -> None:
        """Refuse a `.dvc` file whose ``wdir:`` leads out of the repository (DVC would read or
        write data outside it)."""
        rel = os.path.relpath(dfile.wdir, self.root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
            raise TargetError(f"wdir '{dfile.data.get('wdir')}' leads outside the repository",
                              path=where, hint="fix the wdir of the .dvc file")

    def check_inside(self, abspath: str, where: str | None = None) -> None:
        """Raise unless ``abspath`` lies inside the workspace (and outside .dvc/ and .git/),
        also after resolving symlinks in its parent directories, and not too long a path to use."""
        if not fits(abspath):
            raise PathTooLongError(
                f"path {display(os.path.relpath(abspath))!r} is too long to use "
                f"({byte_len(abspath)} bytes; at most {PATH_MAX - 1})", path=where,
                hint="move it to a folder nested less deeply")
        rel = os.path.relpath(abspath, self.root)
        first = rel.split(os.sep)[0]
        outside = rel.startswith("..") or os.path.isabs(rel)
        if not outside and rel != "." and first not in (DVC_DIR, ".git"):
            real_parent = os.path.realpath(os.path.dirname(abspath))
            real_root = self.real_root
            if real_parent == real_root or real_parent.startswith(real_root + os.sep):
                return
            outside = True
        raise TargetError(
            f"'{abspath}' is outside the repository '{self.root}'" if outside
            else f"'{abspath}' is not a valid output location",
            path=where, hint="use a path inside the repository",
        )

    def resolve_targets(self, targets: list[str] | None) -> list[Tracked]:
        """Outputs named by ``targets`` (.dvc files, output paths, or dirs containing them)."""
        from dataver.ops.targets import resolve

        return resolve(self, targets)

    # --- porcelain -------------------------------------------------------------------------
    def add(self, targets, **kwargs):
        """Track files or directories; see :func:`dataver.ops.add.add`."""
        from dataver.ops.add import add

        return add(self, targets, **kwargs)

    def commit(self, targets=None, **kwargs):
        """Record workspace changes of tracked outputs; see :func:`dataver.ops.add.commit`."""
        from dataver.ops.add import commit

        return commit(self, targets, **kwargs)

    def repro(self, targets=None, force=False, **kwargs):
        """Run the dvc.yaml stages whose inputs changed; returns the stages that ran. See
        :func:`dataver.pipeline.run.repro` and :class:`dataver.pipeline.run.ReproOptions`."""
        from dataver.pipeline.run import repro

        return repro(self, targets, force=force, **kwargs)

    def status(self, targets=None, **kwargs):
        """Compare the workspace with the `.dvc` files; see :func:`dataver.ops.status.status`."""
        from dataver.ops.status import status

        return status(self, targets, **kwargs)

    def checkout(self, targets=None, **kwargs):
        """Make the workspace match the `.dvc` files; see :func:`dataver.ops.checkout.checkout`."""
        from dataver.ops.checkout import checkout

        return checkout(self, targets, **kwargs)

    def push(self, targets=None, **kwargs):
        """Upload tracked data to a remote; see :func:`dataver.ops.sync.push`."""
        from dataver.ops.sync import push

        return push(self, targets, **kwargs)

    def fetch(self, targets=None, **kwargs):
        """Download tracked data into the cache; see :func:`dataver.ops.sync.fetch`."""
        from dataver.ops.sync import fetch

        return fetch(self, targets, **kwargs)

    def pull(self, targets=None, **kwargs):
        """Fetch, then check out; see :func:`dataver.ops.sync.pull`."""
        from dataver.ops.sync import pull

        return pull(self, targets, **kwargs)

    def cloud_status(self, targets=None, **kwargs):
        """Compare the cache with a remote; see :func:`dataver.ops.sync.cloud_status`."""
        from dataver.ops.sync import cloud_status

        return cloud_status(self, targets, **kwargs)

    def gc(self, **kwargs):
        """Remove unused objects from the cache (and remote); see :func:`dataver.ops.gc.gc`."""
        from dataver.ops.gc import gc

        return gc(self, **kwargs)

    def verify_cache(self, **kwargs):
        """Hash every cache object, list (and repair) corrupt ones; see
        :func:`dataver.ops.verify.verify_cache`."""
        from dataver.ops.verify import verify_cache

        return verify_cache(self, **kwargs)

    def diff(self, a_rev: str = "HEAD", b_rev: str | None = None, targets=None):
        """Changed data between two revisions (default: HEAD and the workspace); see
        :func:`dataver.ops.diff.diff`."""
        from dataver.ops.diff import diff

        return diff(self, a_rev, b_rev, targets)

    def params_diff(self, a_rev="HEAD", b_rev=None, targets=None, all=False, deps_only=False):  # noqa: A002
        """``(changes, revisions where a file failed to load)``: changed parameters between
        two revisions (``b_rev`` None: the workspace), as `dvc params diff --json`; see
        :func:`dataver.pipeline.params_diff.diff`."""
        from dataver.pipeline.params_diff import diff

        return diff(self, a_rev, b_rev, targets, all, deps_only)

    def metrics_show(self, targets=None, revs=(), all_branches=False, all_tags=False,
                     all_commits=False):
        """The metrics of the workspace (and of revisions), as `dvc metrics show --json`; see
        :func:`dataver.pipeline.metrics.show`."""
        from dataver.pipeline.metrics import show

        return show(self, targets, revs, all_branches, all_tags, all_commits)

    def metrics_diff(self, a_rev="HEAD", b_rev=None, targets=None, all=False):  # noqa: A002
        """``(changes, revisions where a file failed to load)``: changed metrics between two
        revisions, as `dvc metrics diff --json`; see :func:`dataver.pipeline.metrics.diff`."""
        from dataver.pipeline.metrics import diff

        return diff(self, a_rev, b_rev, targets, all)

    def card(self, targets=None, rev=None, deep=False, save=False, recompute=False, progress=None):
        """The data card (a dict, see docs/cards.md) of each output named by ``targets`` (all
        when None) at git revision ``rev`` (None: the workspace); ``save`` stores them with the
        version. See :func:`dataver.cards.commands.cards`."""
        from dataver.cards.commands import cards

        return cards(self, targets, rev, deep, save, recompute, progress)

    def card_diff(self, a_rev="HEAD", b_rev=None, targets=None, deep=False, fail_if=None,
                  progress=None):
        """Card diffs of the outputs between two revisions (``b_rev`` None: the workspace);
        each lists in ``failed`` the ``fail_if`` expressions that hold. See
        :func:`dataver.cards.commands.card_diffs`."""
        from dataver.cards.commands import card_diffs

        return card_diffs(self, a_rev, b_rev, targets, deep, fail_if, progress)

    def card_notes(self, targets=None):
        """Create a notes file for each output that has none; their paths."""
        from dataver.cards.commands import create_notes

        return create_notes(self, targets)

    def at_rev(self, rev: str):
        """A read-only view of the repository at git revision ``rev`` (a RevTree)."""
        from dataver.revtree import RevTree

        return RevTree(self, rev)

    def ls(self, path=None, rev=None, recursive=False, dvc_only=False, remote=None, maxdepth=None):
        """List files (git's and DVC's) under ``path``; see :func:`dataver.ops.ls.ls`."""
        from dataver.ops.ls import ls

        return ls(self, path, rev, recursive, dvc_only, remote, maxdepth)

    def imp(self, url, path, **kwargs):
        """Import data from another repository; see :func:`dataver.ops.get.import_`."""
        from dataver.ops.get import import_

        return import_(self, url, path, **kwargs)

    def update(self, targets=None, **kwargs):
        """Move imports forward; see :func:`dataver.ops.get.update`."""
        from dataver.ops.get import update

        return update(self, targets, **kwargs)

    @staticmethod
    def get(url, path, **kwargs):
        """Download data from a repository (no repo needed here); see :func:`dataver.ops.get.get`."""
        from dataver.ops.get import get

        return get(url, path, **kwargs)

    @staticmethod
    def list_url(url, path=None, rev=None, **kwargs):
        """``ls`` of the repository at ``url`` (a path or git URL)."""
        from dataver.external import open_repo

        with open_repo(url, rev) as (repo, use_rev):
            return repo.ls(path, use_rev, **kwargs)

    def imp_url(self, url, out=None, **kwargs):
        """Import data at a URL; see :func:`dataver.ops.import_url.import_url`."""
        from dataver.ops.import_url import import_url

        return import_url(self, url, out, **kwargs)

    @staticmethod
    def ls_url(url, **kwargs):
        """List a URL as DVC's ``Repo.ls_url``; see :func:`dataver.ops.ls_url.ls_url`."""
        from dataver.ops.ls_url import ls_url

        return ls_url(url, **kwargs)

    @staticmethod
    def get_url(url, out=None, **kwargs):
        """Download data at a URL; see :func:`dataver.ops.import_url.get_url`."""
        from dataver.ops.import_url import get_url

        return get_url(url, out, **kwargs)

    def install(self):
        """Install the git hooks; see :func:`dataver.ops.install.install`."""
        from dataver.ops.install import install

        return install(self)

    def remove(self, targets, **kwargs):
        """Stop tracking `.dvc` files' outputs; see :func:`dataver.ops.remove.remove`."""
        from dataver.ops.remove import remove

        return remove(self, targets, **kwargs)

    def move(self, src, dst):
        """Rename an output and its `.dvc` file; see :func:`dataver.ops.move.move`."""
        from dataver.ops.move import move

        return move(self, src, dst)

    def unprotect(self, targets):
        """Make linked outputs writable copies; see :func:`dataver.ops.unprotect.unprotect`."""
        from dataver.ops.unprotect import unprotect

        return unprotect(self, targets)

    def check_ignore(self, targets):
        """Which `.dvcignore` pattern matches each target; see :mod:`dataver.ops.check_ignore`."""
        from dataver.ops.check_ignore import check_ignore

        return check_ignore(self, targets)
