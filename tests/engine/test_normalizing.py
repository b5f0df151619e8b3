"""The local "unchanged?" decision, on live objects shaped as the API server returns them."""

from __future__ import annotations

import copy
from typing import Any

from mofang_gitops.engine.diffing import changed_diff, created_diff, describe, dry_run_changes
from mofang_gitops.engine.normalizing import Verdict, compare_owned, values_equal

DESIRED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "nb", "namespace": "p", "labels": {"x": "y"}},
    "spec": {
        "serviceName": "nb",
        "replicas": 1,
        "selector": {"matchLabels": {"app": "nb"}},
        "template": {
            "metadata": {"labels": {"app": "nb"}},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "img:1",
                        "ports": [{"containerPort": 8888}],
                        "env": [{"name": "A", "value": "1"}],
                        "resources": {
                            "limits": {"cpu": "1000m", "memory": "1024Mi"},
                            "requests": {"cpu": 1},
                        },
                    }
                ]
            },
        },
    },
}

OUR_FIELDS = {
    "f:metadata": {"f:labels": {"f:x": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:selector": {},
        "f:serviceName": {},
        "f:template": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:containers": {
                    'k:{"name":"main"}': {
                        ".": {},
                        "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {
                            'k:{"containerPort":8888,"protocol":"TCP"}': {
                                ".": {},
                                "f:containerPort": {},
                            }
                        },
                        "f:resources": {
                            "f:limits": {"f:cpu": {}, "f:memory": {}},
                            "f:requests": {"f:cpu": {}},
                        },
                    }
                }
            },
        },
    },
}


def live_object(fields: dict[str, Any] = OUR_FIELDS, **changes: Any) -> dict[str, Any]:
    """The StatefulSet as the server returns it: canonical quantities, defaults, other managers."""
    container = {
        "name": "main",
        "image": "img:1",
        "ports": [{"containerPort": 8888, "protocol": "TCP"}],
        "env": [{"name": "A", "value": "1"}],
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1"}},
        "terminationMessagePath": "/dev/termination-log",
        "imagePullPolicy": "IfNotPresent",
    }
    live = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "nb",
            "namespace": "p",
            "uid": "u1",
            "resourceVersion": "42",
            "labels": {"x": "y", "added-by-someone": "z"},
            "managedFields": [
                {
                    "manager": "mofang-gitops",
                    "operation": "Apply",
                    "apiVersion": "apps/v1",
                    "time": "t",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": fields,
                },
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "apps/v1",
                    "subresource": "status",
                    "fieldsV1": {"f:status": {}},
                },
            ],
        },
        "spec": {
            "serviceName": "nb",
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nb"}},
            "podManagementPolicy": "OrderedReady",
            "template": {
                "metadata": {"labels": {"app": "nb"}},
                "spec": {"containers": [container], "restartPolicy": "Always"},
            },
        },
        "status": {"replicas": 0},
    }
    for dotted, value in changes.items():
        node = live
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value
    return live


def test_canonical_quantities_defaults_and_foreign_fields_are_unchanged():
    assert compare_owned(DESIRED, live_object()).verdict is Verdict.SAME


def test_changed_value_of_a_field_we_own_is_a_change_with_its_path():
    desired = copy.deepcopy(DESIRED)
    desired["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "2"
    result = compare_owned(desired, live_object())
    assert result.verdict is Verdict.CHANGED
    assert result.paths == (".spec.template.spec.containers[name=main].resources.limits.cpu",)


def test_field_we_set_before_and_no_longer_want_is_a_change():
    desired = copy.deepcopy(DESIRED)
    desired["metadata"]["labels"] = {"other": "label"}
    result = compare_owned(desired, live_object())
    assert result.paths == (".metadata.labels.other", ".metadata.labels.x")


def test_new_list_item_is_a_change():
    desired = copy.deepcopy(DESIRED)
    desired["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "B", "value": "2"})
    assert compare_owned(desired, live_object()).verdict is Verdict.CHANGED


def test_field_taken_over_by_another_manager_is_drift_named_by_manager():
    fields = copy.deepcopy(OUR_FIELDS)
    del fields["f:spec"]["f:replicas"]
    live = live_object(fields, spec__replicas=5)
    live["metadata"]["managedFields"].append(
        {
            "manager": "kubectl-edit",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    )
    result = compare_owned(DESIRED, live)
    assert result.verdict is Verdict.CHANGED
    assert result.managers == ("kubectl-edit",)
    assert describe(result) == ".spec.replicas; drift by kubectl-edit"


def test_atomic_map_change_is_detected():
    live = live_object(spec__selector={"matchLabels": {"app": "nb", "extra": "1"}})
    assert compare_owned(DESIRED, live).paths == (".spec.selector",)


def test_object_never_applied_by_us_is_in_doubt():
    live = live_object()
    live["metadata"]["managedFields"] = []
    assert compare_owned(DESIRED, live).verdict is Verdict.DOUBT


def test_secret_string_data_compares_with_base64_data():
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "p"},
        "stringData": {"k": "v"},
        "type": "Opaque",
    }
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "s",
            "namespace": "p",
            "managedFields": [
                {
                    "manager": "mofang-gitops",
                    "operation": "Apply",
                    "apiVersion": "v1",
                    "fieldsV1": {"f:stringData": {"f:k": {}}, "f:type": {}},
                }
            ],
        },
        "data": {"k": "dg=="},
        "type": "Opaque",
    }
    assert compare_owned(desired, live).verdict is Verdict.SAME
    desired["stringData"]["k"] = "secret-value"
    assert compare_owned(desired, live).paths == (".data.k",)
    diff = changed_diff(desired, live, "c:Secret/p/s")
    assert "secret-value" not in diff and "dg==" not in diff
    assert "+  k: '*** (changed)'" in diff
    assert "secret-value" not in created_diff(desired, "c:Secret/p/s")


def test_quantities_are_compared_by_value_but_not_in_metadata():
    assert values_equal("1000m", "1")
    assert values_equal("1024Mi", "1Gi")
    assert values_equal(4, "4")
    assert not values_equal("1000m", "1", in_meta=True)
    assert not values_equal(True, 1)
    assert not values_equal("2", "1")


def test_diff_shows_only_fields_we_set():
    desired = copy.deepcopy(DESIRED)
    desired["spec"]["replicas"] = 2
    diff = changed_diff(desired, live_object(), "c:StatefulSet/p/nb")
    assert "-  replicas: 1\n+  replicas: 2\n" in diff
    for noise in (
        "podManagementPolicy",
        "terminationMessagePath",
        "added-by-someone",
        "managedFields",
        "status",
        "1Gi",
    ):
        assert noise not in diff


def test_dry_run_result_equal_to_live_but_for_timestamps_is_no_change():
    live = live_object()
    dry = copy.deepcopy(live)
    dry["metadata"]["managedFields"][0]["time"] = "later"
    assert not dry_run_changes(dry, live)
    dry["spec"]["replicas"] = 3
    assert dry_run_changes(dry, live)
