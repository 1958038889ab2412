"""OpenSSH `sshd` on 127.0.0.1 for the SSH remote tests.

sshd runs in the foreground (-D) with its own config, a generated host key and a generated client
key (the only authorized key), so nothing on the machine's own sshd setup is used or changed.
Remote URL: ``ssh://127.0.0.1:PORT/<abs path>`` with options ``user`` and ``keyfile``."""
from __future__ import annotations

import getpass
import os
import subprocess

from .launch import FsServer, ServerError, ServerProcess, find_exe, free_port

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/lib/openssh")


def _keygen(path: str) -> None:
    keygen = find_exe("ssh-keygen", *SBIN_DIRS)
    proc = subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", "dataver-test", "-f", path],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServerError(f"ssh-keygen failed for {path}: {proc.stderr}")


def _write_config(base: str, port: int, user: str) -> str:
    conf = os.path.join(base, "sshd_config")
    lines = [
        f"ListenAddress 127.0.0.1:{port}",
        f"HostKey {base}/host_ed25519",
        f"AuthorizedKeysFile {base}/authorized_keys",
        f"PidFile {base}/sshd.pid",
        f"AllowUsers {user}",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin yes",
        # the temp dir is not root-owned 0755 all the way up, which StrictModes would reject
        "StrictModes no",
        "UsePAM no",
        "MaxStartups 64:30:128",
        "MaxSessions 64",
        "LogLevel ERROR",
        # in-process SFTP: no fork+exec of sftp-server for every channel a client opens
        "Subsystem sftp internal-sftp",
    ]
    with open(conf, "w") as fobj:
        fobj.write("\n".join(lines) + "\n")
    return conf


def _ensure_privsep_dir() -> None:
    # Debian's sshd refuses to start without its privilege separation directory; as root we
    # can create it (it is what the openssh-server package's service unit does at boot).
    if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


def start(base: str) -> FsServer:
    """Start sshd with state under ``base`` (a fresh temp dir); the remote root is ``base/data``."""
    sshd = find_exe("sshd", *SBIN_DIRS)
    user = getpass.getuser()
    port = free_port()
    _keygen(os.path.join(base, "host_ed25519"))
    client_key = os.path.join(base, "client_ed25519")
    _keygen(client_key)
    with open(client_key + ".pub") as src, open(os.path.join(base, "authorized_keys"), "w") as dst:
        dst.write(src.read())
    conf = _write_config(base, port, user)
    _ensure_privsep_dir()
    data = os.path.join(base, "data")
    os.makedirs(data)
    proc = ServerProcess([sshd, "-D", "-e", "-f", conf], os.path.join(base, "sshd.log"))
    proc.wait_port(port, "sshd")

    def fs_factory():
        from sshfs import SSHFileSystem

        fs = SSHFileSystem("127.0.0.1", port=port, username=user, client_keys=[client_key],
                           known_hosts=None)
        return fs, data

    stranger = os.path.join(base, "stranger_ed25519")  # a key sshd does not know
    _keygen(stranger)
    return FsServer("ssh", f"ssh://127.0.0.1:{port}{data}", {"user": user, "keyfile": client_key},
                    unreachable={"url": f"ssh://127.0.0.1:{free_port()}{data}/x"},
                    bad_credentials={"keyfile": stranger},
                    stop=proc.stop, fs_factory=fs_factory)
