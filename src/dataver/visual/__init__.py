"""The visual diff: what changed in an image dataset between two versions, image by image
(:mod:`~dataver.visual.images`) and box by box in its COCO files (:mod:`~dataver.visual.boxes`),
with thumbnails and pixel differences for the UI and the exports (:mod:`~dataver.visual.thumbs`).

Entry points (Pillow, numpy and scipy are imported only when they run; they come with
``dataver[visual]``):

- :func:`image_diff(repo, a_rev="HEAD", b_rev=None, targets=None, annotations=False, iou=0.5)
  <dataver.visual.model.image_diff>` -> the JSON shape of ``dataver diff --images --json``
- :func:`annotation_diff(a_doc_path, b_doc_path, iou=0.5) <dataver.visual.model.annotation_diff>`
- :func:`thumbnail(repo, md5, path, size=256) <dataver.visual.thumbs.thumbnail>` -> JPEG path
- :func:`pixel_difference(path_a, path_b, size=256) <dataver.visual.thumbs.pixel_difference>`
  -> PNG bytes
"""
from __future__ import annotations


def image_diff(repo, a_rev="HEAD", b_rev=None, targets=None, annotations=False, iou=0.5,
               progress=None) -> dict:
    from dataver.visual.model import image_diff as run

    return run(repo, a_rev, b_rev, targets, annotations, iou, progress)


def annotation_diff(a_doc_path, b_doc_path, iou=0.5) -> dict:
    from dataver.visual.model import annotation_diff as run

    return run(a_doc_path, b_doc_path, iou)


def thumbnail(repo, md5, path, size=256):
    from dataver.visual.thumbs import thumbnail as run

    return run(repo, md5, path, size)


def pixel_difference(path_a, path_b, size=256) -> bytes:
    from dataver.visual.thumbs import pixel_difference as run

    return run(path_a, path_b, size)


__all__ = ["annotation_diff", "image_diff", "pixel_difference", "thumbnail"]
