"""The jinja2 environment and the emitter that turns one template into one ``Manifest``.

Safety rule: templates never write a user's value raw. Every value goes through ``q`` (JSON
encoding, which is also a valid YAML flow scalar/collection), so a string holding newlines,
colons or ``{{ }}`` stays one scalar and can never add a key. ``StrictUndefined`` turns a typo in
a template into an error instead of an empty value.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2

from mofang_gitops.errors import RenderBudgetError
from mofang_gitops.manifests import (
    ANNOTATION_SOURCE_PATH,
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_PROJECT,
    LABEL_SOURCE,
    MANAGER,
    Manifest,
    ObjectRef,
    api_group,
)

_encode_string: Callable[[str], str] = json.encoder.encode_basestring
"""What ``json.dumps(s, ensure_ascii=False)`` does for a ``str`` (the C encoder), without the
encoder object ``json.dumps`` builds per call: ``|q`` runs hundreds of thousands of times."""


def quote(value: Any) -> str:
    """Encode a value as JSON: a safe YAML scalar, or a flow mapping/sequence."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("mofang_gitops", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,  # templates are package data: no stat() per object rendered
)
_ENV.filters["q"] = quote
_templates: dict[str, jinja2.Template] = {}


def template(name: str) -> jinja2.Template:
    """Return a compiled template, looked up once per process."""
    found = _templates.get(name)
    if found is None:
        found = _templates[name] = _ENV.get_template(name)
    return found


@dataclass(frozen=True)
class ObjectHeader:
    """What the ``header`` macro writes: identity, labels and annotations of one object."""

    api_version: str
    kind: str
    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]
    generate_name: str = ""
    """Set instead of ``name`` for objects created once per run by someone else (Argo)."""


def render_object(template_name: str, header: ObjectHeader, **values: Any) -> str:
    """The text of one object: ``template_name`` laid out around ``header`` and ``values``."""
    return template(template_name).render(obj=header, **values)


@dataclass
class Emitter:
    """Collects the manifests of one target; every object gets our ownership labels."""

    project: str
    environment: str
    extra_labels: dict[str, str] = field(default_factory=dict)
    manifests: list[Manifest] = field(default_factory=list)
    deadline: float = math.inf
    """``time.monotonic()`` after which emitting raises ``RenderBudgetError``."""

    def labels(self, source: str) -> dict[str, str]:
        """Ownership labels of DESIGN.md section 4 (no per-commit values)."""
        labels = dict(self.extra_labels)
        labels.update(
            {
                LABEL_MANAGED_BY: MANAGER,
                LABEL_PROJECT: self.project,
                LABEL_ENVIRONMENT: self.environment,
                LABEL_SOURCE: source,
            }
        )
        return labels

    def emit(
        self,
        template_name: str,
        *,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        source: str,
        source_path: str,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        meta: dict[str, Any] | None = None,
        **values: Any,
    ) -> Manifest:
        """Render ``template_name`` for one object and record it.

        ``labels`` and ``annotations`` are extra metadata; ours (section 4) always win.
        """
        if time.monotonic() > self.deadline:
            raise RenderBudgetError(
                f"project {self.project}: rendering ran over its time budget "
                f"after {len(self.manifests)} object(s) of environment {self.environment}"
            )
        header = ObjectHeader(
            api_version=api_version,
            kind=kind,
            name=name,
            namespace=namespace,
            labels={**(labels or {}), **self.labels(source)},
            annotations={**(annotations or {}), ANNOTATION_SOURCE_PATH: source_path},
        )
        manifest = Manifest(
            ref=ObjectRef(group=api_group(api_version), kind=kind, namespace=namespace, name=name),
            api_version=api_version,
            text=render_object(template_name, header, **values),
            source=source,
            source_path=source_path,
            meta=meta or {},
        )
        self.manifests.append(manifest)
        return manifest


@dataclass(frozen=True)
class SpecEmitter:
    """Emits the objects of one spec into one namespace: source, path and usual name fixed.

    Each renderer used to wrap ``Emitter.emit`` in a closure of its own that fixed the same
    three or four values; this is that closure, once.
    """

    emitter: Emitter
    namespace: str
    source: str
    source_path: str
    name: str = ""
    """The name of objects emitted without one (a notebook's StatefulSet, Service, ...)."""

    def emit(
        self, template: str, api_version: str, kind: str, name: str = "", **values: Any
    ) -> Manifest:
        """Render ``template`` for one object of this spec (``name`` or the spec's default)."""
        object_name = name or self.name
        assert object_name, f"{kind} of {self.source} needs a name"
        return self.emitter.emit(
            template,
            api_version=api_version,
            kind=kind,
            name=object_name,
            namespace=self.namespace,
            source=self.source,
            source_path=self.source_path,
            **values,
        )
