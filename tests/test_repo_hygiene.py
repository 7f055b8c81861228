"""The repository as files: nothing half-merged is ever committed."""

import subprocess

from harness import REPO


def test_no_merge_conflict_markers_are_left_in_tracked_files() -> None:
    listed = subprocess.run(
        ["git", "grep", "-n", "-I", "-E", r"^(<<<<<<< |>>>>>>> |=======$)"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if listed.returncode == 128:  # not a git checkout (an unpacked sdist): nothing to check
        return
    assert listed.stdout == "", f"conflict markers left in:\n{listed.stdout}"
