"""tools/lab_settings.py: the environment's JupyterLab defaults, as JupyterLab itself reads them."""

import json
import sys
from pathlib import Path

import pytest

from tools import lab_settings

settings_utils = pytest.importorskip("jupyterlab_server.settings_utils")
ConfigManager = pytest.importorskip("jupyter_server.services.config.manager").ConfigManager
SCHEMAS = Path(pytest.importorskip("jupyterlab.commands").get_app_dir()) / "schemas"


def _schema(overrides: dict, tmp_path: Path) -> dict:
    """The notification plugin's schema as JupyterLab serves it, with ``overrides`` as defaults."""
    result, _ = settings_utils.get_settings(str(tmp_path / "app"), str(SCHEMAS), str(tmp_path / "user"),
                                            schema_name=lab_settings.NOTIFICATION, overrides=overrides)
    return result["schema"]


def test_install_merges_into_the_environments_labconfig(tmp_path):
    path = lab_settings.overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"other:plugin": {"x": 1}, lab_settings.NOTIFICATION: {"keep": True}}))
    assert lab_settings.install(tmp_path) == path
    assert lab_settings.install(tmp_path) == path                 # twice: the same file
    written = json.loads(path.read_text())
    assert written["other:plugin"] == {"x": 1}
    ours = lab_settings.DEFAULTS[lab_settings.NOTIFICATION]
    assert written[lab_settings.NOTIFICATION] == {"keep": True, **ours}


def test_jupyterlab_reads_them_as_the_notification_plugins_defaults(tmp_path):
    # JupyterLab reads default_setting_overrides.json in the labconfig folder of every Jupyter config
    # path, this environment's (sys.prefix) among them
    read_path = [Path(p) for p in ConfigManager(config_dir_name="labconfig").read_config_path]
    assert lab_settings.overrides_path(sys.prefix).parent in read_path
    path = lab_settings.install(tmp_path / "prefix")
    read = ConfigManager(read_config_path=[str(path.parent)]).get("default_setting_overrides")
    assert read == lab_settings.DEFAULTS
    plain, ours = _schema({}, tmp_path)["properties"], _schema(read, tmp_path)["properties"]
    assert plain["fetchNews"]["default"] == "none"                  # JupyterLab's own: ask the learner
    for key, value in lab_settings.DEFAULTS[lab_settings.NOTIFICATION].items():
        assert key in plain, f"{key} is not a setting of {lab_settings.NOTIFICATION}"
        assert ours[key]["default"] == value
    assert "false" in [option["const"] for option in plain["fetchNews"]["oneOf"]]   # "Never"
