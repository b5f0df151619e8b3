"""The per-user view: a person sees only the projects they own or belong to.

People are named the way notebooks name them (platform.yaml ``ingress.auth``): the auth proxy's
trusted header, or a JWT checked against the issuer's keys fetched over real HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from mofang_gitops.controller.statuses import StatusBoard, SyncState, TargetStatus
from mofang_gitops.manifests import Target
from mofang_gitops.web import JwtKeys, PerUser, Site
from tests.web.jwt_issuer import ISSUER, Issuer, serve_issuer

GROUP = {
    "name": "gpu-a100",
    "cluster": "central",
    "capacity": {"cpu": "64", "memory": "512Gi", "gpu": 16},
    "gpuResource": "nvidia.com/gpu",
    "gpuType": "A100",
    "quota": {
        "vision": {"cpu": "32", "memory": "256Gi", "gpu": 8},
        "speech": {"cpu": "16", "memory": "64Gi", "gpu": 4},
    },
}


def _board(auth: dict[str, Any]) -> StatusBoard:
    board = StatusBoard()
    board.set_fact(
        "projects",
        {
            "vision": {"owners": ["alice"], "members": ["bob"], "description": "images"},
            "speech": {"owners": ["carol"], "members": [], "description": "audio"},
        },
    )
    board.set_fact("platform", {"clusters": ["central"], "resourceGroups": [GROUP], "auth": auth})
    for project in ("vision", "speech"):
        board.put(TargetStatus(Target("prod", "central", project), SyncState.SYNCED, "a" * 40))
    return board


def _shown(text: str) -> set[str]:
    return set(re.findall(r'tr class="project-row" data-project="([a-z-]+)"', text))


HEADER = {"mode": "header", "header": "kubeflow-userid", "prefix": "accounts:"}


@pytest.fixture
def header_site() -> Site:
    return Site(_board(HEADER), per_user=PerUser(JwtKeys()))


def test_the_proxy_header_names_the_person_who_sees_only_their_projects(header_site: Site) -> None:
    as_bob = {"kubeflow-userid": "accounts:bob"}
    page = header_site.get("/", "", as_bob)
    assert page.status == 200 and _shown(page.body.decode()) == {"vision"}
    assert "signed in as <strong>bob</strong>" in page.body.decode()
    assert _shown(
        header_site.get("/", "", {"kubeflow-userid": "accounts:carol"}).body.decode()
    ) == {"speech"}
    assert header_site.get("/projects/vision", "", as_bob).status == 200
    assert header_site.get("/projects/speech", "", as_bob).status == 404


def test_the_resource_groups_page_counts_other_projects_without_naming_them(
    header_site: Site,
) -> None:
    text = header_site.get(
        "/resource-groups", "", {"kubeflow-userid": "accounts:bob"}
    ).body.decode()
    assert 'data-project="vision"' in text and "speech" not in text
    assert "1 other project(s)" in text


def test_without_the_header_or_its_prefix_nobody_is_shown_anything(header_site: Site) -> None:
    for headers in ({}, {"kubeflow-userid": "bob"}, {"kubeflow-userid": "accounts:"}):
        page = header_site.get("/", "", headers)
        assert page.status == 401 and "data-project" not in page.body.decode()
    assert header_site.get("/projects/vision", "", {}).status == 401


def test_a_person_in_no_project_is_told_so(header_site: Site) -> None:
    text = header_site.get("/", "", {"kubeflow-userid": "accounts:mallory"}).body.decode()
    assert "No project lists mallory as an owner or member." in text


def test_without_the_per_user_view_everyone_sees_every_project() -> None:
    assert _shown(Site(_board(HEADER)).get("/").body.decode()) == {"vision", "speech"}


def test_before_the_first_pass_the_auth_mode_is_unknown_and_pages_refuse() -> None:
    page = Site(StatusBoard(), per_user=PerUser(JwtKeys())).get("/", "", {"kubeflow-userid": "x"})
    assert page.status == 503


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issuer]:
    with serve_issuer(tmp_path_factory.mktemp("issuer")) as found:
        yield found


def _jwt_site(issuer: Issuer, **auth: Any) -> Site:
    mode = {"mode": "jwt", "issuer": ISSUER, "jwksUri": issuer.jwks_uri, "audiences": []}
    mode |= {"claim": "sub", "prefix": "", **auth}
    return Site(_board(mode), per_user=PerUser(JwtKeys(issuer.trust)))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac_token(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 token built by hand (PyJWT itself refuses to key HMAC with a PEM)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_a_verified_jwt_names_the_person(issuer: Issuer) -> None:
    site = _jwt_site(issuer)
    page = site.get("/", "", _bearer(issuer.token("carol")))
    assert page.status == 200 and _shown(page.body.decode()) == {"speech"}


def test_a_jwt_claim_and_audience_are_checked_as_configured(issuer: Issuer) -> None:
    site = _jwt_site(issuer, claim="email", audiences=["mofang"])
    good = issuer.token("x", email="alice", aud="mofang")
    assert _shown(site.get("/", "", _bearer(good)).body.decode()) == {"vision"}
    assert site.get("/", "", _bearer(issuer.token("x", email="alice", aud="other"))).status == 401
    assert site.get("/", "", _bearer(issuer.token("alice", aud="mofang"))).status == 401  # no email


def test_expired_foreign_unsigned_or_forged_tokens_are_refused(issuer: Issuer) -> None:
    site = _jwt_site(issuer)
    public_pem = issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"sub": "alice", "iss": ISSUER, "exp": 9_999_999_999}
    forged = _hmac_token(claims, public_pem)  # the classic confusion: HMAC keyed by the public key
    unsigned = jwt.encode({"sub": "alice", "iss": ISSUER, "exp": 9_999_999_999}, None, "none")
    for token in (
        issuer.token("alice", ttl=-60),
        issuer.token("alice", issuer="https://elsewhere.example"),
        forged,
        unsigned,
        "not-a-token",
    ):
        page = site.get("/", "", _bearer(token))
        assert page.status == 401, token
        assert "data-project" not in page.body.decode()
    assert site.get("/", "", {}).status == 401
