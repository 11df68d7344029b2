"""Configuration: defaults, then the environment, then what the caller passes.

Read when an app (or a CLI command) is created, never at import, so tests and
several apps in one process can each have their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gridops.core.errors import ConfigError

# the installed package: its migrations, templates and static files live inside it
PACKAGE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = PACKAGE_DIR / "web" / "static"

DEFAULTS: dict[str, Any] = {
    # unset: a SpatiaLite file under the instance folder (the embedded default)
    "DATABASE_URL": None,
    # unset: ./instance under the folder the command runs in
    "INSTANCE_PATH": None,
    # local time of the city: shifts, working hours and reports are read in it
    "TIMEZONE": "Asia/Shanghai",
    # the city's office day: what working-time limits count, and when someone with no rota is on duty
    # (a department may keep its own: PATCH /api/v1/departments/<code>)
    "OFFICE_HOURS": "08:30-12:00,13:30-17:30",
    # the layer whose grids route incidents (other layers overlay it)
    "PRIMARY_LAYER": "grid",
    # an intranet tile server for the maps, e.g. http://tiles.local/{z}/{x}/{y}.png
    "TILE_URL": None,
    # a tile archive the service serves itself (raster .pmtiles or .mbtiles): wins over TILE_URL
    "TILES": None,
    # the datum the tiles are drawn in: WGS84, or GCJ02 (AMap, Tencent) / BD09 (Baidu): overlays are shifted to match
    "TILE_CRS": "WGS84",
    # what the maps credit for their base layer (none by default)
    "TILE_ATTRIBUTION": "",
    # the address residents reach the service at, as a door's QR label encodes it (https://grid.example.gov.cn);
    # unset: the address the request for the labels came in on (the CLI then needs --base-url)
    "PUBLIC_URL": "",
    "API_PAGE_SIZE": 100,
    "API_MAX_PAGE_SIZE": 1000,
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    # the geocoder: how far outside every grid a point is still placed (snapped)
    "SNAP_DISTANCE_M": 50.0,
    # raster cell of the point index in metres (0: sized from the areas, ~1/30 of a
    # typical area's width); smaller is faster near edges, larger uses less memory
    "GEOCODER_CELL_M": 0.0,
    # how often a process looks for boundary versions published by another process
    "GEOCODER_REFRESH_SECONDS": 1.0,
    "BATCH_MAX_POINTS": 100_000,
    # an uploaded boundary file, unpacked, and its features (a district's grids are a few thousand)
    "BOUNDARY_MAX_BYTES": 256 * 1024 * 1024,
    "BOUNDARY_MAX_FEATURES": 200_000,
    # photos with a report or a resolution
    "MAX_PHOTOS": 6,
    "MAX_PHOTO_BYTES": 8 * 1024 * 1024,
    # a resolution photo whose EXIF position is farther than this from the incident is flagged (虚假办结)
    "PHOTO_MAX_DISTANCE_M": 300.0,
    # how far a phone's clock may be off: a resolution photo whose EXIF time is this much before the report,
    # or after now, is flagged
    "PHOTO_CLOCK_SKEW_MINUTES": 10.0,
    # how often `gridops serve` looks for overdue work (0: never; run `gridops sweep` instead)
    "SWEEP_INTERVAL_SECONDS": 60.0,
    # the live feed: how often a SpatiaLite stream looks for new events (PostGIS is woken by NOTIFY)
    "STREAM_POLL_SECONDS": 0.5,
    "STREAM_HEARTBEAT_SECONDS": 15.0,
    # how often an open stream asks whether its user is still signed in (a revoked user's ends this soon)
    "STREAM_RECHECK_SECONDS": 5.0,
    # open live streams one worker process of `gridops serve --workers N` holds; more are refused (503)
    "STREAM_MAX_CLIENTS": 5000,
    # a check-in farther than this from the incident is refused
    "CHECKIN_MAX_DISTANCE_M": 200.0,
    # a resident may say "not fixed" (reopen) this many days after the close
    "REOPEN_DAYS": 7.0,
    # signs the page session cookie (unset: one is made once and kept in the instance folder, secret_key)
    "SECRET_KEY": "",
    # Redis, for what must be shared across processes and machines (rate-limit counters), e.g. redis://127.0.0.1:6379/0
    "REDIS_URL": "",
    # sign-in and token lookups are rate limited (gridops.web.limits); off only for load tests
    "RATE_LIMITS": True,
    # served over HTTPS (behind a proxy that terminates it): the session cookie is Secure, HSTS is sent
    "HTTPS": False,
    "SQL_ECHO": False,
    # messages (gridops.messages): `gridops serve` runs a dispatcher, waking this often when idle (0: none there;
    # run `gridops notify run` instead, as many as wanted)
    "NOTIFY_INTERVAL_SECONDS": 0.5,
    # a copy that keeps failing is tried this many times, the first retry after MESSAGE_RETRY_SECONDS, each next
    # one twice as long (at most 30 min apart), then it is `failed` and listed for the command centre
    "MESSAGE_MAX_ATTEMPTS": 12,
    "MESSAGE_RETRY_SECONDS": 5.0,
    # a dispatcher killed while sending leaves its copies to another after this (they are sent again, same key)
    "MESSAGE_LEASE_SECONDS": 60.0,
    # non-urgent messages are held until these end, city time ("off": never held; a person may set their own)
    "QUIET_HOURS": "22:00-07:00",
    # SMS: "http" a generic gateway (SMS_URL, JSON; SMS_FORM for a form; SMS_TEMPLATES kind=template id,…)
    "SMS_GATEWAY": "",
    "SMS_URL": "",
    "SMS_TOKEN": "",
    "SMS_FORM": False,
    "SMS_TEMPLATES": "",
    # SMS "aliyun": Aliyun 短信服务 (SendSms) with this AccessKey, under this registered 短信签名; SMS_TEMPLATES gives
    # each kind its registered TemplateCode (kind=SMS_xxx,…: a kind without one is not sent); the URL only for a test
    "ALIYUN_ACCESS_KEY_ID": "",
    "ALIYUN_ACCESS_KEY_SECRET": "",
    "ALIYUN_SMS_SIGN_NAME": "",
    "ALIYUN_SMS_URL": "https://dysmsapi.aliyuncs.com",
    # 企业微信 application messages to a worker's WeCom userid: the corp, the application's secret and agentid
    # (all three, or no WeCom); the API's address; how long WeCom drops a repeat of the same message (s, ≤ 14400)
    "WECOM_CORP_ID": "",
    "WECOM_SECRET": "",
    "WECOM_AGENT_ID": "",
    "WECOM_API_URL": "https://qyapi.weixin.qq.com",
    "WECOM_DUPLICATE_SECONDS": 1800,
    # e-mail over SMTP (host and from, or no e-mail); SMTP_SECURITY starttls, ssl or none; port 0: 587, 465 or 25
    "SMTP_HOST": "",
    "SMTP_PORT": 0,
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "SMTP_FROM": "",
    "SMTP_SECURITY": "starttls",
    # group robots (企业微信群机器人, 钉钉机器人) are configured one by one on the admin page; off: none is told
    "ROBOTS": True,
    # the shared token a gateway sends with its delivery receipts (POST /api/v1/messages/receipts/sms); unset: none taken
    "SMS_RECEIPT_TOKEN": "",
}

# Environment variables read besides DATABASE_URL: GRIDOPS_<KEY>.
_ENV_PREFIX = "GRIDOPS_"


def _coerce(value: str, default: Any) -> Any:
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge defaults, environment and overrides into one plain dict."""
    env = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    if env.get("DATABASE_URL"):
        config["DATABASE_URL"] = env["DATABASE_URL"]
    for key, default in DEFAULTS.items():
        raw = env.get(_ENV_PREFIX + key)
        if raw is not None and raw != "":
            try:
                config[key] = _coerce(raw, default)
            except ValueError:
                raise ConfigError(f"{_ENV_PREFIX}{key}={raw!r} is not a valid value (expected like {default!r}).") from None
    if overrides:
        config.update(overrides)
    if not config.get("INSTANCE_PATH"):
        config["INSTANCE_PATH"] = str(Path.cwd() / "instance")
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = default_database_url(config["INSTANCE_PATH"])
    return config


def default_database_url(instance_path: str | os.PathLike[str]) -> str:
    return f"sqlite:///{Path(instance_path).resolve() / 'gridops.sqlite'}"
