"""`GET /api/wells/{well}/view`: everything one well type's page needs, in one answer.

Common keys: `well`, `type`, `tags` (view key → tag name: role names in lower case,
calcd's results in upper case), `values` (key → live row, keys of `/api/tags`),
`annulus`, `trends`, `params`; then the type's own keys (docs/webd.md, "Well views").
Authorized like `GET /api/wells/{well}`: production/read on the well; each tag is shown
only if the caller may read it.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath

from daemons.core.access.model import User
from daemons.core.ring.rows import iso_utc
from daemons.webd.auth import ApiError, Gatekeeper, Principal
from daemons.webd.data import Api
from daemons.webd.wellviews import flowing, integrity, lift, rig
from daemons.webd.wellviews.cards import CardMemory
from daemons.webd.wellviews.source import ViewSource

Builder = Callable[[ViewSource, CardMemory], dict[str, Any]]
BUILDERS: dict[str, Builder] = {
    "rod_pump": lift.rod_pump,
    "esp": lambda s, _c: lift.esp_view(s),
    "gas_lift": lambda s, _c: lift.gas_lift(s),
    "pcp": lambda s, _c: lift.pcp_view(s),
    "flowing": lambda s, _c: flowing.flowing(s),
    "injector": lambda s, _c: flowing.injector(s),
    "drilling": lambda s, _c: rig.drilling(s),
    "coiled_tubing": lambda s, _c: rig.coiled_tubing(s),
}
COMMON_ROLES = ("thp", "chp", "run_status", "esd_status")


class WellViews:
    """The views of one configuration (one `Api`): builds answers, keeps recent cards."""

    def __init__(self, api: Api) -> None:
        # A weak reference: `views_of` closes these views when their Api goes (a reload),
        # which a strong one from here would prevent.
        self._api = weakref.ref(api)
        gate = api.gate
        self.cards = CardMemory(gate.config.paths.runtime_dir, lambda: self._card_wells(gate))

    @property
    def api(self) -> Api:
        api = self._api()
        if api is None:
            raise ApiError(503, "webd is reloading its configuration",
                           "webd está recargando su configuración")
        return api

    @staticmethod
    def _card_wells(gate: Gatekeeper) -> dict[str, tuple[str, str, str, str]]:
        out = {}
        for w in gate.config.wells.values():
            if w.type == "rod_pump":
                tags = lift.rod_pump_card_tags(gate, w.id)
                if tags is not None:
                    out[w.id] = tags
        return out

    def view(self, user: User, well_id: str) -> dict[str, Any]:
        gate, config = self.api.gate, self.api.config
        if well_id not in config.wells:
            raise ApiError(404, f"no well '{well_id}' on this gateway",
                           f"no existe el pozo '{well_id}' en este gateway")
        gate.require(user, "production", "read", well_id)
        gate.tag_def("")  # picks up a newly installed tag map, as writes do
        well = config.wells[well_id]
        src = ViewSource(gate, self.api.rings, user, well)
        src.use_roles(*COMMON_ROLES)
        builder = BUILDERS.get(well.type)
        own = builder(src, self.cards) if builder is not None else {
            "trends": src.trend_refs(*COMMON_ROLES)}
        annulus = integrity.annuli(src)
        return {"well": {"id": well.id, "name": well.name, "field": well.field,
                         "type": well.type, "latitude": well.latitude,
                         "longitude": well.longitude, "description": well.description},
                "type": well.type, "generated": iso_utc(time.time_ns()),
                "tags": dict(src.tags), "values": src.values(), "annulus": annulus,
                "problems": src.problems, **own}

    def close(self) -> None:
        self.cards.close()


_VIEWS: weakref.WeakKeyDictionary[Api, WellViews] = weakref.WeakKeyDictionary()


def views_of(api: Api) -> WellViews:
    """The views of this `Api` (a reload makes a new one; the old one's go with it)."""
    views = _VIEWS.get(api)
    if views is None:
        views = _VIEWS[api] = WellViews(api)
        weakref.finalize(api, views.close)
    return views


async def authenticated(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """app.py's guard (401 without a caller); imported when called, as app.py imports us."""
    from daemons.webd.app import authenticated as guard
    await guard(connection, handler)


@get("/api/wells/{well:str}/view", guards=[authenticated],
     summary="Everything the well type's page shows (live values, cards, curves, tests)")
async def well_view(request: Request, well: FromPath[str]) -> dict[str, Any]:
    web = request.app.state.web
    who: Principal = request.state.who
    return await web.worker.call(lambda: views_of(web.api).view(who.user, well))
