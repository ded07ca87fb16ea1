"""JupyterLab defaults for the course's environment: no question about fetching news on first launch.

Without them JupyterLab 4 greets a new learner with a toast, "Would you like to get notified about
official Jupyter news?", over the first notebook; answering yes makes it fetch a feed from the
internet (the course fetches nothing at run time). ``make lab`` already passes
``--LabApp.news_url=None``, which only empties the feed: the question is still asked.

``install(prefix)`` writes the defaults to ``{prefix}/etc/jupyter/labconfig/
default_setting_overrides.json``, where JupyterLab reads an environment's own defaults. They are
defaults, not locks: a learner can still turn the news on in Settings. Run by the Makefile when it
builds ``.venv`` and by ``binder/postBuild``:

    python -m tools.lab_settings            # into this interpreter's sys.prefix
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NOTIFICATION = "@jupyterlab/apputils-extension:notification"
DEFAULTS = {NOTIFICATION: {"fetchNews": "false", "checkForUpdates": False}}


def overrides_path(prefix: str | Path) -> Path:
    return Path(prefix) / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"


def install(prefix: str | Path = sys.prefix) -> Path:
    """Merge ``DEFAULTS`` into the environment's overrides file (other plugins' entries are kept)."""
    path = overrides_path(prefix)
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for plugin, values in DEFAULTS.items():
        current.setdefault(plugin, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"JupyterLab defaults (no news question) in {install()}")
