"""A command in a network namespace of its own still reaches the relayed loopback port.

What lets a second mpi-operator (fixed ``*:8080``) run while another holds the port: inside the
namespace the port the host holds is free, and the API server's port still answers.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mofang_gitops.devtools import netns

CHILD = """
import socket, sys
api, held = int(sys.argv[1]), int(sys.argv[2])
with socket.create_connection(("127.0.0.1", api), timeout=10) as conn:
    conn.sendall(b"ping")
    print(conn.recv(16).decode())
with socket.socket() as own:
    own.bind(("0.0.0.0", held))  # taken on the host, free in here
    print("bound")
"""


@pytest.fixture
def echo_server() -> Iterator[socket.socket]:
    """A host-side server on 127.0.0.1 that answers ``pong:`` + what it got."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"pong:" + conn.recv(16))

    threading.Thread(target=serve, daemon=True).start()
    yield server
    server.close()


@pytest.mark.skipif(not netns.available(), reason="cannot create network namespaces here")
def test_a_command_in_its_own_namespace_reaches_the_relayed_port_and_owns_the_hosts_ports(
    echo_server: socket.socket, tmp_path: Path
) -> None:
    api = echo_server.getsockname()[1]
    with socket.create_server(("0.0.0.0", 0)) as held:
        held_port = held.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                netns.__name__,
                str(api),
                str(tmp_path / "relay.sock"),
                "--",
                sys.executable,
                "-c",
                CHILD,
                str(api),
                str(held_port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pong:ping", "bound"]
    assert not (tmp_path / "relay.sock").exists()


@pytest.mark.skipif(not netns.available(), reason="cannot create network namespaces here")
def test_the_relay_exits_with_the_commands_exit_code(tmp_path: Path) -> None:
    sock = str(tmp_path / "relay.sock")
    for code in (0, 3):
        command = [sys.executable, "-c", f"raise SystemExit({code})"]
        done = subprocess.run(
            [sys.executable, "-m", netns.__name__, "1", sock, "--", *command], timeout=60
        )
        assert done.returncode == code
