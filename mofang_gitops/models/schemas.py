"""JSON Schemas of the spec kinds, generated from the pydantic models (checked in as ``schemas/``).

Editors use them through the ``# yaml-language-server: $schema=...`` line at the top of every spec
file; ``mofang-gitops schemas --check`` (and a test) keeps the checked-in copies from drifting away
from the models. Output is deterministic: sorted keys, two-space indent, a trailing newline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import CoreSchema, core_schema

from mofang_gitops import API_VERSION
from mofang_gitops.models.base import KIND_MODELS

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = "https://mofang.io/schemas/v1alpha1/"
"""``$id`` prefix; the file name completes it."""


class _SpecSchemaGenerator(GenerateJsonSchema):
    """Pydantic's generator without the auto-made field titles (``Resourcegroup``, ``Dependson``).

    Field descriptions come from the models' attribute docstrings; a title derived from the
    Python attribute name only adds noise to editor tooltips.
    """

    def field_title_should_be_set(
        self, schema: CoreSchema | core_schema.ModelField | core_schema.DataclassField
    ) -> bool:
        """Never set titles on fields; models keep theirs."""
        return False


def schema_file_name(kind: str) -> str:
    """Return the schema file name of a kind, e.g. ``training.json``."""
    return f"{kind.lower()}.json"


def _tighten_maps(node: Any) -> Any:
    """Turn pydantic's ``patternProperties`` for constrained map keys into ``propertyNames``.

    Pydantic describes ``dict[Name, X]`` as ``patternProperties: {<pattern>: X}``, which lets keys
    that do not match the pattern through with any value. The models reject such keys, so the
    schema does too: the pattern moves into ``propertyNames`` and ``X`` becomes
    ``additionalProperties``.
    """
    if isinstance(node, list):
        return [_tighten_maps(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _tighten_maps(value) for key, value in node.items()}
    patterns = result.get("patternProperties")
    if (
        isinstance(patterns, dict)
        and len(patterns) == 1
        and "properties" not in result
        and "additionalProperties" not in result
    ):
        ((pattern, value_schema),) = patterns.items()
        del result["patternProperties"]
        names = dict(result.get("propertyNames") or {})
        names["pattern"] = pattern
        result["propertyNames"] = names
        result["additionalProperties"] = value_schema
    return result


def kind_schema(kind: str) -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of one spec kind."""
    model = KIND_MODELS[kind]
    schema = _tighten_maps(
        model.model_json_schema(mode="validation", schema_generator=_SpecSchemaGenerator)
    )
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = SCHEMA_ID_BASE + schema_file_name(kind)
    schema["title"] = f"{kind} ({API_VERSION})"
    return dict(schema)


def render_schema(schema: dict[str, Any]) -> str:
    """Serialise a schema deterministically: sorted keys, indent 2, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate_schemas() -> dict[str, str]:
    """Return ``{"<kind>.json": <JSON text>}`` for every registered kind, in file-name order."""
    files = {schema_file_name(kind): render_schema(kind_schema(kind)) for kind in KIND_MODELS}
    return dict(sorted(files.items()))


def stale_schemas(directory: Path) -> list[str]:
    """Return the file names in ``directory`` that are missing or differ from the models."""
    stale = []
    for name, text in generate_schemas().items():
        path = directory / name
        try:
            current = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            stale.append(name)
            continue
        if current != text:
            stale.append(name)
    return stale


def write_schemas(directory: Path) -> list[str]:
    """Write every schema into ``directory`` (created if needed); return the files that changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = stale_schemas(directory)
    generated = generate_schemas()
    for name in changed:
        (directory / name).write_text(generated[name], encoding="utf-8")
    return changed
