"""Remotes: where `push` sends objects and `fetch` gets them from.

``open_remote(repo, name)`` resolves a configured remote (default: ``core.remote``) to a
:class:`Remote`: its backend (see ``base.py`` for the semantics every backend honours), its
index of known objects, and the concurrency to use.
"""
from __future__ import annotations

from dataclasses import dataclass

from dataver.errors import RemoteError
from dataver.remote.base import Backend
from dataver.remote.index import RemoteIndex
from dataver.remote.wrappers import mask_url, remote_error


@dataclass
class Remote:
    """A configured remote, ready to use."""

    name: str
    url: str  # for messages: password masked
    backend: Backend
    index: RemoteIndex
    jobs: int

    def error(self, exc: BaseException, what: str = "") -> RemoteError:
        """A one-line RemoteError about this remote."""
        if isinstance(exc, RemoteError):
            return exc
        return remote_error(self.name, self.url, exc, what,
                            credentials_configured=self.backend.credentials_configured)

    def check(self) -> None:
        """Contact the remote once; raise RemoteError (within seconds) if it is unusable."""
        try:
            self.backend.check()
        except RemoteError:
            raise
        except Exception as exc:  # chained: `-v` shows the library's error
            raise self.error(exc) from exc

    def close(self) -> None:
        self.index.close()
        self.backend.close()


def default_remote_name(config) -> str:
    """``core.remote``, or a RemoteError telling how to set one."""
    name = config.get("core", "remote")
    if not name:
        raise RemoteError("no remote given and no default remote set",
                          hint="use -r NAME, or `dataver remote add -d NAME URL`")
    return str(name)


def open_remote(repo, name: str | None = None, jobs: int | None = None) -> Remote:
    """The remote ``name`` (default remote if None) of ``repo``."""
    from dataver.remote.registry import open_backend

    name = name or default_remote_name(repo.config)
    conf = repo.config.remotes().get(name)
    if conf is None:
        raise repo.config.missing_remote(name)  # names the file of core.remote
    backend = open_backend(name, conf)
    if jobs is None:
        jobs = int(conf["jobs"]) if conf.get("jobs") else backend.default_jobs
    url = str(conf["url"])
    return Remote(name, mask_url(url), backend, RemoteIndex(repo.tmp_dir, url), max(1, jobs))
