"""Data cards: an automatic profile of a tracked output (files, images, COCO annotations, PDFs,
checkpoints), named checks, and the user's notes; stored with the version, comparable between
versions. Computing (:mod:`.compute`, :mod:`.build`) is apart from rendering (``render_*``)."""
