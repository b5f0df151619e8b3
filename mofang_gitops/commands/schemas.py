"""``mofang-gitops schemas``: write the JSON Schemas of the spec kinds, or check they are fresh."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mofang_gitops.errors import MofangError
from mofang_gitops.models.schemas import generate_schemas, stale_schemas, write_schemas

NAME = "schemas"
HELP = "write the JSON Schema of every spec kind (or --check that the checked-in ones are fresh)"
EXAMPLE = "mofang-gitops schemas --check   # exit 1 when schemas/ differs from the models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--out`` and ``--check``."""
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory of the schemas (default: <repo>/schemas)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 listing the files that are missing or stale",
    )


def run(args: argparse.Namespace) -> int:
    """Write or check the schemas; return 0 when fresh (or written), 1 when ``--check`` fails."""
    directory: Path = args.out if args.out is not None else Path(args.repo) / "schemas"
    if args.check:
        stale = stale_schemas(directory)
        _report(args.format, directory, stale, checking=True)
        return 1 if stale else 0
    try:
        changed = write_schemas(directory)
    except OSError as e:
        raise MofangError(f"cannot write schemas to {directory}: {e}") from e
    _report(args.format, directory, changed, checking=False)
    return 0


def _report(fmt: str, directory: Path, files: list[str], *, checking: bool) -> None:
    if fmt == "json":
        key = "stale" if checking else "written"
        print(json.dumps({"directory": str(directory), key: files}, indent=2))
        return
    total = len(generate_schemas())
    if checking and files:
        for name in files:
            print(f"{directory / name}: stale or missing", file=sys.stderr)
        print(
            f"{len(files)} of {total} schemas are stale; run `mofang-gitops schemas` to update",
            file=sys.stderr,
        )
    elif checking:
        print(f"{total} schemas in {directory} are up to date")
    elif files:
        for name in files:
            print(f"wrote {directory / name}")
    else:
        print(f"{total} schemas in {directory} are already up to date")
