"""Client-side pacing: a token-bucket rate limit and a retry budget per pass.

The storm test runs the real engine against the real API server through the fault proxy, which
answers every apply with 429: the pass must end after about the budget's worth of retries, not
five attempts per object.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.engine import Action, ResourceManager
from mofang_gitops.errors import ClusterError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.k8s.retrying import (
    RateLimiter,
    RetryBudget,
    RetryBudgetError,
    RetryPolicy,
    call_with_retry,
)
from tests.engine.builders import project_bodies, target
from tests.engine.faults import FaultPlan, fault_proxy

QUICK = RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.05)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_lets_a_burst_through_then_paces_at_qps():
    fake = FakeTime()
    limiter = RateLimiter(qps=10, burst=3, clock=fake.clock, sleep=fake.sleep)
    waits = [limiter.acquire() for _ in range(6)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == pytest.approx([0.1, 0.1, 0.1])
    fake.now += 10  # idle: the bucket refills, but only up to the burst
    assert [limiter.acquire() for _ in range(4)][-1] == pytest.approx(0.1)
    assert limiter.waited == pytest.approx(0.4)


def test_rate_limiter_with_no_qps_never_waits():
    fake = FakeTime()
    limiter = RateLimiter(qps=0, burst=1, clock=fake.clock, sleep=fake.sleep)
    assert sum(limiter.acquire() for _ in range(100)) == 0 and not fake.slept


def failing(times: int, status: int = 429):
    calls = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise ClusterError("x", "slow down", status)
        return "ok"

    return call, calls


def test_retry_budget_is_shared_by_the_requests_of_a_pass():
    budget = RetryBudget(3)
    call, calls = failing(2)
    assert call_with_retry(call, QUICK, budget=budget) == "ok"
    assert budget.spent == 2
    call, calls = failing(10)
    with pytest.raises(RetryBudgetError, match="retry budget of 3") as caught:
        call_with_retry(call, QUICK, budget=budget)
    assert len(calls) == 2  # one retry was left
    assert caught.value.status == 429 and caught.value.retriable
    budget.reset()
    call, calls = failing(1)
    assert call_with_retry(call, QUICK, budget=budget) == "ok"


@pytest.mark.cluster
def test_a_429_storm_ends_the_pass_after_the_budget_not_five_tries_per_object(
    control_plane: ControlPlane, unique_name: str, tmp_path: Path
):
    bodies = project_bodies(unique_name, notebooks=[f"nb-{n}" for n in range(8)])
    plan = FaultPlan({"PATCH": [429] * 10_000})
    with fault_proxy(control_plane, plan, tmp_path / "kubeconfig") as kubeconfig:
        cluster = Cluster("test-a", kubeconfig, "faulty", retry=QUICK, retry_budget=5)
        started = time.monotonic()
        changes = ResourceManager({"test-a": cluster}).apply([target(unique_name, bodies)])
        took = time.monotonic() - started
        assert {e.action for e in changes} == {Action.FAILED}
        assert any("retry budget of 5" in e.reason for e in changes.failed)
        sent = len(plan.injected)
        # Without a budget: 5 attempts for each of the first stage's objects and more.
        assert sent <= 5 + 8 + 2, sent
        assert took < 10

        plan.pending.clear()  # the storm is over: the next pass has its whole budget again
        cluster.start_pass()
        again = ResourceManager({"test-a": cluster}).apply([target(unique_name, bodies)])
        assert not again.failed and again.summary()["created"] == len(bodies)


@pytest.mark.cluster
def test_the_rate_limit_paces_requests_against_the_api_server(control_plane: ControlPlane):
    cluster = Cluster(control_plane.name, control_plane.kubeconfig, control_plane.name,
                      qps=20, burst=5)  # fmt: skip
    started = time.monotonic()
    for _ in range(25):
        assert cluster.get("v1", "Namespace", "", "default") is not None
    assert time.monotonic() - started >= (25 - 5 - 1) / 20  # the first may include discovery
    assert cluster.limiter.waited > 0.5
    cluster.close()


@pytest.mark.cluster
def test_a_no_op_plan_never_waits_for_the_default_rate_limit(
    control_plane: ControlPlane, unique_name: str
):
    bodies = project_bodies(unique_name, notebooks=[f"nb-{n}" for n in range(40)])
    cluster = Cluster("test-a", control_plane.kubeconfig, control_plane.name)
    manager = ResourceManager({"test-a": cluster})
    assert not manager.apply([target(unique_name, bodies)]).failed
    cluster.stats.reset()
    waited = cluster.limiter.waited
    changes = manager.plan([target(unique_name, bodies)])
    assert {e.action for e in changes} == {Action.UNCHANGED}
    assert cluster.stats.writes == 0 and cluster.stats.reads < cluster.limiter.burst
    assert cluster.limiter.waited == waited == 0  # the apply of 120 objects did not wait either
    cluster.close()
