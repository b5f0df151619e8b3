"""What one person owns: ``people/<name>.yaml``, their consent to share their home.

A person's home directory holds their credentials, notebooks and drafts. It is mounted into a
project only after its owner agreed, in a file only that person (and the platform team) may
change: ``mofang-gitops codeowners`` makes them the file's sole reviewers.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from mofang_gitops.models.base import Name, SpecDocument, StrictModel, UserName, register
from mofang_gitops.models.identities import safe_name


class HomeGrant(StrictModel):
    """Where the person's home directory may be mounted."""

    projects: list[Name] = Field(default_factory=list)
    """Projects whose workloads owned by this person may mount the person's home. A project not
    listed gets no volume for it, and a workload there that mounts it is refused."""


class PersonSpec(StrictModel):
    """A person's own settings."""

    identity: UserName | None = None
    """The identity as the identity provider gives it (``zhang.san@corp.example``); defaults to
    ``metadata.name``, which must then be its DNS-safe name."""
    home: HomeGrant = Field(default_factory=HomeGrant)
    """Consent to mount the home directory."""


@register
class Person(SpecDocument):
    """A person (``people/<name>.yaml``): ``metadata.name`` is the identity's DNS-safe name."""

    KIND: ClassVar[str] = "Person"
    kind: Literal["Person"]
    """Always ``Person``."""
    spec: PersonSpec
    """The person's settings."""

    @model_validator(mode="after")
    def _named_after_the_identity(self) -> Person:
        expected = safe_name(self.identity)
        if self.name != expected:
            raise ValueError(
                f"metadata.name must be {expected!r}, the DNS-safe name of identity "
                f"{self.identity!r} (one file per person)"
            )
        return self

    @property
    def identity(self) -> str:
        """Whose file this is, exactly as RBAC and workload owners spell it."""
        return self.spec.identity or self.name

    def allows_home_in(self, project: str) -> bool:
        """Whether workloads of ``project`` that this person owns may mount their home."""
        return project in self.spec.home.projects
