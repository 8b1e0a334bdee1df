"""The plant's web server: an index of its devices, and each controller's own page and API under ``/<name>/``.

``GET /`` is a live page listing every controller and Modbus device with its
address, requests/s and clients; ``GET /api`` (or ``/plant.json``) is the same
list as JSON.  ``/<name>/`` is controller *name*'s live page and
``/<name>/api/<group>/<match>/<command>/<value>`` its API, exactly as one
simulator serves them at ``/`` (:mod:`cpppo.enip.web.app`, one app per
controller, built when first asked for: a plant of 1,000 controllers builds
only the apps someone looks at).  Rates are counts over the last second or more,
sampled when the index is asked for; nothing runs while nobody looks.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.web import resource, util

from cpppo.enip.web.app import controller_api, make_app, serve_site
from cpppo.enip.web.guard import Guard
from cpppo.plant.model import ControllerSpec

__all__ = ["PlantIndex", "start_plant_web", "INDEX_PAGE"]

log = logging.getLogger(__name__)


@dataclass
class _View:
    """What a controller's Api reads: the controller, and the transport that keeps its clients (a chassis'
    for a controller in one)."""

    controller: Any
    transport: Any


class PlantIndex(resource.Resource):
    """The plant's root resource: the index at ``/`` and ``/api``, each controller's app below ``/<name>/``."""

    def __init__(self, server: Any, reactor: Any, guard: Guard, now: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.plant_server = server  # (not .server: a Resource's server is its Site's)
        self.reactor = reactor
        self.guard = guard
        self.now = now
        self._apps: dict[str, resource.IResource] = {}
        self._sample: tuple[float, dict[str, int]] = (now(), self._counts())
        self._rates: dict[str, float] = {}

    def _counts(self) -> dict[str, int]:
        return {name: served.requests for name, served in self.plant_server.served.items()}

    def listing(self) -> dict[str, Any]:
        """The index's JSON: every device with its address, requests, requests/s and clients."""
        now = self.now()
        then, counts = self._sample
        if now - then >= 1.0 or not self._rates:
            fresh = self._counts()
            self._rates = {name: (count - counts.get(name, 0)) / max(now - then, 1e-3)
                           for name, count in fresh.items()}
            self._sample = (now, fresh)
        devices = []
        for name, served in self.plant_server.served.items():
            device = served.device
            host, port = served.bound
            devices.append({
                "name": name, "kind": device.kind, "address": f"{host}:{port}",
                "slot": getattr(device, "slot", None), "requests": served.requests,
                "requests_per_s": round(self._rates.get(name, 0.0), 2), "clients": served.clients,
                "page": f"/{name}/" if isinstance(device, ControllerSpec) else None})
        return {"plant": self.plant_server.plant.file, "devices": devices, "until": time.time()}

    def getChild(self, path: bytes, request: Any) -> resource.IResource:
        name = path.decode("utf-8", "replace")
        if name in ("", "index.html"):
            return self
        if name in ("api", "plant.json"):
            return _Listing(self)
        served = self.plant_server.served.get(name)
        if served is None or not isinstance(served.device, ControllerSpec):
            return resource.NoResource(f"no controller {name!r} in this plant")
        if not request.postpath:  # /name: the page's relative links need /name/
            return util.Redirect(f"/{name}/".encode())
        app = self._apps.get(name)
        if app is None:
            view = _View(served.service.controller, served.transport)
            app = self._apps[name] = make_app(controller_api(view, self.reactor), self.guard,
                                              prefix=f"/{name}").resource()
        return app

    def render_GET(self, request: Any) -> bytes:
        request.setHeader("Content-Type", "text/html; charset=utf-8")
        request.setHeader("Cache-Control", "no-cache")
        return INDEX_PAGE.encode("utf-8")


class _Listing(resource.Resource):
    isLeaf = True

    def __init__(self, index: PlantIndex) -> None:
        super().__init__()
        self.index = index

    def render_GET(self, request: Any) -> bytes:
        request.setHeader("Content-Type", "application/json; charset=utf-8")
        request.setHeader("Cache-Control", "no-cache")
        return (json.dumps(self.index.listing(), indent=1) + "\n").encode("utf-8")


def start_plant_web(server: Any, address: tuple[str, int], reactor: Any = None) -> Any:
    """Serve *server*'s (a :class:`~cpppo.plant.serve.PlantServer`) web index and apps on *address*;
    returns the listening port."""
    if reactor is None:
        from twisted.internet import reactor
    guard = Guard()
    return serve_site(PlantIndex(server, reactor, guard), guard, address, reactor, "Plant web index")


#: The index page: a table of the devices, refreshed from ``api`` every two seconds; values go in as text.
INDEX_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cpppo plant</title>
<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right}</style></head>
<body><h2>Plant <span id="plant"></span></h2><p id="summary"></p>
<table id="devices"><thead><tr><th>name</th><th>kind</th><th>address</th><th>slot</th><th>requests/s</th>
<th>clients</th><th>requests</th></tr></thead><tbody></tbody></table>
<script>
function cell(row, value, cls) { const td = row.insertCell(); td.textContent = value; if (cls) td.className = cls;
  return td; }
async function update() {
  let content;
  try { content = await (await fetch("api", {headers: {"Accept": "application/json"}})).json(); }
  catch (error) { document.getElementById("summary").textContent = "no answer from the plant"; return; }
  document.getElementById("plant").textContent = content.plant;
  const body = document.getElementById("devices").tBodies[0];
  body.replaceChildren();
  let rate = 0, clients = 0;
  for (const d of content.devices) {
    const row = body.insertRow();
    const name = cell(row, "");
    if (d.page) { const a = document.createElement("a"); a.href = d.page; a.textContent = d.name;
      name.appendChild(a); } else { name.textContent = d.name; }
    cell(row, d.kind); cell(row, d.address); cell(row, d.slot === null ? "" : d.slot);
    cell(row, d.requests_per_s.toFixed(1), "n"); cell(row, d.clients, "n"); cell(row, d.requests, "n");
    rate += d.requests_per_s; clients += d.clients;
  }
  document.getElementById("summary").textContent =
    content.devices.length + " devices, " + rate.toFixed(1) + " requests/s, " + clients + " clients";
}
update(); setInterval(update, 2000);
</script></body></html>
"""
