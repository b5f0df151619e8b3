"""On a fresh cluster the Lease's namespace does not exist yet: the first candidate creates it."""

from mofang_gitops.controller.leader import LeaderElector, LeaseOptions, configured_identity
from mofang_gitops.k8s.cluster import Cluster, RetryPolicy


def test_first_candidate_creates_the_missing_lease_namespace(control_plane, unique_name):
    cluster = Cluster(control_plane.name, control_plane.kubeconfig, retry=RetryPolicy(attempts=1))
    try:
        assert cluster.get("v1", "Namespace", "", unique_name) is None
        elector = LeaderElector(cluster, LeaseOptions("lease", "a", namespace=unique_name))
        assert elector.try_acquire_or_renew() and elector.is_leader()
        lease = cluster.get("coordination.k8s.io/v1", "Lease", unique_name, "lease")
        assert configured_identity(lease["spec"]["holderIdentity"]) == "a"
    finally:
        cluster.close()
