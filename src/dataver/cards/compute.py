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
from dataver.errors import UserError
from dataver.hashing import MD5
from dataver.revdata import OutputData, outputs_at


class CardError(UserError):
    """A card cannot be made for what was asked."""


class Source(OutputData):
    """One output to describe (or, with ``subpath``, the files below a folder or the one file
    of a tracked directory), with its notes."""

    subpath: str | None = None  # "/"-separated, relative to the output

    @property
    def shown_path(self) -> str:
        return f"{self.path}/{self.subpath}" if self.subpath else self.path

    def notes_text(self) -> tuple[str, str | None]:
        """(repo-relative path of the notes file, its text or None) at this revision."""
        rel = notes_mod.notes_path(self.path)
        return rel, self.read_git_file(rel)


def sources(repo, targets: list[str] | None, rev: str | None) -> list[Source]:
    """The outputs named by ``targets`` (all when none) at ``rev`` (None: the workspace); a
    target inside a tracked directory names that part of it."""
    from dataver.errors import TargetError

    if not targets:
        return [Source(o.repo, o.item, o.rev, o.tree) for o in outputs_at(repo, None, rev)]
    result: list[Source] = []
    everything = None
    for target in targets:
        try:
            result += [Source(o.repo, o.item, o.rev, o.tree) for o in outputs_at(repo, [target], rev)]
            continue
        except TargetError:
            everything = everything if everything is not None else outputs_at(repo, None, rev)
            abspath = os.path.abspath(target)
            owner = next((o for o in everything if o.item.out.is_dir
                          and abspath.startswith(o.item.abspath + os.sep)), None)
            if owner is None:
                raise
        src = Source(owner.repo, owner.item, owner.rev, owner.tree)
        src.subpath = os.path.relpath(abspath, owner.item.abspath).replace(os.sep, "/")
        result.append(src)
    return result


def card_of(src: Source, deep: bool = False, use_stored: bool = True, progress=None) -> dict:
    """The card of one output, with its notes: a stored one if it fits, else computed."""
    card = None
    out = src.item.out
    oid = store.stored_id(out)
    if use_stored and oid is not None and src.subpath is None and src.unchanged():
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
    output = {"path": src.shown_path, "md5": md5, "hash": out.hash_name}
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
    if src.subpath is None:
        files = src.local_paths(progress=progress)  # fetches what the cache lacks
        entries, md5 = src.listing(progress)
        return entries, files, md5
    prefix = src.subpath + "/"

    def below(entries):
        return [e for e in entries if e[0] == src.subpath or e[0].startswith(prefix)]

    wanted = [(rel, md5) for rel, md5, _size in below(src.listing(progress)[0])]
    if not wanted:
        raise CardError(f"'{src.shown_path}' is not in '{src.path}' at {src.label}",
                        hint="name a file or folder of the output")
    files = src.local_paths(wanted, progress)  # fetches only these
    entries, md5 = src.listing(progress)
    return ([(rel[len(prefix):] if rel != src.subpath else posixpath.basename(rel), m, size)
             for rel, m, size in below(entries)], files, md5)


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
    if src.subpath is not None:
        raise CardError(f"--save stores the card of a whole output, not of '{src.shown_path}'",
                        hint=f"name the output '{src.path}'")
    if card["output"]["md5"] != item.out.md5:
        raise CardError(f"'{src.path}' changed since it was added, so its card would not "
                        "describe the recorded version", hint=f"run `dataver add {src.path}` "
                        "(or `commit`) first, then save the card")
    bare = {k: v for k, v in card.items() if k not in ("rev", "stored", "notes")}
    oid = store.put(src.repo.odb, dumps(bare))
    if item.dvcfile.path.endswith(".dvc"):
        store.record(item.dvcfile.path, item.out, oid)
    return oid
