"""Specs the rendered-workload tests write, as people would (on the example platform)."""

CENTRAL_QUOTA = {
    "gpu-a100": '{cpu: "32", memory: 256Gi, gpu: 8}',
    "cpu-general": '{cpu: "16", memory: 64Gi}',
}
A100 = ("gpu-a100", "central")
CPU = ("cpu-general", "central")
NOTEBOOK = """\
apiVersion: mofang.io/v1alpha1
kind: Notebook
metadata: {name: bob-dev}
spec:
  owner: bob
  image: jupyter-pytorch
  resourceGroup: gpu-a100
  resources: {cpu: "2", memory: 8Gi, gpu: 1}
  mounts: [user, project, global]
"""
HOROVOD = """\
apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {name: resnet}
spec:
  framework: horovod
  image: horovod
  command: [horovodrun, python, train.py]
  resourceGroup: gpu-a100
  roles:
    launcher: {replicas: 1, resources: {cpu: "1", memory: 2Gi}}
    worker: {replicas: 3, resources: {cpu: "4", memory: 16Gi, gpu: 2}}
  mounts: [project]
"""
TENSORFLOW = """\
apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {name: tf-ps}
spec:
  framework: tensorflow
  image: tensorflow-gpu
  command: [python, train.py, --strategy, parameter_server]
  resourceGroup: gpu-a100
  roles:
    ps: {replicas: 2, resources: {cpu: "2", memory: 8Gi}}
    chief: {resources: {cpu: "2", memory: 8Gi}}
    worker: {replicas: 2, resources: {cpu: "4", memory: 16Gi, gpu: 2}}
"""
PYTORCH = """\
apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {{name: {name}}}
spec:
  framework: pytorch
  image: registry.example.com/team/detector:0.9
  command: [torchrun, train.py]
  resourceGroup: gpu-a100
  roles:
    master: {{resources: {{cpu: "4", memory: 16Gi, gpu: {gpus}}}}}
    worker: {{replicas: 1, resources: {{cpu: "4", memory: 16Gi, gpu: {gpus}}}}}
  runPolicy: {{backoffLimit: {backoff}}}
"""
XGBOOST = """\
apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {name: xgb}
spec:
  framework: xgboost
  image: registry.example.com/team/xgb:2.0
  command: [python, train_xgb.py]
  resourceGroup: cpu-general
  roles:
    master: {resources: {cpu: "2", memory: 4Gi}}
    worker: {replicas: 2, resources: {cpu: "2", memory: 4Gi}}
"""
EDGE_TENSORFLOW = """\
apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {name: sensor-anomaly}
spec:
  framework: tensorflow
  image: tensorflow-gpu
  command: [python, train_anomaly.py]
  resourceGroup: edge-gpu
  roles:
    ps: {resources: {cpu: "2", memory: 8Gi}}
    chief: {resources: {cpu: "2", memory: 8Gi}}
    worker: {replicas: 2, resources: {cpu: "4", memory: 16Gi, gpu: 2}}
"""
EDGE_NOTEBOOK = """\
apiVersion: mofang.io/v1alpha1
kind: Notebook
metadata: {name: bob-edge}
spec:
  owner: bob
  image: jupyter-pytorch
  resourceGroup: edge-cpu
  resources: {cpu: "2", memory: 8Gi}
  mounts: [project]
"""
