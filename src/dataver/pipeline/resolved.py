"""A dvc.yaml's stages as the lower layers see them (:class:`dataver.dvcfile.Stage`, hashes
from dvc.lock), with templated stages (vars, ``${...}``, foreach, matrix) resolved first, so
`status` compares a generated stage's resolved command, outputs and params with what dvc.lock
records, as DVC does. dvcfile.py stays below the templating: it is handed the definitions."""
from __future__ import annotations

from dataver import dvcfile


def load_pipeline(repo, path: str) -> list[dvcfile.Stage]:
    """The stages of the dvc.yaml at ``path`` (absolute) with the hashes of its dvc.lock; a
    file without templating costs what :func:`dataver.dvcfile.load_pipeline` alone does."""
    return dvcfile.load_pipeline(path, lambda text, where: definitions(repo, text, where))


def definitions(repo, text: bytes, path: str) -> dict | None:
    """``{stage name: resolved definition}`` of a templated dvc.yaml, None for a plain one."""
    from dataver.pipeline import template

    if not any(word in text for word in (b"${", b"vars", b"foreach", b"matrix")):
        return None  # the common case, without parsing the file a second time
    data = dvcfile.read_yaml(text, path)
    if not template.is_templated(text, data):
        return None
    return template.resolve(data, path, repo.config.merged.get("parsing"))
