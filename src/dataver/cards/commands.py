"""What `dataver card` and `dataver card diff` do, returning data (the CLI and the Python API
render it): cards of outputs, notes templates, and diffs of two versions' cards."""
from __future__ import annotations

import os

from dataver.cards import compute
from dataver.cards.canonical import normalize
from dataver.revdata import WORKSPACE


def cards(repo, targets=None, rev: str | None = None, deep: bool = False, save: bool = False,
          recompute: bool = False, progress=None) -> list[dict]:
    """The card of each output named by ``targets`` (all when None) at ``rev`` (None: the
    workspace). ``save`` stores each card and records its id in the `.dvc` file."""
    result = []
    with repo.lock:
        for src in compute.sources(repo, targets, rev):
            card = normalize(compute.card_of(src, deep, use_stored=not recompute, progress=progress))
            if save:
                card["stored"] = compute.save(src, card)
            result.append(card)
    return result


def create_notes(repo, targets=None) -> list[str]:
    """Write a notes template beside each output that has none; the notes paths (relative to
    the working directory), existing ones included."""
    from dataver.atomic import write_text_atomic
    from dataver.cards.notes import notes_path, template

    paths = []
    for src in compute.sources(repo, targets, None):
        path = os.path.join(repo.root, notes_path(src.path))
        if not os.path.exists(path):
            write_text_atomic(path, template(src.path))
        paths.append(os.path.relpath(path))
    return paths


def card_diffs(repo, a_rev: str = "HEAD", b_rev: str | None = None, targets=None,
               deep: bool = False, fail_if: list[str] | None = None, progress=None) -> list[dict]:
    """One diff per output present at either revision (``b_rev`` None: the workspace)."""
    from dataver.cards.diff import diff_cards
    from dataver.cards.diff import fail_if as check_fail_if

    old = {c["output"]["path"]: c for c in cards(repo, None, a_rev, deep, progress=progress)}
    new = {c["output"]["path"]: c for c in cards(repo, None, b_rev, deep, progress=progress)}
    keys = sorted(set(old) | set(new))
    if targets:
        wanted = {os.path.relpath(os.path.abspath(t), repo.root).replace(os.sep, "/") for t in targets}
        wanted = {w[:-4] if w.endswith(".dvc") else w for w in wanted}
        keys = [k for k in keys if any(k == w or k.startswith(w + "/") for w in wanted)]
        if not keys:
            from dataver.errors import TargetError

            raise TargetError("is not a tracked output at either revision", path=targets[0],
                              hint="name an output or its .dvc file")
    result = []
    for key in keys:
        d = diff_cards(old.get(key), new.get(key), a_rev, b_rev or WORKSPACE)
        if fail_if:
            check_fail_if(d, fail_if)
        result.append(normalize(d))
    return result
