"""Drives the real MaiBot host's plugin config page code (Python 3.12 host env) the way the dashboard does.

For each case: config.toml in a folder of its own → GET /config/{id}/bundle (the host's route function)
→ the dashboard's form state (`bundle.config`) with the case's edits applied field by field, as the
form's inputs set them → PUT /config/{id} with the whole state, as the dashboard's save does → the
file the host wrote, and the bundle read again. The runner side (inspect / validate, which run our
config model) is the host's own `PluginRunner` methods on our plugin instance; only the RPC between
the host and the runner process is left out.

Usage: python webui_form.py PLUGIN_ROOT CASES_JSON  (prints one JSON object: case name → result)
CASES_JSON: {name: {"config": TOML text or null, "rounds": [round, …]}}; a round is a list of
[section, key, value] edits, or {"file_replace": [old, new], "edits": […]} to edit the file by hand first.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
PLUGIN_ID = "llm2pic"


def main() -> int:
    root, cases_path = Path(sys.argv[1]), Path(sys.argv[2])
    cases = json.loads(cases_path.read_text(encoding="utf-8"))
    instance_dir = Path(tempfile.mkdtemp(prefix="maibot-webui-instance-"))
    os.environ["MAIBOT_INSTANCE_DIR"] = str(instance_dir)  # the installed host refuses to import without one
    os.chdir(instance_dir)

    sys.path.insert(0, str(HERE.parent))
    from maibot_fake_host import load_plugin_module
    from fastapi import HTTPException
    from src.plugin_runtime.runner.runner_main import PluginRunner
    from src.webui.routers.plugin import config_routes
    from src.webui.routers.plugin.schemas import UpdatePluginConfigRequest

    plugin = load_plugin_module(root).create_plugin()
    runner = object.__new__(PluginRunner)  # its config methods read only their arguments
    current = {"meta": None}

    def inspect(config_data=None, use_provided_config=False, suppress_errors=True):
        return runner._inspect_plugin_config(current["meta"], config_data=config_data,
                                             use_provided_config=use_provided_config,
                                             suppress_errors=suppress_errors, enforce_version=True)

    async def inspect_via_runtime(plugin_id, config_data=None, *, use_provided_config=False):
        return inspect(config_data, use_provided_config)

    async def validate_via_runtime(plugin_id, config_data):  # as runner_main._handle_validate_plugin_config
        try:
            return inspect(config_data, True, suppress_errors=False).normalized_config
        except Exception as exc:  # the runner answers E_BAD_PAYLOAD; the host's route raises ValueError
            raise ValueError(str(exc)) from None

    config_routes._inspect_plugin_config_via_runtime = inspect_via_runtime
    config_routes._validate_plugin_config_via_runtime = validate_via_runtime
    config_routes.require_plugin_token = lambda session: None
    results = {}
    for name, case in cases.items():
        folder = Path(tempfile.mkdtemp(prefix="webui-case-", dir=instance_dir))
        if case.get("config") is not None:
            (folder / "config.toml").write_text(case["config"], encoding="utf-8")
        current["meta"] = SimpleNamespace(
            instance=plugin, plugin_id=PLUGIN_ID, plugin_dir=str(folder), version="0",
            manifest=SimpleNamespace(name="LLM2Pic", description="", author=SimpleNamespace(name="")),
        )
        config_routes.find_plugin_path_by_id = lambda plugin_id, folder=folder: folder
        rounds = []
        for step in case["rounds"]:
            # a round: the form's edits, optionally after a hand edit of the file ("file_replace": [old, new])
            edits = step["edits"] if isinstance(step, dict) else step
            if isinstance(step, dict) and step.get("file_replace"):
                old, new = step["file_replace"]
                text = (folder / "config.toml").read_text(encoding="utf-8")
                assert old in text, old
                (folder / "config.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
            before = (folder / "config.toml").read_text(encoding="utf-8") if (folder / "config.toml").exists() else None
            bundle = asyncio.run(config_routes.get_plugin_config_bundle(PLUGIN_ID, maibot_session=None))
            state = copy.deepcopy(bundle["config"])
            for section, key, value in edits:
                state.setdefault(section, {})[key] = value
            try:
                saved = asyncio.run(config_routes.update_plugin_config(
                    PLUGIN_ID, UpdatePluginConfigRequest(config=state), maibot_session=None))
                error = ""
            except HTTPException as exc:
                saved, error = None, str(exc.detail)
            path = folder / "config.toml"
            rounds.append({"bundle": bundle, "saved": saved, "error": error, "before": before,
                           "file": path.read_text(encoding="utf-8") if path.exists() else None})
        after = asyncio.run(config_routes.get_plugin_config_bundle(PLUGIN_ID, maibot_session=None))
        results[name] = {"rounds": rounds, "after": after}
    print(json.dumps(results, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
