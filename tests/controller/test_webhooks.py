import hashlib
import hmac
import io
import json

import pytest

from mofang_gitops.controller.webhooks import (
    MAX_BODY_BYTES,
    handle_webhook,
    read_body,
    receive_webhook,
)

SECRET = b"s3cret"


def push(ref: str = "refs/heads/main", after: str = "a" * 40) -> bytes:
    return json.dumps({"ref": ref, "after": after}).encode()


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def headers_for(provider: str, body: bytes, secret: bytes = SECRET, event: str = "") -> dict:
    if provider == "github":
        return {
            "X-GitHub-Event": event or "push",
            "X-Hub-Signature-256": "sha256=" + sign(body, secret),
        }
    if provider == "gitea":
        return {"X-Gitea-Event": event or "push", "X-Gitea-Signature": sign(body, secret)}
    return {"X-Gitlab-Event": event or "Push Hook", "X-Gitlab-Token": secret.decode()}


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
def test_signed_push_to_watched_branch_triggers(provider):
    body = push()
    result = handle_webhook(provider, headers_for(provider, body), body, SECRET, "main")
    assert result.status == 200 and result.triggers
    assert result.branch == "main" and result.revision == "a" * 40


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
def test_wrong_secret_is_refused_with_401(provider):
    body = push()
    result = handle_webhook(provider, headers_for(provider, body, b"wrong"), body, SECRET, "main")
    assert result.status == 401 and not result.triggers


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
def test_missing_signature_is_refused_with_401(provider):
    body = push()
    assert handle_webhook(provider, {}, body, SECRET, "main").status == 401


def test_tampered_body_fails_hmac():
    body = push()
    headers = headers_for("github", body)
    assert handle_webhook("github", headers, push("refs/heads/evil"), SECRET, "main").status == 401


def test_empty_secret_refuses_everything():
    body = push()
    headers = headers_for("gitlab", body, b"")
    assert handle_webhook("gitlab", headers, body, b"", "main").status == 401


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
def test_push_to_other_branch_is_ignored_with_202(provider):
    body = push("refs/heads/feature")
    result = handle_webhook(provider, headers_for(provider, body), body, SECRET, "main")
    assert result.status == 202 and not result.triggers


def test_tag_push_is_ignored():
    body = push("refs/tags/main")
    assert handle_webhook("github", headers_for("github", body), body, SECRET, "main").status == 202


@pytest.mark.parametrize(
    ("provider", "event"),
    [("github", "ping"), ("gitea", "pull_request"), ("gitlab", "Tag Push Hook")],
)
def test_other_events_are_ignored(provider, event):
    body = push()
    result = handle_webhook(
        provider, headers_for(provider, body, event=event), body, SECRET, "main"
    )
    assert result.status == 202


@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"after": "x"}', b'{"ref": 3}']
)
def test_malformed_or_incomplete_payload_is_400(body):
    assert handle_webhook("github", headers_for("github", body), body, SECRET, "main").status == 400


def test_unknown_provider_is_404():
    assert handle_webhook("bitbucket", {}, b"", SECRET, "main").status == 404


def test_header_names_are_case_insensitive():
    body = push()
    headers = {k.lower(): v for k, v in headers_for("github", body).items()}
    assert handle_webhook("github", headers, body, SECRET, "main").triggers


def test_signature_hex_case_is_ignored():
    body = push()
    headers = {"X-Gitea-Event": "push", "X-Gitea-Signature": sign(body).upper()}
    assert handle_webhook("gitea", headers, body, SECRET, "main").triggers


class ExplodingStream:
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("body must not be read")


def test_oversized_content_length_is_413_before_reading():
    headers = {"Content-Length": str(MAX_BODY_BYTES + 1)}
    result = receive_webhook("github", headers, ExplodingStream(), SECRET, "main")
    assert result.status == 413


def test_custom_limit_applies():
    body = push()
    headers = {"Content-Length": str(len(body)), **headers_for("github", body)}
    assert (
        receive_webhook("github", headers, io.BytesIO(body), SECRET, "main", limit=10).status == 413
    )


@pytest.mark.parametrize("value", [None, "abc", "-1"])
def test_missing_or_bad_content_length_is_400(value):
    headers = {} if value is None else {"Content-Length": value}
    assert receive_webhook("github", headers, ExplodingStream(), SECRET, "main").status == 400


def test_read_is_bounded_by_content_length():
    stream = io.BytesIO(b"x" * 100)
    assert read_body({"Content-Length": "10"}, stream) == b"x" * 10
    assert stream.tell() == 10


def test_receive_reads_verifies_and_triggers():
    body = push()
    headers = {"Content-Length": str(len(body)), **headers_for("gitea", body)}
    result = receive_webhook("gitea", headers, io.BytesIO(body), SECRET, "main")
    assert result.triggers and result.provider == "gitea"
