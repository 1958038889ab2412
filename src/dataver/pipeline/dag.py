"""`dag` as DVC 3.67.1 prints it. The graph is :func:`dataver.pipeline.graph.build`'s
``{stage: [stages it depends on]}`` in stage order; shown, it is a list of node names and of
``(producer, user)`` edges. Orders observed with DVC and kept here: Graphviz dot lists the
nodes in file order, then per node (in that order) the edges to the nodes that use it (again
in file order), and ends with an empty line; Mermaid draws each connected part in turn
(ordered by its first node), its nodes sorted by name and numbered on from the previous part,
then its edges sorted by the names they join. ``--collapse-foreach-matrix`` puts one node per
foreach/matrix group after the other stages; ``--outs`` shows outputs instead of stages. As in
DVC, every `.dvc` file is a node too (:class:`DataSource`), linked to the stages that use its
outputs."""
from __future__ import annotations

import os

from dataver import dvcfile
from dataver.pipeline.graph import reachable


def select(graph: dict, targets: list, full: bool = False) -> dict:
    """The part of ``graph`` to show for ``targets``: each with the stages it depends on,
    directly or not (``full``: the whole connected part of the graph it belongs to)."""
    from dataver.pipeline.graph import postorder

    if full:
        links: dict = {node: set(deps) for node, deps in graph.items()}
        for node, deps in graph.items():
            for dep in deps:
                links[dep].add(node)
        chosen = {node for target in targets for node in reachable(links, [target])}
    else:
        chosen = set(postorder(graph, targets))
    return {n: [d for d in deps if d in chosen] for n, deps in graph.items() if n in chosen}


class DataSource:
    """A `.dvc` file as a node of DVC's graph: its outputs, and the dependencies of an import
    from a path in the workspace (a URL or another repository links to no stage)."""

    def __init__(self, dvc: dvcfile.DvcFile, root: str):
        from dataver.config import is_url  # not the remote registry: `dag` must start fast
        from dataver.pipeline.stage import OutSpec

        self.path = self.dvcyaml = dvc.path
        self.root = root
        self.wdir = dvc.wdir
        self.name = os.path.relpath(dvc.path, root).replace(os.sep, "/")
        self.outs = [OutSpec(out.path) for out in dvc.outs]
        self.deps = [str(dep["path"]) for dep in dvc.deps if isinstance(dep, dict)
                     and isinstance(dep.get("path"), str) and "repo" not in dep
                     and not is_url(dep["path"])]

    def __repr__(self) -> str:
        return f"DataSource({self.name!r})"

    @property
    def addressing(self) -> str:
        return self.name

    def abspath(self, path: str) -> str:
        return os.path.normpath(os.path.join(self.wdir, path))


def graph_nodes(repo) -> list:
    """What `dvc dag` draws: every stage of every dvc.yaml and every `.dvc` file, in DVC's
    order (the files as :meth:`Repo.iter_dvcfiles` finds them, each dvc.yaml's stages as
    written)."""
    from dataver.pipeline.stage import stages_of

    nodes: list = []
    for path in repo.iter_dvcfiles():
        if dvcfile.is_pipeline_file(path):
            nodes += stages_of(path, repo.root)
        else:
            nodes.append(DataSource(repo.load_dvcfile(path), repo.root))  # read-only parse
    return nodes


def resolve_target(nodes: list, target: str, root: str) -> list:
    """The nodes `dag TARGET` starts from, as DVC finds them: a stage (or `.dvc` file, or
    dvc.yaml) by name first, else the node whose output is ``target`` or holds it."""
    from dataver.errors import UserError
    from dataver.pipeline.graph import resolve_targets

    path = os.path.abspath(target)
    sources = [node for node in nodes if isinstance(node, DataSource) and node.path == path]
    if sources:
        return sources
    try:
        return resolve_targets(nodes, [target], root)
    except UserError:
        for node in nodes:
            for out in node.outs:
                out_path = node.abspath(out.path)
                if path == out_path or path.startswith(out_path + os.sep):
                    return [node]
        raise UserError(f"'{target}' is neither a stage nor an output",
                        hint="`dataver dag` draws them all") from None


def stage_name(stage, cwd: str) -> str:
    """A stage as DVC names it from ``cwd``: ``name`` in the cwd's dvc.yaml, else
    ``path/to/dvc.yaml:name`` (relative to the cwd, ``../`` included); a `.dvc` file by its
    path from the cwd."""
    rel = os.path.relpath(stage.dvcyaml, cwd).replace(os.sep, "/")
    if isinstance(stage, DataSource):
        return rel
    return stage.name if rel == "dvc.yaml" else f"{rel}:{stage.name}"


def stages_view(graph: dict, cwd: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Node names (as seen from ``cwd``) and edges of the stage graph."""
    names = {n: stage_name(n, cwd) for n in graph}
    return list(names.values()), _pairs({names[n]: [names[d] for d in deps]
                                         for n, deps in graph.items()})


def outs_view(graph: dict, cwd: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Node names (paths from ``cwd``) and edges of the outputs: each output of a stage
    depends on the outputs of the stages before it that its stage's dependencies reach."""
    def name(stage, out) -> str:
        return os.path.relpath(stage.abspath(out.path), cwd).replace(os.sep, "/")

    depends: dict[str, list[str]] = {}
    for stage, producers in graph.items():
        deps = [stage.abspath(d) for d in stage.deps]
        used = [name(p, o) for p in producers for o in p.outs
                if any(_overlaps(d, p.abspath(o.path)) for d in deps)]
        for out in stage.outs:
            depends[name(stage, out)] = used
    return list(depends), _pairs(depends)


def _overlaps(path: str, other: str) -> bool:
    return path == other or path.startswith(other + os.sep) or other.startswith(path + os.sep)


def _pairs(depends: dict[str, list[str]]) -> list[tuple[str, str]]:
    """``(producer, user)`` pairs: per node in order, the nodes that use it (in order too)."""
    users: dict[str, list[str]] = {node: [] for node in depends}
    for node, deps in depends.items():
        for dep in deps:
            if node not in users[dep]:
                users[dep].append(node)
    return [(src, user) for src in depends for user in users[src]]


def collapse(nodes: list[str], pairs: list[tuple[str, str]]):
    """One node per foreach/matrix group (``name@key`` stages as ``name``), after the others;
    each group's edges in the order of its stages' first ones."""
    def group(node: str) -> str:
        path, sep, name = node.rpartition(":")
        return f"{path}{sep}{name.partition('@')[0]}"

    kept = [n for n in nodes if group(n) == n]
    kept += list(dict.fromkeys(group(n) for n in nodes if group(n) != n))
    users: dict[str, list[str]] = {n: [] for n in kept}
    for src, user in pairs:
        if group(user) not in users[group(src)]:
            users[group(src)].append(group(user))
    return kept, [(src, user) for src in kept for user in users[src]]


def _links(nodes: list[str], pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
    links: dict[str, set[str]] = {n: set() for n in nodes}
    for src, user in pairs:
        links[src].add(user)
        links[user].add(src)
    return links


def dot(nodes: list[str], pairs: list[tuple[str, str]]) -> str:
    lines = [f'"{n}";' for n in nodes] + [f'"{a}" -> "{b}";' for a, b in pairs]
    return "\n".join(["strict digraph {", *lines, "}", ""])


def mermaid(nodes: list[str], pairs: list[tuple[str, str]], markdown: bool = False) -> str:
    lines = ["flowchart TD"]
    links = _links(nodes, pairs)
    ids: dict[str, str] = {}
    for start in nodes:
        if start in ids:
            continue
        part = reachable(links, [start])
        for name in sorted(part):
            ids[name] = f"node{len(ids) + 1}"
            lines.append(f'\t{ids[name]}["{name}"]')
        lines += [f"\t{ids[a]}-->{ids[b]}" for a, b in sorted(p for p in pairs if p[0] in part)]
    return "\n".join(["```mermaid", *lines, "```"] if markdown else lines)
