"""The snippets of docs/autonomy.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from fsw.apps.tables import TablesApp, encode_load
from fsw.core import AppSpec, Executive, VirtualClock, cmd_msg_id, encode_command
from fsw.core.wiring import Wiring

DOC = (Path(__file__).resolve().parents[2] / "docs" / "autonomy.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def test_the_doc_table_example_app_takes_a_validated_table_at_its_safe_point():
    scope: dict = {}
    exec(compile(blocks("python")[0], "docs/autonomy.md", "exec"), scope)
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,))
    exe.add_app(AppSpec("tables", TablesApp, 1.0))
    exe.add_app(AppSpec("heater", scope["HeaterApp"], 1.0))
    assert exe.boot() == []
    assert exe.apps["heater"].high_c == 30.0
    for rid, (code, body) in enumerate([(10, encode_load("heater_limits", {"high_c": 99})),
                                        (11, b"heater_limits".ljust(16, b"\0"))]):
        exe.bus.publish(cmd_msg_id(TablesApp.APID), encode_command(rid, code) + body)
        exe.step()
    assert "table heater_limits refused: high_c=99 outside [-40, 85]" in [
        e.text for e in exe.events.recent]
    assert exe.apps["heater"].high_c == 30.0


def test_the_doc_toml_snippets_parse_and_the_wiring_is_valid():
    docs = [tomllib.loads(b) for b in blocks("toml")]
    assert docs[0]["apps"]["config"]["entry"]["SAFE"][0]["command"] == "stop_all_apps"
    assert docs[1]["apps"]["config"]["monitors"][0]["name"] == "low_battery"
    wiring = Wiring.from_config(docs[2]["wiring"])
    assert wiring.orbit_to == "adcs" and wiring.priority["Beacon"] == 240
