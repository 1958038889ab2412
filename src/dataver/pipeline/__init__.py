"""Pipelines: `dvc.yaml` stages, their graph, what changed, running them, writing `dvc.lock`.

Files are the ones DVC 3.x reads and writes, byte for byte (see docs/pipelines.md)."""
