"""`add --to-remote`: track data that goes from its source (a local path or a URL) straight to a
remote, through neither the cache nor the workspace, for data bigger than the local disk.

As DVC 3.67.1: the `.dvc` file is a plain output (no dependency on the source); without `-o` the
output is named after the source (the target itself when it lies in the repository). Unlike DVC,
a `/name` line goes into the `.gitignore` beside the output, as for every other output, so the
data a later `pull` brings is never committed to git by mistake."""
from __future__ import annotations

import os

from dataver import dvcfile, scm
from dataver.errors import UserError
from dataver.ops.targets import is_inside
from dataver.progress import SILENT


class _Counted:
    """A sink that advances ``progress`` by each file it stores."""

    def __init__(self, sink, progress):
        self.sink, self.progress = sink, progress

    def add_file(self, path: str, size: int | None) -> str:
        oid = self.sink.add_file(path, size)
        self.progress.advance(1, size or 0)
        return oid

    def add_manifest(self, manifest) -> str:
        return self.sink.add_manifest(manifest)


def check_options(targets: list[str], to_remote: bool, remote: str | None, remote_jobs: int | None,
                  no_commit: bool) -> None:
    """DVC's rules for the options that go with --to-remote, in DVC's words."""
    if not to_remote:
        if remote:
            raise UserError("--remote can't be used without --to-remote", hint="add --to-remote")
        if remote_jobs is not None:
            raise UserError("--remote-jobs can't be used without --to-remote", hint="add --to-remote")
        return
    if len(targets) != 1:
        raise UserError("multiple targets can't be used with --to-remote", hint="add one at a time")
    if no_commit:
        raise UserError("--no-commit option can't be used with --to-remote",
                        hint="--to-remote stores nothing locally anyway; leave out --no-commit")


def add_to_remote(repo, target: str, out: str | None = None, remote: str | None = None,
                  jobs: int | None = None, progress=None, force: bool = False):
    """Upload ``target`` (a path or URL) to ``remote`` (default: the default remote) and write
    the `.dvc` file of the output ``out`` (default: named after the target); an AddResult.
    A path given as ``out`` that exists is refused unless ``force`` (as DVC: it is not
    written, but its `.dvc` file would no longer describe it)."""
    from dataver.ops.add import AddResult, check_free
    from dataver.ops.import_doc import check_dest
    from dataver.ops.import_url import RemoteSink, store
    from dataver.ops.url_fs import open_url

    progress = progress or SILENT
    source = open_url(target, None, repo.config)
    dest = _destination(repo, source, target, out)
    if out:
        check_dest(dest, force)
    dvc_path = dvcfile.dvcfile_for(dest)
    dvcfile.check_name_fits(dest, os.path.relpath(dest))
    with repo.lock:
        check_free(repo, dest, [t for t in repo.tracked() if t.dvcfile.path != dvc_path])
        info = source.info()
        files = source.files_below() if source.is_dir(info) else None
        sink = RemoteSink(repo, remote, jobs)
        try:
            with progress.phase("Uploading", 1 if files is None else len(files)):
                oid, size, nfiles = store(repo, source, info, files, _Counted(sink, progress), jobs)
        finally:
            sink.close()
        doc = {"outs": [dvcfile.new_out_map(dvcfile.rel_out_path(dvc_path, dest), oid, size, nfiles,
                                            False)]}
        dvcfile.save(dvc_path, doc)
        gitignore = scm.ignore(dest) if not isinstance(repo.scm, scm.NoScm) else None
    return AddResult(dest, dvc_path, oid, size, nfiles, True, gitignore)


def _destination(repo, source, target: str, out: str | None) -> str:
    """The output's absolute path: as import-url places it, except that a target inside the
    repository (with no ``out``) is its own output."""
    from dataver.ops.import_url import output_path

    if not out and source.is_local and is_inside(os.path.abspath(target), repo.root):
        dest = os.path.abspath(target)
    else:
        dest = output_path(source, out)
    repo.check_inside(dest)
    return dest
