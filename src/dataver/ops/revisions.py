"""What a set of git revisions needs: the outputs declared at each revision and the objects they
use, for push/fetch/gc/status -c with ``--rev``, ``-a``, ``-T`` and ``-A``.

Each distinct commit is read once (a branch and a tag on the same commit cost one read), from git
objects, without checking anything out.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from dataver.errors import UserError

from dataver.revtree import WORKSPACE, RevTree


@dataclass
class RevisionSelection:
    """Which revisions to consider; the workspace is included unless ``workspace`` is False."""

    revs: tuple[str, ...] = ()
    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False
    workspace: bool = True
    num: int = 1  # gc -n: also the num - 1 first-parent ancestors of each rev and branch tip
    date: str | None = None  # gc --date YYYY-MM-DD: also every commit made on or after it
    skip_failed: bool = False  # gc --skip-failed: a revision that cannot be read is skipped
    all_experiments: bool = False  # gc --all-experiments: the commits of DVC's experiment refs

    @property
    def history(self) -> bool:
        """Whether anything beyond the workspace is selected."""
        return bool(self.revs or self.all_branches or self.all_tags or self.all_commits or self.date
                    or self.all_experiments)


def parse_date(date: str) -> float:
    """The local-midnight timestamp of ``YYYY-MM-DD`` (as DVC reads ``gc --date``)."""
    from datetime import datetime

    try:
        return datetime.strptime(date, "%Y-%m-%d").timestamp()
    except ValueError:
        raise UserError(f"invalid date '{date}'", hint="give it as YYYY-MM-DD, e.g. 2024-01-31") from None


def commits(repo, sel: RevisionSelection) -> dict[str, str]:
    """sha -> a name for it (the first revision naming it), for every selected commit."""
    scm = repo.scm
    walked: list[str] = list(sel.revs) + (scm.branches() if sel.all_branches else [])
    result: dict[str, str] = {}
    for name in walked:
        for depth, sha in enumerate(scm.first_parents(name, sel.num) if sel.num > 1
                                    else [scm.resolve_rev(name)]):
            result.setdefault(sha, name if depth == 0 else f"{name}~{depth}")
    for name in scm.tags() if sel.all_tags else ():
        result.setdefault(scm.resolve_rev(name), name)
    if sel.all_commits:
        for sha in scm.all_commits():
            result.setdefault(sha, sha[:7])
    elif sel.date:
        for sha in scm.commits_since(parse_date(sel.date)):
            result.setdefault(sha, sha[:7])
    for sha in scm.experiment_commits() if sel.all_experiments else ():
        result.setdefault(sha, sha[:7])
    return result


def tracked_at_revisions(repo, sel: RevisionSelection, targets: list[str] | None = None):
    """``[(revision name, Tracked)]`` over the selection (``"workspace"`` for the current
    `.dvc` files); ``targets`` (paths relative to the working directory) filter by output path."""
    result = []
    if sel.workspace:
        result += [(WORKSPACE, item) for item in repo.resolve_targets(targets)]
    keys = [_key(repo, os.path.abspath(t)) for t in targets] if targets else None
    for sha, name in commits(repo, sel).items():
        try:
            tracked = RevTree(repo, name, sha).tracked()
        except UserError as exc:
            if not sel.skip_failed:
                raise
            print(f"WARNING: skipping revision '{name}': {exc}", file=sys.stderr)
            continue
        for item in tracked:
            if keys is None or _matches(_key(repo, item.abspath), _key(repo, item.dvcfile.path), keys):
                result.append((name, item))
    return result


def used_objects(repo, revs=None, all_branches: bool = False, all_tags: bool = False,
                 all_commits: bool = False, workspace: bool = True, targets=None,
                 for_push: bool = False, **more):
    """The objects (:class:`dataver.transfer.Used`, deduplicated) that the selected revisions'
    outputs need; pass them as ``used=`` to push, fetch, gc or cloud_status. ``more`` are the
    other fields of :class:`RevisionSelection` (gc's ``num``, ``date``, ``skip_failed``)."""
    from dataver.transfer import Used, card_used, used_in_workspace

    sel = RevisionSelection(tuple(revs or ()), all_branches, all_tags, all_commits, False, **more)
    used = used_in_workspace(repo, targets, for_push) if workspace else []
    seen = {(u.oid, u.hash_name, u.subpath) for u in used}
    for _name, item in tracked_at_revisions(repo, sel, targets):
        out = item.out
        if out.md5 is None or not out.cache or (for_push and not out.push):
            continue
        if (out.md5, out.hash_name, None) in seen:
            continue
        seen.add((out.md5, out.hash_name, None))
        used.append(Used(_key(repo, item.abspath), out.md5, out.hash_name, remote=out.remote, out=out))
        for card in card_used(_key(repo, item.abspath), out):
            if (card.oid, card.hash_name, None) not in seen:
                seen.add((card.oid, card.hash_name, None))
                used.append(card)
    return used


def _key(repo, abspath: str) -> str:
    return os.path.relpath(abspath, repo.root).replace(os.sep, "/")


def _matches(out_key: str, dvc_key: str, keys: list[str]) -> bool:
    return any(k in (out_key, dvc_key) or k.startswith(out_key + "/") or out_key.startswith(k + "/")
               for k in keys)
