"""`dataver demo`: a guided run on a generated CV dataset (images + COCO annotations)."""
from __future__ import annotations

import json
import os

from dataver.cli.main import common

# Written into every folder the demo creates: the only folders `--force` ever deletes, so a
# mistyped DIR can never cost the user their files.
MARKER = ".dataver-demo"


def register(sub) -> None:
    p = sub.add_parser("demo", help="run a demo on a generated image dataset",
                       description="Create DIR (default: demo-workspace), generate images and a COCO "
                                   "file, and walk through init, add, commit, change, checkout of the "
                                   "earlier version; then push to a local remote (DIR-remote) and "
                                   "restore the data in a fresh clone (DIR-clone) with pull. DIR, "
                                   "DIR-remote and DIR-clone must be new or empty folders, or (with "
                                   "--force) folders an earlier demo made.")
    common(p)
    p.add_argument("directory", nargs="?", default="demo-workspace", help="where to create the demo repo")
    p.add_argument("--images", type=int, default=60, help="number of images to generate")
    p.add_argument("-f", "--force", action="store_true",
                   help=f"replace the folders of an earlier demo (only folders holding its {MARKER} "
                        "file, never the current directory or one above it)")
    p.set_defaults(func=run)


def _git(root: str, *args: str) -> str:
    import subprocess  # here, not at the top: every command imports this module to build its parser

    env = dict(os.environ, GIT_AUTHOR_NAME="dataver demo", GIT_AUTHOR_EMAIL="demo@example.com",
               GIT_COMMITTER_NAME="dataver demo", GIT_COMMITTER_EMAIL="demo@example.com")
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env, check=True)
    return proc.stdout


def _step(text: str) -> None:
    print(f"\n== {text}")


def _summary(root: str) -> tuple[int, int, str]:
    from dataver.hashing import md5_file

    ann = os.path.join(root, "data", "annotations", "instances.json")
    with open(ann, encoding="utf-8") as fobj:
        coco = json.load(fobj)
    n_images = len(os.listdir(os.path.join(root, "data", "images")))
    return n_images, len(coco["annotations"]), md5_file(ann)


def run(args) -> int:
    import shutil

    from dataver.repo import Repo
    from dataver.sampledata import make_cv_dataset, write_coco

    root = os.path.abspath(args.directory)
    _clear(root, args.force)
    _make_own(root)
    _step(f"git init + dataver init in {root}")
    _git(root, "init", "-q", "-b", "main")
    _exclude_marker(root)
    repo = Repo.init(root)
    _git(root, "commit", "-qm", "Initialise dataver")

    _step(f"generate {args.images} images and a COCO annotation file, then `dataver add data`")
    data = os.path.join(root, "data")
    coco = make_cv_dataset(data, n_images=args.images)
    repo.add([data])
    print(open(os.path.join(root, "data.dvc"), encoding="utf-8").read().rstrip())
    _git(root, "add", "data.dvc", ".gitignore")
    _git(root, "commit", "-qm", "Dataset v1")
    v1 = _summary(root)
    print(f"v1: {v1[0]} images, {v1[1]} annotations, instances.json md5 {v1[2]}")

    _step("relabel: drop the 'car' annotations, add 5 images, `dataver add data` again")
    coco["annotations"] = [a for a in coco["annotations"] if a["category_id"] != 3]
    extra = make_cv_dataset(os.path.join(root, "tmp-extra"), n_images=5, seed=1)
    for img in extra["images"]:
        new_name = "new_" + img["file_name"]
        os.replace(os.path.join(root, "tmp-extra", "images", img["file_name"]),
                   os.path.join(data, "images", new_name))
    shutil.rmtree(os.path.join(root, "tmp-extra"))
    write_coco(data, coco)
    for dvc_path, entries in repo.status().items():
        print(f"status before add: {dvc_path}: {entries[0]['changed outs']}")
    repo.add([data])
    _git(root, "commit", "-qam", "Dataset v2: relabelled")
    v2 = _summary(root)
    print(f"v2: {v2[0]} images, {v2[1]} annotations, instances.json md5 {v2[2]}")
    _card_diff(repo)

    _step("git checkout HEAD~1 && dataver checkout  (back to v1)")
    _git(root, "checkout", "-q", "HEAD~1")
    result = repo.checkout()
    print(f"checkout: {len(result.added)} added, {len(result.modified)} modified, "
          f"{len(result.deleted)} deleted")
    restored = _summary(root)
    print(f"now: {restored[0]} images, {restored[1]} annotations, instances.json md5 {restored[2]}")
    ok = restored == v1
    print("v1 restored exactly" if ok else "MISMATCH: v1 was not restored")

    _step("git checkout main && dataver checkout  (forward to v2)")
    _git(root, "checkout", "-q", "main")
    repo.checkout()
    ok = ok and _summary(root) == v2
    print("v2 restored exactly" if _summary(root) == v2 else "MISMATCH: v2 was not restored")
    repo.close()
    return 0 if ok and _share(root, v2) else 1


def _card_diff(repo) -> None:
    """Show what the relabelling changed, figure by figure, in the data cards of v1 and v2."""
    from dataver.errors import UserError

    _step("dataver card diff HEAD~1 HEAD  (the data cards of v1 and v2, compared)")
    try:
        from dataver.cards import render_text

        for diff in repo.card_diff("HEAD~1", "HEAD"):
            print(render_text.diff(diff))
    except UserError as exc:  # the cards extra is not installed
        print(f"skipped: {exc.message} ({exc.hint})")


def _share(root: str, v2) -> bool:
    """Push to a local remote, clone the git repo elsewhere and restore the data with pull."""
    from dataver.ops import remote_config
    from dataver.repo import Repo

    store = root + "-remote"
    _make_own(store)
    _step(f"dataver remote add -d storage {store} && dataver push")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        remote_config.add("storage", store, default=True)
    finally:
        os.chdir(cwd)
    _git(root, "commit", "-qam", "Configure the data remote")
    with Repo(root) as repo:
        pushed = repo.push()
    print(f"{pushed.transferred} files pushed to {store}")

    clone = root + "-clone"
    _step(f"git clone {root} {clone} && dataver pull  (a fresh machine)")
    _git(os.path.dirname(root), "clone", "-q", root, clone)
    _make_own(clone)
    _exclude_marker(clone)
    with Repo(clone) as repo:
        pulled = repo.pull()
    print(f"{pulled.fetched.transferred} files fetched, {len(pulled.added)} files added")
    restored = _summary(clone)
    ok = restored == v2
    print(f"clone: {restored[0]} images, {restored[1]} annotations, instances.json md5 {restored[2]}")
    print("v2 restored exactly in the clone" if ok else "MISMATCH: the clone differs from v2")
    return ok


# --- the demo's folders --------------------------------------------------------------------------

def _clear(root: str, force: bool) -> None:
    """Make way for the demo in ``root``, ``root-remote`` and ``root-clone``: each must be missing,
    an empty folder, or (with ``force``) a folder an earlier demo made, which is deleted. All
    three are checked before anything is deleted, so a refusal changes nothing."""
    import shutil

    folders = [root, root + "-remote", root + "-clone"]
    for folder in folders:
        _check_free(folder, force)
    for folder in folders:
        if _is_demos(folder):
            shutil.rmtree(folder)


def _check_free(folder: str, force: bool) -> None:
    """Raise TargetError unless the demo may use (or, with ``force``, replace) ``folder``."""
    from dataver.errors import TargetError

    shown = _shown(folder)
    if not os.path.lexists(folder) or _is_empty_dir(folder):
        return
    if not _is_demos(folder):
        hint = ("--force replaces only folders an earlier `dataver demo` made; give a new or "
                "empty directory" if force else "give a new or empty directory")
        raise TargetError(f"'{shown}' already exists and is not empty", hint=hint)
    if not force:
        raise TargetError(f"'{shown}' holds an earlier demo",
                          hint="pass --force to replace it, or give another directory")
    if _holds_cwd(folder):
        raise TargetError(f"'{shown}' is, or holds, the current directory",
                          hint="run the demo from outside it: --force never deletes where it runs")


def _is_empty_dir(folder: str) -> bool:
    return os.path.isdir(folder) and not os.path.islink(folder) and not os.listdir(folder)


def _is_demos(folder: str) -> bool:
    """Whether ``folder`` is a real folder (not a link to one) that the demo made."""
    return (os.path.isdir(folder) and not os.path.islink(folder)
            and os.path.isfile(os.path.join(folder, MARKER)))


def _holds_cwd(folder: str) -> bool:
    real = os.path.realpath(folder)
    cwd = os.path.realpath(os.getcwd())
    return cwd == real or cwd.startswith(real.rstrip(os.sep) + os.sep)


def _shown(folder: str) -> str:
    """``folder`` relative to the working directory when it lies below it, else absolute."""
    rel = os.path.relpath(folder)
    return folder if rel.startswith("..") else rel


def _make_own(folder: str) -> None:
    """Create ``folder`` (if needed) and mark it as the demo's."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, MARKER), "w", encoding="utf-8") as fobj:
        fobj.write("Made by `dataver demo`, which may delete this folder when run again with "
                   "--force.\n")


def _exclude_marker(root: str) -> None:
    """Keep the marker out of `git status` (in .git/info/exclude, which is never committed)."""
    path = os.path.join(root, ".git", "info", "exclude")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="utf-8") as fobj:
        fobj.write(f"/{MARKER}\n")
