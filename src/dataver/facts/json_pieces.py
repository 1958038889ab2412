"""Cut a big JSON document's main array into pieces at element boundaries, and parse them.

A COCO file is mostly its top-level ``annotations`` array. Parsing the whole file with orjson
builds every element as Python objects at once (a peak near 10x the file's size) and makes
Python floats of the polygon coordinates, most of the bytes, that no figure reads. Instead,
:func:`split` scans the bytes once with numpy, block by block (no Python loop per byte), to
find that array and cut its content at the commas between elements into ~``PIECE_BYTES``
pieces; :func:`parse_pieces` then parses one piece at a time with orjson, leaving out lists of
plain numbers at the polygons' depth, so the caller can reduce each piece to numpy columns and
free it before the next one is parsed. The rest of the document (images, categories) is parsed
from a skeleton in which the array is replaced by :data:`SENTINEL`. A file that is not COCO has
its largest array cut instead, so that its validity is checked piece by piece too.

The scan is exact for valid JSON (strings, escapes and nesting are tracked), so a piece that
does not parse means an invalid document. The caller then parses it whole for a precise
message; the errors to expect are ``json.JSONDecodeError`` (``orjson.JSONDecodeError`` is one)
and :class:`NotJSON`.
"""
from __future__ import annotations

from itertools import chain

PIECE_BYTES = 4 << 20  # annotations parsed at a time
SCAN_BLOCK = 4 << 20  # bytes classified at a time by the scan
VERIFY_EVERY = 16  # number lists parsed in full anyway, one in this many
SENTINEL = "\x00dataver: array cut out"  # the cut-out array's one element in the skeleton
_KEY = b'"annotations"'
_WS = b" \t\r\n"
_STRUCTURAL = bytes(c in b'[]{}"' for c in range(256))  # bytes.translate tables
_NOT_NUMBER = bytes(c not in b"0123456789+-.eE, \t\r\n" for c in range(256))


class NotJSON(ValueError):
    """The bytes are not valid JSON, as found by this module rather than by a parser's
    ``JSONDecodeError``: an empty element between two commas, nesting deeper than Python's
    stack, bytes the standard library cannot decode or a number it will not convert."""


def loads(text: bytes):
    """orjson, or the standard library for what only it reads: NaN, Infinity and 1e999
    (which Python's json writes) and lone surrogates. pycocotools would read them too.
    Raises ``json.JSONDecodeError`` or :class:`NotJSON` for invalid JSON."""
    import json

    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text)
        except RecursionError:  # deeper than Python's stack: invalid for pycocotools too
            raise NotJSON("nested too deeply") from None
        except json.JSONDecodeError:
            raise
        except ValueError as exc:  # not UTF-8, or an integer past Python's digit limit
            raise NotJSON(str(exc)) from exc


# --- the scan: which array to cut into pieces, and where ------------------------------------

def split(data: bytes):
    """``(skeleton, pieces)``: the document with one array replaced by a one-element array
    holding :data:`SENTINEL`, and that array's content cut at commas into pieces
    ``(begin, end, leaf_open, leaf_close)`` for :func:`parse_pieces`. The array is the
    top-level "annotations" one; else (the file is not COCO, but is it valid JSON?) the
    largest array at depth 1 or 2. "unbalanced" when brackets or quotes do not balance
    (invalid JSON); None when the file holds nothing to cut."""
    import numpy as np

    if data[:4096].lstrip(_WS)[:1] not in (b"{", b"["):
        return None
    scan = _scan(data)
    if scan is None:
        return "unbalanced"
    pos, depth, char, leaf_open, leaf_close, keys = scan
    key = next((k for k in reversed(keys) if data.startswith(_KEY, k)), None)  # last wins
    start = _after_key(data, key) if key is not None else None
    at = int(np.searchsorted(pos, start)) if start is not None else len(pos)
    if at >= len(pos) or pos[at] != start or depth[at] != 2:
        at = _largest_array(pos, depth, char)
        leaf_open = leaf_close = np.zeros(0, np.int64)  # elide nothing: not annotations
        if at is None:
            return None
    start, level = int(pos[at]), int(depth[at])
    end = at + 1 + int(np.flatnonzero(depth[at + 1:] == level - 1)[0])
    inner = slice(at + 1, end)
    ends = pos[inner][(depth[inner] == level) & ((char[inner] == 93) | (char[inner] == 125))]
    stop = int(pos[end])
    cuts = []
    for i in np.unique(np.searchsorted(ends, np.arange(start + PIECE_BYTES, stop, PIECE_BYTES))):
        comma = _skip_ws(data, int(ends[i]) + 1) if i < len(ends) else stop
        if comma >= stop or data[comma] != 44:  # the last element, or not a ","
            break
        cuts.append(comma)
    pieces = []
    for begin, finish in zip([start] + cuts, cuts + [stop]):
        lo, hi = np.searchsorted(leaf_open, [begin, finish])
        pieces.append((begin + 1, finish, leaf_open[lo:hi], leaf_close[lo:hi]))
    view = memoryview(data)
    skeleton = b"".join((view[:start + 1], b'"\\u0000dataver: array cut out"', view[stop:]))
    return skeleton, pieces


def _largest_array(pos, depth, char):
    """Index of the ``[`` opening the longest array at depth 1 or 2, or None."""
    import numpy as np

    best, size = None, -1
    for level in (1, 2):
        opens = np.flatnonzero((char == 91) & (depth == level))
        closes = np.flatnonzero(depth == level - 1)
        if len(opens):
            spans = pos[closes[np.searchsorted(closes, opens)]] - pos[opens]
            if spans.max() > size:
                best, size = int(opens[spans.argmax()]), int(spans.max())
    return best


def _scan(data: bytes):
    """One pass over the bytes, block by block, with numpy: the brackets outside strings
    leaving nesting depth <= 2 (positions, depth after, the byte), the lists at depth 5 that
    hold no bracket (their opening and closing positions), and the strings at depth 1 (top-
    level keys). None when quotes and brackets do not balance."""
    import numpy as np

    buf = np.frombuffer(data, np.uint8)
    delta = np.zeros(256, np.int8)
    delta[[ord("["), ord("{")]], delta[[ord("]"), ord("}")]] = 1, -1
    quotes, depth, keys, kept, leaves = 0, 0, [], [], []
    last = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))
    for off in range(0, len(buf), SCAN_BLOCK):
        mask = data[off:off + SCAN_BLOCK].translate(_STRUCTURAL)
        pos = np.flatnonzero(np.frombuffer(mask, bool)) + off
        char = buf[pos]
        quote = char == 34
        if data.find(b"\\", off, off + SCAN_BLOCK) >= 0:  # memchr: most files have none
            after = pos[quote & (buf[np.maximum(pos - 1, 0)] == 92)].tolist()
            escaped = [q for q in after if _escaped(data, q)]
            if escaped:
                keep = ~np.isin(pos, escaped)
                pos, char, quote = pos[keep], char[keep], quote[keep]
        seen = np.cumsum(quote) + quotes  # quotes up to and including each position
        in_string = (seen & 1).astype(bool)  # for a quote: it opens a string
        bracket = ~quote & ~in_string
        step = delta[char]
        step[~bracket] = 0
        dep = np.cumsum(step, dtype=np.int64) + depth  # depth after each position
        keys += pos[quote & in_string & (dep == 1)].tolist()
        bpos, bdep, bchar = pos[bracket], dep[bracket], char[bracket]
        low = bdep <= 2
        kept.append((bpos[low], bdep[low].astype(np.int8), bchar[low]))
        # a leaf: an opening bracket to depth 5 whose next bracket closes it
        lpos, ldep, lopen = (np.concatenate(pair) for pair in
                             zip(last, (bpos, bdep, step[bracket] > 0)))
        leaf = lopen[:-1] & (ldep[:-1] == 5) & ~lopen[1:] & (ldep[1:] == 4)
        leaves.append((lpos[:-1][leaf], lpos[1:][leaf]))
        last = (lpos[-1:], ldep[-1:], lopen[-1:])
        quotes = int(seen[-1]) if len(pos) else quotes
        depth = int(dep[-1]) if len(pos) else depth
    if depth != 0 or quotes % 2:
        return None
    joined = [np.concatenate([k[i] for k in kept]) for i in range(3)]
    return joined + [np.concatenate([lv[i] for lv in leaves]) for i in range(2)] + [keys]


def _escaped(data: bytes, quote: int) -> bool:
    """Whether the quote at ``quote`` follows an odd run of backslashes."""
    run = 0
    while quote - run - 1 >= 0 and data[quote - run - 1] == 92:
        run += 1
    return run % 2 == 1


def _skip_ws(data: bytes, at: int) -> int:
    """The first position from ``at`` on that is not JSON white space (or ``len(data)``)."""
    while at < len(data) and data[at] in _WS:
        at += 1
    return at


def _after_key(data: bytes, key: int):
    """Position of the ``[`` opening the key's value, or None."""
    colon = _skip_ws(data, key + len(_KEY))
    if colon >= len(data) or data[colon] != 58:  # ":"
        return None
    bracket = _skip_ws(data, colon + 1)
    return bracket if bracket < len(data) and data[bracket] == 91 else None  # "["


# --- parsing the pieces ---------------------------------------------------------------------

def parse_pieces(data: bytes, pieces, elide: bool = True):
    """Each piece of :func:`split` parsed as a list of elements, one at a time; raises
    ``json.JSONDecodeError`` or :class:`NotJSON` at the first that is not.

    With ``elide``, the content of lists at depth 5 (polygon coordinates, RLE counts: most of
    the bytes) is left out when it looks like numbers: no figure reads it, and making Python
    floats of it would take most of the time. Looks like numbers: only digits, signs, points,
    exponents, commas and blanks, a digit or "-" first and a digit last. Any other list (NaN,
    strings, garbage), and every VERIFY_EVERY-th list whatever it holds, is parsed, so that a
    writer that gets numbers wrong is caught; one malformed number ("1..2") may not be.
    """
    import numpy as np

    buf = np.frombuffer(data, np.uint8)
    first_ok, last_ok = np.zeros(256, bool), np.zeros(256, bool)
    first_ok[list(b"0123456789- \t\r\n")] = last_ok[list(b"0123456789 \t\r\n")] = True
    for begin, end, leaf_open, leaf_close in pieces:
        if elide and len(leaf_open):
            odd = np.frombuffer(data[begin:end].translate(_NOT_NUMBER), bool)
            bounds = np.stack([leaf_open + 1, leaf_close], axis=1).ravel() - begin
            clean = ~np.logical_or.reduceat(odd, bounds)[::2]  # "[]" reads its "]": not clean
            clean &= first_ok[buf[leaf_open + 1]] & last_ok[buf[leaf_close - 1]]
            clean[::VERIFY_EVERY] = False
            leaf_open, leaf_close = leaf_open[clean], leaf_close[clean]
        elif not elide:
            leaf_open = leaf_close = leaf_open[:0]
        kept = map(slice, [begin] + leaf_close.tolist(), (leaf_open + 1).tolist() + [end])
        piece = loads(b"".join(chain([b"["], map(data.__getitem__, kept), [b"]"])))
        if not piece and len(pieces) > 1:  # "[1,,2]" cut at the empty element
            raise NotJSON("empty element")
        yield piece
        del piece  # before the next piece is parsed, not after
