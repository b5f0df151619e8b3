"""Render trainings: not written yet."""

from __future__ import annotations

from mofang_gitops.rendering.context import TargetContext


def render(ctx: TargetContext) -> None:
    """Render the trainings of one target."""
