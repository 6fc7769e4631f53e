"""Partner apps in the dictionary, from their manifests: `tessera dict export --app`."""

from __future__ import annotations

import json
import subprocess
import sys

from ground.payload import create_project


def tessera(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tessera", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_the_dictionary_and_its_exports_describe_a_partner_app(tmp_path):
    create_project(tmp_path / "hello", "hello")
    r = tessera("dict", "export", "--app", str(tmp_path / "hello"), "--out",
                str(tmp_path / "d.json"))
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "d.json").read_text())
    status = next(p for p in doc["packets"] if p["name"] == "hello.HelloAppStatus")
    assert status["sid"] == 0x101
    assert {f["name"]: f.get("unit", "") for f in status["fields"]}["reading"] == "degC"
    app = next(a for a in doc["apps"] if a["name"] == "hello")
    gain = next(c for c in app["commands"] if c["name"] == "SET_GAIN")
    assert gain["code"] == 10 and gain["args"][0]["high"] == 10
    xtce = tessera("dict", "export", "--app", str(tmp_path / "hello"), "--format", "xtce")
    assert xtce.returncode == 0 and "hello__HelloAppStatus__reading" in xtce.stdout


def test_an_app_whose_ids_collide_with_the_operators_is_refused_by_name(tmp_path):
    project = create_project(tmp_path / "clash", "clash")
    manifest = project / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("apid = 0x101", "apid = 0x022"))
    r = tessera("dict", "export", "--app", str(project))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "tessera dict: packet clash.ClashAppStatus has the structure ID (APID) 0x022 of "
        "packet adcs.AdcsState: ids are declared once"]
    manifest.write_text(manifest.read_text().replace("apid = 0x100", "apid = 0x020"))
    r = tessera("dict", "export", "--app", str(project))
    assert r.returncode == 2
    assert "app clash has the APID 0x020 of app adcs" in r.stderr
