"""Plain HTTP(S) remotes (DVC's ``http``/``https`` type): objects are read with GET/HEAD and
uploaded with POST (DVC's default) or PUT (``method`` option). HTTP has no listing and no delete,
so the backend reports ``can_list = False``: transfers check objects one by one and ``gc -c``
refuses to run, as with DVC (whose HTTP remote cannot traverse either)."""
from __future__ import annotations

from typing import Iterator

from fsspec.implementations.http import HTTPFileSystem

from dataver.remote.fsspec_remote import FsspecBackend


class UploadHTTPFileSystem(HTTPFileSystem):
    """fsspec's HTTPFileSystem whose uploads use ``upload_method`` unless told otherwise."""

    def __init__(self, *args, upload_method: str = "post", **kwargs):
        super().__init__(*args, **kwargs)
        self.upload_method = upload_method.lower()

    async def _put_file(self, lpath, rpath, *args, **kwargs):
        kwargs.setdefault("method", self.upload_method)
        return await super()._put_file(lpath, rpath, *args, **kwargs)


class NotListableError(NotImplementedError):
    """The remote's protocol cannot enumerate or delete objects."""


class HTTPBackend(FsspecBackend):
    """Keys below an http(s) URL; no listing, no deletion."""

    can_list = False

    def check(self) -> None:
        """One HEAD on the root URL: any answer but an auth refusal or a server error means the
        server is usable (a root "directory" is often 403 or 404 on plain file servers)."""
        import asyncio

        async def probe():
            session = await self.fs.set_session()
            async with session.head(self.root + "/", allow_redirects=True) as resp:
                if resp.status in (401, 407) or resp.status >= 500:
                    resp.raise_for_status()

        self._run(asyncio.wait_for(probe(), self.check_timeout))

    def list(self, prefix: str) -> Iterator[str]:
        raise NotListableError(f"{self.url} is a plain HTTP remote, which cannot list its objects")

    def delete_many(self, keys: list[str], jobs: int):
        raise NotListableError(f"{self.url} is a plain HTTP remote, which cannot delete objects")
