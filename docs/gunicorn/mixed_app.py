"""One gunicorn worker serving a Starlette app and a legacy Flask app:
``gunicorn -k aioeventlet.gunicorn.Worker mixed_app:app``.

The routes moved to asyncio are Starlette's; everything else falls through
to the Flask app, unchanged, each request in a greenthread (GreenWSGI).
Moving a route means adding it above the mount; removing the Flask one.
"""

from __future__ import annotations

import eventlet
from flask import Flask, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import aioeventlet
from aioeventlet.gunicorn import GreenWSGI

# -- the legacy app, as it ran under gunicorn -k eventlet ------------------------

legacy = Flask(__name__)


@legacy.get("/reports/<name>")
def legacy_report(name: str) -> dict[str, str]:
    eventlet.sleep(0.01)  # green code keeps working
    return {"report": name, "path": request.path, "served_by": "flask"}


@legacy.post("/orders")
def legacy_order() -> dict[str, object]:
    order = request.get_json()
    return {"order": order, "served_by": "flask"}


# -- the routes moved to asyncio ----------------------------------------------------


def lookup_user_green(name: str) -> str:
    eventlet.sleep(0.01)  # say, a green database driver not ported yet
    return name.title()


async def user(request: Request) -> JSONResponse:
    name = request.path_params["name"]
    # Green code still has its place: run it in a greenthread and await it.
    title = await aioeventlet.to_green(lookup_user_green, name)
    return JSONResponse({"name": name, "title": title, "served_by": "starlette"})


app = Starlette(
    routes=[
        Route("/users/{name}", user),  # moved: Starlette serves it now
        Mount("/", app=GreenWSGI(legacy)),  # the rest: Flask, as before
    ]
)
