"""`cache verify`: hash every object in the cache and report those whose content does not match
their name; with ``repair``, move them aside and fetch good copies from a remote.

Other commands check an object cheaply before they use it (its tag, :mod:`dataver.objtag`) and
refuse a corrupt one without changing anything. This is the command that reads everything,
finds what the cheap check cannot (a change that kept the file's size and mtime), and mends.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from dataver import transfer
from dataver.errors import RemoteError
from dataver.progress import Progress


@dataclass
class VerifyResult:
    """What ``cache verify`` found, by object id."""

    checked: int = 0
    corrupt: list[tuple[str, str]] = field(default_factory=list)  # (oid, hash name)
    names: dict[str, str] = field(default_factory=dict)  # oid -> a workspace path that uses it
    moved: dict[str, str] = field(default_factory=dict)  # oid -> where it was moved aside
    fetched: list[str] = field(default_factory=list)  # oids replaced by a good copy
    unfetched: dict[str, str] = field(default_factory=dict)  # oid -> why no good copy came
    earlier: list[str] = field(default_factory=list)  # paths moved aside before (gc deletes them)

    @property
    def unrepaired(self) -> list[tuple[str, str]]:
        """Corrupt objects still without a good copy in the cache."""
        return [(oid, h) for oid, h in self.corrupt if oid not in self.fetched]


def verify_cache(repo, repair: bool = False, remote: str | None = None, jobs: int | None = None,
                 progress: Progress | None = None) -> VerifyResult:
    """Hash every object in the cache (in parallel). With ``repair``, move each corrupt one
    aside (its bytes are kept) and fetch a good copy from ``remote`` (default: the default
    remote); what cannot be fetched is listed in ``unfetched``."""
    result = VerifyResult()
    with repo.lock:
        objects = list(repo.odb.iter_objects())
        result.checked = len(objects)
        by_hash: dict[str, list[str]] = {}
        for oid, hash_name in objects:
            by_hash.setdefault(hash_name, []).append(oid)
        for hash_name, oids in by_hash.items():
            result.corrupt += [(oid, hash_name) for oid in repo.odb.verify_many(oids, hash_name)]
        result.earlier = sorted(repo.odb.iter_corrupt())
        if result.corrupt:
            result.names = _workspace_names(repo, {oid for oid, _h in result.corrupt})
        if repair and result.corrupt:
            _repair(repo, result, remote, jobs, progress)
        repo.state.flush()
    return result


def _workspace_names(repo, oids: set[str]) -> dict[str, str]:
    """A path in the current `.dvc` files that uses each of ``oids`` (for messages)."""
    plan = transfer.make_plan(transfer.used_in_workspace(repo), transfer.local_manifest(repo))
    return {obj.oid: obj.name for obj in (*plan.files.values(), *plan.dirs.values())
            if obj.oid in oids}


def _repair(repo, result: VerifyResult, remote: str | None, jobs: int | None,
            progress: Progress | None) -> None:
    from dataver.ops.sync import fetch

    for oid, hash_name in result.corrupt:
        moved = repo.odb.quarantine(oid, hash_name)
        if moved is not None:
            result.moved[oid] = moved
    used = [transfer.Used(result.names.get(oid, oid), oid, hash_name)
            for oid, hash_name in result.corrupt]
    try:
        fetch(repo, remote=remote, jobs=jobs, progress=progress, used=used)
    except transfer.TransferError as exc:
        result.unfetched.update({oid: reason for _name, oid, reason in exc.result.failed})
    except RemoteError as exc:  # no remote, or unreachable: nothing came
        result.unfetched.update({oid: exc.message for oid, _h in result.corrupt})
    result.fetched = [oid for oid, hash_name in result.corrupt
                      if oid not in result.unfetched and repo.odb.exists(oid, hash_name)]
