"""Write a synthetic but valid platform repository with N projects (default 1,000).

Each project has an owner and a member, a quota on a GPU and a CPU group, one GPU notebook, one
training (frameworks rotate) and one daily pipeline: about 20 rendered objects per project in the
single `prod` environment. Usage: python benchmarks/generate.py OUT_DIR [--projects N]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

FRAMEWORK_ROLES = {
    "pytorch": "master: {replicas: 1, resources: {cpu: '2', memory: 8Gi, gpu: 1}}\n"
    "    worker: {replicas: 2, resources: {cpu: '4', memory: 16Gi, gpu: 1}}",
    "horovod": "launcher: {replicas: 1, resources: {cpu: '1', memory: 2Gi}}\n"
    "    worker: {replicas: 2, resources: {cpu: '4', memory: 16Gi, gpu: 1}}",
    "tensorflow": "ps: {replicas: 1, resources: {cpu: '2', memory: 4Gi}}\n"
    "    worker: {replicas: 2, resources: {cpu: '4', memory: 16Gi, gpu: 1}}",
    "xgboost": "master: {replicas: 1, resources: {cpu: '2', memory: 4Gi}}\n"
    "    worker: {replicas: 2, resources: {cpu: '2', memory: 4Gi}}",
}

PLATFORM = """apiVersion: mofang.io/v1alpha1
kind: Platform
metadata: {{name: bench}}
spec:
  clusters:
    - {{name: central, role: central, context: central}}
  resourceGroups:
    - name: gpu-a100
      cluster: central
      nodeSelector: {{mofang.io/resource-group: gpu-a100}}
      capacity: {{cpu: "{cpu}", memory: {mem}Gi, gpu: {gpu}}}
      gpu: {{type: A100, resource: nvidia.com/gpu}}
    - name: cpu-general
      cluster: central
      nodeSelector: {{mofang.io/resource-group: cpu-general}}
      capacity: {{cpu: "{cpu}", memory: {mem}Gi}}
  storage:
    cephfs: {{monitors: ["10.0.0.1:6789"], rootPath: /mofang}}
  ingress: {{gateway: istio-system/mofang-gateway, host: ml.example.com}}
  images:
    jupyter-pytorch: {{image: registry.example.com/mofang/jupyter-pytorch:2.4}}
  registries: [registry.example.com/]
"""

ENVIRONMENT = """apiVersion: mofang.io/v1alpha1
kind: Environment
metadata: {name: prod}
spec: {clusters: [central], namespace: "{project}"}
"""

PROJECT = """apiVersion: mofang.io/v1alpha1
kind: Project
metadata: {{name: {p}}}
spec:
  owners: [owner-{i}]
  members: [{{user: member-{i}, role: edit}}]
  environments: [prod]
  resourceGroups: [gpu-a100, cpu-general]
"""

QUOTA = """apiVersion: mofang.io/v1alpha1
kind: Quota
metadata: {{name: {p}}}
spec:
  resourceGroups:
    gpu-a100: {{cpu: "16", memory: 64Gi, gpu: {gpu}}}
    cpu-general: {{cpu: "8", memory: 32Gi}}
  storage: 100Gi
  queue: {{weight: 1}}
"""

NOTEBOOK = """apiVersion: mofang.io/v1alpha1
kind: Notebook
metadata: {{name: nb}}
spec:
  owner: member-{i}
  image: jupyter-pytorch
  resourceGroup: gpu-a100
  resources: {{cpu: "2", memory: 8Gi, gpu: 1}}
  mounts: [user, project]
"""

PERSON = """apiVersion: mofang.io/v1alpha1
kind: Person
metadata: {{name: member-{i}}}
spec: {{home: {{projects: [{p}]}}}}
"""

TRAINING = """apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {{name: train}}
spec:
  framework: {framework}
  image: registry.example.com/{p}/train:1
  command: [python, train.py]
  resourceGroup: gpu-a100
  roles:
    {roles}
"""

PIPELINE = """apiVersion: mofang.io/v1alpha1
kind: Pipeline
metadata: {{name: daily}}
spec:
  schedule: {{cron: "0 2 * * *", timezone: Asia/Shanghai, concurrency: 1, startingDeadline: 1h}}
  retry: {{limit: 2, backoff: 1m}}
  tasks:
    - name: extract
      image: registry.example.com/{p}/etl:1
      command: [python, extract.py]
      resources: {{cpu: "1", memory: 2Gi}}
"""


def project_name(index: int) -> str:
    """Name of the index-th project."""
    return f"team-{index:04d}"


def write_project(root: Path, index: int) -> None:
    """Write one project's files."""
    name = project_name(index)
    base = root / "projects" / name
    for sub in ("notebooks", "trainings", "pipelines"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    framework = list(FRAMEWORK_ROLES)[index % len(FRAMEWORK_ROLES)]
    (base / "project.yaml").write_text(PROJECT.format(p=name, i=index))
    (base / "quota.yaml").write_text(QUOTA.format(p=name, gpu=4))
    (base / "notebooks" / "nb.yaml").write_text(NOTEBOOK.format(i=index))
    (root / "people").mkdir(exist_ok=True)
    (root / "people" / f"member-{index}.yaml").write_text(PERSON.format(p=name, i=index))
    (base / "trainings" / "train.yaml").write_text(
        TRAINING.format(p=name, framework=framework, roles=FRAMEWORK_ROLES[framework])
    )
    (base / "pipelines" / "daily.yaml").write_text(PIPELINE.format(p=name))


def generate(root: Path, projects: int) -> Path:
    """(Re)create ``root`` as a platform repository with ``projects`` projects."""
    if root.exists():
        shutil.rmtree(root)
    (root / "environments").mkdir(parents=True)
    (root / "platform.yaml").write_text(
        PLATFORM.format(cpu=32 * projects, mem=128 * projects, gpu=4 * projects)
    )
    (root / "environments" / "prod.yaml").write_text(ENVIRONMENT)
    for index in range(projects):
        write_project(root, index)
    return root


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--projects", type=int, default=1000)
    args = parser.parse_args()
    generate(args.out, args.projects)
    print(f"wrote {args.projects} projects to {args.out}")


if __name__ == "__main__":
    main()
