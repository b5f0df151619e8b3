"""Two `mofang-gitops controller` processes, one cluster: only the leader applies; kill it, and
the other takes the Lease and applies the next commit. Real processes, git remote and API server.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mofang_gitops.controller.leader import configured_identity
from mofang_gitops.manifests import SYSTEM_NAMESPACE
from tests.controller.harness import IsolatedRemote, checker, statefulsets, wait_for

LEASE_DURATION = 15.0  # the CLI's LeaseOptions default


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Replica:
    def __init__(self, identity, plane, remote, tmp_path: Path, lease: str) -> None:
        self.identity = identity
        self.port = free_port()
        self.metrics_port = free_port()
        self.log = tmp_path / f"{identity}.log"
        argv = [
            sys.executable, "-m", "mofang_gitops", "controller",
            "--repo-url", remote.url, "--branch", "main", "--interval", "2s",
            "--listen", f"127.0.0.1:{self.port}", "--metrics-listen",
            f"127.0.0.1:{self.metrics_port}", "--cache-dir", str(tmp_path / identity),
            "--leader-election", "--lease-name", lease, "--identity", identity,
            "--kubeconfig", str(plane.kubeconfig), "--context", plane.name, "--no-events",
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)

    def get(self, path: str) -> str | None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=5)
            conn.request("GET", path)
            body = conn.getresponse().read().decode()
            conn.close()
        except OSError:
            return None
        return body

    def status(self) -> dict:
        body = self.get("/status")
        return json.loads(body) if body else {}

    def metric(self, name: str) -> float:
        body = self.get("/metrics") or ""
        found = re.search(rf"(?m)^{re.escape(name)} (\S+)$", body)
        return float(found.group(1)) if found else 0.0

    def synced_at(self, revision: str) -> bool:
        status = self.status()
        targets = status.get("targets") or []
        return (
            bool(status.get("leader"))
            and bool(targets)
            and all(t["state"] == "Synced" and t["revision"] == revision for t in targets)
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


@pytest.fixture
def replicas(control_plane, tmp_path, unique_name):
    remote = IsolatedRemote(tmp_path, unique_name)
    head = remote.push("initial")
    started = [Replica(name, control_plane, remote, tmp_path, unique_name) for name in ("a", "b")]
    cluster = checker(control_plane)
    try:
        yield remote, head, started, cluster
    finally:
        for replica in started:
            replica.stop()
        cluster.close()


def lease(cluster, name):
    return cluster.get("coordination.k8s.io/v1", "Lease", SYSTEM_NAMESPACE, name)


def test_only_the_leader_applies_and_killing_it_hands_over(replicas, unique_name):
    remote, head, (a, b), cluster = replicas
    logs = lambda: "\n".join(r.log.read_text()[-3000:] for r in (a, b))  # noqa: E731
    assert wait_for(lambda: a.synced_at(head) or b.synced_at(head), 120, 0.5), logs()
    leader, standby = (a, b) if a.synced_at(head) else (b, a)
    assert wait_for(lambda: standby.status().get("leader") is False, 10), logs()
    assert configured_identity(lease(cluster, unique_name)["spec"]["holderIdentity"]) == (
        leader.identity
    )
    assert leader.metric("mofang_objects_applied_total") > 0
    for _ in range(3):  # a few standby passes later, still nothing applied by it
        assert standby.metric("mofang_objects_applied_total") == 0
        assert standby.status()["targets"] == []
        wait_for(lambda: False, 1)

    leader.proc.send_signal(signal.SIGKILL)  # no release: the Lease must expire
    leader.proc.wait(30)
    remote.notebook(remote.nlp, "handover-nb")
    new_head = remote.push("after the leader died")
    timeout = LEASE_DURATION + 45
    assert wait_for(lambda: "handover-nb" in statefulsets(cluster, remote.nlp), timeout, 0.5), (
        logs()
    )
    assert wait_for(lambda: standby.synced_at(new_head), 30, 0.5), logs()
    assert standby.metric("mofang_objects_applied_total") > 0
    taken = lease(cluster, unique_name)["spec"]
    assert (
        configured_identity(taken["holderIdentity"]) == standby.identity
        and taken["leaseTransitions"] >= 1
    )

    standby.proc.send_signal(signal.SIGTERM)  # a clean stop releases the Lease at once
    assert standby.proc.wait(60) == 0, logs()
    assert not lease(cluster, unique_name)["spec"].get("holderIdentity")


def test_a_second_process_with_the_same_identity_refuses_to_start(
    control_plane, tmp_path, unique_name
):
    remote = IsolatedRemote(tmp_path, unique_name)
    head = remote.push("initial")
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = Replica("twin", control_plane, remote, tmp_path / "first", unique_name)
    cluster = checker(control_plane)
    second = None
    try:
        assert wait_for(lambda: first.synced_at(head), 120, 0.5), first.log.read_text()[-3000:]
        second = Replica("twin", control_plane, remote, tmp_path / "second", unique_name)
        assert second.proc.wait(LEASE_DURATION + 30) == 2
        text = second.log.read_text()
        assert "another live process holds it" in text and "twin" in text, text[-2000:]
        assert first.proc.poll() is None and first.synced_at(head)
        holder = lease(cluster, unique_name)["spec"]["holderIdentity"]
        assert configured_identity(holder) == "twin"
    finally:
        first.stop()
        if second is not None:
            second.stop()
        cluster.close()
