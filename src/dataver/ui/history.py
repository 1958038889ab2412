"""The versions of the data: commits (of any branch or tag) that touched a `.dvc` file or a
`dvc.lock`, newest first, with their branches and tags, and the summary of the data cards
stored for them (read from the cache only: a card is never computed or fetched here)."""
from __future__ import annotations

SEP, END = "\x1f", "\x1e"
FORMAT = SEP.join(("%H", "%h", "%an", "%at", "%s", "%D")) + END


def commits(service, skip: int, count: int) -> tuple[list[dict], bool]:
    """``(commits, more)``: up to ``count`` commits after the first ``skip``, each
    ``{"sha", "short", "author", "time", "subject", "branches", "tags"}``; ``more`` when older
    ones exist. None at all outside git or before the first commit."""
    git = service.repo.scm
    if getattr(git, "root", None) is None or not git.has_commits():
        return [], False
    import os

    prefix = os.path.relpath(service.repo.root, git.root).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix + "/"
    specs = [f":(glob){prefix}**/*.dvc", f":(glob){prefix}**/dvc.lock"]
    proc = git.run("log", "--all", "--date-order", f"--format={FORMAT}", f"--skip={skip}",
                   f"-n{count + 1}", "--", *specs)
    records = [r.strip("\n") for r in proc.stdout.decode("utf-8", "replace").split(END)]
    found = [_parse(r) for r in records if r]
    return found[:count], len(found) > count


def _parse(record: str) -> dict:
    sha, short, author, when, subject, refs = record.split(SEP)
    branches, tags = [], []
    for ref in filter(None, (r.strip() for r in refs.split(","))):
        if ref.startswith("tag: "):
            tags.append(ref[5:])
        elif ref.startswith("HEAD -> "):
            branches.append(ref[8:])
        elif ref != "HEAD" and not ref.startswith("refs/"):
            branches.append(ref)
    return {"sha": sha, "short": short, "author": author, "time": int(when), "subject": subject,
            "branches": branches, "tags": tags}


def stored_cards(service, sha: str) -> list[dict]:
    """The summaries of the cards stored (in the cache) for the outputs at commit ``sha``:
    ``{"path", "files", "bytes", "images", "annotations", "checks": {severity: n}}``.
    Outputs whose card is not stored, or not in the cache, are left out."""
    hit = service.cards.get(sha)
    if hit is not None:
        return hit
    from dataver.cards import store
    from dataver.errors import DataverError
    from dataver.revtree import RevTree

    summaries = []
    try:
        tracked = RevTree(service.repo, sha, sha).tracked()
    except DataverError:
        tracked = []
    for item in tracked:
        oid = store.stored_id(item.out) if item.out.md5 else None
        card = store.load(service.repo.odb, oid, item.out) if oid else None
        if card is not None:
            summaries.append(summary(card, service.repo.root, item.abspath))
    return service.cards.put(sha, summaries)


def summary(card: dict, root: str, abspath: str) -> dict:
    """The few figures of a card the versions page shows."""
    import os

    checks: dict[str, int] = {}
    for check in card.get("checks") or []:
        checks[check.get("severity", "info")] = checks.get(check.get("severity", "info"), 0) + 1
    files = card.get("files") or {}
    images = card.get("images") or {}
    coco = card.get("coco") or []
    return {"path": os.path.relpath(abspath, root).replace(os.sep, "/"),
            "files": files.get("count"), "bytes": files.get("bytes"),
            "images": images.get("count"),
            "annotations": sum((c.get("annotations") or 0) for c in coco if isinstance(c, dict))
            if coco else None,
            "checks": checks}
