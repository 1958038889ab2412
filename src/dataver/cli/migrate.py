"""`dataver migrate lfs|annex|git` (move data off git-lfs, git-annex or plain git) and
`dataver migrate verify`. See docs/migrate.md."""
from __future__ import annotations

import sys

from dataver.cli.main import common, positive_int
from dataver.cli.output import echo

_SOURCES = {
    "lfs": ("Git LFS", "files stored with Git LFS"),
    "annex": ("git-annex", "files stored with git-annex (locked or unlocked)"),
    "git": ("plain git", "large files committed straight into git (--above SIZE)"),
}


def register(sub) -> None:
    p = sub.add_parser("migrate", help="move data off git-lfs, git-annex or big files in git",
                       description="Convert files stored with Git LFS, git-annex or straight in git "
                                   "into DVC outputs: one new commit on the current branch, or "
                                   "(--rewrite) every commit of the chosen refs.")
    common(p)
    kinds = p.add_subparsers(dest="source", metavar="SOURCE", required=True)
    for kind, (name, what) in _SOURCES.items():
        k = kinds.add_parser(kind, help=f"convert {what}",
                             description=f"Convert {what} into DVC outputs (.dvc files, cache "
                                         "objects). Without --rewrite: one new commit on the "
                                         "current branch; no existing commit changes.")
        common(k)
        _source_options(k, kind)
        k.set_defaults(func=run_migrate, kind=kind)
    v = kinds.add_parser("verify", help="check converted files against their source",
                         description="For every converted commit (forward migrations, and the "
                                     "--rewrite map), check that each converted path's md5 is that "
                                     "of its verified source content. Exits 1 on a mismatch.")
    common(v)
    v.add_argument("--map", metavar="FILE", help="the rewrite's commit map "
                                                 "(default .dvc/tmp/dataver/migrate-map.txt)")
    v.set_defaults(func=run_verify)


def _source_options(p, kind: str) -> None:
    p.add_argument("refs", nargs="*", metavar="REF",
                   help="with --rewrite or --info: the refs to work on (default: the current branch "
                        "for --rewrite, every local branch for --info)")
    p.add_argument("--info", action="store_true",
                   help="report what would move (per branch and pattern), write nothing")
    p.add_argument("--dry-run", action="store_true",
                   help="report what would move and the .dvc files it would write, write nothing")
    p.add_argument("-I", "--include", action="append", default=[], metavar="PATTERN",
                   help="convert only paths matching PATTERN (gitattributes style; repeatable)")
    p.add_argument("-X", "--exclude", action="append", default=[], metavar="PATTERN",
                   help="leave paths matching PATTERN alone (repeatable)")
    if kind == "git":
        p.add_argument("--above", metavar="SIZE",
                       help="convert files larger than SIZE (500K, 1MB, 2G; KiB/MiB/GiB: powers of 1024)")
    p.add_argument("--group-by", choices=("dir", "file"),
                   help="one .dvc per top-level folder of converted files, or per file (default: "
                        "per folder for folders of 10 or more, else per file)")
    p.add_argument("--on-missing", choices=("fail", "keep", "drop"), default="fail",
                   help="objects neither here nor on the server: stop (default), leave those files "
                        "as they are, or remove them")
    p.add_argument("--push", action="store_true", help="push the objects to the DVC remote afterwards")
    p.add_argument("-r", "--remote", metavar="NAME", help="the DVC remote for --push (default: core.remote)")
    p.add_argument("--rewrite", action="store_true",
                   help="rewrite the history of REFs (default: the current branch) instead of "
                        "adding a commit; old refs stay under refs/dataver-migrate/original/")
    p.add_argument("--everything", action="store_true", help="with --rewrite or --info: all branches and tags")
    p.add_argument("-m", "--message", help="the message of the migration commit")
    p.add_argument("-j", "--jobs", type=positive_int, metavar="N", help="objects to convert at once")


def _options(args):
    from dataver.migrate.forward import Options
    from dataver.migrate.sources import parse_size

    above = getattr(args, "above", None)
    return Options(args.kind, tuple(args.include), tuple(args.exclude),
                   parse_size(above) if above is not None else None, args.group_by,
                   args.on_missing, args.push, args.remote, args.jobs, args.message)


def run_migrate(args) -> int:
    from dataver.migrate.errors import MigrateError

    opts = _options(args)
    if args.refs and not (args.rewrite or args.info):
        raise MigrateError("REFs are for --rewrite or --info",
                           hint="a forward migration works on the current branch")
    if args.everything and not (args.rewrite or args.info):
        raise MigrateError("--everything needs --rewrite or --info")
    if args.info:
        return _run_info(args, opts)
    if args.dry_run:
        return _run_dry_run(args, opts)
    if args.rewrite:
        return _run_rewrite(args, opts)
    return _run_forward(args, opts)


def _run_forward(args, opts) -> int:
    from dataver.migrate.errors import MissingObjectsError
    from dataver.migrate.forward import migrate
    from dataver.progress import for_cli

    try:
        result = migrate(opts, progress=for_cli(args.quiet))
    except MissingObjectsError as exc:
        _list_missing(exc.missing)
        raise
    if result.commit is None:
        echo(args, f"Nothing to migrate: no {_SOURCES[opts.kind][0]} files on {result.branch}"
                   f"{' matching the patterns' if opts.include or opts.exclude else ''}.")
        return 0
    if result.initialized:
        echo(args, "Initialized the DVC repository (`dataver init`): its files are part of the commit.")
    if result.resumed:
        echo(args, "Finished the migration an interrupted run had begun.")
    else:
        _converted(args, result)
    _missing(args, result)
    shown = ", ".join(result.outputs[:5]) + (f" and {len(result.outputs) - 5} more" if len(result.outputs) > 5 else "")
    echo(args, f"Wrote {len(result.outputs)} .dvc file{'s' if len(result.outputs) != 1 else ''}: {shown}")
    for path, deleted in result.attributes.items():
        if deleted:
            echo(args, f"Deleted {path} (it held only LFS patterns of the migrated files)")
        else:
            echo(args, f"Edited {path} (LFS patterns of the migrated files removed)")
    echo(args, f"Committed {result.commit[:12]} on {result.branch}.")
    if result.pushed is not None:
        echo(args, f"{_files(result.pushed)} pushed to the DVC remote.")
    return 0


def _list_missing(missing) -> None:
    print("Missing objects (neither here nor on the server):", file=sys.stderr)
    for item in missing:
        print(f"\t{item.path}\t{item.id}", file=sys.stderr)


def _run_info(args, opts) -> int:
    from dataver.migrate.info import info
    from dataver.progress import for_cli

    reports = info(opts, args.refs or None, args.everything, history=args.rewrite,
                   progress=for_cli(args.quiet))
    for report in reports:
        scope = f"{report.commits} commits" if args.rewrite else "tip"
        print(f"{report.name} ({scope}):")
        if not report.rows:
            print(f"\tno {_SOURCES[opts.kind][0]} files")
            continue
        print(_table([*report.rows, report.total], opts.kind))
    return 0


def _table(rows, kind: str) -> str:
    head = ("pattern", "files", "bytes", "objects", "missing here", "missing on server")
    lines = [head] + [(r.pattern, str(r.files), _size(r.nbytes), str(len(r.objects)),
                       str(len(r.missing_local)),
                       "?" if r.missing_server is None else str(len(r.missing_server))) for r in rows]
    if kind == "git":  # git objects have no server apart from the repository itself
        lines = [line[:-1] for line in lines]
        head = head[:-1]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("\t" + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                      for i, (cell, w) in enumerate(zip(line, widths))).rstrip()
                     for line in lines)


def _run_dry_run(args, opts) -> int:
    from dataver.migrate.info import dry_run, info

    plan = dry_run(opts)
    current = info(opts, [plan.branch])
    print(f"{plan.branch}:")
    print(_table([*current[0].rows, current[0].total], opts.kind) if current[0].rows else "\tnothing to migrate")
    if plan.init:
        print("Would run `dataver init` first.")
    for dvc, is_dir, nfiles in plan.outputs:
        print(f"Would write {dvc} ({'a folder of ' + _files(nfiles) if is_dir else 'a file'})")
    for path, content in plan.attributes.items():
        print(f"Would {'delete' if content is None else 'edit'} {path}")
    print("Nothing was written (--dry-run).")
    return 0


def _run_rewrite(args, opts) -> int:
    from dataver.migrate.errors import MissingObjectsError
    from dataver.migrate.rewrite import rewrite
    from dataver.progress import for_cli

    try:
        result = rewrite(opts, args.refs, args.everything, progress=for_cli(args.quiet))
    except MissingObjectsError as exc:
        _list_missing(exc.missing)
        raise
    if result.already:
        echo(args, "These refs were rewritten by an earlier run: nothing to do.")
        return 0
    if result.map_path is None:
        echo(args, f"Nothing to migrate: no {_SOURCES[opts.kind][0]} files in the history of "
                   f"{', '.join(result.refs) or 'HEAD'}.")
        return 0
    if result.initialized:
        echo(args, "Initialized the DVC repository (`dataver init`): its files are in every rewritten commit.")
    _converted(args, result)
    _missing(args, result)
    echo(args, f"Rewrote {result.changed} of {result.commits} commits of {', '.join(result.refs)}.")
    echo(args, "The old refs are kept under refs/dataver-migrate/original/ until you delete them; "
               "nothing was pushed to git.")
    echo(args, f"Map of old to new commit ids: {result.map_path}")
    if result.pushed is not None:
        echo(args, f"{_files(result.pushed)} pushed to the DVC remote.")
    return 0


def run_verify(args) -> int:
    from dataver.migrate.verify import verify
    from dataver.progress import for_cli
    from dataver.repo import Repo

    with Repo() as repo:
        report = verify(repo, args.map, progress=for_cli(args.quiet))
    for problem in report.problems:
        print(f"{problem.commit[:12]}\t{problem.path}\t{problem.what}", file=sys.stderr)
    echo(args, f"Checked {_files(report.paths)} in {report.commits} converted "
               f"commit{'s' if report.commits != 1 else ''}: "
               f"{len(report.problems) or 'no'} mismatch{'es' if len(report.problems) != 1 else ''}.")
    return 1 if report.problems else 0


def _files(n: int) -> str:
    return _count(n, "file")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _converted(args, result) -> None:
    """What the converter did: files, unique objects, bytes (and what an earlier run did)."""
    earlier = f"; {result.reused} converted by an earlier run" if result.reused else ""
    echo(args, f"Converted {_files(result.files)} ({_count(result.objects, 'unique object')}, "
               f"{_size(result.nbytes)}{earlier}).")


def _missing(args, result) -> None:
    """The objects --on-missing kept or dropped, one path a line."""
    for label, paths in (("Kept as they were (--on-missing keep)", result.kept),
                         ("Removed (--on-missing drop)", result.dropped)):
        if paths:
            echo(args, f"{label}:")
            for path in paths:
                echo(args, f"\t{path}")
