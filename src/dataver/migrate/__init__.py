"""`dataver migrate`: move a repository off git-lfs, git-annex or large files in plain git.

sources (:mod:`.lfs`, :mod:`.annex`, :mod:`.plaingit`; shared parts in :mod:`.sources`) find what
to convert in a commit's tree without checking it out -> one converter (:mod:`.convert`: each
object read once, verified, hashed and stored; resumable through :mod:`.resume`) -> a history
writer: :mod:`.forward` (one new commit on the current branch) or :mod:`.rewrite` (every commit
of the chosen refs). :mod:`.info` reports what would move; :mod:`.verify` checks what moved.
"""
