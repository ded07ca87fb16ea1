"""README.md's Binder badge and launch links: one repository, JupyterLab at an existing notebook,
the badge at the course's start, and one link for every notebook in the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
START = "notebooks/00_start_here.ipynb"
BINDER_URL = re.compile(r"https://mybinder\.org/v2/gh/([\w.-]+)/([\w.-]+)/([\w./-]+?)\?(\S+)")
REFERENCE = re.compile(r"^\[([\w-]+)\]:\s*(\S+)\s*$", flags=re.M)


def _references() -> dict[str, str]:
    return dict(REFERENCE.findall(README))


def _target(url: str) -> str:
    """The notebook a launch URL opens: `urlpath=lab/tree/<path>` -> <path>."""
    (urlpath,) = parse_qs(urlsplit(url).query)["urlpath"]
    assert urlpath.startswith("lab/tree/"), f"{url} must open JupyterLab (urlpath=lab/tree/...)"
    return urlpath.removeprefix("lab/tree/")


def _notebooks_in_repository() -> list[str]:
    """Committed notebooks (a notebook still being written is not linked yet); every notebook
    on disk when there is no git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "notebooks/*.ipynb"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
    return sorted(out) or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))


def test_every_binder_link_names_one_repository_and_branch():
    found = BINDER_URL.findall(README)
    assert len(found) >= 2, "README.md needs the Binder badge's link and per-notebook launch links"
    assert len({(org, repo, branch) for org, repo, branch, _ in found}) == 1, sorted(set(found))
    org, repo, branch, _ = found[0]
    assert f"`{org}/{repo}`" in README, "the README must say which repository the links name, and where"


def test_badge_opens_jupyterlab_at_the_start_notebook():
    badge = re.search(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\[([\w-]+)\]", README)
    assert badge, "README.md needs [![Binder](https://mybinder.org/badge_logo.svg)][ref]"
    url = _references()[badge.group(1)]
    assert BINDER_URL.fullmatch(url) and _target(url) == START


def test_launch_links_open_existing_notebooks_and_cover_every_notebook():
    targets = [_target(url) for url in _references().values() if BINDER_URL.fullmatch(url)]
    missing_files = [t for t in targets if not (ROOT / t).is_file()]
    assert not missing_files, f"Binder links to notebooks that do not exist: {missing_files}"
    used = set(re.findall(r"\]\[([\w-]+)\]", README))
    linked = [_target(url) for ref, url in _references().items() if ref in used and BINDER_URL.fullmatch(url)]
    unlinked = [nb for nb in _notebooks_in_repository() if nb not in linked]
    assert not unlinked, (f"add a launch link to README.md's 'On Binder' list for {unlinked}, e.g. "
                          f"`- [NN Title][nbNN]` and `[nbNN]: https://mybinder.org/v2/gh/.../main?urlpath="
                          f"lab/tree/{unlinked[0]}`")
