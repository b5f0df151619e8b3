"""``mofang-gitops new``: write a valid, commented spec from the platform's catalogue.

Every choice (image, resource group, environments, owner, framework, sizes) comes from a flag,
else from a prompt on a terminal, else from the catalogue's first fitting entry, so scripts get
the same file every time. The comments list what the catalogue offers (images, groups, policy
limits), so the file explains itself. An existing file is never overwritten. The repository is
validated right after writing, and the command fails if the new spec has any error.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mofang_gitops.commands import specs_catalogue as catalogue
from mofang_gitops.commands.common import load_validated, print_problems
from mofang_gitops.errors import MofangError, UsageError
from mofang_gitops.models.base import DNS1123_LABEL
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.yamlio.roundtrip import dump_commented

NAME = "new"
HELP = "write a new, valid, commented spec (project, notebook, training, pipeline, component)"
EXAMPLE = "mofang-gitops new notebook alice-dev --project vision --owner alice --gpu 1"
KINDS = ("project", "notebook", "training", "pipeline", "component")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The kind and name, and one flag per choice a prompt would otherwise ask."""
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("name", help="DNS-1123 name of the new spec (and of its file)")
    parser.add_argument("--owner", help="owner (project, notebook)")
    parser.add_argument("--image", help="platform image name or full image reference")
    parser.add_argument("--resource-group", dest="resource_group", help="resource group")
    parser.add_argument("--framework", choices=catalogue.FRAMEWORKS, help="training framework")
    parser.add_argument("--gpu", type=int, help="GPUs per notebook or training worker")
    parser.add_argument("--no-input", action="store_true", help="never prompt, even on a terminal")


def run(args: argparse.Namespace) -> int:
    """Write the spec; exit 0 when it validates, 1 when it does not."""
    root: Path = args.repo.resolve()
    if not re.match(DNS1123_LABEL, args.name) or len(args.name) > 40:
        raise UsageError(f"{args.name!r} is not a DNS-1123 name (lowercase, digits, '-', <= 40)")
    repo = load_repo(DirectoryTree(root), set())
    if repo.platform is None:
        raise UsageError(f"{root}: no valid platform.yaml to take the catalogue from")
    ask = _asker(interactive=sys.stdin.isatty() and not args.no_input)
    choices = catalogue.Choices(
        owner=args.owner,
        image=args.image,
        resource_group=args.resource_group,
        framework=args.framework,
        gpu=args.gpu,
        environments=list(args.environment),
    )
    project = args.project[0] if args.project else None
    files = catalogue.build(args.kind, args.name, project, repo, repo.platform.model, choices, ask)
    for path, _, _ in files:
        if (root / path).exists():
            raise UsageError(f"{path} exists; refusing to overwrite it")
    for path, document, header in files:
        target = root / path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(dump_commented(document, header), encoding="utf-8")
        except OSError as e:
            raise MofangError(f"cannot write {target}: {e}") from e
        print(f"wrote {path}")
    written = {path for path, _, _ in files}
    problems = [p for p in load_validated(args).problems if p.location.path in written]
    print_problems(problems, args.format)
    return 1 if any(p.is_error for p in problems) else 0


Ask = Callable[[str, Sequence[str], str], str]


def _asker(*, interactive: bool) -> Ask:
    """Prompt for a choice on a terminal; otherwise take the default without asking."""

    def ask(label: str, options: Sequence[str], default: str) -> str:
        if not interactive:
            return default
        shown = f" ({', '.join(options)})" if options else ""
        while True:
            answer = input(f"{label}{shown} [{default}]: ").strip() or default
            if not options or answer in options:
                return answer
            print(f"choose one of: {', '.join(options)}", file=sys.stderr)

    return ask
