from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, after_this_request, current_app, jsonify, request, send_file

from ..boundaries import READABLE, check, export, list_versions, misfit, publish, scratch_dir, zip_shapefile
from ..errors import InvalidParameter
from ..web import database, geocoder, time_arg

bp = Blueprint("boundaries", __name__)


def _form_time(name: str) -> datetime | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(name, f"`{name}` must be an ISO-8601 time like 2026-12-01T00:00:00+08:00; got {raw!r}.") from None
    return (value if value.tzinfo else value.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))).astimezone(UTC)


def _form_bool(name: str) -> bool:
    return (request.form.get(name) or "").strip().lower() in {"1", "true", "yes", "on"}


def _form_float(name: str, default: float) -> float:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidParameter(name, f"`{name}` must be a number; got {raw!r}.") from None


def _saved_upload() -> tuple[Path, Path]:
    """Save the uploaded file(s) (a shapefile may come as its parts) and pick the one to read."""
    uploads = [f for f in request.files.getlist("file") if f and f.filename]
    if not uploads:
        raise InvalidParameter("file", "send the boundaries as a multipart field `file` (.geojson, .gpkg, .zip of a shapefile, or .shp with its parts).")
    folder = scratch_dir(current_app.config["INSTANCE_PATH"])
    main = None
    for upload in uploads:
        name = Path(upload.filename.replace("\\", "/")).name or "upload"
        target = folder / name
        upload.save(target)
        if target.suffix.lower() in READABLE and main is None:
            main = target
    if main is None:
        shutil.rmtree(folder, ignore_errors=True)
        raise InvalidParameter("file", f"none of the uploaded files is one gridops reads ({', '.join(READABLE)}).")
    return folder, main


def _layer() -> str:
    return (request.form.get("layer") or request.args.get("layer") or current_app.config["PRIMARY_LAYER"]).strip()


@bp.post("/boundaries/check")
def check_upload():
    folder, path = _saved_upload()
    try:
        with database().session() as session:
            report, _ = check(
                session, path, _layer(), crs=request.form.get("crs") or None, effective=_form_time("effective"),
                tolerance_m2=_form_float("tolerance_m2", 1.0), source=path.name,
            )
        return jsonify(report.as_json())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@bp.post("/boundaries")
def publish_upload():
    folder, path = _saved_upload()
    try:
        with database().session() as session:
            version, report = publish(
                session, path, _layer(), effective=_form_time("effective"), accept_warnings=_form_bool("accept_warnings"),
                crs=request.form.get("crs") or None, tolerance_m2=_form_float("tolerance_m2", 1.0), source=path.name,
                created_by=request.form.get("created_by") or "api",
            )
            body = {"layer": _layer(), "number": version.number, "effective_from": version.effective_from.isoformat(),
                    "report": report.as_json()}
        geocoder().registry.refresh()  # the new index is built, then swapped in
        return jsonify(body), 201
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@bp.get("/boundaries")
def versions():
    with database().session() as session:
        return jsonify({"versions": list_versions(session)})


@bp.get("/boundaries/export")
def export_file():
    fmt = request.args.get("format", "geojson")
    layer = _layer()
    folder = scratch_dir(current_app.config["INSTANCE_PATH"])
    out = folder / f"{layer}.{'shp' if fmt == 'shp' else fmt}"
    try:
        with database().session() as session:
            export(session, layer, fmt, out, time_arg("at"))
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if fmt == "shp":
        out = zip_shapefile(out)

    @after_this_request
    def _cleanup(response):
        shutil.rmtree(folder, ignore_errors=True)
        return response

    mimetype = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3"}.get(fmt, "application/zip")
    return send_file(out, mimetype=mimetype, as_attachment=True, download_name=out.name)


@bp.get("/layers/misfit")
def layer_misfit():
    a, b = request.args.get("a"), request.args.get("b")
    if not a or not b:
        raise InvalidParameter("a" if not a else "b", "give two layers: `a` (whose areas are split) and `b`.")
    with database().session() as session:
        rows = misfit(session, a, b, level_a=request.args.get("level_a"), level_b=request.args.get("level_b"), at=time_arg("at"))
    return jsonify({"a": a, "b": b, "areas": rows})
