"""`dataver stage add`, `dataver repro`, `dataver dag`: dvc.yaml pipelines (see docs/pipelines.md)."""
from __future__ import annotations

import os
import sys

from dataver.cli.main import common
from dataver.cli.output import echo


def register(sub) -> None:
    s = sub.add_parser("stage", help="add a pipeline stage to dvc.yaml (`dataver stage add`)",
                       description="Manage dvc.yaml stages. Use `dataver stage add --help`.")
    common(s)
    s.set_defaults(func=lambda args: s.print_help() or 0)

    a = sub.add_parser(  # `stage add`: main() joins the two words (see HIDDEN_COMMANDS)
        "stage-add", prog="dataver stage add",
        description="Write a stage into dvc.yaml exactly as `dvc stage add` does; run it with "
                    "`dataver repro`.")
    common(a)
    a.add_argument("-n", "--name", required=True, help="the stage's name")
    a.add_argument("-d", "--deps", action="append", default=[], metavar="DEP", help="a dependency")
    a.add_argument("-o", "--outs", action="append", default=[], metavar="OUT", help="an output (cached)")
    a.add_argument("-O", "--outs-no-cache", action="append", default=[], metavar="OUT",
                   help="an output git tracks (not cached)")
    a.add_argument("--outs-persist", action="append", default=[], metavar="OUT",
                   help="an output not deleted before the command runs")
    a.add_argument("--outs-persist-no-cache", action="append", default=[], metavar="OUT",
                   help="a persistent output, not cached")
    a.add_argument("-p", "--params", action="append", default=[], metavar="[FILE:]KEYS",
                   help="parameters: 'a,b' from params.yaml, 'file.yaml:a,b', or 'file.yaml:' (all)")
    a.add_argument("-m", "--metrics", action="append", default=[], metavar="FILE", help="a metrics file (cached)")
    a.add_argument("-M", "--metrics-no-cache", action="append", default=[], metavar="FILE",
                   help="a metrics file git tracks")
    a.add_argument("--plots", action="append", default=[], metavar="FILE", help="a plots file (cached)")
    a.add_argument("--plots-no-cache", action="append", default=[], metavar="FILE",
                   help="a plots file git tracks")
    a.add_argument("-w", "--wdir", help="the directory the command runs in (default: dvc.yaml's)")
    a.add_argument("-f", "--force", action="store_true", help="overwrite a stage of that name")
    a.add_argument("--always-changed", action="store_true", help="run the stage at every repro")
    a.add_argument("--desc", help="a description of the stage")
    a.add_argument("--run", action="store_true", help="run the stage once it is added (as repro -s)")
    a.add_argument("command", nargs="+", metavar="COMMAND", help="the command to run")
    a.set_defaults(func=run_stage_add)

    r = sub.add_parser("repro", help="run the pipeline stages whose inputs changed",
                       description="Run the stages of ./dvc.yaml (or of TARGETs; with -P of "
                                   "every dvc.yaml) and what they depend on, whose command, "
                                   "dependencies, params or outputs "
                                   "changed since dvc.lock, in dependency order; cache their "
                                   "outputs and update dvc.lock as DVC does.")
    common(r)
    r.add_argument("targets", nargs="*", metavar="TARGET",
                   help="stage names, path/to/dvc.yaml:name or path/to/dvc.yaml")
    r.add_argument("-f", "--force", action="store_true", help="run the stages even if unchanged")
    r.add_argument("-s", "--single-item", action="store_true",
                   help="only the TARGETs, not the stages they depend on")
    r.add_argument("--downstream", action="store_true",
                   help="the TARGETs and the stages that depend on them")
    r.add_argument("--dry", action="store_true", help="show what would run, run nothing")
    r.add_argument("--no-run-cache", action="store_true",
                   help="run changed stages even if the run cache has their outputs")
    r.add_argument("--no-commit", action="store_true",
                   help="do not put outputs into the cache (dvc.lock is still written)")
    r.add_argument("-R", "--recursive", action="store_true",
                   help="TARGETs are directories: every stage of the dvc.yaml files below them")
    r.add_argument("-p", "--pipeline", action="store_true",
                   help="the whole pipelines the TARGETs belong to")
    r.add_argument("-P", "--all-pipelines", action="store_true", help="every stage of the repository")
    r.add_argument("--force-downstream", action="store_true",
                   help="run every stage that depends on a stage that runs, even if its own "
                        "dependencies did not change")
    r.add_argument("--glob", action="store_true", help="stage names in TARGETs may hold wildcards")
    r.add_argument("-i", "--interactive", action="store_true",
                   help="ask (y/n on stdin) before running each stage")
    r.add_argument("--pull", action="store_true",
                   help="fetch missing data from the remote first: outputs of stages that only "
                        "miss data, missing dependencies, the run cache")
    r.add_argument("--allow-missing", action="store_true",
                   help="skip stages whose only change is missing data")
    errors = r.add_mutually_exclusive_group()
    errors.add_argument("-k", "--keep-going", action="store_true",
                        help="after a failure, go on with the stages that do not depend on it")
    errors.add_argument("--ignore-errors", action="store_true",
                        help="after a failure, go on with every other stage")
    r.set_defaults(func=run_repro)

    g = sub.add_parser("dag", help="show the pipeline's stages and their dependencies",
                       description="Print the graph of stages (or outputs): drawn in text, "
                                   "producers above their users, or as Graphviz dot, Mermaid, or "
                                   "Mermaid in a Markdown block.")
    common(g)
    g.add_argument("target", nargs="?", help="only this stage (or .dvc file, or the one producing this output) and what it depends on")
    # as in DVC the formats are not exclusive: --dot wins, then --mermaid/--md
    g.add_argument("--dot", action="store_true", help="Graphviz dot")
    g.add_argument("--mermaid", action="store_true", help="Mermaid flowchart")
    g.add_argument("--md", action="store_true", help="Mermaid in a Markdown code block")
    g.add_argument("--full", action="store_true",
                   help="with a target: the whole connected graph it belongs to")
    g.add_argument("--collapse-foreach-matrix", action="store_true",
                   help="one node per foreach/matrix group")
    g.add_argument("-o", "--outs", action="store_true", help="show outputs instead of stages")
    g.set_defaults(func=run_dag)


def _out_specs(args):
    from dataver.pipeline.stage import OutSpec

    kinds = [("outs_persist", "outs", True, True), ("outs_persist_no_cache", "outs", False, True),
             ("metrics", "metrics", True, False), ("metrics_no_cache", "metrics", False, False),
             ("plots", "plots", True, False), ("plots_no_cache", "plots", False, False),
             ("outs_no_cache", "outs", False, False), ("outs", "outs", True, False)]
    return [OutSpec(path, kind, cache, persist)
            for attr, kind, cache, persist in kinds for path in getattr(args, attr)]


def run_stage_add(args) -> int:
    from dataver import scm
    from dataver.pipeline import stage as stagemod
    from dataver.repo import Repo

    with Repo() as repo:
        outs = _out_specs(args)
        dvcyaml = os.path.abspath("dvc.yaml")
        wdir = os.path.relpath(os.path.abspath(args.wdir), os.path.dirname(dvcyaml)) if args.wdir else "."
        definition = stagemod.stage_definition(
            " ".join(args.command), args.deps, outs, stagemod.parse_param_args(args.params),
            wdir=wdir.replace(os.sep, "/"), always_changed=args.always_changed, desc=args.desc)
        with repo.lock:
            new = stagemod.add_stage(repo, args.name, definition, force=args.force, path=dvcyaml)
            changed = [dvcyaml]
            if not isinstance(repo.scm, scm.NoScm):
                for out in stagemod.gitignore_order(outs):
                    path = new.abspath(out.path)
                    if not repo.scm.is_ignored(path) and scm.ignore(path):
                        changed.append(os.path.join(os.path.dirname(path), ".gitignore"))
        if repo.config.get_bool("core", "autostage"):
            repo.scm.add(changed)
    echo(args, f"Added stage '{args.name}' in '{os.path.relpath(dvcyaml)}'")
    if args.run:
        return _run_stages(args, [f"{dvcyaml}:{args.name}"], single=True)
    return 0


class StagePrinter:
    def __init__(self, args):
        self.args = args

    def skipped(self, stage, reason: str) -> None:
        echo(self.args, f"Stage '{stage.addressing}' didn't change, skipping")

    def running(self, stage, reason: str) -> None:
        verb = "Verifying outputs in frozen stage" if stage.frozen else "Running stage"
        echo(self.args, f"{verb} '{stage.addressing}' ({reason}):")

    def command(self, cmd: str) -> None:
        echo(self.args, f"> {cmd}")
        sys.stdout.flush()  # before the command's own output

    def cached(self, stage) -> None:
        echo(self.args, f"Stage '{stage.addressing}' is cached - skipping run, checking out outputs")

    def pulling(self, stage) -> None:
        echo(self.args, f"Pulling data for stage: '{stage.addressing}'")

    def failed(self, stage, error: Exception, skipped: list, ignored: bool) -> None:
        print(f"WARNING: {error}{' (ignored)' if ignored else ''}", file=sys.stderr)
        if skipped:
            names = ", ".join(f"'{s.addressing}'" for s in skipped)
            print(f"WARNING: {'Stages' if len(skipped) > 1 else 'Stage'} {names} will be skipped "
                  "due to this failure", file=sys.stderr)

    def lock_written(self, path: str, created: bool) -> None:
        verb = "Generating" if created else "Updating"
        echo(self.args, f"{verb} lock file '{os.path.relpath(path)}'")


def confirm_stage(stage, reason: str) -> bool:
    """Ask on a terminal whether to go on with ``stage`` (changed because of ``reason``); as
    DVC, without a terminal the answer is no."""
    if not sys.stdin.isatty():
        return False
    answer = input(f"Stage '{stage.addressing}' changed ({reason}). Are you sure you want to "
                   "commit it? [y/n] ")
    return answer.strip().lower() in ("y", "yes")


def ask_to_run(stage, reason: str) -> bool:
    """--interactive's question, answered with y/n on stdin (end of input: no)."""
    while True:
        print(f"Going to reproduce stage: '{stage.addressing}' ({reason}). Are you sure you want "
              "to continue? [y/n] ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            print()
            return False
        answer = line.strip().lower()
        if answer in ("y", "yes", "n", "no"):
            return answer.startswith("y")


def run_repro(args) -> int:
    on_error = "keep-going" if args.keep_going else "ignore" if args.ignore_errors else "fail"
    return _run_stages(args, args.targets or None, force=args.force, single=args.single_item,
                       dry=args.dry, downstream=args.downstream, run_cache=not args.no_run_cache,
                       no_commit=args.no_commit, recursive=args.recursive, glob=args.glob,
                       all_pipelines=args.all_pipelines, pipeline=args.pipeline,
                       force_downstream=args.force_downstream, on_error=on_error,
                       interactive=args.interactive, allow_missing=args.allow_missing,
                       pull=args.pull)


def _run_stages(args, targets, **options) -> int:
    """repro, printing as DVC does; the exit code (a failed command's own)."""
    from dataver.pipeline.run import StageFailedError, repro
    from dataver.repo import Repo

    with Repo() as repo:
        try:
            ran = repro(repo, targets, events=StagePrinter(args), confirm=ask_to_run, **options)
        except StageFailedError as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return exc.returncode
        if ran and not options.get("dry"):
            _track_changes(args, repo, ran)
    # as DVC: the push reminder whenever stages ran (or, with --dry, would run)
    echo(args, "Use `dataver push` to send your updates to remote storage." if ran
         else "Data and pipelines are up to date.")
    return 0


def _track_changes(args, repo, ran) -> None:
    """After stages ran: stage the `dvc.lock` files and `.gitignore` files they changed when
    core.autostage is on, else say how (as DVC does after repro)."""
    from dataver.cli.output import git_hint

    paths = list(dict.fromkeys([stage.lock_path for stage in ran] + [
        os.path.join(os.path.dirname(stage.abspath(out.path)), ".gitignore")
        for stage in ran for out in stage.outs if out.cache]))
    changed = repo.scm.unstaged(paths)
    if not changed:
        return
    if repo.config.get_bool("core", "autostage"):
        repo.scm.add(changed)
    else:
        echo(args, git_hint([os.path.relpath(path) for path in changed]))


def run_dag(args) -> int:
    from dataver.errors import UserError
    from dataver.pipeline import dag
    from dataver.pipeline import graph as graphmod
    from dataver.repo import Repo

    if args.outs and args.collapse_foreach_matrix:  # DVC's words
        raise UserError("`--outs` and `--collapse-foreach-matrix` are mutually exclusive",
                        hint="use one of them")
    with Repo() as repo:
        stages = dag.graph_nodes(repo)
        graph = graphmod.build(stages)
        if args.target:
            graph = dag.select(graph, dag.resolve_target(stages, args.target, repo.root), args.full)
        view = (dag.outs_view if args.outs else dag.stages_view)(graph, os.getcwd())
    if args.collapse_foreach_matrix:
        view = dag.collapse(*view)
    if args.dot:
        text = dag.dot(*view)
    elif args.mermaid or args.md:
        text = dag.mermaid(*view, markdown=args.md)
    else:
        from dataver.pipeline.dag_ascii import draw

        text = draw(*view)
    if text:
        print(text)
    return 0
