"""``mofang-gitops render``: the manifests of every valid project, as YAML.

Without ``--out`` the output is one multi-document stream that ``kubectl apply -f -`` accepts,
each target's objects preceded by a ``# <env>/<cluster>/<project>`` comment. With ``--out DIR``
each target becomes ``DIR/<env>/<cluster>/<project>.yaml``, so a CI job can commit or diff the
directory. An invalid project never stops the others: its problems go to stderr, the rest is
rendered, and the exit code says something was left out.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from mofang_gitops.commands.common import check_filters, load_validated, print_problems
from mofang_gitops.errors import Problem, UsageError
from mofang_gitops.manifests import RenderedTarget, Target
from mofang_gitops.models.base import DNS1123_LABEL
from mofang_gitops.rendering import render_repo
from mofang_gitops.validation.repository import Validation

NAME = "render"
HELP = "render every valid project into Kubernetes manifests (stdout, or one file per target)"
EXAMPLE = "mofang-gitops --repo . render -e prod -p vision | kubectl apply --server-side -f -"
INDEX_FILE = ".mofang-render"
"""Lists the files the last render wrote into ``--out DIR``: the only files it may remove."""
_NAME = re.compile(DNS1123_LABEL)
StaleCheck = Callable[[Target], bool]
"""Whether this run speaks for an earlier target (may remove its file)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--out``."""
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write DIR/<env>/<cluster>/<project>.yaml per target instead of stdout; files of "
        "targets that no longer render are removed (only files an earlier render wrote)",
    )


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every selected project rendered, 1 when any was invalid (or the platform)."""
    validation = load_validated(args)
    check_filters(args, validation)
    problems = _selected_problems(validation, args.project)
    # Always text on stderr: stdout carries the YAML stream.
    print_problems(problems, "text")
    if not validation.platform_ok:
        print("invalid platform: nothing rendered", file=sys.stderr)
        return 1
    targets = render_repo(
        validation,
        environments=args.environment,
        clusters=args.cluster,
        projects=args.project,
    )
    if args.out is None:
        sys.stdout.write(render_stream(targets))
    else:
        written, removed = write_targets(args.out, targets, _stale_filter(args, validation))
        print(
            f"{args.out}: wrote {written} file(s), removed {removed} stale file(s)",
            file=sys.stderr,
        )
    return 1 if any(p.severity == "error" for p in problems) else 0


def _selected_problems(validation: Validation, projects: Sequence[str]) -> list[Problem]:
    """Problems of the platform, the environments and the selected projects."""
    if not projects:
        return list(validation.problems)
    wanted = tuple(f"projects/{p}/" for p in projects)
    return [
        p
        for p in validation.problems
        if not p.location.path.startswith("projects/") or p.location.path.startswith(wanted)
    ]


def target_text(target: RenderedTarget) -> str:
    """One target's objects: a comment naming the target, then one document per object.

    Identities whose objects carry another name follow as comments (``# identity zhang.san ->
    zhang-san-5aee43``), so a reader can find a person's volume and bindings; the objects
    themselves do not change. Validation refused whitespace and control characters in
    identities, so one cannot end the comment line.
    """
    parts = [f"# {target.target}\n"]
    parts += [f"# identity {who} -> {name}\n" for who, name in target.identities]
    for manifest in target.manifests:
        text = manifest.text if manifest.text.endswith("\n") else manifest.text + "\n"
        parts.append("---\n" + text)
    return "".join(parts)


def render_stream(targets: Iterable[RenderedTarget]) -> str:
    """Every target in order, as one multi-document YAML stream."""
    return "".join(target_text(t) for t in targets)


def target_path(target: Target) -> Path:
    """``<env>/<cluster>/<project>.yaml``, relative to the output directory."""
    return Path(target.environment, target.cluster, f"{target.project}.yaml")


def _stale_filter(args: argparse.Namespace, validation: Validation) -> StaleCheck:
    """Which earlier targets this run speaks for: selected by the filters and not invalid.

    An invalid project keeps its old file: it failed to render, it was not removed.
    """
    envs, clusters, projects = set(args.environment), set(args.cluster), set(args.project)

    def covers(target: Target) -> bool:
        return (
            (not envs or target.environment in envs)
            and (not clusters or target.cluster in clusters)
            and (not projects or target.project in projects)
            and target.project not in validation.invalid_projects
        )

    return covers


def write_targets(
    out: Path, targets: Sequence[RenderedTarget], covers: StaleCheck
) -> tuple[int, int]:
    """Write one file per target under ``out``; remove files of targets that are gone.

    Only files listed in ``out``'s index (written by an earlier render) are ever removed, so
    ``--out`` pointed at a directory holding anything else never loses a file. Unchanged files
    are not rewritten, so their timestamps say when they last changed.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: not a directory")
    previous = _read_index(out)
    written = set()
    for target in targets:
        relative = target_path(target.target)
        _write_if_changed(out / relative, target_text(target))
        written.add(relative)
    removed = 0
    kept = set()
    for relative, old in previous.items():
        if relative in written:
            continue
        if covers(old):
            (out / relative).unlink(missing_ok=True)
            _remove_empty_parents(out, relative)
            removed += 1
        else:
            kept.add(relative)
    index = "".join(f"{p.as_posix()}\n" for p in sorted(written | kept))
    _write_if_changed(out / INDEX_FILE, index)
    return len(written), removed


def _read_index(out: Path) -> dict[Path, Target]:
    """Files listed by the previous render; lines that are not a target path are ignored."""
    index = out / INDEX_FILE
    if not index.is_file():
        return {}
    found = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        parts = line.split("/")
        if len(parts) != 3 or not parts[2].endswith(".yaml"):
            continue
        env, cluster, project = parts[0], parts[1], parts[2].removesuffix(".yaml")
        if all(_NAME.fullmatch(part) for part in (env, cluster, project)):
            found[Path(line)] = Target(env, cluster, project)
    return found


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds it (deterministic output, stable mtimes)."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _remove_empty_parents(out: Path, relative: Path) -> None:
    """Remove ``<env>/<cluster>`` and ``<env>`` directories the removal left empty."""
    for parent in (relative.parent, relative.parent.parent):
        directory = out / parent
        if directory != out and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
