"""Allow ``python -m mofang_gitops``."""

from mofang_gitops.cli import main

raise SystemExit(main())
