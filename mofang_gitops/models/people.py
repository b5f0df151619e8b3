"""What one person owns: ``people/<identity>.yaml``, their consent to share their home.

A person's home directory holds their credentials, notebooks and drafts. It is mounted into a
project only after its owner agreed, in a file only that person (and the platform team) may
change: ``mofang-gitops codeowners`` makes them the file's sole reviewers.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from mofang_gitops.models.base import Name, SpecDocument, StrictModel, register


class HomeGrant(StrictModel):
    """Where the person's home directory may be mounted."""

    projects: list[Name] = Field(default_factory=list)
    """Projects whose workloads owned by this person may mount the person's home. A project not
    listed gets no volume for it, and a workload there that mounts it is refused."""


class PersonSpec(StrictModel):
    """A person's own settings."""

    home: HomeGrant = Field(default_factory=HomeGrant)
    """Consent to mount the home directory."""


@register
class Person(SpecDocument):
    """A person (``people/<identity>.yaml``); ``metadata.name`` is the identity."""

    KIND: ClassVar[str] = "Person"
    kind: Literal["Person"]
    """Always ``Person``."""
    spec: PersonSpec
    """The person's settings."""

    def allows_home_in(self, project: str) -> bool:
        """Whether workloads of ``project`` that this person owns may mount their home."""
        return project in self.spec.home.projects
