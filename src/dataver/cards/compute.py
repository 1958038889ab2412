"""The card of each tracked output, at the workspace or at any git revision.

Data of a revision is read from the cache (what is missing is fetched from the default remote
first), never checked out. Per-file facts come from :mod:`dataver.facts`, which reads only
objects it has not seen before; a card stored with the version (``meta`` in the `.dvc` file) is
used as it is when it describes the output's version.
"""
from __future__ import annotations

import os
import posixpath

from dataver.cards import notes as notes_mod
from dataver.cards import store
from dataver.errors import TargetError, UserError
from dataver.hashing import MD5

WORKSPACE = "workspace"


class CardError(UserError):
    """A card cannot be made for what was asked."""


class Source:
    """One output to describe: the tracked item, the files to read, and where they are."""

    def __init__(self, repo, item, rev: str | None, tree=None):
        self.repo, self.item, self.rev, self.tree = repo, item, rev, tree
        self.path = os.path.relpath(item.abspath, repo.root).replace(os.sep, "/")
        self._unchanged: bool | None = None

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

    def notes_text(self) -> tuple[str, str | None]:
        """(repo-relative path of the notes file, its text or None)."""
        rel = notes_mod.notes_path(self.path)
        if self.tree is not None:
            data = self.tree.read_bytes(rel)
            return rel, None if data is None else data.decode("utf-8", "replace")
        try:
            with open(os.path.join(self.repo.root, rel), encoding="utf-8", errors="replace") as fobj:
                return rel, fobj.read()
        except (FileNotFoundError, NotADirectoryError):
            return rel, None


def sources(repo, targets: list[str] | None, rev: str | None) -> list[Source]:
    """The outputs named by ``targets`` (all when none) at ``rev`` (None: the workspace)."""
    if rev is None:
        from dataver.ops.targets import resolve

        return [Source(repo, item, None) for item in resolve(repo, targets) if item.out.cache]
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
    return [Source(repo, item, rev, tree) for item in items]


def card_of(src: Source, deep: bool = False, use_stored: bool = True, progress=None) -> dict:
    """The card of one output, with its notes: a stored one if it fits, else computed."""
    card = None
    out = src.item.out
    oid = store.stored_id(out)
    if use_stored and oid is not None and src.unchanged():
        card = store.load(src.repo.odb, oid, out) or _fetch_stored(src, oid)
        if card is not None and deep and not card.get("deep"):
            card = None
    if card is None:
        card = compute(src, deep, progress)
        oid = None
    return with_notes(src, card, oid)


def with_notes(src: Source, card: dict, stored: str | None) -> dict:
    """``card`` as shown: plus the notes of its revision, the revision and the stored id."""
    rel, text = src.notes_text()
    parsed = notes_mod.parse(text) if text is not None else {"settings": {}, "sections": []}
    return {**card, "rev": src.label, "stored": stored,
            "notes": {"path": rel, "exists": text is not None, "sections": parsed["sections"]}}


def compute(src: Source, deep: bool = False, progress=None) -> dict:
    """Compute the card of ``src`` from facts (reading only objects never seen before)."""
    from dataver.cards.build import build_card

    out = src.item.out
    entries, files, md5 = _entries(src, progress)
    basic, deep_facts = _facts(src.repo, entries, files, deep, progress)
    images = _image_source(src, progress)
    output = {"path": src.path, "md5": md5, "hash": out.hash_name}
    return build_card(output, entries, basic, deep_facts if deep else None, images)


def _facts(repo, entries, files: dict[str, str], deep: bool, progress):
    from dataver.facts import FactStore, collect

    items = [(md5, files[md5], size, rel) for rel, md5, size in entries]
    fact_store = FactStore(repo.cache_dir, shared=repo.odb.shared)
    try:
        return collect(fact_store, items, deep=deep, progress=progress)
    finally:
        fact_store.close()


def _entries(src: Source, progress=None) -> tuple[list[tuple[str, str, int]], dict[str, str], str]:
    """(entries (relpath, md5, size), md5 -> a readable local path, the output's md5)."""
    repo, item = src.repo, src.item
    out = item.out
    if src.unchanged():
        return _recorded_entries(src, progress)
    if not os.path.lexists(item.abspath):
        raise CardError(f"'{src.path}' is not in the workspace",
                        hint="check it out, or name a revision with --rev")
    if os.path.isdir(item.abspath):
        manifest, _size, _n = repo.hasher.dir_manifest(item.abspath, repo.ignore, out.hash_name)
        repo.state.flush()
        entries, files = [], {}
        for rel, md5 in manifest.entries.items():
            path = os.path.join(item.abspath, *rel.split("/"))
            entries.append((rel, md5, os.stat(path).st_size))
            files.setdefault(md5, path)
        return entries, files, manifest.oid
    md5 = repo.hasher.hash_file(item.abspath, out.hash_name)[0]
    repo.state.flush()
    return ([(posixpath.basename(src.path), md5, os.stat(item.abspath).st_size)],
            {md5: item.abspath}, md5)


def _recorded_entries(src: Source, progress=None):
    """Entries of the recorded version: from the workspace when it holds that version, else
    from the cache (fetching what it lacks)."""
    repo, out = src.repo, src.item.out
    in_workspace = src.rev is None
    if out.is_dir:
        manifest = _manifest(src, progress)
        if in_workspace:
            root = src.item.abspath
            paths = {rel: os.path.join(root, *rel.split("/")) for rel in manifest.entries}
        else:
            _ensure_local(src, progress)
            paths = {rel: repo.odb.path(md5, out.hash_name) for rel, md5 in manifest.entries.items()}
        entries, files = [], {}
        for rel, md5 in manifest.entries.items():
            entries.append((rel, md5, os.stat(paths[rel]).st_size))
            files.setdefault(md5, paths[rel])
        return entries, files, out.md5
    if in_workspace:
        path = src.item.abspath
    else:
        _ensure_local(src, progress)
        path = repo.odb.path(out.md5, out.hash_name)
    return [(posixpath.basename(src.path), out.md5, os.stat(path).st_size)], {out.md5: path}, out.md5


def _manifest(src: Source, progress=None):
    repo, out = src.repo, src.item.out
    try:
        return repo.odb.read_manifest(out.md5, out.hash_name)
    except FileNotFoundError:
        _ensure_local(src, progress)
        return repo.odb.read_manifest(out.md5, out.hash_name)


def _ensure_local(src: Source, progress=None) -> None:
    """Fetch the output's objects the cache lacks from the default remote."""
    from dataver.ops.sync import fetch
    from dataver.transfer import Used, local_manifest, make_plan

    out = src.item.out
    used = [Used(src.path, out.md5, out.hash_name)]
    plan = make_plan(used, local_manifest(src.repo))
    oids = {obj.oid for obj in plan.files.values()}
    if not plan.unreadable and len(src.repo.odb.existing(oids, out.hash_name)) == len(oids):
        return
    fetch(src.repo, used=used, progress=progress)


def _fetch_stored(src: Source, oid: str) -> dict | None:
    """A stored card missing from the cache, fetched from the default remote if there is one
    (None if it cannot be had: the card is then computed)."""
    from dataver.errors import DataverError
    from dataver.ops.sync import fetch
    from dataver.transfer import Used

    if not src.repo.config.get("core", "remote"):
        return None
    try:
        fetch(src.repo, used=[Used(src.path + " (card)", oid, MD5)])
    except DataverError:
        return None
    return store.load(src.repo.odb, oid, src.item.out)


def _image_source(src: Source, progress=None) -> dict | None:
    """``{output path: {relpath: image fact}}`` of the output the notes' ``images:`` names."""
    _rel, text = src.notes_text()
    target = notes_mod.parse(text)["settings"].get("images") if text else None
    if not target:
        return None
    from dataver.facts import FactStore, collect

    where = posixpath.normpath(posixpath.join(posixpath.dirname(src.path), target))
    others = [s for s in sources(src.repo, None, src.rev) if s.path == where]
    if not others:
        raise CardError(f"the notes of '{src.path}' name images in '{where}', which is not a "
                        f"tracked output at {src.label}", hint="fix the `images:` line of "
                        f"{notes_mod.notes_path(src.path)}")
    entries, files, _md5 = _entries(others[0], progress)
    fact_store = FactStore(src.repo.cache_dir, shared=src.repo.odb.shared)
    try:
        basic, _deep = collect(fact_store, [(m, files[m], s, r) for r, m, s in entries], progress=progress)
    finally:
        fact_store.close()
    return {where: {rel: basic[md5] for rel, md5, _s in entries
                    if basic.get(md5, {}).get("type") == "image"}}


def save(src: Source, card: dict) -> str:
    """Store ``card`` (computed for the recorded version of ``src``) and record its id in the
    output's `.dvc` file; the id."""
    from dataver.cards.canonical import dumps

    if src.rev is not None:
        raise CardError("--save stores the card of the workspace version; it cannot be used with --rev")
    item = src.item
    if card["output"]["md5"] != item.out.md5:
        raise CardError(f"'{src.path}' changed since it was added, so its card would not "
                        "describe the recorded version", hint=f"run `dataver add {src.path}` "
                        "(or `commit`) first, then save the card")
    bare = {k: v for k, v in card.items() if k not in ("rev", "stored", "notes")}
    oid = store.put(src.repo.odb, dumps(bare))
    if item.dvcfile.path.endswith(".dvc"):
        store.record(item.dvcfile.path, item.out, oid)
    return oid
