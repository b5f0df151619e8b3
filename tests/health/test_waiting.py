"""`wait_healthy`: done, degraded and timed out, on health values as the reader returns them."""

from __future__ import annotations

from collections.abc import Iterator

from mofang_gitops.health import Health, ObjectHealth, TargetHealth, Verdict, wait_healthy


def _target(*healths: Health) -> TargetHealth:
    objects = tuple(
        ObjectHealth(
            cluster="c",
            environment="prod",
            project="p",
            kind="TFJob",
            namespace="p",
            name=f"job-{i}",
            source=f"Training.job-{i}",
            verdict=Verdict(h, str(h)),
        )
        for i, h in enumerate(healths)
    )
    return TargetHealth(environment="prod", cluster="c", project="p", objects=objects)


def _reads(*targets: TargetHealth) -> Iterator[list[TargetHealth]]:
    yield from ([t] for t in targets)


WATCHED = {("c", "TFJob", "p", "job-0"), ("c", "TFJob", "p", "job-1")}


def test_the_wait_ends_ok_once_every_watched_object_is_healthy() -> None:
    reads = _reads(
        _target(Health.PROGRESSING, Health.HEALTHY), _target(Health.HEALTHY, Health.SUSPENDED)
    )
    seen: list[int] = []
    result = wait_healthy(
        lambda: next(reads), WATCHED, timeout=60, interval=0, progress=lambda o: seen.append(len(o))
    )
    assert result.ok and seen == [2, 2]


def test_a_degraded_object_ends_the_wait_at_once_with_its_reason_first() -> None:
    reads = _reads(_target(Health.PROGRESSING, Health.DEGRADED))
    result = wait_healthy(lambda: next(reads), WATCHED, timeout=60, interval=0)
    assert not result.ok and not result.timed_out
    assert result.failed[0].health is Health.DEGRADED


def test_the_wait_times_out_while_something_still_progresses() -> None:
    ticks = iter([0.0, 0.0, 5.0, 11.0])
    result = wait_healthy(
        lambda: [_target(Health.PROGRESSING, Health.HEALTHY)],
        WATCHED,
        timeout=10,
        interval=0,
        clock=lambda: next(ticks),
    )
    assert result.timed_out and not result.ok
    assert [o.name for o in result.failed] == ["job-0"]
