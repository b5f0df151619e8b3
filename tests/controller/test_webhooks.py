import base64
import hashlib
import hmac
import io
import json
import time
import uuid

import pytest

from mofang_gitops.controller.deliveries import DeliveryMemory
from mofang_gitops.controller.webhooks import (
    MAX_BODY_BYTES,
    WebhookReceiver,
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


# --- binding, delivery IDs and replays (WebhookReceiver), GitLab signing tokens -------------


def delivered(provider: str, body: bytes, delivery: str = "", **kw) -> dict:
    header = {"github": "X-GitHub-Delivery", "gitea": "X-Gitea-Delivery"}.get(
        provider, "X-Gitlab-Webhook-UUID"
    )
    return {
        "Content-Length": str(len(body)),
        header: delivery or str(uuid.uuid4()),
        **headers_for(provider, body, **kw),
    }


def receive(receiver: WebhookReceiver, headers: dict, body: bytes, path: str = ""):
    return receiver.receive(path or receiver.provider, headers, io.BytesIO(body))


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
def test_a_replayed_delivery_is_refused(provider):
    receiver = WebhookReceiver(provider, SECRET, "main")
    body = push()
    headers = delivered(provider, body, "d-1")
    assert receive(receiver, headers, body).status == 200
    again = receive(receiver, headers, body)
    assert again.status == 409 and not again.triggers and "d-1" in again.reason


def test_a_replayed_body_under_a_fresh_delivery_id_is_refused():
    receiver = WebhookReceiver("github", SECRET, "main")
    body = push()
    assert receive(receiver, delivered("github", body, "first"), body).status == 200
    assert receive(receiver, delivered("github", body, "second"), body).status == 409


def test_refused_deliveries_are_not_remembered():
    receiver = WebhookReceiver("github", SECRET, "main")
    body = push()
    forged = delivered("github", body, "d-2", secret=b"wrong")
    assert receive(receiver, forged, body).status == 401
    assert receive(receiver, delivered("github", body, "d-2"), body).status == 200


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
def test_a_delivery_without_an_id_is_refused(provider):
    receiver = WebhookReceiver(provider, SECRET, "main")
    body = push()
    headers = {"Content-Length": str(len(body)), **headers_for(provider, body)}
    result = receive(receiver, headers, body)
    assert result.status == 400 and "delivery ID" in result.reason


@pytest.mark.parametrize(
    ("configured", "path", "status"),
    [("github", "gitlab", 404), ("gitlab", "github", 404), ("gitea", "github", 404)],
)
def test_only_the_configured_provider_path_is_served(configured, path, status):
    receiver = WebhookReceiver(configured, SECRET, "main")
    body = push()
    assert receive(receiver, delivered(path, body), body, path).status == status


@pytest.mark.parametrize(
    ("configured", "foreign"),
    [("github", "X-Gitlab-Token"), ("github", "X-Gitea-Signature"),
     ("gitlab", "X-Hub-Signature-256"), ("gitlab", "X-GitHub-Event"), ("gitea", "X-Gitlab-Event")],
)  # fmt: skip
def test_headers_only_another_provider_sends_are_refused(configured, foreign):
    receiver = WebhookReceiver(configured, SECRET, "main")
    body = push()
    headers = {**delivered(configured, body), foreign: "x"}
    result = receive(receiver, headers, body)
    assert result.status == 400 and foreign.lower() in result.reason


def test_gitea_may_send_its_github_compatible_headers():
    receiver = WebhookReceiver("gitea", SECRET, "main")
    body = push()
    headers = {**delivered("gitea", body), "X-GitHub-Event": "push", "X-Gogs-Event": "push"}
    assert receive(receiver, headers, body).status == 200


def test_the_gitlab_token_must_match_whole():
    body = push()
    for token in (SECRET[:-1], SECRET + b"x", b""):
        headers = headers_for("gitlab", body, token)
        assert handle_webhook("gitlab", headers, body, SECRET, "main").status == 401


SIGNING_KEY = bytes(range(32))
SIGNING_TOKEN = b"whsec_" + base64.b64encode(SIGNING_KEY)


def standard(body: bytes, delivery: str = "msg_1", stamp: int | None = None, key=SIGNING_KEY):
    stamp = int(time.time()) if stamp is None else stamp
    signed = f"{delivery}.{stamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "X-Gitlab-Event": "Push Hook",
        "webhook-id": delivery,
        "webhook-timestamp": str(stamp),
        "webhook-signature": f"v1,{signature}",
        "Content-Length": str(len(body)),
    }


def test_gitlab_signing_token_verifies_the_hmac_signature():
    receiver = WebhookReceiver("gitlab", SIGNING_TOKEN, "main")
    body = push()
    assert receive(receiver, standard(body), body).status == 200


def test_with_a_signing_token_the_plain_gitlab_token_is_not_enough():
    body = push()
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SIGNING_TOKEN.decode()}
    assert handle_webhook("gitlab", headers, body, SIGNING_TOKEN, "main").status == 401


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-id": "msg_2"},  # the id is signed
        {"webhook-timestamp": str(int(time.time()) + 1)},  # so is the timestamp
        {"webhook-signature": "v1,AAAA"},
        {"webhook-signature": ""},
    ],
)
def test_gitlab_signature_covers_id_and_timestamp(change):
    body = push()
    headers = {**standard(body), **change}
    assert handle_webhook("gitlab", headers, body, SIGNING_TOKEN, "main").status == 401


def test_gitlab_signature_with_a_stale_timestamp_is_refused():
    body = push()
    old = standard(body, stamp=int(time.time()) - 301)
    assert handle_webhook("gitlab", old, body, SIGNING_TOKEN, "main").status == 401
    fresh = standard(body, stamp=int(time.time()) - 200)
    assert handle_webhook("gitlab", fresh, body, SIGNING_TOKEN, "main").status == 200


def test_gitlab_signature_list_during_key_rotation():
    body = push()
    headers = standard(body)
    other = standard(body, key=b"k" * 32)["webhook-signature"]
    headers["webhook-signature"] = f"{other} {headers['webhook-signature']}"
    assert handle_webhook("gitlab", headers, body, SIGNING_TOKEN, "main").status == 200


def test_delivery_memory_is_bounded_and_forgets_after_its_ttl():
    now = [0.0]
    memory = DeliveryMemory(capacity=3, ttl=10, clock=lambda: now[0])
    assert all(memory.remember([f"k{n}"]) for n in range(5))
    assert len(memory) == 3
    assert memory.remember(["k0"])  # evicted as the oldest: new again
    assert not memory.remember(["k4"])
    now[0] = 11
    assert memory.remember(["k4"])  # expired
    assert len(memory) == 1
