"""Preview a change in CI: what two git revisions render differently, object by object.

The pipeline of DESIGN.md section 6: load both revisions (only the projects the change touches
in full), validate, render, compare rendered text per object, add the resource impact from the
spec models, and format for a terminal, a pull-request comment or other tools. No cluster needed.
This package never touches git itself: callers hand it two ``FileTree``s and the changed paths.
"""

from mofang_gitops.previewing.comparing import PreviewOptions, changed_projects, preview_trees
from mofang_gitops.previewing.jsondata import preview_data
from mofang_gitops.previewing.markdown import LIMIT, MARKER, format_markdown
from mofang_gitops.previewing.objects import ObjectChange, TargetChanges, diff_targets
from mofang_gitops.previewing.previews import Preview, ProjectPreview
from mofang_gitops.previewing.summaries import SUMMARY_FILE, SummaryStore
from mofang_gitops.previewing.text import format_text

__all__ = [
    "LIMIT",
    "MARKER",
    "ObjectChange",
    "Preview",
    "PreviewOptions",
    "ProjectPreview",
    "SUMMARY_FILE",
    "SummaryStore",
    "TargetChanges",
    "changed_projects",
    "diff_targets",
    "format_markdown",
    "format_text",
    "preview_data",
    "preview_trees",
]
