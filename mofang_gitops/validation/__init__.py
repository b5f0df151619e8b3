"""Cross-document rules over a loaded repository: references, placement, quotas, policies.

``repository`` is the entry (``validate_repo``); ``workloads`` and ``pipelines`` hold the rules of
their kinds, ``context`` the shared lookups and the located-problem builder, ``placement`` where a
workload runs. Validation never changes the repository it reads: it returns a resolved view.
"""
