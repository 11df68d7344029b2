"""Patrols ordered over a place (派发巡查): a visit task for the worker of each micro-grid, with a checklist.

The command centre (or a leader on their ground) sees a hot spot and sends the workers who answer for its
micro-grids to look: each micro-grid becomes one patrol task for its worker (the micro-grid's own, else the
grid's primary, backup, then leader), due by the end of the third day, at the micro-grid's centre, with the
checklist of the category (e-bike charging: 楼道、电梯内是否有电动车停放充电 …). The order is kept as made
(PatrolOrder: who, when, what, where) — the record of the command, and the day the risk page measures
"cooled since" from — and each worker is told once. A task is recorded like any visit (POST
/api/v1/tasks/{id}/visit, at the place or with a reason).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID

from gridops.access.policy import Forbidden, Principal
from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.errors import InvalidParameter
from gridops.core.models import Area, PatrolOrder, Task, Worker
from gridops.core.words import Say
from gridops.field.patrols import DAY_END
from gridops.incidents.context import Context
from gridops.incidents.news import when
from gridops.messages.outbox import enqueue

ORDER_DAYS = 3  # a patrol ordered today is due by the end of the third day
MAX_MICRO_GRIDS = 200

# what a patrol looks at, by category (else by its group, else in general): the words a worker reads on site
CHECKLISTS: dict[str, list[str]] = {
    "hazard.ebike_charging": ["楼道、电梯内是否有电动车停放或充电", "是否有私拉电线、飞线充电", "集中充电桩是否可用、是否满员",
                              "向住户宣传电动车安全充电，发现隐患当场劝导整改"],
    "hazard.fire_lane": ["消防通道是否被车辆或杂物占用", "消防设施（灭火器、消火栓）是否完好", "占道车辆、杂物的责任人是否已通知清理"],
    "hazard.blocked_drain": ["雨水口、下水道是否堵塞", "井盖是否缺失、破损或松动", "积水点是否已设置警示"],
    "hazard.building_safety": ["外墙、阳台有无脱落风险", "墙体、楼梯有无新裂缝", "危险区域是否已设置警示、疏导行人"],
    "hazard": ["巡查楼道、公共区域有无安全隐患", "发现隐患当场拍照上报", "向住户做好安全提醒"],
    "dispute": ["走访相关住户，了解矛盾起因", "能当场调解的当场调解", "需要社区介入的及时上报"],
    "order": ["查看噪音、占道、违规经营等情况", "劝导当事人，留存照片", "劝导无效的上报处置"],
    "environment": ["查看垃圾堆放、乱张贴、绿化损毁等情况", "通知物业或环卫清理", "拍照记录整改前后"],
    "livelihood": ["走访住户，了解诉求", "能现场解决的当场解决", "需部门解决的登记上报"],
    "care": ["上门看望重点关爱对象", "了解身体和生活状况", "需要帮扶的及时上报"],
    "security": ["查看门禁、监控、照明是否完好", "留意可疑人员和车辆", "向住户做好防盗防骗提醒"],
}
GENERAL = ["巡查网格内公共区域", "与住户交流，了解近期问题", "发现问题当场拍照上报"]


def checklist_for(category: str | None, group: str | None) -> list[str]:
    """The checklist of a category, else of its group, else the general one."""
    return list(CHECKLISTS.get(category or "") or CHECKLISTS.get(group or "") or GENERAL)


def order_patrols(session: Session, ctx: Context, principal: Principal, *, micro_grids: list[str], title: str,
                  checklist: list[str], category: str | None, res: int, cells: list[str], note: str | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """One patrol task per micro-grid for the worker who answers for it, and the order that made them."""
    now = now or clock.now()
    if not micro_grids:
        raise InvalidParameter("cells", Say("these cells cover no micro-grid: there is no one to send."))
    if len(micro_grids) > MAX_MICRO_GRIDS:
        raise InvalidParameter("cells", Say("a patrol order covers at most %(max_micro_grids)s micro-grids; got "
                                            "%(n_micro_grids)s.",
                                            max_micro_grids=MAX_MICRO_GRIDS, n_micro_grids=len(micro_grids)))
    if not principal.is_staff:
        outside = [m for m in micro_grids if not principal.covers(m)]
        if outside:
            raise Forbidden(Say("%(n_outside)s of these micro-grids are not on your ground (e.g. %(outside)s).",
                                n_outside=len(outside), outside=outside[0]))
    layer = ctx.geocoder.primary_layer
    version = version_in_force(session, layer)
    if version is None:
        raise InvalidParameter("cells", Say("layer %(layer)r has no published boundaries yet.", layer=layer))
    areas = {a.code: a for a in session.scalars(select(Area).where(Area.version_id == version.id, Area.code.in_(micro_grids)))}
    grid_of = {a.code: a.parent.code if a.parent is not None else None for a in areas.values()}
    tz = ZoneInfo(ctx.timezone)
    due = datetime.combine(now.astimezone(tz).date() + timedelta(days=ORDER_DAYS - 1), DAY_END, tz).astimezone(now.tzinfo)
    order = PatrolOrder(created_at=now, created_by_user_id=principal.user_id, actor_label=f"{principal.role}:{principal.name}",
                        category=category, res=res, cells=sorted(cells), micro_grids=sorted(areas), checklist=checklist,
                        title=title[:256], note=(note or "").strip() or None, due_at=due)
    session.add(order)
    session.flush()
    ref = ctx.references.current(session)
    tasks: list[dict[str, Any]] = []
    unassigned: list[dict[str, str]] = []
    told: dict[int, list[str]] = {}
    for code in sorted(areas):
        area = areas[code]
        grid = grid_of[code]
        worker = None
        for where, duties in ((code, ("primary",)), (grid, ("primary",)), (grid, ("backup",)), (grid, ("leader",))):
            found = ref.assigned(layer, [where], duties, now) if where else []
            if found:
                worker = found[0]
                break
        if worker is None:
            unassigned.append({"code": code, "name": area.name})
            continue
        task = Task(kind="patrol", title=f"{title} · {area.name}"[:256], status="open", worker_id=worker, area_code=grid_of[code],
                    location=from_shape(to_shape(area.geom).representative_point(), srid=STORAGE_SRID),
                    scheduled_for=now, due_at=due, created_at=now, order_id=order.id, checklist=checklist)
        session.add(task)
        session.flush()
        tasks.append({"id": task.id, "worker_id": worker, "micro_grid": code, "micro_grid_name": area.name, "grid": grid_of[code]})
        told.setdefault(worker, []).append(area.name)
    names: dict[int, str] = dict(session.execute(select(Worker.id, Worker.name).where(Worker.id.in_(told))).all()) if told else {}
    for worker, places in told.items():
        enqueue(session, "patrol_order", at=now, worker_id=worker,
                data={"order": order.id, "title": title, "places": "、".join(places), **when(due, ctx.timezone),
                      "ground": sorted({t["grid"] for t in tasks if t["worker_id"] == worker and t["grid"]})})
    for t in tasks:
        t["worker_name"] = names.get(t["worker_id"])
    return {"order": order.id, "created_at": now.isoformat(), "title": order.title, "category": category,
            "due_at": due.isoformat(), "checklist": checklist, "tasks": tasks, "unassigned": unassigned,
            "workers": [{"id": w, "name": names.get(w)} for w in told]}
