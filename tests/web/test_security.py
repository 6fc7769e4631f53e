"""The web console's server refuses what a forged, cross-site or malformed request asks.

Each test speaks HTTP to a running `tessera ground web` (over a running
`tessera sim`) the way an attacker's script would, and checks that nothing
was sent or shown that the role may not have.
"""

from __future__ import annotations

import hashlib
import json
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect


def refused(url: str, **kw) -> int:
    """The HTTP status with which the server refuses a websocket handshake."""
    with pytest.raises(InvalidStatus) as exc:
        with connect(url, **kw) as ws:
            ws.recv(timeout=3)
    return exc.value.response.status_code


def test_passwords_are_kept_only_as_salted_scrypt_hashes(console):
    _base, work = console
    text = (work / "users.json").read_text()
    assert "operator-pass-1" not in text and "partner-pass-a" not in text
    users = json.loads(text)["users"]
    stored = users["ops"]["password"]
    assert stored["kdf"] == "scrypt" and stored["n"] >= 2 ** 14
    # Recomputed with the standard library's scrypt (RFC 7914) from the stored salt.
    again = hashlib.scrypt(b"operator-pass-1", salt=bytes.fromhex(stored["salt"]),
                           n=stored["n"], r=stored["r"], p=stored["p"], dklen=32)
    assert again.hex() == stored["hash"]
    salts = {u["password"]["salt"] for u in users.values()}
    assert len(salts) == len(users)


def test_no_session_or_a_forged_one_gets_nothing(console):
    base, _ = console
    for cookies in ({}, {"tessera_session": "forged-token"}):
        c = httpx.Client(base_url=base, cookies=cookies, timeout=60.0)
        assert c.get("/api/me").status_code == 401
        assert c.get("/api/archive", params={"spacecraft": "sc1",
                                             "name": "adcs.hk.mode"}).status_code == 401
        r = c.post("/api/command", json={"spacecraft": "sc1", "command": "sample.noop",
                                         "args": {}}, headers={"X-CSRF-Token": "x"})
        assert r.status_code == 401
    assert refused(base.replace("http", "ws") + "/ws") == 403
    assert refused(base.replace("http", "ws") + "/ws",
                   additional_headers={"Cookie": "tessera_session=forged"}) == 403


def test_wrong_password_and_unknown_user_are_refused(console):
    base, _ = console
    for user, pw in (("ops", "operator-pass-2"), ("mallory", "operator-pass-1")):
        r = httpx.post(base + "/api/login", json={"user": user, "password": pw})
        assert r.status_code == 401 and "tessera_session" not in r.cookies


def test_session_cookie_is_httponly_and_samesite(console):
    base, _ = console
    r = httpx.post(base + "/api/login", json={"user": "ops", "password": "operator-pass-1"})
    header = r.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header


def test_state_changes_need_the_csrf_token_and_json(console, login, commands_log):
    base, work = console
    client, csrf = login(base, "ops")
    before = len(commands_log(work))
    body = {"spacecraft": "sc1", "command": "sample.noop", "args": {}}
    assert client.post("/api/command", json=body).status_code == 403
    assert client.post("/api/command", json=body,
                       headers={"X-CSRF-Token": csrf[:-1] + ("B" if csrf[-1] == "A"
                                                               else "A")}).status_code == 403
    # What a cross-site HTML form can send: form-encoded, no custom header.
    assert client.post("/api/command", data={"command": "sample.noop"}).status_code == 403
    assert client.post("/api/command", content=json.dumps(body),
                       headers={"X-CSRF-Token": csrf,
                                "Content-Type": "text/plain"}).status_code == 415
    assert client.post("/api/logout").status_code == 403
    assert len(commands_log(work)) == before
    assert client.get("/api/me").status_code == 200  # the session survived the forgeries


def test_a_websocket_from_another_site_is_refused(console, login):
    base, _ = console
    client, _ = login(base, "ops")
    cookie = f"tessera_session={client.cookies['tessera_session']}"
    url = base.replace("http", "ws") + "/ws"
    assert refused(url, additional_headers={"Cookie": cookie},
                   origin="http://evil.example") == 403
    with connect(url, additional_headers={"Cookie": cookie}, origin=base) as ws:
        ws.send(json.dumps({"since": 0}))
        assert "fleet" in json.loads(ws.recv(timeout=60))


def test_a_partner_cannot_see_or_command_what_is_not_its_own(console, login, wait_in_pass,
                                                            commands_log):
    base, work = console
    alice, csrf = login(base, "alice")
    me = alice.get("/api/me").json()
    assert me["role"] == "uni-a"
    assert me["commands"] and all(c["name"].startswith("uni_a_sample.") for c in me["commands"])
    assert me["parameters"] and all(n.startswith("uni_a_sample.") for n in me["parameters"])
    wait_in_pass(alice, csrf)
    before = len(commands_log(work))
    for forged in ({"command": "adcs.noop"}, {"command": "sample.set_input",
                                               "args": {"value": "1"}},
                   {"command": "uni_b_sample.noop"},
                   {"command": "adcs.noop", "role": "operator", "user": "ops"}):
        body = {"spacecraft": "sc1", "args": {}, **forged}
        r = alice.post("/api/command", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422 and "may not command" in r.json()["error"], r.text
    assert len(commands_log(work)) == before
    for name in ("adcs.hk.mode", "eps.hk.soc_pct", "uni_b_sample.hk.output_cnt",
                 "sample.hk.output_cnt"):
        r = alice.get("/api/archive", params={"spacecraft": "sc1", "name": name, "format": "csv"})
        assert r.status_code == 403, name
    # Its live stream carries only its own parameters, though the operator's flow too.
    cookie = f"tessera_session={alice.cookies['tessera_session']}"
    seen: set[str] = set()
    with connect(base.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie},
                 origin=base) as ws:
        ws.send(json.dumps({"since": 0}))
        for _ in range(15):
            msg = json.loads(ws.recv(timeout=60))
            seen.update(v[1] for v in msg["values"])
            assert all(c["user"] == "alice" for c in msg.get("commands", []))
    assert seen and all(n.startswith("uni_a_sample.") for n in seen), sorted(seen)[:5]


@pytest.mark.parametrize("args, why", [
    ({"value": "abc"}, "takes a number"),
    ({"value": "1e99"}, "above its maximum"),
    ({"value": "nan"}, "finite"),
    ({"value": ["1"]}, "give a number"),
    ({"value": {"x": 1}}, "give a number"),
    ({"nope": "1"}, "has no argument"),
    ({}, "needs value"),
])
def test_malformed_form_values_are_refused_and_nothing_is_sent(console, login, wait_in_pass,
                                                              commands_log, args, why):
    base, work = console
    client, csrf = login(base, "ops")
    wait_in_pass(client, csrf)
    before = len(commands_log(work))
    r = client.post("/api/command", json={"spacecraft": "sc1", "command": "sample.set_input",
                                          "args": args}, headers={"X-CSRF-Token": csrf})
    assert r.status_code in (400, 422) and why in r.json()["error"], r.text
    assert len(commands_log(work)) == before


@pytest.mark.parametrize("body", [[1, 2], "x", {"spacecraft": 3, "command": "sample.noop"},
                                  {"spacecraft": "sc9", "command": "sample.noop", "args": {}},
                                  {"spacecraft": "sc1", "command": "nope", "args": {}},
                                  {"spacecraft": "sc1", "command": "sample.noop", "args": {},
                                   "release_s": "soon"}])
def test_malformed_requests_get_one_line_errors(console, login, body):
    base, _ = console
    client, csrf = login(base, "ops")
    r = client.post("/api/command", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code in (400, 422)
    assert "\n" not in r.json()["error"]


def test_critical_commands_need_confirmation_and_commands_name_their_sender(
        console, login, wait_in_pass, commands_log):
    base, work = console
    client, csrf = login(base, "ops")
    # The page's critical flags are the dictionary's (declared by the flight apps).
    doc = json.loads((work / "sim" / "dictionary.json").read_text())
    declared = {f"{a['name']}.{c['name']}" for a in doc["apps"] for c in a["commands"]
                if c.get("critical")}
    offered = {c["name"]: c["critical"] for c in client.get("/api/me").json()["commands"]}
    assert {n for n, crit in offered.items() if crit} == declared & set(offered)
    assert offered["mode.SET_MODE"] and not offered["mode.NOOP"]
    wait_in_pass(client, csrf)
    before = len(commands_log(work))
    set_mode = {"spacecraft": "sc1", "command": "mode.SET_MODE", "args": {"mode": "1"}}
    for unconfirmed in (set_mode, {**set_mode, "confirm": "yes"},
                        {**set_mode, "release_s": 1e9}):
        r = client.post("/api/command", json=unconfirmed, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422 and "confirm" in r.json()["error"], r.text
    assert len(commands_log(work)) == before
    r = client.post("/api/command", json={**set_mode, "confirm": True},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    last = commands_log(work)[-1]
    assert last["user"] == "ops" and last["role"] == "operator"
    assert last["command"].startswith("mode.SET_MODE")
    # Another command of the same app is not critical: no confirmation needed.
    r = client.post("/api/command", json={"spacecraft": "sc1", "command": "mode.noop",
                                          "args": {}}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text


def test_a_time_tagged_command_is_two_records_released_on_board(console, login, wait_in_pass):
    base, _ = console
    client, csrf = login(base, "ops")
    wait_in_pass(client, csrf)
    cookie = f"tessera_session={client.cookies['tessera_session']}"
    with connect(base.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie},
                 origin=base) as ws:
        ws.send(json.dumps({"since": 0}))
        now = json.loads(ws.recv(timeout=60))["fleet"][0]["onboard_s"]
    # An hour ahead: a few seconds could pass on board before the request arrives on a
    # loaded machine (and a pass's end fast-forwards the gap), and it would be refused.
    r = client.post("/api/command", json={"spacecraft": "sc1", "command": "sample.noop",
                                          "args": {}, "release_s": now + 3600.0},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    sent = r.json()["sent"]
    assert len(sent) == 2 and "schedule" in sent[0]["text"] and "@" in sent[1]["text"]
    r = client.post("/api/command", json={"spacecraft": "sc1", "command": "sample.noop",
                                          "args": {}, "release_s": 1.0},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "has passed" in r.json()["error"]


def test_a_partner_downloads_only_its_own_parameters(console, login):
    """Archive CSV as a partner: its own parameters come down; any request naming the
    operator's or another partner's parameter (alone, among its own, as an array element,
    in another spelling) is refused whole, and nothing of theirs is in any CSV it gets."""
    base, _ = console
    alice, _csrf = login(base, "alice")
    ops, _ = login(base, "ops")
    operator_names = set(ops.get("/api/me").json()["parameters"]) - set(
        alice.get("/api/me").json()["parameters"])
    own = {"spacecraft": "sc1", "format": "csv", "from": "0"}
    forged = [["eps.hk.soc_pct"], ["uni_a_sample.hk.output_cnt", "eps.hk.soc_pct"],
              ["adcs.AdcsState.q_body_eci_0"], ["uni_b_sample.hk.output_cnt"],
              ["EPS.hk.soc_pct"], ["uni_a_sample.hk.output_cnt", "sample.hk.output_cnt"],
              ["uni_a_sample.hk.output_cnt/../eps.hk.soc_pct"], ["*"], ["%"]]
    for names in forged:
        r = alice.get("/api/archive", params={**own, "name": names})
        assert r.status_code == 403 and "may not see" in r.json()["error"], (names, r.text)
        assert "text/csv" not in r.headers.get("content-type", "")
    for _ in range(60):
        r = alice.get("/api/archive", params={**own, "name": ["uni_a_sample.hk.output_cnt",
                                                              "uni_a_sample.hk.cmd_count"]})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = r.text.splitlines()[1:]
        if rows:
            break
        time.sleep(1.0)
    assert rows and {row.split(",")[0] for row in rows} <= {"uni_a_sample.hk.output_cnt",
                                                            "uni_a_sample.hk.cmd_count"}
    assert not {row.split(",")[0] for row in rows} & operator_names
    # The operator's own download of the same name works: the refusal is the role's.
    assert ops.get("/api/archive", params={**own, "name": "eps.hk.soc_pct"}).status_code == 200
