"""mofang-gitops: the Mofang ML platform as a GitOps repository.

The package reads like the pipeline it runs: load (git tree + YAML) -> validate (models, then
cross-document rules) -> render (templates) -> diff -> apply/prune -> report. Lower stages never
import higher ones; the import-linter contracts in pyproject.toml keep it that way.
"""

__version__ = "0.1.0"
API_VERSION = "mofang.io/v1alpha1"
