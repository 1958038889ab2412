"""Plots of dvc.yaml files as DVC 3 collects them: their definitions (the top-level ``plots:``
list and stage outputs listed under ``plots:``) and their data at the workspace or at any git
revision (git-tracked files from git, DVC-tracked ones from the cache, fetched on demand).

A plot's rows are the records of its files (CSV/TSV rows as strings, JSON/YAML values as
typed) with the fields DVC adds: ``step`` (the row's index) when no ``x`` is given, ``rev``,
and for several y series ``dvc_inferred_y_value`` with ``field`` and/or ``filename``. Drawing
them is plots_render's job."""
from __future__ import annotations

import os
import posixpath

from dataver import dvcfile
from dataver.errors import UnsafePathError, UserError
from dataver.paths import check_out_path
from dataver.pipeline.revfiles import NotInCache, Pipeline, RevFiles

DATA_EXTS = (".csv", ".tsv", ".json", ".yaml", ".yml")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".gif", ".svg")
PROP_KEYS = ("x", "y", "template", "title", "x_label", "y_label", "header")
FAILED = "failed"
INFERRED_Y = "dvc_inferred_y_value"  # the field DVC gives several y series (kept for its --json)


class PlotsError(UserError):
    """Plots cannot be collected as asked."""


class PlotLoadError(Exception):
    """One plot could not be loaded at one revision: reported in ``errors``, never fatal
    (DVC shows the other plots and says which revisions failed)."""

    def __init__(self, kind: str, message: str):
        self.kind, self.message = kind, message
        super().__init__(message)


class Definition:
    """One plot: ``id`` as DVC names it, ``ys`` the ``(file, field or None)`` series in order
    (files root-relative), ``props`` the x/template/title/labels given."""

    def __init__(self, plot_id: str, ys: list[tuple[str, str | None]], props: dict, source: str,
                 top_file: bool = False):
        self.id, self.ys, self.props, self.source = plot_id, ys, props, source
        self.top_file = top_file  # a top-level plot named by its file (not a name, not a stage's)

    def __repr__(self) -> str:
        return f"Definition({self.id!r}, {self.ys!r})"

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(f for f, _ in self.ys))


class Plot:
    """A plot's data over revisions: ``kind`` "vega" (``rows``, ``revisions``), "image"
    (``images``: ``[(rev, bytes)]``) or FAILED (no data at any revision: see the errors)."""

    def __init__(self, definition: Definition, kind: str):
        self.definition, self.kind = definition, kind
        self.revisions: list[str] = []
        self.rows: list[dict] = []
        self.images: list[tuple[str, bytes]] = []
        self.x: str | None = definition.props.get("x")
        self.y: str | None = None
        self.series: str | None = None  # the field that tells several y series apart

    @property
    def id(self) -> str:
        return self.definition.id


# --- where files come from ---------------------------------------------------------------

def sources(repo, revisions: list[str] | None) -> list[RevFiles]:
    """The sides to read (see :mod:`dataver.pipeline.revfiles`), in DVC's order: the
    workspace alone (``revisions`` None, `plots show`), else as `plots diff`: HEAD and the
    workspace by default, one revision against the workspace, or two or more revisions alone."""
    if revisions is None:
        return [RevFiles(repo, None)]
    if not revisions:
        revisions = ["HEAD"]
    chosen = [RevFiles(repo, None)] if len(revisions) == 1 else []
    return chosen + [RevFiles(repo, rev) for rev in dict.fromkeys(revisions)]


def read(source: RevFiles, rel: str) -> bytes:
    """The content of plot file ``rel`` at ``source``; what cannot be read is this plot's
    error at this revision, as DVC reports it."""
    try:
        return source.read(rel)
    except FileNotFoundError as exc:
        at = "" if source.rev is None else f" at {source.label}"
        message = str(exc) if isinstance(exc, NotInCache) else f"No such file or directory: '{rel}'{at}"
        raise PlotLoadError("FileNotFoundError", message) from None
    except UserError as exc:
        raise PlotLoadError(type(exc).__name__, str(exc)) from None
    except OSError as exc:
        raise PlotLoadError(type(exc).__name__, f"cannot read '{rel}': {exc.strerror}") from None


# --- definitions -------------------------------------------------------------------------

def definitions(pipelines: list[Pipeline]) -> list[Definition]:
    """The plots the given dvc.yaml files define (templated ones already resolved): per file
    its top-level ``plots:`` then its stages' plot outputs; a repeated id keeps its first
    definition."""
    found: dict[str, Definition] = {}
    for pipeline in pipelines:
        rel, data = pipeline.rel, pipeline.data
        base = posixpath.dirname(rel)
        items = _top_level(data.get("plots"), base, rel) + _stage_plots(data.get("stages"), base, rel)
        for item in items:
            found.setdefault(item.id, item)
    return list(found.values())


def _top_level(raw, base: str, where: str) -> list[Definition]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PlotsError("'plots' must be a list", path=where, hint="see docs/pipelines.md#plots")
    result = []
    for item in raw:
        if isinstance(item, str):
            path = _join(base, item, where)
            result.append(Definition(path, [(path, None)], {}, where, top_file=True))
        elif isinstance(item, dict) and len(item) == 1:
            (name, props), = item.items()
            props = _props(props, f"{where}: plot '{name}'")
            y = props.pop("y", None)
            if isinstance(y, dict):  # several files: the id is a name, not a path
                ys = [(_join(base, str(f), where), field) for f, fields in y.items()
                      for field in _fields(fields)]
                result.append(Definition(str(name), ys, props, where))
            else:
                path = _join(base, str(name), where)
                result.append(Definition(path, [(path, f) for f in _fields(y)], props, where, top_file=True))
        else:
            raise PlotsError(f"invalid plot {item!r}: write a path or 'id: {{options}}'", path=where)
    return result


def _stage_plots(stages, base: str, where: str) -> list[Definition]:
    result = []
    for name, stage in (stages or {}).items() if isinstance(stages, dict) else ():
        if not isinstance(stage, dict):
            continue
        wdir = _join(base, str(stage.get("wdir") or "."), where) if stage.get("wdir") else base
        for path, opts in dvcfile.declared(stage, "plots"):
            full = _join(wdir, path, f"{where}:{name}")
            props = _props(opts, f"{where}:{name}")
            y = props.pop("y", None)
            result.append(Definition(full, [(full, f) for f in _fields(y)], props, where))
    return result


def _props(raw, where: str) -> dict:
    """The display options of a plot (unknown keys such as ``cache`` are left out); ``x`` given
    as ``{file: field}`` becomes the field."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PlotsError("plot options must be a mapping", path=where)
    props = {k: raw[k] for k in PROP_KEYS if raw.get(k) is not None}
    x = props.get("x")
    if isinstance(x, dict):
        props["x"] = str(next(iter(x.values()))) if x else None
    for key in ("x", "template", "title", "x_label", "y_label"):
        if key in props and props[key] is not None and not isinstance(props[key], str):
            props[key] = str(props[key])
    return {k: v for k, v in props.items() if v is not None}


def _fields(value) -> list[str | None]:
    if value is None:
        return [None]
    if isinstance(value, list):
        return [str(v) for v in value] or [None]
    return [str(value)]


def _join(base: str, path: str, where: str) -> str:
    """``path`` (relative to ``base``) as a root-relative path; one that leaves the
    repository is refused (dvc.yaml at a revision is untrusted input)."""
    check_out_path(path, where)
    joined = posixpath.normpath(posixpath.join(base, path))
    if joined == ".." or joined.startswith("../") or joined.startswith("/"):
        raise UnsafePathError(f"plot path {path!r} leaves the repository", path=where,
                              hint="use a path inside the repository")
    return joined


def select(defs: list[Definition], targets: list[str] | None, root: str,
           exists=lambda rel: True) -> list[Definition]:
    """The definitions ``targets`` name (plot ids, or files relative to the working directory;
    all when none), as DVC picks them: a named or stage plot as defined; a top-level plot named
    by its file twice, as defined (its id prefixed ``dvc.yaml::``) and as a plot of the file
    with default options; any other target that ``exists`` as a plot of that file."""
    if not targets:
        return defs
    named = {t: os.path.relpath(os.path.abspath(t), root).replace(os.sep, "/") for t in targets}
    wanted = set(named) | set(named.values())
    chosen: list[Definition] = []
    for d in defs:
        if d.id not in wanted:
            continue
        if d.top_file:
            chosen.append(Definition(f"{d.source}::{d.id}", d.ys, d.props, d.source))
            chosen.append(_file_plot(d.id))
        else:
            chosen.append(d)
    ids = {d.id for d in chosen}
    for rel in named.values():
        if rel not in ids and not rel.startswith("..") and exists(rel):
            chosen.append(_file_plot(rel))
            ids.add(rel)
    return chosen


def _file_plot(rel: str) -> Definition:
    return Definition(rel, [(rel, None)], {}, "")


def with_overrides(defs: list[Definition], overrides: dict) -> list[Definition]:
    """``defs`` with the command line's options (``-x``, ``-y``, ``-t``, ``--title``, ...) in
    place of their own."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return defs
    y = given.pop("y", None)
    result = []
    for d in defs:
        ys = [(f, y) for f in d.files] if y is not None else d.ys
        result.append(Definition(d.id, ys, {**d.props, **given}, d.source))
    return result


# --- data ---------------------------------------------------------------------------------

def collect(repo, targets: list[str] | None = None, revisions: list[str] | None = None,
            overrides: dict | None = None, header: bool = True) -> tuple[list[Plot], list[dict]]:
    """``(plots, errors)``: every plot ``targets`` name with its data at each revision (see
    :func:`sources`), and DVC-shaped error entries for what could not be loaded."""
    plots: dict[str, Plot] = {}
    order: dict[str, Definition] = {}  # ids as first met, failed ones too (DVC's order)
    errors: list[dict] = []
    for source in sources(repo, revisions):
        defs = select(definitions(source.pipelines()), targets, repo.root, source.exists)
        defs = with_overrides(defs, overrides or {})
        for defn in _expand_folders(defs, source):
            order.setdefault(defn.id, defn)
            try:  # a plot's own `header: false` holds whatever the command line says
                _load(plots, defn, source, header and defn.props.get("header", True) is not False)
            except PlotLoadError as exc:
                errors.append({"name": defn.id, "rev": source.label, "source": defn.files[0],
                               "type": exc.kind, "msg": exc.message})
    # a plot that failed at every revision stays, without data (DVC lists it with no entries)
    return [plots.get(i) or Plot(d, FAILED) for i, d in order.items()], errors


def _expand_folders(defs: list[Definition], source) -> list[Definition]:
    """A plot of a folder is one plot per file in it (as DVC: images of a folder, one each)."""
    result = []
    for d in defs:
        files = source.files_under(d.files[0]) if len(d.files) == 1 else None
        if files is None:
            result.append(d)
        else:
            result += [Definition(f, [(f, field) for _, field in d.ys], d.props, d.source)
                       for f in files if f.lower().endswith(DATA_EXTS + IMAGE_EXTS)]
    return result


def _load(plots: dict, defn: Definition, source, header: bool) -> None:
    files = defn.files
    if files[0].lower().endswith(IMAGE_EXTS):
        data = read(source, files[0])
        plot = plots.setdefault(defn.id, Plot(defn, "image"))
        plot.images.append((source.label, data))
        plot.revisions.append(source.label)
        return
    for file in files:  # as DVC: the file type is checked before the file is read
        _check_type(file)
    records = {f: parse_records(read(source, f), f, header) for f in files}
    rows, y, series = datapoints(defn, records, source.label)
    plot = plots.setdefault(defn.id, Plot(defn, "vega"))
    if plot.kind != "vega":
        raise PlotLoadError("PlotMetricTypeError", f"'{defn.id}' is an image at another revision")
    plot.rows += rows
    plot.y = plot.y or y
    plot.series = plot.series or series
    plot.revisions.append(source.label)


def datapoints(defn: Definition, records: dict[str, list[dict]], rev: str):
    """``(rows, y field, series field or None)`` of one revision, with the fields DVC adds."""
    x = defn.props.get("x")
    for file, field in defn.ys:
        _check_fields(records[file], [x, field])
    ys = [(f, field if field is not None else _last_key(records[f])) for f, field in defn.ys]
    fields = list(dict.fromkeys(field for _, field in ys))
    several_files = len(dict.fromkeys(f for f, _ in ys)) > 1
    several_fields = len(fields) > 1
    rows = []
    for file, field in ys:
        for index, record in enumerate(records[file]):
            row = dict(record)
            if several_fields:
                row[INFERRED_Y] = record.get(field)
            if x is None:
                row["step"] = index
            row["rev"] = rev
            if several_files:
                row["filename"] = file
            if several_fields:
                row["field"] = field
            rows.append(row)
    series = "field" if several_fields else ("filename" if several_files else None)
    return rows, INFERRED_Y if several_fields else fields[0], series


def _check_fields(records: list[dict], fields: list[str | None]) -> None:
    """A field asked for must be in the data (DVC's error, checked on the first record)."""
    for field in fields:
        if records and field is not None and field not in records[0]:
            raise PlotLoadError("FieldNotFoundError", f"Could not find provided field ('{field}') in "
                                                      f"data fields ('{', '.join(records[0])}').")


def _last_key(records: list[dict]) -> str | None:
    """DVC's default y: the last field of the first record."""
    return list(records[0])[-1] if records and records[0] else None


def parse_records(data: bytes, path: str, header: bool = True) -> list[dict]:
    """The records of a plots file: CSV/TSV rows (strings, as DVC), JSON or YAML a list of
    objects (or the first such list inside an object)."""
    ext = _check_type(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlotLoadError("ParseError", f"'{path}' is not UTF-8 text") from None
    if ext in (".csv", ".tsv"):
        return _csv_records(text, "\t" if ext == ".tsv" else ",", header)
    try:
        if ext == ".json":
            import json

            value = json.loads(text)
        else:
            from ruamel.yaml import YAML

            value = _json_scalars(YAML(typ="safe").load(text))
    except Exception as exc:  # noqa: BLE001 - any parser's error: reported for this plot
        raise PlotLoadError("ParseError", f"unable to read '{path}': "
                                          f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    records = _first_record_list(value)
    if records is None:
        raise PlotLoadError("PlotDataStructureError", f"'{path}' holds no list of records to plot")
    return records


def _check_type(path: str) -> str:
    """The extension of data file ``path``; one dataver cannot read is DVC's type error."""
    ext = posixpath.splitext(path)[1].lower()
    if ext not in DATA_EXTS:
        raise PlotLoadError("PlotMetricTypeError", f"'{path}' - file type error\n"
                                                   "Only JSON, YAML, CSV and TSV formats are supported.")
    return ext


def _csv_records(text: str, delimiter: str, header: bool) -> list[dict]:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows:
        return []
    names = rows[0] if header else [str(i) for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    return [dict(zip(names, row)) for row in body if row]


def _json_scalars(value):
    """YAML ``value`` with what JSON has no type for (dates, timestamps, bytes) as text."""
    if isinstance(value, dict):
        return {str(k): _json_scalars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_scalars(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _first_record_list(value):
    """``value`` if it is a list of mappings, else the first such list found inside it
    (depth first, in key order), else None."""
    if isinstance(value, list):
        return [dict(v) for v in value] if all(isinstance(v, dict) for v in value) else None
    if isinstance(value, dict):
        for inner in value.values():
            found = _first_record_list(inner)
            if found is not None:
                return found
    return None
