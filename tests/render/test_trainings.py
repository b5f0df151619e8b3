"""Trainings render into gang-scheduled operator jobs, or a Katib Experiment, named per run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from syrupy.assertion import SnapshotAssertion

from mofang_gitops.devtools.controlplane import find_crds_dir
from mofang_gitops.manifests import Manifest, ObjectRef
from mofang_gitops.rendering import render_repo
from mofang_gitops.rendering.jobs import launcher_command
from mofang_gitops.rendering.trainings import run_name
from tests.render.conftest import DryRun
from tests.scenarios import build_repo, validate_dir

SCENARIO = "render-trainings"
PINNED = ["resnet50", "tf-ps", "pt-ddp", "xgb", "ray-eval", "vc-batch", "spark-etl", "hvd-search"]
"""One training per framework (resnet50 of minimal is horovod) and one search."""


def _render(root: Path) -> list[Manifest]:
    validation = validate_dir(root)
    assert validation.errors == []
    return [m for target in render_repo(validation) for m in target.manifests]


def _trainings(manifests: list[Manifest]) -> dict[str, Manifest]:
    found = {}
    for manifest in manifests:
        if manifest.source.startswith("Training."):
            name = manifest.source.removeprefix("Training.")
            assert name not in found, f"{name} rendered twice"
            found[name] = manifest
    return found


def _write(root: Path, name: str, text: str) -> None:
    (root / "projects" / "vision" / "trainings" / f"{name}.yaml").write_text(text)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Manifest]:
    return _trainings(_render(build_repo(tmp_path_factory.mktemp("trainings"), SCENARIO)))


@pytest.mark.parametrize("training", PINNED)
def test_each_framework_renders_as_pinned(
    rendered: dict[str, Manifest], training: str, snapshot: SnapshotAssertion
) -> None:
    assert rendered[training].text == snapshot


def test_every_training_is_a_one_shot_run_named_after_its_spec(
    rendered: dict[str, Manifest],
) -> None:
    for name, manifest in rendered.items():
        assert manifest.is_run, name
        assert manifest.ref.name.startswith(f"{name}-")
        assert len(manifest.ref.name) == len(name) + 7


def _pods(job: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(role, replicas, pod template) of every kind of training job."""
    spec = job["spec"]
    if job["kind"] == "RayJob":
        cluster = spec["rayClusterSpec"]
        yield "head", 1, cluster["headGroupSpec"]["template"]
        for group in cluster.get("workerGroupSpecs", []):
            yield group["groupName"], group["replicas"], group["template"]
    elif job["kind"] == "Job":
        for task in spec["tasks"]:
            yield task["name"], task["replicas"], task["template"]
    else:
        key = next(k for k in spec if k.endswith("ReplicaSpecs"))
        for role, replica in spec[key].items():
            yield role, replica["replicas"], replica["template"]


def test_jobs_are_gang_scheduled_in_the_project_queue(rendered: dict[str, Manifest]) -> None:
    for name in ("resnet50", "tf-ps", "pt-ddp", "xgb"):
        job = rendered[name].body
        total = sum(replicas for _, replicas, _ in _pods(job))
        assert job["spec"]["runPolicy"]["schedulingPolicy"] == {
            "minAvailable": total,
            "queue": "vision",
        }
    volcano = rendered["vc-batch"].body["spec"]
    assert (volcano["queue"], volcano["minAvailable"], volcano["schedulerName"]) == (
        "vision",
        4,
        "volcano",
    )
    ray = rendered["ray-eval"].body["metadata"]["labels"]
    assert ray["ray.io/scheduler-name"] == "volcano"
    assert ray["volcano.sh/queue-name"] == "vision"


def test_every_pod_is_placed_scheduled_and_sized(rendered: dict[str, Manifest]) -> None:
    for name in [n for n in PINNED[:-1] if n != "spark-etl"]:
        for role, _, template in _pods(rendered[name].body):
            pod = template["spec"]
            assert pod["schedulerName"] == "volcano"
            assert pod["serviceAccountName"] == "mofang-workload"
            assert template["metadata"]["annotations"] == {
                "scheduling.volcano.sh/queue-name": "vision"
            }
            resources = pod["containers"][0]["resources"]
            gpus = resources["requests"].get("nvidia.com/gpu")
            assert resources["limits"].get("nvidia.com/gpu") == gpus
            group = pod["nodeSelector"]["mofang.io/resource-group"]
            assert group == ("gpu-a100" if gpus else "cpu-general"), f"{name} {role}"
            assert ("affinity" in pod) == bool(gpus), f"{name} {role}"


def test_coordinators_run_on_cpu_nodes_and_workers_on_the_gpu_group(
    rendered: dict[str, Manifest],
) -> None:
    groups = {
        role: template["spec"]["nodeSelector"]["mofang.io/resource-group"]
        for role, _, template in _pods(rendered["tf-ps"].body)
    }
    assert groups == {
        "PS": "cpu-general",
        "Chief": "cpu-general",
        "Worker": "gpu-a100",
        "Evaluator": "cpu-general",
    }
    mpi = rendered["resnet50"].body["spec"]
    launcher = mpi["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]
    assert launcher["nodeSelector"] == {"mofang.io/resource-group": "cpu-general"}
    assert mpi["slotsPerWorker"] == 2
    assert launcher["containers"][0]["command"] == [
        *("horovodrun", "-np", "4", "--hostfile", "/etc/mpi/hostfile"),
        *("python", "train.py"),
    ]


def test_a_vgpu_group_gets_its_resource_name_and_ray_its_gpu_count(tmp_path: Path) -> None:
    root = build_repo(tmp_path, SCENARIO)
    platform = root / "platform.yaml"
    platform.write_text(platform.read_text().replace("nvidia.com/gpu", "volcano.sh/vgpu-number"))
    ray = _trainings(_render(root))["ray-eval"].body["spec"]["rayClusterSpec"]
    (worker,) = ray["workerGroupSpecs"]
    resources = worker["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["volcano.sh/vgpu-number"] == "1"
    assert resources["limits"]["volcano.sh/vgpu-number"] == "1"
    assert worker["rayStartParams"] == {"num-gpus": "1"}
    assert ray["headGroupSpec"]["rayStartParams"] == {}


def test_run_policy_durations_become_seconds(rendered: dict[str, Manifest]) -> None:
    policy = rendered["tf-ps"].body["spec"]["runPolicy"]
    assert (policy["ttlSecondsAfterFinished"], policy["activeDeadlineSeconds"]) == (3600, 21600)
    ray = rendered["ray-eval"].body["spec"]
    assert (ray["ttlSecondsAfterFinished"], ray["activeDeadlineSeconds"]) == (600, 7200)
    assert ray["entrypoint"] == "python eval.py --suite 'mmlu pro' --shards 2"
    volcano = rendered["vc-batch"].body["spec"]
    assert volcano["policies"][-1] == {"event": "PodFailed", "action": "TerminateJob"}


def test_search_renders_the_experiment_and_not_the_bare_job(
    rendered: dict[str, Manifest],
) -> None:
    experiment = rendered["hvd-search"].body
    assert experiment["kind"] == "Experiment"
    trial = experiment["spec"]["trialTemplate"]
    assert "metadata" not in trial["trialSpec"]
    launcher = trial["trialSpec"]["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]
    assert launcher["containers"][0]["args"] == [
        "--lr=${trialParameters.lr}",
        "--batch-size=${trialParameters.batch-size}",
        "--optimizer=${trialParameters.optimizer}",
    ]
    assert trial["primaryPodLabels"] == {"training.kubeflow.org/job-role": "launcher"}
    assert experiment["spec"]["parameters"][1]["feasibleSpace"] == {
        "min": "32",
        "max": "128",
        "step": "32",
    }
    pytorch = rendered["pt-search"].body["spec"]["trialTemplate"]
    assert pytorch["primaryContainerName"] == "pytorch"
    assert pytorch["primaryPodLabels"] == {"training.kubeflow.org/job-role": "master"}
    assert pytorch["trialSpec"]["kind"] == "PyTorchJob"


@pytest.mark.parametrize("framework", ["ray", "volcano"])
def test_a_search_over_a_job_katib_cannot_run_is_refused(tmp_path: Path, framework: str) -> None:
    root = build_repo(tmp_path)
    roles = (
        "{head: {resources: {cpu: '1', memory: 1Gi}}}"
        if framework == "ray"
        else ("{main: {resources: {cpu: '1', memory: 1Gi}}}")
    )
    _write(
        root,
        "searched",
        f"""apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {{name: searched}}
spec:
  framework: {framework}
  image: registry.example.com/vision/x:1
  command: [python, x.py]
  resourceGroup: cpu-general
  roles: {roles}
  search:
    objective: {{metric: loss, type: minimize}}
    parameters: [{{name: lr, type: double, min: 0.1, max: 0.2}}]
""",
    )
    validation = validate_dir(root)
    (problem,) = validation.errors
    assert problem.location.path == "projects/vision/trainings/searched.yaml"
    assert "search is not available" in problem.message
    assert "searched" not in {m.ref.name for t in render_repo(validation) for m in t.manifests}


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


@pytest.mark.parametrize("framework", ["pytorch", "ray", "volcano"])
def test_a_command_cannot_inject_keys(tmp_path: Path, framework: str) -> None:
    root = build_repo(tmp_path)
    evil = "x\n  hostNetwork: true"
    role = {"pytorch": "master", "ray": "head", "volcano": "main"}[framework]
    _write(
        root,
        "evil",
        "apiVersion: mofang.io/v1alpha1\nkind: Training\nmetadata: {name: evil}\nspec:\n"
        f"  framework: {framework}\n  image: registry.example.com/vision/x:1\n"
        f'  command: [python, "x\\n  hostNetwork: true"]\n  resourceGroup: cpu-general\n'
        f"  roles: {{{role}: {{resources: {{cpu: '1', memory: 1Gi}}}}}}\n",
    )
    manifest = _trainings(_render(root))["evil"]
    body = yaml.safe_load(manifest.text)
    assert "hostNetwork" not in set(_keys(body))
    if framework == "ray":
        assert body["spec"]["entrypoint"] == f"python '{evil}'"
    else:
        (_, _, template), *_ = _pods(body)
        assert template["spec"]["containers"][0]["command"] == ["python", evil]


def test_rendering_twice_gives_identical_bytes(tmp_path: Path) -> None:
    root = build_repo(tmp_path, SCENARIO)
    first, second = _render(root), _render(root)
    assert [m.text.encode() for m in first] == [m.text.encode() for m in second]


def test_run_name_follows_the_spec_not_where_it_runs(tmp_path: Path) -> None:
    validation = validate_dir(build_repo(tmp_path))
    training = validation.repo.projects["vision"].trainings["resnet50"].model
    name = run_name(training)
    assert name == run_name(training.model_copy(deep=True))
    moved = training.spec.model_copy(update={"environments": ["prod"]})
    assert run_name(training.model_copy(update={"spec": moved})) == name
    changed = training.spec.model_copy(update={"command": ["python", "train2.py"]})
    assert run_name(training.model_copy(update={"spec": changed})) != name


HOSTFILE = ["--hostfile", "/etc/mpi/hostfile"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["mpirun", "-np", "2", "python", "t.py"], ["mpirun", "-np", "2"]),
        (["horovodrun", "-np", "2", "python", "t.py"], ["horovodrun", *HOSTFILE, "-np", "2"]),
        (["horovodrun", "-H", "a:1", "python", "t.py"], ["horovodrun", "-np", "8", "-H", "a:1"]),
        (["horovodrun", "python", "t.py"], ["horovodrun", "-np", "8", *HOSTFILE]),
        (["python", "t.py"], ["horovodrun", "-np", "8", *HOSTFILE]),
    ],
)
def test_horovod_launcher_is_told_the_process_count_and_hosts(
    command: list[str], expected: list[str]
) -> None:
    assert launcher_command(command, 8) == [*expected, "python", "t.py"]


def _undeclared(value: Any, schema: dict[str, Any], defs: dict[str, Any], at: str) -> Iterator[str]:
    """Paths in ``value`` that the Katib swagger does not declare, or declares another type."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in defs:  # ObjectMeta, Unstructured: the API server checks those
            return
        schema = defs[name]
    kinds = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
    if schema.get("type") in kinds and not isinstance(value, kinds[schema["type"]]):
        yield f"{at}: {value!r} is not {schema['type']}"
    elif isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                yield f"{at}.{key}"
            else:
                yield from _undeclared(item, schema["properties"][key], defs, f"{at}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from _undeclared(item, schema["items"], defs, f"{at}[{index}]")


def test_experiments_match_the_katib_api(rendered: dict[str, Manifest]) -> None:
    # Katib's CRD is schemaless, so the API server accepts anything; its swagger is the contract.
    crds = find_crds_dir()
    if crds is None:
        pytest.skip("no CRD directory (set $MOFANG_CRDS)")
    defs = json.loads((crds / "katib" / "katib-v1beta1.swagger.json").read_text())["definitions"]
    for name in ("hvd-search", "pt-search"):
        body = rendered[name].body
        assert list(_undeclared(body, defs["v1beta1.Experiment"], defs, name)) == []


def _trial_jobs(manifests: list[Manifest]) -> list[Manifest]:
    """Each Experiment's trial template as the job Katib would create (name and namespace added)."""
    jobs = []
    for manifest in manifests:
        if manifest.ref.kind != "Experiment":
            continue
        trial = manifest.body["spec"]["trialTemplate"]["trialSpec"]
        name, namespace = f"{manifest.ref.name}-trial", manifest.ref.namespace
        body = {**trial, "metadata": {"name": name, "namespace": namespace}}
        group = trial["apiVersion"].rsplit("/", 1)[0]
        ref = ObjectRef(group, trial["kind"], namespace, name)
        jobs.append(Manifest(ref, trial["apiVersion"], json.dumps(body)))
    return jobs


def test_api_server_accepts_every_training_kind(
    tmp_path: Path, server_dry_run: DryRun, unique_name: str
) -> None:
    root = build_repo(tmp_path, SCENARIO)
    (root / "environments" / "prod.yaml").write_text(
        "apiVersion: mofang.io/v1alpha1\nkind: Environment\nmetadata: {name: prod}\n"
        f'spec: {{clusters: [central], namespace: "{{project}}-{unique_name}"}}\n'
    )
    manifests = _render(root)
    chosen = [m for m in manifests if m.ref.kind == "Namespace" or m.source.startswith("Training.")]
    chosen += _trial_jobs(chosen)
    kinds = {m.ref.kind for m in chosen}
    assert kinds >= {
        *("MPIJob", "TFJob", "PyTorchJob", "XGBoostJob", "RayJob", "Job", "Experiment"),
        "SparkApplication",
    }
    assert server_dry_run(chosen) == []


def test_spark_driver_runs_on_the_cpu_group_and_executors_on_the_trainings_group(
    rendered: dict[str, Manifest],
) -> None:
    spec = rendered["spark-etl"].body["spec"]
    driver, executor = spec["driver"], spec["executor"]
    assert driver["nodeSelector"] == {"mofang.io/resource-group": "cpu-general"}
    assert executor["nodeSelector"] == {"mofang.io/resource-group": "gpu-a100"}
    assert executor["gpu"] == {"name": "nvidia.com/gpu", "quantity": 1}
    assert "affinity" in executor and "affinity" not in driver
    assert (spec["batchScheduler"], spec["batchSchedulerOptions"]) == (
        "volcano",
        {"queue": "vision"},
    )
    for role in (driver, executor):
        assert role["schedulerName"] == "volcano"
        assert role["annotations"] == {"scheduling.volcano.sh/queue-name": "vision"}
        assert role["env"] == [{"name": "JOB_MODE", "value": "batch"}]
    assert driver["serviceAccount"] == "mofang-spark-driver"
    assert executor["serviceAccount"] == "mofang-workload"
    assert executor["instances"] == 3
    assert (spec["type"], spec["mainClass"], spec["sparkVersion"]) == (
        "Scala",
        "com.example.Etl",
        "3.5.1",
    )
    assert spec["mainApplicationFile"] == "local:///opt/app/etl.jar"
    assert spec["arguments"] == ["--day", "{{workflow.scheduledTime}}"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]}
    assert claims == {"user": "user-alice", "project": "project"}


def _mebibytes(value: str) -> int:
    assert value.endswith("m")
    return int(value[:-1])


def test_spark_pods_request_exactly_the_memory_the_quota_counted(
    rendered: dict[str, Manifest],
) -> None:
    spec = rendered["spark-etl"].body["spec"]
    for role, total_mib, cores, request in (
        ("driver", 4096, 1, "500m"),
        ("executor", 10240, 4, "4"),
    ):
        sizing = spec[role]
        assert _mebibytes(sizing["memory"]) + _mebibytes(sizing["memoryOverhead"]) == total_mib
        assert _mebibytes(sizing["memoryOverhead"]) >= 384
        assert (sizing["cores"], sizing["coreRequest"]) == (cores, request)


def test_spark_run_policy_maps_to_restart_policy_and_ttl(
    rendered: dict[str, Manifest], tmp_path: Path
) -> None:
    spec = rendered["spark-etl"].body["spec"]
    assert spec["restartPolicy"] == {"type": "Never"}
    assert spec["timeToLiveSeconds"] == 3600
    root = build_repo(tmp_path, SCENARIO)
    path = root / "projects" / "vision" / "trainings" / "spark-etl.yaml"
    path.write_text(path.read_text().replace("backoffLimit: 0", "backoffLimit: 2"))
    retried = _trainings(_render(root))["spark-etl"].body["spec"]["restartPolicy"]
    assert retried == {
        "type": "OnFailure",
        "onFailureRetries": 2,
        "onFailureRetryInterval": 10,
        "onSubmissionFailureRetries": 2,
        "onSubmissionFailureRetryInterval": 10,
    }


SEARCH = (
    "  search:\n    objective: {metric: loss, type: minimize}\n"
    "    parameters: [{name: lr, type: double, min: 0.1, max: 0.2}]\n"
)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("framework: spark", "framework: pytorch", "spark settings need framework: spark"),
        ("mainClass: com.example.Etl, ", "", "a Scala application needs mainClass"),
        ("memory: 4Gi}}", "memory: 512Mi}}", "at least 1Gi of memory: ['driver']"),
        ("ttlAfterFinished: 1h", "activeDeadline: 2h", "no active deadline"),
        ("ttlAfterFinished: 1h}\n", "ttlAfterFinished: 1h}\n" + SEARCH, "search is not available"),
    ],
)
def test_spark_specs_that_cannot_run_are_refused_with_a_location(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    root = build_repo(tmp_path, SCENARIO)
    path = root / "projects" / "vision" / "trainings" / "spark-etl.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    problems = [p for p in validate_dir(root).errors if "spark-etl" in p.location.path]
    assert any(message in p.message for p in problems), [p.message for p in problems]
    assert all(p.location.line > 0 for p in problems)
