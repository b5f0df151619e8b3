"""The ``mofang-gitops`` command line. Only this module prints and decides exit codes.

Exit codes (DESIGN.md section 9): 0 clean / no changes, 1 invalid specs or changes found,
2 usage or runtime error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from mofang_gitops import __version__
from mofang_gitops.errors import InputError, MofangError, UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
COMMAND_MODULES = (
    "validate",
    "render",
    "diff",
    "plan",
    "apply",
    "status",
    "controller",
    "schemas",
    "codeowners",
    "new",
    "dev",
    "wait_upstream",
)
"""Modules of ``mofang_gitops.commands``; each defines NAME, HELP, EXAMPLE, add_arguments, run."""

log = logging.getLogger("mofang_gitops")


def _common_options(suppress: bool = False) -> argparse.ArgumentParser:
    """Options accepted before and after the command.

    The copy given to subcommands suppresses defaults, else its defaults would overwrite values
    given before the command (``mofang-gitops --repo X validate``).
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    repo = Path(os.environ.get("MOFANG_REPO", "."))
    group.add_argument(
        "--repo",
        type=Path,
        default=default(repo),
        help="platform repository checkout (default: current directory)",
    )
    group.add_argument(
        "--environment",
        "-e",
        action="append",
        default=default([]),
        help="only this environment (repeatable)",
    )
    group.add_argument(
        "--cluster",
        "-c",
        action="append",
        default=default([]),
        help="only this cluster (repeatable)",
    )
    group.add_argument(
        "--project",
        "-p",
        action="append",
        default=default([]),
        help="only this project (repeatable)",
    )
    group.add_argument(
        "--kubeconfig",
        type=Path,
        default=default(None),
        help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)",
    )
    group.add_argument(
        "--context",
        default=default(None),
        help="kubeconfig context for every cluster (default: each cluster's own)",
    )
    group.add_argument(
        "--format",
        "-o",
        choices=["text", "markdown", "json", "yaml"],
        default=default("text"),
        help="output format",
    )
    group.add_argument(
        "--no-color", action="store_true", default=default(False), help="never colour output"
    )
    group.add_argument(
        "--debug", action="store_true", default=default(False), help="debug logging and tracebacks"
    )
    return common


def _available_commands(only: str | None = None) -> list[ModuleType]:
    """Import command modules; just ``only`` when the command line names one (fast start-up)."""
    modules = []
    for name in (only,) if only else COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(f"mofang_gitops.commands.{name}"))
        except ModuleNotFoundError as e:
            if e.name != f"mofang_gitops.commands.{name}":
                raise
    return modules


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the parser: every command for help, only the named one when running it."""
    common = _common_options()
    sub_common = _common_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog="mofang-gitops",
        description="GitOps for the Mofang ML platform: validate, render, diff and apply specs.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    named = [a.replace("-", "_") for a in (argv or ()) if a.replace("-", "_") in COMMAND_MODULES]
    for module in _available_commands(named[0] if named else None):
        command = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.HELP,
            parents=[sub_common],
            epilog=f"example:\n  {module.EXAMPLE}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.handler(args)
        return code
    except InputError as e:
        for problem in sorted(e.problems):
            print(problem, file=sys.stderr)
        return EXIT_FINDINGS
    except UsageError as e:
        print(f"mofang-gitops: {e}", file=sys.stderr)
        return EXIT_ERROR
    except MofangError as e:
        print(f"mofang-gitops: error: {e}", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (``| head``): not an error; keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("mofang-gitops: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001 - the CLI is the one place that turns bugs into exit 2
        print(f"mofang-gitops: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        else:
            print("(run again with --debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR
