"""A remote with no credentials at all says so ("no credentials found"), not "access denied";
half a key pair names the missing half; `-v` shows the library's own error below ours.
Servers are the real ones of servers.py, with the credentials left out of the config."""
from __future__ import annotations

import os

import pytest

from dataver.cli.main import main
from tests.remotes.conftest import configure_remote

# options that carry credentials, per type: left out to make a remote with none
CREDENTIAL_OPTIONS = {
    "s3": ("access_key_id", "secret_access_key"),
    "ssh": ("keyfile", "password"),
    "webdav": ("user", "password"),
    "http": ("auth", "user", "password"),
}


@pytest.fixture
def no_ambient_credentials(monkeypatch):
    """No AWS_*/AZURE_*/GOOGLE_* variables and no ssh-agent (HOME is already a fresh directory)."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "AZURE_", "GOOGLE_")) or key == "SSH_AUTH_SOCK":
            monkeypatch.delenv(key)


def cli(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


def configure_without(server, drop: tuple[str, ...], **extra) -> None:
    conf = {k: v for k, v in server.remote().items() if k not in drop}
    configure_remote("r", {**conf, **extra})


def add_file(repo_dir, capsys) -> None:
    (repo_dir / "f.txt").write_text("precious")
    assert cli(capsys, "add", "-q", "f.txt")[0] == 0


@pytest.mark.parametrize("kind", sorted(CREDENTIAL_OPTIONS))
def test_no_credentials_is_named_as_the_cause(kind, server_pool, repo_dir, capsys,
                                              no_ambient_credentials):
    configure_without(server_pool(kind), CREDENTIAL_OPTIONS[kind])
    add_file(repo_dir, capsys)
    expect = "no credentials found" if kind == "s3" else \
        "access denied: no credentials are configured"
    for command in (["push"], ["fetch"], ["status", "-c"]):
        code, err = cli(capsys, *command)
        assert code == 1, (command, err)
        assert err.startswith(f"ERROR: remote 'r' ({server_pool(kind).base_url}") and \
            err.count("\n") == 1, err
        assert expect in err and "dataver remote modify --local r" in err, err
    if kind == "s3":
        assert "AWS_ACCESS_KEY_ID" in err and "profile" in err


def test_verbose_shows_the_library_error(server_pool, repo_dir, capsys, no_ambient_credentials):
    configure_without(server_pool("s3"), CREDENTIAL_OPTIONS["s3"])
    add_file(repo_dir, capsys)
    code, err = cli(capsys, "-v", "push")
    assert code == 1
    assert "botocore.exceptions.NoCredentialsError: Unable to locate credentials" in err, err
    assert "The above exception was the direct cause of the following exception" in err, err
    assert err.rstrip().splitlines()[-1].startswith("ERROR: remote 'r'"), err


@pytest.mark.parametrize("backend", ["obstore", "s3fs"])
@pytest.mark.parametrize("where", ["config", "env"])
def test_half_a_key_pair_names_the_missing_half(backend, where, server_pool, repo_dir, capsys,
                                               no_ambient_credentials, monkeypatch):
    if backend == "s3fs":
        monkeypatch.setenv("DATAVER_NO_OBSTORE", "1")
    server = server_pool("s3")
    if where == "config":
        configure_without(server, ("secret_access_key",), region="us-east-1")
        missing = "secret_access_key"
    else:
        configure_without(server, CREDENTIAL_OPTIONS["s3"], region="us-east-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.options["access_key_id"])
        missing = "AWS_SECRET_ACCESS_KEY"
    add_file(repo_dir, capsys)
    code, err = cli(capsys, "push")
    assert code == 1, err  # not 255: a missing secret is the user's to fix, not a crash
    assert f"incomplete credentials: {missing} is not set" in err and err.count("\n") == 1, err


def test_wrong_credentials_still_say_access_denied(server_pool, repo_dir, capsys,
                                                   no_ambient_credentials):
    server = server_pool("s3")
    configure_without(server, (), secret_access_key="wrong-secret")
    add_file(repo_dir, capsys)
    code, err = cli(capsys, "push")
    assert code == 1 and "access denied (check the credentials: access_key_id" in err, err
    assert "no credentials" not in err


def test_other_libraries_missing_credentials_are_recognised():
    """Azure's DefaultAzureCredential and google-auth's default lookup coming up empty (no
    emulator can produce these: they accept any caller or need real cloud endpoints)."""
    from dataver.remote.wrappers import is_fatal, remote_error

    class ClientAuthenticationError(Exception):
        pass

    class DefaultCredentialsError(Exception):
        pass

    azure = ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from "
                                      "the included credentials.\nAttempted credentials: ...")
    google = DefaultCredentialsError("Your default credentials were not found.")
    for url, exc, hint in (("azure://c/p", azure, "AZURE_STORAGE_"),
                           ("gs://b/p", google, "GOOGLE_APPLICATION_CREDENTIALS")):
        error = remote_error("r", url, exc)
        assert "no credentials found" in str(error) and hint in str(error), str(error)
        assert error.__cause__ is exc and is_fatal(exc)
