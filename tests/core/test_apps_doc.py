"""The app example in docs/apps.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from fsw.core import AppSpec, Executive, VirtualClock, cmd_msg_id, encode_command

DOC = Path(__file__).resolve().parents[2] / "docs" / "apps.md"


def test_the_docs_example_app_boots_takes_a_command_and_raises_its_event():
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    scope: dict = {}
    exec(compile(block, str(DOC), "exec"), scope)
    app_cls = scope["MyApp"]
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("mine", app_cls, 10.0))
    assert exe.boot() == []
    spec = app_cls.COMMANDS[10]
    exe.bus.publish(cmd_msg_id(app_cls.APID), encode_command(1, 10, spec.args, value=2.5))
    exe.step()
    assert exe.apps["mine"].cmd_count == 1
    assert exe.events.recent[-1].text == "value set to 2.5"
