"""`dag` as a drawing in text, as `dvc dag` prints it by default: each stage (or output) in a box,
producers above their users, edges drawn with ``*``.

A small layered ("Sugiyama") layout of our own: each node goes one layer below its lowest
producer; an edge spanning several layers gets a point in each layer between, so it runs
between boxes and never through one; nodes are ordered within their layer by the mean position
of their neighbours (a few sweeps down and up), then placed as near as they fit above or below
them. Each connected part of the graph is drawn on its own, one after the other, as DVC does.
The picture is DVC's in spirit, not byte for byte (the formats meant for tools, ``--dot`` and
``--mermaid``, are DVC's exactly).
"""
from __future__ import annotations

GAP = 3  # columns between neighbouring boxes
SWEEPS = 4  # ordering passes (down and up)


def draw(nodes: list[str], pairs: list[tuple[str, str]]) -> str:
    """The drawing of the graph of ``nodes`` and ``(producer, user)`` ``pairs``, one connected
    part after another; "" for no nodes."""
    from dataver.pipeline.dag import _links, reachable

    links = _links(nodes, pairs)
    parts, seen = [], set()
    for start in nodes:
        if start in seen:
            continue
        part = reachable(links, [start])
        seen |= part
        parts.append(_draw_part([n for n in nodes if n in part], [p for p in pairs if p[0] in part]))
    return "\n\n".join(parts)


class _Node:
    def __init__(self, label: str | None):
        self.label = label  # None: a point of an edge that passes this layer
        self.width = len(label) + 4 if label is not None else 1
        self.up: list[_Node] = []  # neighbours one layer above
        self.down: list[_Node] = []
        self.x = 0  # left column
        self.pos = 0.0  # place in its layer while ordering

    @property
    def center(self) -> int:
        return self.x + self.width // 2


def _draw_part(nodes: list[str], pairs: list[tuple[str, str]]) -> str:
    layers = _layers(nodes, pairs)
    _order(layers)
    _place(layers)
    return _render(layers)


def _layers(nodes: list[str], pairs: list[tuple[str, str]]) -> list[list[_Node]]:
    """The nodes by layer (a node one below its lowest producer), with a point in each layer an
    edge passes."""
    producers: dict[str, list[str]] = {n: [] for n in nodes}
    for src, user in pairs:
        producers[user].append(src)
    depth: dict[str, int] = {}

    def layer_of(name: str) -> int:  # iterative: a long chain must not hit the recursion limit
        stack = [name]
        while stack:
            top = stack[-1]
            todo = [p for p in producers[top] if p not in depth]
            if todo:
                stack.extend(todo)
                continue
            depth[top] = 1 + max((depth[p] for p in producers[top]), default=-1)
            stack.pop()
        return depth[name]

    for name in nodes:
        layer_of(name)
    made = {name: _Node(name) for name in nodes}
    layers: list[list[_Node]] = [[] for _ in range(max(depth.values()) + 1)]
    for name in nodes:
        layers[depth[name]].append(made[name])
    for src, user in pairs:
        upper = made[src]
        for level in range(depth[src] + 1, depth[user]):
            point = _Node(None)
            layers[level].append(point)
            _connect(upper, point)
            upper = point
        _connect(upper, made[user])
    return layers


def _connect(upper: _Node, lower: _Node) -> None:
    upper.down.append(lower)
    lower.up.append(upper)


def _order(layers: list[list[_Node]]) -> None:
    """Order each layer by the mean place of its neighbours in the layer before (sweeping down,
    then up), which keeps edges from crossing where it can."""
    _number(layers)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        for layer in layers[1:] if down else reversed(layers[:-1]):
            for node in layer:
                near = node.up if down else node.down
                if near:
                    node.pos = sum(n.pos for n in near) / len(near)
            layer.sort(key=lambda n: n.pos)  # stable: ties keep their order
            _number([layer])


def _number(layers: list[list[_Node]]) -> None:
    for layer in layers:
        for index, node in enumerate(layer):
            node.pos = index


def _place(layers: list[list[_Node]]) -> None:
    """Columns: each node centred under its producers as far as the boxes fit, each layer
    shifted so that on the whole it sits under what it hangs from; then all moved to start at
    column 0."""
    for index, layer in enumerate(layers):
        wanted = []
        for node in layer:
            if index and node.up:
                mean = sum(n.center for n in node.up) / len(node.up)
                wanted.append(round(mean - node.width // 2))
            else:
                wanted.append(None)
        right = None  # the first free column after the box before
        for node, want in zip(layer, wanted):
            x = want if want is not None else (right if right is not None else 0)
            node.x = x if right is None else max(x, right)
            right = node.x + node.width + GAP
        pushed = [node.x - want for node, want in zip(layer, wanted) if want is not None]
        if pushed:  # pushing right to fit moved the layer off centre: move it back half way
            shift = sum(pushed) // (2 * len(pushed))
            for node in layer:
                node.x -= shift
    left = min(node.x for layer in layers for node in layer)
    for layer in layers:
        for node in layer:
            node.x -= left


def _render(layers: list[list[_Node]]) -> str:
    """The canvas: boxes three rows high, and between two layers rows enough for the widest
    step of an edge to slope gently."""
    tops, row = [], 0
    for index, layer in enumerate(layers):
        tops.append(row)
        row += 3
        if index + 1 < len(layers):
            spread = max((abs(n.center - m.center) for n in layer for m in n.down), default=0)
            row += max(2, min(8, spread // 4 + 1))
    width = max(node.x + node.width for layer in layers for node in layer)
    canvas = [[" "] * width for _ in range(row)]
    for index, layer in enumerate(layers):
        for node in layer:
            top = tops[index]
            if node.label is None:  # an edge passing this layer
                for r in range(top, top + 3):
                    canvas[r][node.center] = "*"
            for lower in node.down:
                _line(canvas, node.center, top + 3 if node.label is not None else top + 2,
                      lower.center, tops[index + 1] - 1 if lower.label is not None else tops[index + 1])
    for index, layer in enumerate(layers):
        for node in layer:
            if node.label is not None:
                _box(canvas, node, tops[index])
    return "\n".join("".join(line).rstrip() for line in canvas)


def _line(canvas: list[list[str]], x1: int, y1: int, x2: int, y2: int) -> None:
    """``*`` from (x1, y1) to (x2, y2), one per step along the longer side, so the line has no
    gaps however it slopes."""
    steps = max(abs(x2 - x1), abs(y2 - y1), 1)
    for step in range(steps + 1):
        x = round(x1 + (x2 - x1) * step / steps)
        y = round(y1 + (y2 - y1) * step / steps)
        canvas[y][x] = "*"


def _box(canvas: list[list[str]], node: _Node, top: int) -> None:
    border = "+" + "-" * (node.width - 2) + "+"
    for r, text in enumerate((border, f"| {node.label} |", border)):
        canvas[top + r][node.x:node.x + node.width] = list(text)
