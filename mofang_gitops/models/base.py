"""Shared building blocks: the strict base model, constrained string types, resources."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from mofang_gitops.models.identities import IDENTITY_MAX, check_identity
from mofang_gitops.models.quantities import (
    DURATION_PATTERN,
    QUANTITY_PATTERN,
    normalize_quantity,
    parse_duration,
    parse_quantity,
)
from mofang_gitops.models.text import SingleLine

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")

MAX_CPU = Decimal(10_000_000)
"""Most CPU cores any quantity may name (ten million: more than the largest clusters hold)."""
MAX_BYTES = Decimal(2**60)
"""Most bytes any memory or storage quantity may name (1Ei)."""
MAX_GPU = 1_000_000
"""Most GPUs (or vGPU units) any count may name."""
MAX_REPLICAS = 10_000
"""Most replicas of one role, and the highest ``maxWorkers`` policy."""


class StrictModel(BaseModel):
    """Base for everything people write: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, populate_by_name=True
    )


def _check_quantity(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a quantity such as 500m, 4, 16Gi")
    return normalize_quantity(value)


def _bounded_quantity(limit: Decimal, shown: str) -> Any:
    """A validator of quantities at most ``limit`` (``shown`` is how people write it)."""

    def check(value: Any) -> str:
        text = _check_quantity(value)
        if parse_quantity(text) > limit:
            raise ValueError(f"{text} is above {shown}, more than any cluster holds")
        return text

    return check


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_label_key(value: str) -> str:
    if len(value) > 253 or not _LABEL_KEY.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes label key")
    return value


def _check_label_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes label value")
    return value


Name = Annotated[
    str,
    SingleLine,
    Field(pattern=DNS1123_LABEL, max_length=40),
    WithJsonSchema({"type": "string", "pattern": DNS1123_LABEL, "maxLength": 40}),
]
"""A DNS-1123 label kept short (40) so that derived object names stay under 63 characters."""
UserName = Annotated[
    str,
    SingleLine,
    AfterValidator(check_identity),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": IDENTITY_MAX,
            "pattern": r"^[^\s/\\]+$",
            "description": "A user identity as the identity provider gives it "
            "(zhang.san, li_si, Wang.Wu, zhang.san@corp.example).",
        }
    ),
]
"""A person as the cluster's authenticator names them; derived names use ``safe_name``."""
_QUANTITY_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "pattern": QUANTITY_PATTERN, "maxLength": 32},
            {"type": "number", "minimum": 0},
        ]
    }
)
CpuQuantity = Annotated[
    str, BeforeValidator(_bounded_quantity(MAX_CPU, "10000000 cores")), SingleLine, _QUANTITY_SCHEMA
]
"""CPU cores as a Kubernetes quantity, at most ten million cores."""
ByteQuantity = Annotated[
    str, BeforeValidator(_bounded_quantity(MAX_BYTES, "1Ei")), SingleLine, _QUANTITY_SCHEMA
]
"""Memory or storage as a Kubernetes quantity, at most 1Ei."""
Duration = Annotated[
    str,
    SingleLine,
    AfterValidator(_check_duration),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "maxLength": 32}),
]
"""A duration such as ``90s`` or ``1h30m``, at most 366d."""
LabelKey = Annotated[
    str,
    SingleLine,
    AfterValidator(_check_label_key),
    WithJsonSchema({"type": "string", "maxLength": 253}),
]
"""A Kubernetes label key (``prefix/name``, at most 253 characters)."""
LabelValue = Annotated[
    str,
    SingleLine,
    AfterValidator(_check_label_value),
    WithJsonSchema({"type": "string", "maxLength": 63}),
]
"""A Kubernetes label value (at most 63 characters)."""
EnvVarName = Annotated[str, SingleLine, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
GpuCount = Annotated[int, Field(ge=0, le=MAX_GPU)]
"""A whole number of GPUs (or vGPU units), at most a million."""
MountTier = Literal["user", "project", "global"]


class Resources(StrictModel):
    """Requests of one container; CPU and memory are also its limits' basis, GPUs are whole."""

    cpu: CpuQuantity
    """CPU cores, e.g. ``4`` or ``500m``; at most 10000000."""
    memory: ByteQuantity
    """Memory, e.g. ``16Gi``; at most 1Ei."""
    gpu: GpuCount = 0
    """Whole GPUs (or vGPU units) of the resource group's GPU resource; at most 1000000."""

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
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=64)
    """Extra labels copied onto every object rendered from this spec (at most 64)."""


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
