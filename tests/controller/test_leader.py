import time

import pytest

from mofang_gitops.controller.leader import (
    DuplicateIdentityError,
    LeaderElector,
    LeaseOptions,
    configured_identity,
)
from mofang_gitops.k8s.cluster import Cluster, RetryPolicy
from mofang_gitops.manifests import SYSTEM_NAMESPACE


@pytest.fixture
def cluster(control_plane):
    cluster = Cluster(control_plane.name, control_plane.kubeconfig, retry=RetryPolicy(attempts=1))
    cluster.ensure_namespace(SYSTEM_NAMESPACE)
    yield cluster
    cluster.close()


def elector(cluster, lease, identity):
    options = LeaseOptions(
        lease, identity, lease_duration=2.0, renew_deadline=1.5, retry_period=0.2
    )
    return LeaderElector(cluster, options)


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_only_one_of_two_candidates_leads(cluster, unique_name):
    a, b = elector(cluster, unique_name, "a"), elector(cluster, unique_name, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert a.is_leader() and not b.is_leader()
    a.start()
    b.start()
    try:
        for _ in range(10):
            time.sleep(0.1)
            assert a.is_leader() != b.is_leader()
    finally:
        a.stop(release=False)
        b.stop(release=False)


def test_stale_resource_version_loses_the_race(cluster, unique_name):
    a, b = elector(cluster, unique_name, "a"), elector(cluster, unique_name, "b")
    assert a.try_acquire_or_renew()
    stale = b._get()
    assert a.try_acquire_or_renew()  # moves resourceVersion on
    with pytest.raises(Exception) as info:
        b._write("PUT", f"{b._path}/{unique_name}", b._record(stale))
    assert getattr(info.value, "status", 0) == 409


def test_other_takes_over_after_the_lease_duration_when_renewals_stop(cluster, unique_name):
    a, b = elector(cluster, unique_name, "a"), elector(cluster, unique_name, "b")
    a.start()
    assert wait_for(a.is_leader, 5)
    b.start()
    try:
        time.sleep(0.5)
        assert not b.is_leader()
        stopped = time.monotonic()
        a.stop(release=False)  # like a killed process: no release
        assert not a.is_leader()
        assert wait_for(b.is_leader, 10)
        assert time.monotonic() - stopped >= 1.5  # not before the lease could expire
        lease = b._get()
        assert (
            configured_identity(lease["spec"]["holderIdentity"]) == "b"
            and lease["spec"]["leaseTransitions"] >= 1
        )
    finally:
        b.stop()


def test_release_hands_over_at_once(cluster, unique_name):
    a, b = elector(cluster, unique_name, "a"), elector(cluster, unique_name, "b")
    assert a.try_acquire_or_renew()
    a.stop(release=True)
    b._observed = ("", "")
    assert b.try_acquire_or_renew()


def test_a_leader_that_cannot_renew_stops_leading(cluster, unique_name, tmp_path):
    a = elector(cluster, unique_name, "a")
    assert a.try_acquire_or_renew()
    a.cluster = Cluster("down", tmp_path / "missing-kubeconfig", retry=RetryPolicy(attempts=1))
    assert not a.try_acquire_or_renew()
    assert wait_for(lambda: not a.is_leader(), 3)


def test_two_candidates_given_the_same_identity_never_both_lead(cluster, unique_name):
    a, b = elector(cluster, unique_name, "same"), elector(cluster, unique_name, "same")
    assert a.holder != b.holder
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert a.is_leader() and not b.is_leader()
    assert configured_identity(b._get()["spec"]["holderIdentity"]) == "same"


def test_a_live_twin_identity_is_refused_at_start(cluster, unique_name):
    a, b = elector(cluster, unique_name, "twin"), elector(cluster, unique_name, "twin")
    a.start()
    try:
        assert wait_for(a.is_leader, 5)
        started = time.monotonic()
        with pytest.raises(DuplicateIdentityError, match="twin"):
            b.ensure_unique()
        assert time.monotonic() - started < 2.0 + 0.5  # decided within one lease duration
    finally:
        a.stop(release=True)


def test_a_dead_predecessor_with_the_same_identity_is_not_refused(cluster, unique_name):
    dead, restarted = elector(cluster, unique_name, "pod-0"), elector(cluster, unique_name, "pod-0")
    assert dead.try_acquire_or_renew()  # then never renews: the process died
    restarted.ensure_unique()  # waits out one lease duration, then lets it campaign
    assert wait_for(restarted.try_acquire_or_renew, 5)


def test_another_identity_is_not_a_twin(cluster, unique_name):
    a, b = elector(cluster, unique_name, "pod-a"), elector(cluster, unique_name, "pod-ab")
    assert a.try_acquire_or_renew()
    started = time.monotonic()
    b.ensure_unique()
    assert time.monotonic() - started < 0.5
