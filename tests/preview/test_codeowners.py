"""`mofang-gitops codeowners`: each project's owners own its directory; --check finds staleness."""

from __future__ import annotations

from .conftest import Cli, GitRepo


def test_codeowners_maps_project_owners_and_the_platform_team(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    two_project_repo.replace("projects/nlp/project.yaml", "owners: [alice]", "owners: [dan, erin]")
    result = cli(two_project_repo, "codeowners", "--platform-team", "@acme/ml-platform")
    assert result.code == 0, result.err
    lines = two_project_repo.read(".github/CODEOWNERS").splitlines()
    assert "* @acme/ml-platform" in lines
    assert "/platform.yaml @acme/ml-platform" in lines
    assert "/environments/ @acme/ml-platform" in lines
    assert "/components/ @acme/ml-platform" in lines
    assert "/projects/nlp/ @dan @erin" in lines
    assert "/projects/vision/ @alice" in lines
    # The last matching pattern wins in CODEOWNERS: project rules come after the default.
    assert lines.index("* @acme/ml-platform") < lines.index("/projects/nlp/ @dan @erin")


def test_quota_files_are_owned_by_the_platform_team_not_the_project(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    assert cli(two_project_repo, "codeowners", "--platform-team", "@acme/ml-platform").code == 0
    lines = two_project_repo.read(".github/CODEOWNERS").splitlines()
    rule = "/projects/*/quota.yaml @acme/ml-platform"
    # The last matching pattern wins: the quota rule must come after every project rule.
    assert lines[-1] == rule
    project_rules = [line for line in lines if line.startswith("/projects/") and line != rule]
    assert project_rules and all(lines.index(line) < lines.index(rule) for line in project_rules)


def test_check_exits_1_when_stale_and_0_when_fresh(cli: Cli, minimal_repo: GitRepo) -> None:
    assert cli(minimal_repo, "codeowners", "--check").code == 1  # missing
    assert cli(minimal_repo, "codeowners").code == 0
    assert cli(minimal_repo, "codeowners", "--check").code == 0
    minimal_repo.replace("projects/vision/project.yaml", "owners: [alice]", "owners: [bob]")
    result = cli(minimal_repo, "codeowners", "--check")
    assert result.code == 1 and "stale" in result.err


def test_a_bad_team_handle_is_a_usage_error(cli: Cli, minimal_repo: GitRepo) -> None:
    result = cli(minimal_repo, "codeowners", "--platform-team", "platform team")
    assert result.code == 2 and "@org/team" in result.err


def test_the_example_repository_codeowners_is_fresh(cli: Cli) -> None:
    from pathlib import Path

    root = Path(__file__).parents[2]
    code = cli(GitRepo(root), "codeowners", "--check").code
    assert code == 0, "run `mofang-gitops codeowners` and commit .github/CODEOWNERS"


def test_idp_identities_become_handles_emails_or_a_comment(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    two_project_repo.replace(
        "projects/nlp/project.yaml", "owners: [alice]", "owners: [zhang.san@corp.example, Wang-Wu]"
    )
    two_project_repo.replace("projects/vision/project.yaml", "owners: [alice]", "owners: [li_si]")
    result = cli(two_project_repo, "codeowners", "--platform-team", "@acme/ml-platform")
    assert result.code == 0, result.err
    lines = two_project_repo.read(".github/CODEOWNERS").splitlines()
    assert "/projects/nlp/ zhang.san@corp.example @Wang-Wu" in lines
    # li_si is no GitHub handle: said in a comment, and the platform team reviews instead.
    assert "/projects/vision/ @acme/ml-platform" in lines
    assert any(line.startswith("# /projects/vision/: li_si") for line in lines)


def test_each_persons_file_is_owned_by_that_person_and_the_platform_only(
    cli: Cli, minimal_repo: GitRepo
) -> None:
    assert cli(minimal_repo, "codeowners", "--platform-team", "@acme/ml-platform").code == 0
    lines = minimal_repo.read(".github/CODEOWNERS").splitlines()
    assert "/people/alice.yaml @alice @acme/ml-platform" in lines
    assert "/people/bob.yaml @bob @acme/ml-platform" in lines
    # A new person's file (not listed yet) falls to the platform team, never to a project owner.
    assert "/people/ @acme/ml-platform" in lines
    assert lines.index("/people/ @acme/ml-platform") < lines.index(
        "/people/bob.yaml @bob @acme/ml-platform"
    )
    # bob's consent is not in any project's directory, so vision's owner alice cannot approve it.
    assert not any(line.startswith("/people/bob.yaml") and "@alice" in line for line in lines)
