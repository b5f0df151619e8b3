"""``validate --fix``: write the values validation decided back into the person's files.

Validation never changes what it loaded; with ``onViolation: clamp`` it returns a resolved copy
of each over-limit spec (``Validation.resolved``) and a warning per clamped value. The fixes are
the differences between the loaded and the resolved spec, found field by field with deepdiff,
and written with ``yamlio.roundtrip.replace_values``, which changes only those values' characters.
Only what validation itself resolved is ever written, so a fix is as safe as the clamp it makes
permanent; a file whose value is not a plain one-line scalar is reported, not rewritten.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepdiff import DeepDiff

from mofang_gitops.errors import MofangError
from mofang_gitops.sources.loading import Loaded
from mofang_gitops.validation.repository import Validation
from mofang_gitops.yamlio.roundtrip import EditError, FieldPath, replace_values


@dataclass(frozen=True)
class Fix:
    """One value of one file: what it says, what validation resolved it to."""

    path: str
    field: FieldPath
    old: Any
    new: Any

    def __str__(self) -> str:
        dotted = ".".join(str(part) for part in self.field)
        return f"{self.path}: {dotted}: {self.old!r} -> {self.new!r}"


def find_fixes(validation: Validation, projects: list[str]) -> list[Fix]:
    """Every value the resolved view holds differently from the file, per file, in field order."""
    fixes = []
    for name, resolved in sorted(validation.resolved.items()):
        if projects and name not in projects:
            continue
        loaded_specs = validation.repo.projects[name]
        pairs: list[tuple[Loaded[Any], Loaded[Any]]] = [
            *((loaded_specs.notebooks[n], nb) for n, nb in resolved.notebooks.items()),
            *((loaded_specs.trainings[n], tr) for n, tr in resolved.trainings.items()),
        ]
        for loaded, decided in pairs:
            if loaded.model is not decided.model:
                fixes.extend(_differences(loaded, decided))
    return fixes


def _differences(loaded: Loaded[Any], decided: Loaded[Any]) -> list[Fix]:
    before = loaded.model.spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    after = decided.model.spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    diff = DeepDiff(before, after, view="tree")
    found = []
    for change in diff.get("values_changed", []):
        field = ("spec", *change.path(output_format="list"))
        found.append(Fix(loaded.doc.path, field, change.t1, change.t2))
    return sorted(found, key=lambda fix: [str(part) for part in fix.field])


def apply_fixes(root: Path, fixes: list[Fix]) -> list[str]:
    """Rewrite each file once with all of its fixes; return the files that could not be fixed."""
    by_file: dict[str, list[Fix]] = defaultdict(list)
    for fix in fixes:
        by_file[fix.path].append(fix)
    failed = []
    for path, file_fixes in sorted(by_file.items()):
        target = root / path
        try:
            text = target.read_text(encoding="utf-8")
            fixed = replace_values(text, {fix.field: fix.new for fix in file_fixes})
            target.write_text(fixed, encoding="utf-8")
        except EditError as e:
            failed.append(f"{path}: {e}")
        except OSError as e:
            raise MofangError(f"cannot rewrite {target}: {e}") from e
    return failed
