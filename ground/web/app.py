"""The web console's HTTP and websocket interface (Starlette, served by uvicorn).

Every route but the page, its static files and the login needs a login
session (cookie); every state-changing request (POST) must also carry the
session's CSRF token in ``X-CSRF-Token`` and a JSON body, so an HTML form on
another site can send none of them. The role is the logged-in user's, never
a request's field; the hub refuses what the role may not see or command.
The websocket checks the session cookie and the Origin (a page of another
site cannot open it with the user's cookie).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ground.session import CommandRefusedError
from ground.web.accounts import LoginSession, Sessions, UserStore
from ground.web.hub import Hub

STATIC = Path(__file__).with_name("static")
COOKIE = "tessera_session"
COALESCE_S = 0.01
"""After a change, how long the live push waits for more before sending (s)."""
IDLE_PUSH_S = 1.0
"""How often the live push sends when nothing changes (s): the fleet's clocks move."""


def _error(status: int, text: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


def create_app(hub: Hub, users: UserStore, *, secure_cookie: bool = False,
               coalesce_s: float = COALESCE_S, idle_push_s: float = IDLE_PUSH_S) -> Starlette:
    """The console app over a running (or about to run) `hub`."""
    sessions = Sessions()

    def login_session(request: Request) -> LoginSession | None:
        return sessions.get(request.cookies.get(COOKIE))

    async def json_body(request: Request) -> dict[str, Any] | JSONResponse:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(415, "send JSON (Content-Type: application/json)")
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return _error(400, "the body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "the body is not a JSON object")
        return body

    async def guarded(request: Request) -> tuple[LoginSession, dict[str, Any]] | JSONResponse:
        s = login_session(request)
        if s is None:
            return _error(401, "log in first")
        if not Sessions.csrf_ok(s, request.headers.get("x-csrf-token")):
            return _error(403, "missing or wrong CSRF token")
        body = await json_body(request)
        if isinstance(body, JSONResponse):
            return body
        return s, body

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html",
                            headers={"Content-Security-Policy": "default-src 'self'; "
                                     "connect-src 'self'; img-src 'self' data:; "
                                     "frame-ancestors 'none'"})

    async def login(request: Request) -> Response:
        body = await json_body(request)
        if isinstance(body, JSONResponse):
            return body
        name, password = body.get("user"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            return _error(400, "give user and password")
        user = await asyncio.to_thread(users.authenticate, name, password)
        if user is None or user.role not in hub.sessions:
            return _error(401, "wrong user or password")
        token, s = sessions.create(user)
        resp = JSONResponse({"user": user.name, "role": user.role, "csrf": s.csrf})
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure_cookie,
                        path="/")
        return resp

    async def logout(request: Request) -> Response:
        g = await guarded(request)
        if isinstance(g, JSONResponse):
            return g
        sessions.drop(request.cookies.get(COOKIE))
        resp = JSONResponse({"ok": True})
        resp.delete_cookie(COOKIE, path="/")
        return resp

    async def me(request: Request) -> Response:
        s = login_session(request)
        if s is None:
            return _error(401, "log in first")
        role = s.user.role
        return JSONResponse({"user": s.user.name, "role": role, "csrf": s.csrf,
                             "spacecraft": list(hub.sessions[role].links),
                             "commands": hub.visible_commands(role),
                             "parameters": hub.visible_parameters(role)})

    async def command(request: Request) -> Response:
        g = await guarded(request)
        if isinstance(g, JSONResponse):
            return g
        s, body = g
        sc, name, args = body.get("spacecraft"), body.get("command"), body.get("args", {})
        if not isinstance(sc, str) or not isinstance(name, str) or not isinstance(args, dict):
            return _error(400, "give spacecraft, command and args (an object)")
        release = body.get("release_s")
        if release is not None and (isinstance(release, bool)
                                    or not isinstance(release, (int, float))
                                    or not math.isfinite(release)):
            return _error(400, "release_s is an on-board time in seconds")
        try:
            records = await asyncio.to_thread(
                hub.command, s.user.name, s.user.role, sc, name, args,
                confirmed=body.get("confirm") is True,
                release_s=None if release is None else float(release))
        except CommandRefusedError as exc:
            return _error(422, str(exc))
        except ValueError as exc:
            return _error(422, str(exc))
        return JSONResponse({"sent": [{"request_id": f"{r.request_id:#010x}", "text": r.text,
                                       "status": r.status} for r in records]})

    def _archive_query(request: Request) -> tuple[LoginSession, str, int, list[str], float,
                                                  float] | JSONResponse:
        s = login_session(request)
        if s is None:
            return _error(401, "log in first")
        q = request.query_params
        names = [n for n in q.getlist("name") if n]
        if not names:
            return _error(400, "pick at least one parameter (name=...)")
        for n in names:
            if not hub.may_see(s.user.role, n):
                return _error(403, f"role {s.user.role} may not see {n}")
        links = hub.sessions[s.user.role].links
        scname = q.get("spacecraft", "")
        if scname not in links:
            return _error(400, f"no spacecraft named {scname!r}")
        try:
            t0 = float(q.get("from", "0"))
            t1 = float(q.get("to", "1e18"))
        except ValueError:
            return _error(400, "from and to are on-board times in seconds")
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 < t0:
            return _error(400, "from and to are on-board times in seconds, from <= to")
        return s, scname, links[scname].config.scid, names, t0, t1

    async def archive_samples(request: Request) -> Response:
        qq = _archive_query(request)
        if isinstance(qq, JSONResponse):
            return qq
        s, _scname, scid, names, t0, t1 = qq
        archive = hub.sessions[s.user.role].archive
        archive.flush()
        series = {n: [[t, e] for t, _r, e in archive.samples(scid, n, t0, t1)][-5000:]
                  for n in names}
        if request.query_params.get("format") == "csv":
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(["parameter", "onboard_time_s", "value"])
            for n, rows in series.items():
                for t, e in rows:
                    w.writerow([n, t, e])
            return Response(buf.getvalue(), media_type="text/csv", headers={
                "Content-Disposition": 'attachment; filename="tessera-archive.csv"'})
        return JSONResponse({"series": series})

    async def events(request: Request) -> Response:
        s = login_session(request)
        if s is None:
            return _error(401, "log in first")
        return JSONResponse({"notifications": hub.notifications(s.user.role, 0)})

    async def live(ws: WebSocket) -> None:
        s = sessions.get(ws.cookies.get(COOKIE))
        origin = ws.headers.get("origin")
        host = ws.headers.get("host")
        if s is None or (origin is not None and origin.split("://", 1)[-1] != host):
            await ws.close(code=4401)
            return
        await ws.accept()
        role = s.user.role
        since_values: dict[str, float] = {}
        try:
            hello = await asyncio.wait_for(ws.receive_json(), timeout=5)
            since_note = int(hello.get("since", 0)) if isinstance(hello, dict) else 0
        except (TimeoutError, ValueError, TypeError):
            since_note = 0
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()
        unwatch = hub.watch(role, lambda: loop.call_soon_threadsafe(changed.set))
        last: dict[str, Any] = {}
        try:
            while sessions.get(ws.cookies.get(COOKIE)) is not None:
                vals = hub.values(role, since_values)
                for scname, name, t, _v, _lim in vals:
                    since_values[f"{scname}/{name}"] = t
                notes = hub.notifications(role, since_note)
                if notes:
                    since_note = notes[-1][0]
                msg: dict[str, Any] = {"values": vals, "notes": notes, "sent": time.time()}
                # The fleet and the command table only when they changed.
                for key, now in (("fleet", hub.fleet(role)), ("commands", hub.commands(role))):
                    if last.get(key) != now:
                        msg[key] = last[key] = now
                await ws.send_json(msg)
                # Push on arrival: wait for the receivers (or the idle period, for the
                # fleet's clocks), then a short window so what comes together goes together.
                try:
                    await asyncio.wait_for(changed.wait(), idle_push_s)
                except TimeoutError:
                    pass
                await asyncio.sleep(coalesce_s)
                changed.clear()
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            unwatch()
        await ws.close(code=4401)

    routes = [
        Route("/", index),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/api/me", me),
        Route("/api/command", command, methods=["POST"]),
        Route("/api/archive", archive_samples),
        Route("/api/events", events),
        WebSocketRoute("/ws", live),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)
