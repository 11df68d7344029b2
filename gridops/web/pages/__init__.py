"""The pages (zh-CN first): landing and problem types, signing in, the worker's phone page,
the command centre's maps and measures, the planner's page, the registers' pages (/admin), and the
resident's pages a door's QR label opens (/r/<code>). Each module adds its routes to the one blueprint
in `base`."""

from gridops.web.pages import admin, command, landing, login, messages, plan, resident, risk, worker
from gridops.web.pages.base import pages

__all__ = ["pages", "admin", "command", "landing", "login", "messages", "plan", "resident", "risk", "worker"]
