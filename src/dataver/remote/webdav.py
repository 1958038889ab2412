"""WebDAV remotes (``webdav://`` over http, ``webdavs://`` over https) through webdav4."""
from __future__ import annotations

import time

from dataver.remote.fsspec_remote import FsspecBackend

LOCK_WAIT = 15.0  # seconds an upload waits for a server-side lock to go away


class WebdavBackend(FsspecBackend):
    """An upload goes to a temp name, then one server-side MOVE with ``Overwrite: T`` publishes
    it (webdav4's generic ``mv`` would COPY then DELETE, and refuse to replace an object)."""

    def _rename_sync(self, tmp: str, dest: str) -> None:
        self.fs.client.move(tmp, dest, overwrite=True)

    def _put_sync(self, local: str, key: str) -> None:
        """Upload, waiting (bounded) while the server answers 423 Locked: servers hold a lock
        for a while after a client died mid-request (e.g. an interrupted push being re-run)."""
        deadline = time.monotonic() + LOCK_WAIT
        delay = 0.2
        while True:
            try:
                return super()._put_sync(local, key)
            except Exception as exc:
                if not _is_locked(exc) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _is_locked(exc: BaseException) -> bool:
    return type(exc).__name__ == "ResourceLocked" or getattr(exc, "status_code", None) == 423
