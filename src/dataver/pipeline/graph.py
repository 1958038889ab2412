"""The graph of stages, as DVC builds it: an edge from a stage to each stage that produces one
of its dependencies (a dependency equal to, inside or containing an output). Two stages with
one output, an output inside another, and cycles are refused; the order to run is DVC's
(depth-first post-order over the stages in file order)."""
from __future__ import annotations

import os

from dataver.errors import UserError


class PipelineError(UserError):
    """A pipeline that cannot be run as written (cycle, overlapping outputs, bad target)."""


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def build(stages: list) -> dict:
    """``{stage: [stages it depends on]}`` in stage order; raises PipelineError on a bad graph."""
    outs: dict[str, object] = {}
    for stage in stages:
        for out in stage.outs:
            path = stage.abspath(out.path)
            if path in outs:
                raise PipelineError(
                    f"output '{os.path.relpath(path)}' is specified in stages "
                    f"'{outs[path].addressing}' and '{stage.addressing}'",
                    hint="remove it from one of them")
            outs[path] = stage
    ordered = sorted(outs)
    for before, after in zip(ordered, ordered[1:]):
        if _inside(after, before):
            raise PipelineError(
                f"output '{os.path.relpath(after)}' of stage '{outs[after].addressing}' is inside "
                f"output '{os.path.relpath(before)}' of stage '{outs[before].addressing}'",
                hint="use one output for the directory, or separate paths")
    graph: dict = {}
    for stage in stages:
        edges = []
        for dep in stage.deps:
            dep_path = stage.abspath(dep)
            for out_path, producer in outs.items():
                if (_inside(dep_path, out_path) or _inside(out_path, dep_path)) \
                        and producer not in edges:
                    edges.append(producer)
        graph[stage] = edges
    _check_acyclic(graph)
    return graph


def _check_acyclic(graph: dict) -> None:
    state: dict = {}  # 1 visiting, 2 done
    for start in graph:
        if state.get(start):
            continue
        stack = [(start, iter(graph[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                cycle = [n.addressing for n, _ in stack[[n for n, _ in stack].index(child):]]
                raise PipelineError(f"pipeline has a cycle: {' -> '.join(cycle + [child.addressing])}",
                                    hint="a stage cannot depend, directly or not, on its own output")
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(graph[child])))


def active(graph: dict) -> dict:
    """The graph repro follows (DVC's active graph): a frozen stage is cut from the stages it
    depends on, so they are not reproduced for it."""
    return {stage: [] if stage.frozen else deps for stage, deps in graph.items()}


def dependents(graph: dict) -> dict:
    """``{stage: [stages that depend on it directly]}``."""
    back: dict = {node: [] for node in graph}
    for node, children in graph.items():
        for child in children:
            back[child].append(node)
    return back


def pipeline_of(graph: dict, stages) -> set:
    """The stages of the pipelines (weakly connected parts of the graph) holding ``stages``."""
    links = dependents(graph)
    for node, children in graph.items():
        links[node] += children
    return reachable(links, stages)


def reachable(links: dict, starts) -> set:
    """Every node reachable from ``starts`` through ``links`` (``{node: neighbours}``)."""
    seen, todo = set(starts), list(starts)
    while todo:
        for other in links[todo.pop()]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def postorder(graph: dict, sources=None, reverse: bool = False) -> list:
    """Depth-first post-order (networkx's dfs_postorder_nodes): from ``sources``, or from every
    node in order; ``reverse`` follows edges backwards (stages that depend on a source)."""
    if reverse:
        graph = dependents(graph)
    seen: set = set()
    result = []
    for start in (graph if sources is None else sources):
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(graph[start]))]
        while stack:
            node, children = stack[-1]
            child = next((c for c in children if c not in seen), None)
            if child is None:
                result.append(node)
                stack.pop()
            else:
                seen.add(child)
                stack.append((child, iter(graph[child])))
    return result


def plan(graph: dict, targets=None, downstream: bool = False, single: bool = False,
         pipeline: bool = False) -> list:
    """The stages to consider, in the order to run them (DVC's plan_repro): the targets and
    what they depend on (``downstream``: what depends on them; ``single``: the targets alone;
    ``pipeline``: the whole pipelines they are in)."""
    if not targets:
        return postorder(graph)
    if single:
        return list(targets)
    if pipeline:
        chosen = pipeline_of(graph, targets)
    else:
        chosen = {node for target in targets for node in postorder(graph, [target], reverse=downstream)}
    sub = {n: [c for c in graph[n] if c in chosen] for n in graph if n in chosen}
    return postorder(sub)


def resolve_targets(stages: list, targets: list[str], root: str) -> list:
    """Stages named by ``targets``: ``name``, ``path/dvc.yaml:name`` or ``path/dvc.yaml``; the
    name of a foreach or matrix group stands for all its stages."""
    result = []
    for target in targets:
        file, _, name = target.rpartition(":") if ":" in target else ("", "", target)
        if not file and (target.endswith("dvc.yaml") or os.path.isdir(target)):
            file, name = target, ""
        dvcyaml = os.path.abspath(file or "dvc.yaml")  # as DVC: relative to the cwd
        if os.path.isdir(dvcyaml):
            dvcyaml = os.path.join(dvcyaml, "dvc.yaml")
        found = [s for s in stages if s.dvcyaml == dvcyaml and (not name or s.name == name)]
        if not found and name:  # a foreach/matrix group: all its generated `name@...` stages
            found = [s for s in stages if s.dvcyaml == dvcyaml and s.name.startswith(f"{name}@")]
        if not found:
            raise PipelineError(f"stage '{target}' not found",
                                hint="check the name (`dataver dag` lists the stages)")
        result += [s for s in found if s not in result]
    return result
