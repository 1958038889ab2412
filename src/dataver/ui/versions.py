"""``/``: the versions of the data, newest first, with links to browse each one and to compare
it with the version before, and the summaries of their stored data cards."""
from __future__ import annotations

from dataver.revdata import WORKSPACE
from dataver.ui import history, pages
from dataver.ui.safety import int_param

PER_PAGE = 30


async def page(request):
    """``/?page=N``: 30 versions a page."""
    service = request.app.state.service
    number = int_param(request.query_params, "page", 1, high=100_000)
    skip = (number - 1) * PER_PAGE
    found, more = await service.call(history.commits, service, skip, PER_PAGE + 1)
    shown = found[:PER_PAGE]
    rows = []
    for i, commit in enumerate(shown):
        cards = await service.call(history.stored_cards, service, commit["sha"])
        rows.append(_row(commit, found[i + 1] if i + 1 < len(found) else None, cards))
    names = _choices(shown)
    context = {
        "title": "Versions", "rows": rows, "page": number,
        "prev": f"/?page={number - 1}" if number > 1 else None,
        "next": f"/?page={number + 1}" if more or len(found) > PER_PAGE else None,
        "workspace": {"browse": pages.browse_url(WORKSPACE),
                      "compare": pages.compare_url("HEAD", WORKSPACE) if shown else None},
        "choices": names,
        # the newest version against the one before it (choices[0] is the workspace)
        "default_a": names[min(2, len(names) - 1)]["value"],
        "default_b": names[min(1, len(names) - 1)]["value"],
    }
    return pages.render(request, "versions.html.j2", context)


def _name(commit: dict) -> str:
    """What links name a commit by: its first tag (stable and readable), else its sha."""
    return commit["tags"][0] if commit["tags"] else commit["sha"]


def _row(commit: dict, older: dict | None, cards: list[dict]) -> dict:
    name = _name(commit)
    return {
        "short": commit["short"], "sha": commit["sha"], "subject": commit["subject"],
        "author": commit["author"], "when": pages.when(commit["time"]),
        "tags": commit["tags"], "branches": commit["branches"],
        "browse": pages.browse_url(name),
        "compare": pages.compare_url(_name(older), name) if older else None,
        "compare_label": older["tags"][0] if older and older["tags"] else
        (older["short"] if older else None),
        "cards": [_card(c) for c in cards],
    }


def _card(summary: dict) -> dict:
    figures = [f"{pages.num(summary['files'])} files", pages.size(summary["bytes"])]
    if summary.get("images"):
        figures.append(f"{pages.num(summary['images'])} images")
    if summary.get("annotations"):
        figures.append(f"{pages.num(summary['annotations'])} annotations")
    ordered = sorted(summary["checks"].items(), key=lambda kv: _SEVERITY.get(kv[0], 9))
    checks = [{"severity": s, "count": n} for s, n in ordered]
    return {"path": summary["path"], "figures": figures, "checks": checks}


_SEVERITY = {"error": 0, "warning": 1, "info": 2}


def _choices(commits: list[dict]) -> list[dict]:
    """The revisions offered by the compare form: the workspace, then each version."""
    result = [{"value": WORKSPACE, "label": "workspace"}]
    for c in commits:
        label = c["short"] + (" (" + ", ".join(c["tags"] + c["branches"]) + ")"
                              if c["tags"] or c["branches"] else "") + " " + c["subject"][:50]
        result.append({"value": _name(c), "label": label})
    return result
