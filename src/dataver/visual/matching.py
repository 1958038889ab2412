"""The optimal assignment of boxes between two versions of images (for
:mod:`dataver.visual.boxes`): among candidate pairs with IoU >= the threshold, the pairing of
maximal total IoU (pairs below the threshold count for nothing), image by image.

Vectorised: the IoU of every candidate pair of a chunk of images at once; a pair that is the
only candidate of both its boxes is taken as it is (nearly all of them); only groups of
competing boxes are assigned, by enumeration when small, else by
``scipy.optimize.linear_sum_assignment``.
"""
from __future__ import annotations

SAME_BOX = 1e-6  # px: bbox values closer than this are equal
TIE_BONUS = 1e-6  # added to the IoU of same-category pairs: breaks exact ties only
PAIRS_PER_CHUNK = 4_000_000  # candidate pairs whose IoU is computed at a time (memory bound)


def _starts(counts):
    import numpy as np

    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) \
        else np.zeros(0, np.int64)


def match(sa, sb, rows_a, rows_b, n: int, threshold: float):
    """``(A rows, B rows, IoUs)`` of the pairs matched among ``rows_a`` and ``rows_b``
    (ascending, so grouped by image) of the two sides (``.name``: image index of a row, of
    ``n``; ``.box``, ``.category``), a chunk of images at a time: every candidate pair's IoU
    at once, a pair that is the only candidate of both its boxes taken as it is, the rest
    assigned per image."""
    import numpy as np

    count_a = np.bincount(sa.name[rows_a], minlength=n)
    count_b = np.bincount(sb.name[rows_b], minlength=n)
    start_a, start_b = _starts(count_a), _starts(count_b)
    images = np.flatnonzero((count_a > 0) & (count_b > 0))
    if not images.size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    pairs = count_a[images] * count_b[images]
    ends = np.cumsum(pairs)
    found, first = ([], [], []), 0
    while first < len(images):
        # images up to PAIRS_PER_CHUNK pairs, at least one (a huge image is a chunk alone)
        last = max(first + 1, int(np.searchsorted(ends, ends[first] - pairs[first]
                                                   + PAIRS_PER_CHUNK, side="right")))
        chunk = images[first:last]
        na, nb = count_a[chunk], count_b[chunk]
        owner = np.repeat(np.arange(len(chunk)), na * nb)
        t = np.arange(len(owner)) - np.repeat(_starts(na * nb), na * nb)
        i = rows_a[start_a[chunk][owner] + t // nb[owner]]
        j = rows_b[start_b[chunk][owner] + t % nb[owner]]
        for part, got in zip(found, _assign(sa, sb, i, j, owner, threshold)):
            part.append(got)
        first = last
    return tuple(np.concatenate(part) for part in found)


def _assign(sa, sb, i, j, owner, threshold):
    """The matched pairs among candidates ``(i, j)`` of images ``owner`` (grouped)."""
    import numpy as np

    iou = _iou(sa.box[i], sb.box[j])
    keep = iou >= threshold - 1e-12  # IoU exactly at the threshold matches, despite rounding
    i, j, iou, owner = i[keep], j[keep], iou[keep], owner[keep]
    weight = iou + TIE_BONUS * (sa.category[i] == sb.category[j])
    deg_a = np.unique(i, return_inverse=True, return_counts=True)
    deg_b = np.unique(j, return_inverse=True, return_counts=True)
    lone = (deg_a[2][deg_a[1]] == 1) & (deg_b[2][deg_b[1]] == 1)
    rows, cols, ious = [i[lone]], [j[lone]], [iou[lone]]
    i, j, iou, weight, owner = i[~lone], j[~lone], iou[~lone], weight[~lone], owner[~lone]
    if len(owner):
        for sel in np.split(np.arange(len(owner)), np.flatnonzero(np.diff(owner)) + 1):
            ui, li = np.unique(i[sel], return_inverse=True)
            uj, lj = np.unique(j[sel], return_inverse=True)
            gain = np.zeros((len(ui), len(uj)))
            gain[li, lj] = weight[sel]
            r, c = best_assignment(gain)
            ok = gain[r, c] > 0  # a zero is no candidate pair: the box stays unmatched
            best = np.zeros((len(ui), len(uj)))
            best[li, lj] = iou[sel]
            rows.append(ui[r[ok]])
            cols.append(uj[c[ok]])
            ious.append(best[r[ok], c[ok]])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(ious)


SMALL = (4, 8)  # at most this many boxes on one side and on the other: solved by enumeration


def best_assignment(gain):
    """``(rows, cols)`` of an assignment of maximal total ``gain`` (a dense matrix), as
    ``scipy.optimize.linear_sum_assignment(gain, maximize=True)`` finds. The small matrices of
    nearly every image (a few competing boxes) are solved by enumerating the assignments:
    the same optimum, without importing scipy.optimize (~0.5 s). Equal optima: the first in
    lexicographic order of the columns taken."""
    import numpy as np

    rows, cols = gain.shape
    if max(min(rows, cols), 1) > SMALL[0] or max(rows, cols) > SMALL[1]:
        from scipy.optimize import linear_sum_assignment

        return linear_sum_assignment(gain, maximize=True)
    from itertools import permutations

    flip = rows > cols
    table = (gain.T if flip else gain).tolist()
    best, choice = -1.0, ()
    for perm in permutations(range(len(table[0]) if table else 0), len(table)):
        total = sum(row[col] for row, col in zip(table, perm))
        if total > best:
            best, choice = total, perm
    picked = np.arange(len(choice)), np.array(choice, dtype=np.int64)
    return picked[::-1] if flip else picked


def _iou(a, b):
    """IoU of boxes [x, y, w, h] row by row; 1 for equal boxes (even empty ones), 0 where it
    is not a number (a NaN box, or two empty boxes apart)."""
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ix = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
        iy = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
        inter = np.clip(ix, 0, None) * np.clip(iy, 0, None)
        iou = inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)
    iou = np.where((iou >= 0) & (iou <= 1), iou, 0.0)  # NaN, or nonsense from negative sizes
    return np.where((np.abs(a - b) <= SAME_BOX).all(axis=1), 1.0, iou)
