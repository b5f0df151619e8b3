"""The controller: fetch git, plan every (environment, cluster, project) target, apply, report.

``loop`` runs the passes over ports (``Applier``, ``StateStore``) so the one-broken-project rule is
tested without a cluster or git; ``plans`` decides per target, ``state`` persists the last good
revisions, ``applier`` drives the engine, ``leader`` holds the Lease, ``http`` serves status,
metrics and ``webhooks``; ``statuses``, ``events`` and ``metrics`` report what happened.
"""
