"""Run one command in a network namespace of its own that still reaches one loopback port.

mpi-operator v0.6.0 always serves health on ``*:8080`` and exits when the port is taken, so only
one could run per machine, and a developer's ``dev up`` held it for every test session on the
machine. In a fresh network namespace the port is its own. The API server stays on the host's
127.0.0.1, so the same address and port (the serving certificate names 127.0.0.1) are relayed:
inside the namespace a listener on ``127.0.0.1:PORT`` forwards to a Unix socket, which a process in
the host namespace forwards to the real ``127.0.0.1:PORT``. Filesystem Unix sockets are not bound
to a network namespace, which is what makes the bridge possible.

Run as ``python -m mofang_gitops.devtools.netns PORT SOCKET -- COMMAND...``; needs the right to
create a network namespace (root, or CAP_SYS_ADMIN), which :func:`available` checks. Ending this
process (SIGTERM) ends the command and both relays.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1


def available() -> bool:
    """Whether this process may create a network namespace (tried in a throwaway child)."""
    if shutil.which("ip") is None:  # brings the namespace's loopback up
        return False
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import ctypes; exit(ctypes.CDLL(None).unshare({CLONE_NEWNET}))",
            ],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _relay(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connect: object
) -> None:
    try:
        upstream_reader, upstream_writer = await connect()  # type: ignore[operator]
    except OSError:
        writer.close()
        return
    await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


async def _host_side(port: int, socket_path: Path, child: int) -> int:
    """Unix socket -> the host's 127.0.0.1:PORT, until the namespace side exits."""

    def connect() -> object:
        return asyncio.open_connection("127.0.0.1", port)

    server = await asyncio.start_unix_server(
        lambda r, w: _relay(r, w, connect), path=str(socket_path)
    )
    async with server:
        _, status = await asyncio.get_running_loop().run_in_executor(None, os.waitpid, child, 0)
    return os.waitstatus_to_exitcode(status)


async def _namespace_side(port: int, socket_path: Path, command: list[str]) -> int:
    """127.0.0.1:PORT inside the namespace -> Unix socket; run ``command`` until it exits."""

    def connect() -> object:
        return asyncio.open_unix_connection(str(socket_path))

    server = await asyncio.start_server(lambda r, w: _relay(r, w, connect), "127.0.0.1", port)
    async with server:
        process = await asyncio.create_subprocess_exec(*command, preexec_fn=_die_with_parent)
        return await process.wait()


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _enter_namespace() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def main(argv: list[str]) -> int:
    """``PORT SOCKET -- COMMAND...``: relay the port into a new namespace and run the command."""
    port, socket_path, separator, *command = argv
    if separator != "--" or not command:
        print("usage: netns PORT SOCKET -- COMMAND...", file=sys.stderr)
        return 2
    path = Path(socket_path)
    path.unlink(missing_ok=True)
    child = os.fork()
    if child == 0:  # the namespace side: never returns to the caller's code
        code = 1
        try:
            _die_with_parent()
            _enter_namespace()
            code = asyncio.run(_namespace_side(int(port), path, command))
        finally:
            os._exit(code)

    def on_term(*_: object) -> None:
        _kill(child)
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    try:
        return asyncio.run(_host_side(int(port), path, child))  # returns once the child is reaped
    except BaseException:
        _kill(child)
        raise
    finally:
        path.unlink(missing_ok=True)


def _kill(child: int) -> None:
    """End the namespace side; its command follows by its parent-death signal."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(child, signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
