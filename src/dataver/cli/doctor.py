"""`dataver version` (alias `doctor`): versions, installed extras, cache link types and file systems."""
from __future__ import annotations

from dataver.cli.main import common


def register(sub) -> None:
    p = sub.add_parser("version", aliases=["doctor"],
                       help="show the dataver version and system/environment information",
                       description="Show the dataver version and installer, the platform, which "
                                   "remote types and optional extras (cards, visual, ui) are "
                                   "installed, and, inside a repository, the link types that work "
                                   "between the cache and the workspace and the file system of "
                                   "each.")
    common(p)
    p.add_argument("--json", action="store_true", help="print the same facts as JSON")
    p.set_defaults(func=run_version)


def run_version(args) -> int:
    from dataver.errors import NotARepoError
    from dataver.ops.doctor import report
    from dataver.repo import Repo

    try:
        repo = Repo()
    except NotARepoError:
        facts = report()
    else:
        with repo:
            facts = report(repo)
    if args.json:
        from dataver.cli.output import print_json

        print_json(_as_json(facts))
    else:
        print("\n".join(render(facts)))
    return 0


def _as_json(facts) -> dict:
    def extra(e):
        return {"installed": e.installed, "packages": dict(e.packages)}

    data = {"version": facts.version, "installer": facts.installer, "platform": facts.platform,
            "remotes": {e.name: extra(e) for e in facts.remotes},
            "extras": {e.name: extra(e) for e in facts.extras}, "config": facts.config}
    if facts.repo is not None:
        data["repo"] = dict(facts.repo, Remotes=facts.remote_types)
    return data


def _packages(extra) -> str:
    return ", ".join(f"{name} = {version}" for name, version in extra.packages)


def render(facts) -> list[str]:
    """The lines `dataver version` prints, laid out as `dvc version` lays out its own."""
    head = f"dataver version: {facts.version}" + (f" ({facts.installer})" if facts.installer else "")
    lines = [head, "-" * len(head), f"Platform: {facts.platform}"]
    installed = [e for e in facts.remotes if e.installed]
    lines.append("Supports:" if installed else "Supports: local only")
    lines += [f"\t{e.name} ({_packages(e)})" + ("," if i < len(installed) - 1 else "")
              for i, e in enumerate(installed)]
    missing = [e.name for e in facts.remotes if not e.installed]
    if missing:
        lines.append(f"Not installed: {', '.join(missing)} "
                     f"(pip install 'dataver[{','.join(missing)}]')")
    lines.append("Extras:")
    for e in facts.extras:
        lines.append(f"\t{e.name} ({_packages(e)})" if e.installed else
                     f"\t{e.name}: not installed (missing {', '.join(e.missing) or 'metadata'}; "
                     f"pip install 'dataver[{e.name}]')")
    lines.append("Config:")
    lines += [f"\t{level}: {path}" for level, path in facts.config.items()]
    if facts.repo is not None:
        repo = dict(facts.repo)
        workspace, kind = repo.pop("Workspace directory"), repo.pop("Repo")
        lines += [f"{label}: {value}" for label, value in repo.items()]
        lines.append(f"Remotes: {', '.join(facts.remote_types) or 'None'}")
        lines += [f"Workspace directory: {workspace}", f"Repo: {kind}"]
    return lines
