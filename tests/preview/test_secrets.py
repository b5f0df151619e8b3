"""Secret values never leave the preview, in any format (Secrets are built by hand: none render)."""

from __future__ import annotations

import base64
import json

import pytest

from mofang_gitops.manifests import Manifest, ObjectRef, RenderedTarget, Target
from mofang_gitops.previewing import (
    Preview,
    ProjectPreview,
    diff_targets,
    format_markdown,
    format_text,
    preview_data,
)

PASSWORD = "hunter2-very-secret"
TOKEN = "tok-abcdef-0123456789"
B64 = base64.b64encode(PASSWORD.encode()).decode()
TARGET = Target("prod", "central", "vision")


def _secret(name: str, data: dict[str, str], string_data: dict[str, str]) -> Manifest:
    lines = [
        'apiVersion: "v1"',
        'kind: "Secret"',
        "metadata:",
        f'  name: "{name}"',
        '  namespace: "vision"',
        'type: "Opaque"',
        "data:",
        *(f'  "{k}": "{v}"' for k, v in data.items()),
        "stringData:",
        *(f'  "{k}": "{v}"' for k, v in string_data.items()),
    ]
    return Manifest(
        ObjectRef("", "Secret", "vision", name),
        "v1",
        "\n".join(lines) + "\n",
        "Training.resnet50",
        "projects/vision/trainings/resnet50.yaml",
    )


def _preview(before: list[Manifest], after: list[Manifest]) -> Preview:
    targets = diff_targets(
        [RenderedTarget(TARGET, "vision", tuple(before))],
        [RenderedTarget(TARGET, "vision", tuple(after))],
    )
    return Preview("aaaa", "bbbb", projects=(ProjectPreview("vision", tuple(targets), ()),))


OLD = _secret("db", {"password": base64.b64encode(b"old-secret-value").decode()}, {"token": "t0"})
NEW = _secret(
    "db", {"password": B64, "user": base64.b64encode(b"admin").decode()}, {"token": TOKEN}
)


@pytest.mark.parametrize(
    ("before", "after"),
    [([], [NEW]), ([OLD], [NEW]), ([NEW], [])],
    ids=["created", "changed", "deleted"],
)
def test_secret_values_never_appear_in_any_format(
    before: list[Manifest], after: list[Manifest]
) -> None:
    preview = _preview(before, after)
    assert preview.changed
    outputs = [
        format_text(preview),
        format_text(preview, color=True),
        format_markdown(preview),
        json.dumps(preview_data(preview)),
    ]
    for output in outputs:
        for secret in (PASSWORD, B64, TOKEN, "old-secret-value", "t0"):
            assert secret not in output
        assert "Secret/vision/db" in output


def test_a_changed_secret_shows_which_keys_changed_but_no_value() -> None:
    preview = _preview([OLD], [NEW])
    diff = "\n".join(preview.projects[0].targets[0].changes[0].diff)
    assert "-  password: '***'" in diff
    assert "+  password: '*** (changed)'" in diff
    assert "+  user: '***'" in diff
    assert "+  token: '*** (changed)'" in diff


def test_an_unreadable_secret_is_hidden_whole() -> None:
    broken = Manifest(ObjectRef("", "Secret", "vision", "x"), "v1", f"data: [{PASSWORD}\n")
    preview = _preview([], [broken])
    for output in (
        format_text(preview),
        format_markdown(preview),
        json.dumps(preview_data(preview)),
    ):
        assert PASSWORD not in output
        assert "content hidden" in output
