"""collect(): the facts of many files, from the store where known, else read (in parallel) and
stored. Each object md5 is read at most once per call, and never again once stored."""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from dataver.facts.store import FactStore

EMPTY = {"type": "empty"}
OTHER = {"type": "other", "mime": None}
# What a job costs, in bytes-equivalents, for dataver.parallel.spread_map: a basic fact reads
# a header, whatever the file's size (so ~250 of them are "small work", done without forking);
# a JSON file is parsed whole; a deep fact decodes the whole image.
_HEADER_COST = 64 << 10
_DEEP_COST = 4  # per byte of the file


def collect(store: FactStore | None, items: list[tuple[str, str, int, str]], deep: bool = False,
            progress=None) -> tuple[dict[str, dict], dict[str, dict]]:
    """items: ``(md5, readable local path, size, name for sniffing e.g. 'img/a.jpg')``.
    Returns (basic facts by md5, deep facts by md5: images only, ``{}`` unless ``deep``).

    Looks up ``store`` first (None: no store) and reads only the md5s it lacks, each once even
    if many items share it, in parallel; then stores what it read. Never raises for bad
    content: a bad file becomes a fact with ``"error"``. A file that cannot be read (an I/O
    error, not its content) gets a one-line warning naming it, a fact with ``"reason":
    "unreadable"``, and nothing stored. Empty files are ``{"type": "empty"}``, never stored.
    """
    basic: dict[str, dict] = {}
    files: dict[str, tuple[str, int, str]] = {}  # md5 -> (path, size, name), first seen
    for md5, path, size, name in items:
        if md5 in files or md5 in basic:
            continue
        if size == 0:
            basic[md5] = dict(EMPTY)
        else:
            files[md5] = (path, size, name)
    known = store.get_many(files, "basic") if store is not None and files else {}
    basic.update(known)
    deep_facts: dict[str, dict] = {}
    if deep and store is not None:
        maybe_images = [m for m in files if m not in known or known[m].get("type") == "image"]
        deep_facts = store.get_many(maybe_images, "deep")
    md5s, jobs = _plan(files, known, deep_facts if deep else None)
    new_basic, new_deep = _run(jobs, md5s, progress)
    basic.update(new_basic)
    deep_facts.update(new_deep)
    if store is not None:
        _store(store, new_basic, new_deep)
    return basic, deep_facts


def _plan(files: dict[str, tuple[str, int, str]], known: dict[str, dict],
          known_deep: dict[str, dict] | None) -> tuple[list[str], list[tuple]]:
    """The md5s to read and their jobs for :func:`extract`: a basic fact where the store has
    none, a deep one (``known_deep`` not None) where it has none and the file may be an
    image (its basic fact says so, or is still to be made)."""
    md5s, jobs = [], []
    for md5, (path, size, name) in files.items():
        want_basic = md5 not in known
        want_deep = known_deep is not None and md5 not in known_deep and (
            want_basic or known[md5].get("type") == "image")
        if want_basic or want_deep:
            md5s.append(md5)
            jobs.append((path, size, name, want_basic, want_deep))
    return md5s, jobs


def _run(jobs: list, md5s: list[str], progress) -> tuple[dict[str, dict], dict[str, dict]]:
    """Run :func:`extract` over ``jobs`` (spread over cores when worth it)."""
    if not jobs:
        return {}, {}
    from dataver.parallel import spread_map
    from dataver.progress import SILENT

    sizes = [_cost(job) for job in jobs]
    with (progress or SILENT).phase("Reading files", len(jobs), unit="files"):
        results = spread_map(extract, jobs, sizes, progress)
    new_basic, new_deep = {}, {}
    for md5, job, (basic, deep) in zip(md5s, jobs, results):
        if basic is not None:
            new_basic[md5] = basic
        if deep is not None:
            new_deep[md5] = deep
        failed = _unreadable(basic) or _unreadable(deep)
        if failed:
            _warn_unreadable(job[2], failed["error"])
    return new_basic, new_deep


def _unreadable(fact: dict | None) -> dict | None:
    return fact if fact is not None and fact.get("reason") == "unreadable" else None


def _cost(job) -> int:
    _path, size, name, _want_basic, want_deep = job
    if want_deep:
        return _HEADER_COST + size * _DEEP_COST
    return _HEADER_COST + (size if name.lower().endswith(".json") else 0)


def _store(store: FactStore, basic: dict[str, dict], deep: dict[str, dict]) -> None:
    """Store what says something about the content: not the failures to read a file."""
    unreadable = {m for facts in (basic, deep) for m, f in facts.items() if _unreadable(f)}
    store.put_many({m: f for m, f in basic.items() if m not in unreadable}, "basic")
    store.put_many({m: f for m, f in deep.items() if m not in unreadable}, "deep")


def _warn_unreadable(name: str, error: str) -> None:
    from dataver.errors import warn

    warn(f"cannot read the file: {error}", path=name)


def extract(job) -> tuple[dict | None, dict | None]:
    """``(basic fact or None, deep fact or None)`` of one file: opened once, its head sniffed,
    then the open file handed to the reader for its type. ``job``: ``(path, size, name,
    want_basic, want_deep)``; a deep fact comes only for images. Results are marshal-able."""
    from dataver.facts import one_line
    from dataver.facts.sniff import HEAD, sniff_format

    path, size, name, want_basic, want_deep = job
    try:
        with open(path, "rb") as fp:
            head = fp.read(HEAD)
            kind, fmt = sniff_format(head, name)
            if kind == "image":
                return _image(fp, fmt, want_basic, want_deep, path)
            if not want_basic:
                return None, None
            fp.seek(0)
            return _other(fp, kind, fmt, size, path), None
    except OSError as exc:  # the file, not its content: an error of the machine
        text = one_line(exc, path)
        if want_basic:  # its type is unknown: no deep fact
            return {"type": "other", "mime": None, "error": text, "reason": "unreadable"}, None
        return None, unreadable_deep(text)


def unreadable_deep(text: str) -> dict:
    """The deep fact of an image that could not be read this time (never stored)."""
    return {"decoded": False, "error": text, "pixels": None, "phash": None,
            "reason": "unreadable"}


def _image(fp, fmt: str, want_basic: bool, want_deep: bool, path: str):
    from dataver.facts.image import image_facts

    if want_deep:  # the decoder reads it all: one read into memory, not one per 64 KB block
        import io

        fp.seek(0)
        fp = io.BytesIO(fp.read())
    else:
        fp.seek(0)
    return image_facts(fp, fmt, want_basic, want_deep, path)


def _other(fp, kind: str, fmt: str | None, size: int, path: str) -> dict:
    if kind == "pdf":
        from dataver.facts.pdf import pdf_fact

        return pdf_fact(fp, path)
    if kind == "checkpoint":
        from dataver.facts.checkpoint import checkpoint_fact

        return checkpoint_fact(fp, fmt, size, path)
    if kind == "json":
        from dataver.facts.coco import coco_fact

        return coco_fact(path)
    return dict(OTHER)
