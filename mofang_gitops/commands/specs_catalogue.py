"""What ``new`` writes: each kind's spec, filled from the platform's catalogue and commented.

Defaults are the smallest useful request that fits the platform's policies and a fresh
project's quota: a notebook of 2 CPUs and 8Gi, a training worker of 4 CPUs and 16Gi (one GPU on
a GPU group), quotas of 8 CPUs and 32Gi per group. Comments name the alternatives the
catalogue offers, so a person can change a value without opening platform.yaml.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mofang_gitops.errors import UsageError
from mofang_gitops.models import Platform
from mofang_gitops.models.platform import ResourceGroup
from mofang_gitops.sources.loading import Repo
from mofang_gitops.yamlio.roundtrip import Commented

API_VERSION = "mofang.io/v1alpha1"
FRAMEWORKS = ("pytorch", "horovod", "tensorflow", "xgboost", "ray", "volcano", "spark")
_ROLES: dict[str, tuple[str | None, str]] = {
    # framework: (coordinator role or None, compute role)
    "pytorch": ("master", "worker"),
    "horovod": ("launcher", "worker"),
    "tensorflow": ("chief", "worker"),
    "xgboost": ("master", "worker"),
    "ray": ("head", "worker"),
    "volcano": (None, "main"),
    "spark": ("driver", "executor"),
}
_FRAMEWORK_IMAGES = {
    "horovod": "horovod",
    "tensorflow": "tensorflow-gpu",
    "ray": "ray",
    "spark": "spark",
}
"""Catalogue image keys that fit a framework, when the platform lists them."""
_CPU_FRAMEWORKS = ("xgboost", "volcano", "spark")
Ask = Callable[[str, Sequence[str], str], str]
File = tuple[str, dict[str, Any], list[str]]


@dataclass(frozen=True)
class Choices:
    """What the command line fixed; ``None`` means ask (or take the default)."""

    owner: str | None = None
    image: str | None = None
    resource_group: str | None = None
    framework: str | None = None
    gpu: int | None = None
    environments: list[str] = field(default_factory=list)


def build(
    kind: str,
    name: str,
    project: str | None,
    repo: Repo,
    platform: Platform,
    choices: Choices,
    ask: Ask,
) -> list[File]:
    """The files (path, document, header comment lines) of a new spec of ``kind``."""
    if kind == "project":
        return _project(name, repo, platform, choices, ask)
    if kind == "component":
        folder = f"projects/{project}/components" if project else "components"
        return [_component(name, folder, platform, choices, ask)]
    if project is None:
        raise UsageError(f"new {kind} needs --project")
    specs = repo.projects.get(project)
    if specs is None or specs.project is None or specs.quota is None:
        raise UsageError(f"unknown or invalid project {project!r}; known: {sorted(repo.projects)}")
    context = _ProjectContext(project, specs.project.model.spec, specs.quota.model.spec, platform)
    builders = {"notebook": _notebook, "training": _training, "pipeline": _pipeline}
    return [builders[kind](name, context, repo, choices, ask)]


@dataclass(frozen=True)
class _ProjectContext:
    name: str
    spec: Any
    quota: Any
    platform: Platform

    def groups(self, *, gpu: bool | None = None) -> list[ResourceGroup]:
        """The project's groups with quota, GPU groups only / CPU groups only when asked."""
        found = []
        for group_name in self.spec.resourceGroups:
            group = self.platform.resource_group(group_name)
            if group is None or group_name not in self.quota.resourceGroups:
                continue
            if gpu is None or bool(group.capacity.gpu) == gpu:
                found.append(group)
        return found


def _header(kind: str, folder_depth: int, text: str) -> list[str]:
    schema = "../" * folder_depth + f"schemas/{kind}.json"
    return [f"yaml-language-server: $schema={schema}", text]


def _pick(ask: Ask, label: str, given: str | None, options: Sequence[str], default: str) -> str:
    if given is not None:
        if options and given not in options:
            raise UsageError(
                f"--{label.replace(' ', '-')} {given!r}: choose one of {list(options)}"
            )
        return given
    return ask(label, options, default)


def _images(platform: Platform, prefer: str = "") -> tuple[list[str], str]:
    keys = sorted(platform.spec.images)
    if not keys:
        raise UsageError("platform.yaml lists no images: pass --image")
    preferred = [k for k in keys if k.startswith(prefer)] if prefer else []
    others = [k for k in keys if not k.startswith("jupyter")]
    return keys, (preferred or others or keys)[0]


def _image_comment(platform: Platform) -> str:
    return "platform images: " + ", ".join(sorted(platform.spec.images))


def _group_comment(groups: Sequence[ResourceGroup]) -> str:
    described = [f"{g.name} ({g.gpu.type} GPUs)" if g.gpu else g.name for g in groups]
    return "allowed here: " + ", ".join(described)


def _project(name: str, repo: Repo, platform: Platform, choices: Choices, ask: Ask) -> list[File]:
    owner = _pick(ask, "owner", choices.owner, [], "")
    if not owner:
        raise UsageError("new project needs --owner (or an answer on a terminal)")
    environments = choices.environments or sorted(repo.environments)
    cpu_groups = [g for g in platform.spec.resourceGroups if not g.capacity.gpu]
    names = [g.name for g in platform.spec.resourceGroups]
    default = (cpu_groups or list(platform.spec.resourceGroups))[0].name
    group_name = _pick(ask, "resource group", choices.resource_group, names, default)
    group = platform.resource_group(group_name)
    assert group is not None
    project = {
        "apiVersion": API_VERSION,
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {
            "description": Commented(f"The {name} team.", "for people"),
            "owners": Commented([owner], "admins of every namespace of the project", flow=True),
            "members": Commented([], "- {user: bob, role: edit}   (roles: admin, edit, view)"),
            "environments": Commented(
                environments, "from environments/: " + ", ".join(sorted(repo.environments)), True
            ),
            "resourceGroups": Commented(
                [group_name], _group_comment(platform.spec.resourceGroups), flow=True
            ),
        },
    }
    amount: dict[str, Any] = {"cpu": "8", "memory": "32Gi"}
    if group.capacity.gpu:
        amount["gpu"] = 1
    capacity = f"group capacity: {group.capacity.cpu} CPU, {group.capacity.memory}"
    quota = {
        "apiVersion": API_VERSION,
        "kind": "Quota",
        "metadata": {"name": name},
        "spec": {
            "resourceGroups": {group_name: Commented(amount, capacity, flow=True)},
            "storage": Commented("100Gi", "the project volume"),
            "queue": Commented({"weight": 1, "reclaimable": True}, "Volcano queue", flow=True),
        },
    }
    folder = f"projects/{name}"
    return [
        (f"{folder}/project.yaml", project, _header("project", 2, f"The {name} project.")),
        (f"{folder}/quota.yaml", quota, _header("quota", 2, f"What {name} may request.")),
    ]


def _resources(cpu: str, memory: str, gpu: int) -> dict[str, Any]:
    found: dict[str, Any] = {"cpu": cpu, "memory": memory}
    if gpu:
        found["gpu"] = gpu
    return found


def _notebook(name: str, ctx: _ProjectContext, repo: Repo, choices: Choices, ask: Ask) -> File:
    platform = ctx.platform
    people = [*ctx.spec.owners, *(m.user for m in ctx.spec.members)]
    owner = _pick(ask, "owner", choices.owner, people, ctx.spec.owners[0])
    keys, default_image = _images(platform, "jupyter")
    image = choices.image or ask("image", keys, default_image)
    gpu = choices.gpu if choices.gpu is not None else 0
    groups = ctx.groups(gpu=True if gpu else None) or ctx.groups()
    cpu_first = sorted(groups, key=lambda g: bool(g.capacity.gpu) != bool(gpu))
    group = _pick(
        ask, "resource group", choices.resource_group, [g.name for g in groups], cpu_first[0].name
    )
    policy = platform.spec.policies.notebook
    limits = f"policy max: {policy.maxCpu} CPU, {policy.maxMemory}, {policy.maxGpu} GPUs"
    document = {
        "apiVersion": API_VERSION,
        "kind": "Notebook",
        "metadata": {"name": name},
        "spec": {
            "owner": Commented(owner, "a member of the project"),
            "image": Commented(image, _image_comment(platform)),
            "resourceGroup": Commented(group, _group_comment(ctx.groups())),
            "resources": Commented(_resources("2", "8Gi", gpu), limits, flow=True),
            "mounts": Commented(["project"], "storage tiers: user, project, global", flow=True),
        },
    }
    header = _header("notebook", 3, f"A notebook for {owner} in {ctx.name}.")
    return (f"projects/{ctx.name}/notebooks/{name}.yaml", document, header)


def _training(name: str, ctx: _ProjectContext, repo: Repo, choices: Choices, ask: Ask) -> File:
    platform = ctx.platform
    framework = _pick(ask, "framework", choices.framework, FRAMEWORKS, "pytorch")
    coordinator, compute = _ROLES[framework]
    keys, fallback = _images(platform)
    default_image = _FRAMEWORK_IMAGES.get(framework, "")
    image = choices.image or ask(
        "image", keys, default_image if default_image in keys else fallback
    )
    wants_gpu = framework not in _CPU_FRAMEWORKS if choices.gpu is None else choices.gpu > 0
    groups = ctx.groups(gpu=wants_gpu) or ctx.groups()
    group_name = _pick(
        ask, "resource group", choices.resource_group, [g.name for g in groups], groups[0].name
    )
    group = platform.resource_group(group_name)
    assert group is not None
    gpu = (choices.gpu if choices.gpu is not None else 1) if group.capacity.gpu else 0
    roles: dict[str, Any] = {}
    if coordinator is not None:
        roles[coordinator] = {"resources": Commented(_resources("1", "2Gi", 0), "", flow=True)}
    roles[compute] = {
        "replicas": Commented(1, "more replicas: more parallel workers"),
        "resources": Commented(_resources("4", "16Gi", gpu), "per replica", flow=True),
    }
    command = ["local:///opt/app/main.py"] if framework == "spark" else ["python", "train.py"]
    policy = platform.spec.policies.training
    document = {
        "apiVersion": API_VERSION,
        "kind": "Training",
        "metadata": {"name": name},
        "spec": {
            "framework": Commented(framework, "one of: " + ", ".join(FRAMEWORKS)),
            "image": Commented(image, _image_comment(platform)),
            "command": Commented(command, "the main container's command", flow=True),
            "resourceGroup": Commented(group_name, _group_comment(ctx.groups())),
            "roles": Commented(
                roles,
                f"policy max: {policy.maxWorkers} replicas, {policy.maxGpuPerWorker} GPUs each",
            ),
            "mounts": Commented(["project"], "storage tiers: user, project, global", flow=True),
            "runPolicy": Commented(
                {"backoffLimit": 2, "ttlAfterFinished": "24h"}, "retries, clean-up", flow=True
            ),
        },
    }
    header = _header("training", 3, f"A {framework} training of {ctx.name}.")
    return (f"projects/{ctx.name}/trainings/{name}.yaml", document, header)


def _pipeline(name: str, ctx: _ProjectContext, repo: Repo, choices: Choices, ask: Ask) -> File:
    platform = ctx.platform
    keys, default_image = _images(platform)
    image = choices.image or ask("image", keys, default_image)
    tasks: list[Any] = [
        {
            "name": "prepare",
            "image": Commented(image, _image_comment(platform)),
            "command": Commented(
                ["python", "prepare.py", "--date", "{{workflow.scheduledTime}}"],
                "Argo's placeholders stay as written",
                flow=True,
            ),
            "resources": Commented({"cpu": "1", "memory": "2Gi"}, "", flow=True),
        }
    ]
    if repo.components:
        component = repo.components[sorted(repo.components)[0]].model
        inputs = {i.name: _sample(i.type) for i in component.spec.inputs if i.default is None}
        step: dict[str, Any] = {
            "name": component.name,
            "component": Commented(component.name, "shared: " + ", ".join(sorted(repo.components))),
            "version": Commented(component.spec.version, "pinned; remove to follow the component"),
        }
        if inputs:
            step["inputs"] = Commented(inputs, "typed as the component declares", flow=True)
        step["dependencies"] = Commented(["prepare"], "", flow=True)
        tasks.append(step)
    document = {
        "apiVersion": API_VERSION,
        "kind": "Pipeline",
        "metadata": {"name": name},
        "spec": {
            "schedule": Commented(
                {"cron": "0 2 * * *", "timezone": "UTC"}, "remove to run by hand only", flow=True
            ),
            "retry": Commented({"limit": 2, "backoff": "5m"}, "per step", flow=True),
            "mounts": Commented(["project"], "storage tiers: user, project, global", flow=True),
            "tasks": tasks,
        },
    }
    header = _header("pipeline", 3, f"A daily pipeline of {ctx.name}.")
    return (f"projects/{ctx.name}/pipelines/{name}.yaml", document, header)


def _sample(kind: str) -> Any:
    """A value of the input type for a required input: replace it with the real one."""
    return {"string": "change-me", "int": 1, "float": 1.0, "bool": False}[kind]


def _component(name: str, folder: str, platform: Platform, choices: Choices, ask: Ask) -> File:
    keys, default_image = _images(platform)
    image = choices.image or ask("image", keys, default_image)
    document = {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": {"name": name},
        "spec": {
            "version": Commented("0.1.0", "bump on every change; tasks may pin it"),
            "description": f"What {name} does, for the people who call it.",
            "image": Commented(image, _image_comment(platform)),
            "command": Commented(["python", "-m", name.replace("-", "_")], "", flow=True),
            "args": Commented(
                ["--input={{inputs.input}}", "--limit={{inputs.limit}}"],
                "{{inputs.<name>}} is replaced by the task's value",
                flow=True,
            ),
            "inputs": [
                Commented({"name": "input", "type": "string"}, "required", flow=True),
                Commented({"name": "limit", "type": "int", "default": 1000}, "optional", flow=True),
            ],
            "resources": Commented({"cpu": "1", "memory": "2Gi"}, "a task may override", True),
        },
    }
    depth = folder.count("/") + 1
    header = _header("component", depth, f"A reusable pipeline step: {name}.")
    return (f"{folder}/{name}.yaml", document, header)
