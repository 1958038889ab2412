"""Remote plumbing without a server: key parsing of untrusted listings, URL masking, error
classification, the remote index, the registry's install hint and option validation."""
from __future__ import annotations

import errno

import pytest

from dataver.errors import ConfigError, RemoteError
from dataver.remote.base import object_key, parse_key
from dataver.remote.index import RemoteIndex
from dataver.remote.registry import check_option, open_backend
from dataver.remote.wrappers import describe, is_fatal, is_transient, mask_url

OID = "d41d8cd98f00b204e9800998ecf8427e"


def test_object_keys_round_trip_in_both_layouts():
    assert object_key(OID) == f"files/md5/d4/{OID[2:]}"
    assert parse_key(object_key(OID)) == (OID, "md5")
    assert parse_key(object_key(OID + ".dir")) == (OID + ".dir", "md5")
    assert parse_key(f"d4/{OID[2:]}") == (OID, "md5-dos2unix")


@pytest.mark.parametrize("key", [
    f"files/md5/d4/{OID[2:]}.1234.tmp", f"files/md5/d4/../{OID[2:]}", f"files/md5/D4/{OID[2:]}",
    "files/md5/d4/short", f"files/sha256/d4/{OID[2:]}", f"x/files/md5/d4/{OID[2:]}", "", "d4",
    f"/d4/{OID[2:]}", f"files/md5/d4/{OID[2:]}/extra",
])
def test_listing_names_that_are_not_objects_are_refused(key):
    assert parse_key(key) is None


def test_passwords_in_urls_are_masked():
    assert mask_url("ssh://bob:hunter2@host:22/p") == "ssh://bob:***@host:22/p"
    assert mask_url("s3://bucket/p") == "s3://bucket/p"
    assert "hunter2" not in describe(ValueError("failed for https://u:hunter2@h/x"))


def test_error_classes():
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    assert is_fatal(refused) and not is_transient(refused)
    assert is_fatal(PermissionError("403")) and not is_transient(PermissionError())
    assert is_transient(ConnectionResetError()) and not is_fatal(ConnectionResetError())
    assert not is_transient(FileNotFoundError())


def test_index_add_contains_replace_discard(tmp_path):
    index = RemoteIndex(str(tmp_path), "s3://b/p")
    index.add(["files/md5/aa/1", "files/md5/bb/2", "cc/3"])
    assert index.contains(["files/md5/aa/1", "zz"]) == {"files/md5/aa/1"}
    index.replace(["files/md5/bb/2"], "files/md5/")
    assert index.contains(["files/md5/aa/1", "files/md5/bb/2", "cc/3"]) == {"files/md5/bb/2", "cc/3"}
    index.discard(["cc/3"])
    index.close()
    again = RemoteIndex(str(tmp_path), "s3://b/p")
    assert again.contains(["files/md5/bb/2", "cc/3"]) == {"files/md5/bb/2"}
    assert RemoteIndex(str(tmp_path), "s3://other").contains(["files/md5/bb/2"]) == set()


def test_unknown_scheme_and_unknown_option():
    with pytest.raises(RemoteError, match="unsupported URL scheme 'foo://'"):
        open_backend("r", {"url": "foo://x"})
    with pytest.raises(ConfigError, match="unknown option 'foo' for a s3 remote"):
        check_option("s3://b", "foo")
    check_option("s3://b", "endpointurl")
    check_option("/local/path", "jobs")
