"""One error hierarchy for the whole tool.

Two families matter to callers: ``InputError`` means the repository content is wrong and a person
must fix it (the controller reports it and keeps the last good revision), ``ClusterError`` means a
call to Kubernetes failed and may succeed on retry. Library code raises; only the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MofangError(Exception):
    """Base of every error this tool raises on purpose."""


class InvalidValueError(ValueError):
    """A model validator's refusal that knows the fix: loading shows ``hint`` with the error."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, order=True)
class Location:
    """Where in the repository a problem sits (1-based line and column; 0 when unknown)."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.column or 1}"
        return self.path


class Severity(StrEnum):
    """How bad a finding is: errors make a project invalid, warnings (a clamped request) inform."""

    ERROR = "error"
    WARNING = "warning"


def field_path(at: tuple[str | int, ...]) -> str:
    """The dotted form of a field path (``spec.roles.worker.replicas``), written in one place."""
    return ".".join(str(part) for part in at)


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about the user's input: an error, or a warning when ``severity`` says so."""

    location: Location
    subject: str = ""
    """``<Kind> <project>/<name>`` of the document, empty for file-level problems."""
    field: str = ""
    """Dotted field path inside the document, for example ``spec.resources.gpu``."""
    message: str = ""
    hint: str = ""
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        """Whether this finding makes its document invalid."""
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        parts = [str(self.location)]
        if self.subject:
            parts.append(self.subject)
        if self.field:
            parts.append(self.field)
        text = ": ".join(parts) + f": {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        if not self.is_error:
            text = f"{text} [{self.severity}]"
        return text

    def as_dict(self) -> dict[str, object]:
        """Return the problem as plain JSON-serialisable data."""
        return {
            "path": self.location.path,
            "line": self.location.line,
            "column": self.location.column,
            "subject": self.subject,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
            "severity": str(self.severity),
        }


@dataclass
class InputError(MofangError):
    """The repository content is invalid; carries every problem found, not only the first."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in sorted(self.problems))


class ClusterError(MofangError):
    """A Kubernetes API call failed. ``status`` is the HTTP status (0 when no answer came)."""

    def __init__(self, subject: str, message: str, status: int = 0) -> None:
        super().__init__(f"{subject}: {message}" if subject else message)
        self.subject = subject
        self.status = status

    @property
    def retriable(self) -> bool:
        """Whether trying again later may succeed (no answer, conflict, throttling, 5xx)."""
        return self.status in (0, 409, 429) or self.status >= 500


class NotFoundError(ClusterError):
    """The object or API does not exist (404)."""


class ConflictError(ClusterError):
    """Another field manager owns a field we want to set (409 on apply)."""


class InvalidObjectError(ClusterError):
    """The API server rejected the object (422, or 400 from schema validation)."""


class RenderBudgetError(MofangError):
    """Rendering one project took longer than its time budget (the controller's per-project cap)."""


class GitError(MofangError):
    """A git operation failed: the remote is down, a revision is missing, a fetch was refused."""


class UsageError(MofangError):
    """The command line asks for something impossible (unknown environment, bad flag value)."""
