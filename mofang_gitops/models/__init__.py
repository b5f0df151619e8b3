"""Pydantic models of every spec kind (``mofang.io/v1alpha1``): what people write in git."""

from mofang_gitops.models.base import KIND_MODELS, Metadata, SpecDocument
from mofang_gitops.models.components import Component
from mofang_gitops.models.people import Person
from mofang_gitops.models.platform import Environment, Platform
from mofang_gitops.models.project import Project, Quota
from mofang_gitops.models.workloads import Notebook, Pipeline, Training

__all__ = [
    "KIND_MODELS",
    "Component",
    "Environment",
    "Metadata",
    "Notebook",
    "Person",
    "Pipeline",
    "Platform",
    "Project",
    "Quota",
    "SpecDocument",
    "Training",
]
