"""Store status documents the running cluster produced in tests/testdata/status/.

Runs with ``MOFANG_RECORD_STATUS=1`` rewrite them; the pure tests (tests/health/test_rules.py,
tests/render/test_run_conditions.py) read them, so the health rules and the step conditions are
checked on real controller output without a cluster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

STATUS_DIR = Path(__file__).resolve().parents[1] / "testdata" / "status"


def trimmed(document: Mapping[str, Any]) -> dict[str, Any]:
    """What a rule or a step's condition reads: no uid, resourceVersion, managedFields."""
    meta = document["metadata"]
    kept = {k: meta[k] for k in ("name", "namespace", "generation", "labels") if k in meta}
    return {
        "apiVersion": document["apiVersion"],
        "kind": document["kind"],
        "metadata": kept,
        "spec": document.get("spec", {}),
        "status": document.get("status", {}),
    }


def recording() -> bool:
    """Whether this run rewrites the recorded documents."""
    return os.environ.get("MOFANG_RECORD_STATUS") == "1"


def record(
    by: str,
    name: str,
    document: Mapping[str, Any],
    expect: str,
    related: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> None:
    """Write ``<name>.yaml``: the ``# expect:`` line, ``# recorded live by`` the test file ``by``,
    then the object (JSON is YAML) and what ``status`` lists beside it (``workflows``, ``pods``,
    ``events``). A Workflow's ``status.storedTemplates`` is left out."""
    if not recording():
        return
    body: dict[str, Any] = trimmed(document)
    # A Workflow's copy of every template it ran: large, and read by no rule.
    body["status"] = {k: v for k, v in body["status"].items() if k != "storedTemplates"}
    for key, items in (related or {}).items():
        body[key] = [trimmed(item) for item in items]
    STATUS_DIR.mkdir(parents=True, exist_ok=True)
    source = Path(by).resolve().relative_to(STATUS_DIR.parents[2])
    text = f"# expect: {expect}\n# recorded live by {source}\n{json.dumps(body, indent=2)}\n"
    (STATUS_DIR / f"{name}.yaml").write_text(text)
