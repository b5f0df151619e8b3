"""Render notebooks: not written yet."""

from __future__ import annotations

from mofang_gitops.rendering.context import TargetContext


def render(ctx: TargetContext) -> None:
    """Render the notebooks of one target."""
