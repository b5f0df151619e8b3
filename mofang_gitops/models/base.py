"""Shared building blocks: the strict base model, constrained string types, resources."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from mofang_gitops.models.quantities import (
    DURATION_PATTERN,
    QUANTITY_PATTERN,
    normalize_quantity,
    parse_duration,
    parse_quantity,
)

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


class StrictModel(BaseModel):
    """Base for everything people write: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, populate_by_name=True
    )


def _check_quantity(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a quantity such as 500m, 4, 16Gi")
    return normalize_quantity(value)


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_label_key(value: str) -> str:
    if len(value) > 253 or not _LABEL_KEY.match(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes label key")
    return value


def _check_label_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes label value")
    return value


Name = Annotated[
    str,
    Field(pattern=DNS1123_LABEL, max_length=40),
    WithJsonSchema({"type": "string", "pattern": DNS1123_LABEL, "maxLength": 40}),
]
"""A DNS-1123 label kept short (40) so that derived object names stay under 63 characters."""
UserName = Annotated[str, Field(pattern=DNS1123_LABEL, max_length=40)]
Quantity = Annotated[
    str,
    BeforeValidator(_check_quantity),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": QUANTITY_PATTERN},
                {"type": "number", "minimum": 0},
            ]
        }
    ),
]
Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]
LabelKey = Annotated[str, AfterValidator(_check_label_key)]
LabelValue = Annotated[str, AfterValidator(_check_label_value)]
EnvVarName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
MountTier = Literal["user", "project", "global"]


class Resources(StrictModel):
    """Requests of one container; CPU and memory are also its limits' basis, GPUs are whole."""

    cpu: Quantity
    """CPU cores, e.g. ``4`` or ``500m``."""
    memory: Quantity
    """Memory, e.g. ``16Gi``."""
    gpu: int = Field(default=0, ge=0)
    """Whole GPUs (or vGPU units) of the resource group's GPU resource."""

    @property
    def cpu_value(self) -> Decimal:
        """CPU in cores."""
        return parse_quantity(self.cpu)

    @property
    def memory_value(self) -> Decimal:
        """Memory in bytes."""
        return parse_quantity(self.memory)


class Metadata(StrictModel):
    """Identity of a spec document."""

    name: Name
    """DNS-1123 label; for Project and Quota it equals the directory name under ``projects/``."""
    project: Name | None = None
    """Optional; when given it must equal the directory the file lives in."""
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    """Extra labels copied onto every object rendered from this spec."""


class SpecDocument(StrictModel):
    """A Kubernetes-style document: ``apiVersion``, ``kind``, ``metadata``, ``spec``."""

    KIND: ClassVar[str] = ""
    apiVersion: Literal["mofang.io/v1alpha1"]
    """Always ``mofang.io/v1alpha1``."""
    metadata: Metadata
    """Name (and optionally project and labels) of this document."""

    @property
    def name(self) -> str:
        """Shortcut for ``metadata.name``."""
        return self.metadata.name


KIND_MODELS: dict[str, type[SpecDocument]] = {}


def register(model: type[SpecDocument]) -> type[SpecDocument]:
    """Record a document model under its kind so the loader can find it."""
    KIND_MODELS[model.KIND] = model
    return model
