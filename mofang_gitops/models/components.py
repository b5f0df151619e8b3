"""Reusable pipeline steps: a typed, versioned container step that pipelines call by name.

Platform-wide components live in ``components/<name>.yaml`` (the platform team owns them), a
project's own in ``projects/<p>/components/<name>.yaml``. A pipeline task names one with
``component:`` and passes ``inputs:``; ``{{inputs.<name>}}`` in the command, arguments and
environment is replaced by the value in Python (``substitute_inputs``), once, so a value that
itself contains ``{{`` stays literal text (Argo's own ``{{workflow.scheduledTime}}`` included).
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from mofang_gitops.models.base import (
    EnvVarName,
    Resources,
    SpecDocument,
    StrictModel,
    register,
)
from mofang_gitops.models.text import Arg, Description, EnvValue, ImageName, SingleLine

MAX_INPUT_NUMBER = 1e15
"""Largest magnitude of a number input (it becomes command-line text; exact as a float)."""
InputValue = (
    EnvValue
    | bool
    | Annotated[int, Field(ge=-int(MAX_INPUT_NUMBER), le=int(MAX_INPUT_NUMBER))]
    | Annotated[float, Field(ge=-MAX_INPUT_NUMBER, le=MAX_INPUT_NUMBER, allow_inf_nan=False)]
)
"""What a task may pass for an input (checked against the input's declared type)."""
InputName = Annotated[str, SingleLine, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
Version = Annotated[
    str,
    SingleLine,
    Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$", max_length=40),
]
"""A semantic version such as ``1.2.0``."""
PLACEHOLDER = re.compile(r"\{\{\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
"""``{{inputs.name}}`` (spaces inside the braces allowed)."""
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}


def value_fits(value: InputValue, kind: str) -> bool:
    """Whether ``value`` has the input type ``kind`` (a bool is never a number, nor a string)."""
    if isinstance(value, bool) and kind != "bool":
        return False
    return isinstance(value, _TYPES[kind])


def render_value(value: InputValue) -> str:
    """An input value as command-line text: ``true``/``false`` for booleans, else ``str``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute_inputs(text: str, values: dict[str, InputValue]) -> str:
    """Replace each ``{{inputs.x}}`` by its value in one pass (values are never re-scanned)."""
    return PLACEHOLDER.sub(lambda m: render_value(values[m.group(1)]), text)


class Input(StrictModel):
    """One typed parameter of a component."""

    name: InputName
    """Referenced as ``{{inputs.<name>}}``."""
    type: Literal["string", "int", "float", "bool"] = "string"
    """Type of the value a task passes."""
    default: InputValue | None = None
    """Value when a task passes none; without a default the input is required."""
    description: Description = ""
    """For people."""

    @model_validator(mode="after")
    def _default_has_the_type(self) -> Input:
        if self.default is not None and not value_fits(self.default, self.type):
            raise ValueError(f"default {self.default!r} of input {self.name} is not a {self.type}")
        return self


class Output(StrictModel):
    """A value the step writes to a file; Argo publishes it as an output parameter."""

    name: InputName
    """Output parameter name (``{{tasks.<step>.outputs.parameters.<name>}}`` downstream)."""
    path: Annotated[str, SingleLine, Field(max_length=255, pattern=r"^/[^\s]*$")]
    """File the step writes the value to."""
    description: Description = ""
    """For people."""


class ComponentSpec(StrictModel):
    """A container step with typed inputs."""

    version: Version
    """Semantic version; a task that pins ``version`` must match it."""
    description: Description = ""
    """For people (shown by ``mofang-gitops new``)."""
    image: ImageName
    """A platform image name, or a full image from an allowed registry."""
    command: list[Arg] = Field(min_length=1, max_length=256)
    """Command (at most 256 words); may hold ``{{inputs.<name>}}``."""
    args: list[Arg] = Field(default_factory=list, max_length=256)
    """Arguments (at most 256); may hold ``{{inputs.<name>}}``."""
    env: dict[EnvVarName, EnvValue] = Field(default_factory=dict, max_length=256)
    """Environment variables (at most 256); values may hold ``{{inputs.<name>}}``."""
    inputs: list[Input] = Field(default_factory=list, max_length=64)
    """Typed inputs (at most 64)."""
    outputs: list[Output] = Field(default_factory=list, max_length=64)
    """Values the step publishes (at most 64)."""
    resources: Resources
    """Requests of the step (a task may override them)."""

    @model_validator(mode="after")
    def _placeholders_are_declared(self) -> ComponentSpec:
        names = [i.name for i in self.inputs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"input names must be unique: {', '.join(dupes)}")
        texts = [*self.command, *self.args, *self.env.values()]
        used = {m.group(1) for text in texts for m in PLACEHOLDER.finditer(text)}
        unknown = sorted(used - set(names))
        if unknown:
            raise ValueError(f"placeholders name undeclared inputs: {', '.join(unknown)}")
        return self

    def input(self, name: str) -> Input | None:
        """The input called ``name``."""
        return next((i for i in self.inputs if i.name == name), None)


@register
class Component(SpecDocument):
    """A reusable step (``components/<name>.yaml`` or ``projects/<p>/components/<name>.yaml``)."""

    KIND: ClassVar[str] = "Component"
    kind: Literal["Component"]
    """Always ``Component``."""
    spec: ComponentSpec
    """The component definition."""
