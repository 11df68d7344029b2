from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from flask import Response, after_this_request, current_app, request, send_file
from flask_smorest.fields import Upload
from marshmallow import fields

from gridops.boundaries.files import READABLE, check_size, export, scratch_dir, zip_shapefile
from gridops.boundaries.misfit import misfit
from gridops.boundaries.versions import check, list_versions, publish
from gridops.core.errors import InvalidParameter
from gridops.core.words import Say
from gridops.web.api.parsing import FORM_AND_FILES, Blueprint
from gridops.web.api.schemas.boundaries import (
    BoundaryForm,
    ExportArgs,
    Misfit,
    MisfitArgs,
    Published,
    Report,
    VersionList,
)
from gridops.web.api.schemas.common import problem_response
from gridops.web.request import caller, database, geocoder

bp = Blueprint("boundaries", __name__, description="Boundary files in and out; versions; misfit between layers")


class BoundaryUpload(BoundaryForm):
    file = fields.List(Upload(), metadata={"description": ".geojson, .gpkg, a .zip of a shapefile, or .shp with its parts"})


def _saved_upload() -> tuple[Path, Path]:
    """Save the uploaded file(s) (a shapefile may come as its parts), pick the one to read, and refuse it
    before parsing if it would unpack beyond the limits; the folder is removed on every refusal."""
    uploads = [f for f in request.files.getlist("file") if f and f.filename]
    if not uploads:
        raise InvalidParameter("file", Say("send the boundaries as a multipart field `file` "
                                       "(.geojson, .gpkg, .zip of a shapefile, or .shp with its parts)."))
    cfg = current_app.config
    folder = scratch_dir(cfg["INSTANCE_PATH"])
    try:
        main = None
        for upload in uploads:
            assert upload.filename is not None  # uploads without a file name are left out above
            name = Path(upload.filename.replace("\\", "/")).name or "upload"
            if name == ".." or "\x00" in name:  # the folder's parent, or no file name a file system takes
                raise InvalidParameter("file", Say("an uploaded file needs a name like grids.geojson; got %(filename)r.",
                                                   filename=upload.filename))
            target = folder / name
            upload.save(target)
            if target.suffix.lower() in READABLE and main is None:
                main = target
        if main is None:
            raise InvalidParameter("file", Say("none of the uploaded files is one gridops reads (%(readable)s).",
                                               readable=', '.join(READABLE)))
        check_size(main, cfg["BOUNDARY_MAX_BYTES"], cfg["BOUNDARY_MAX_FEATURES"])
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, main


def _layer(form: dict) -> str:
    return (form.get("layer") or current_app.config["PRIMARY_LAYER"]).strip()


@bp.post("/boundaries/check")
@bp.arguments(BoundaryUpload(), location=FORM_AND_FILES)
@bp.response(200, Report)
@problem_response(bp, 400, "no file, an unreadable file, a file without a CRS")
@problem_response(bp, 413, "the upload exceeds the size limit")
def check_upload(form: dict[str, Any]) -> dict[str, Any]:
    """Validate a boundary file as it would be published; nothing is stored."""
    folder, path = _saved_upload()
    try:
        with database().session() as session:
            report, _ = check(session, path, _layer(form), crs=form.get("crs"), effective=form.get("effective"),
                              tolerance_m2=form["tolerance_m2"], source=path.name)
        return report.as_json()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@bp.post("/boundaries")
@bp.arguments(BoundaryUpload(), location=FORM_AND_FILES)
@bp.response(201, Published)
@problem_response(bp, 400, "no file, an unreadable file, a file without a CRS")
@problem_response(bp, 413, "the upload exceeds the size limit")
@problem_response(bp, 409, "a version scheduled later would undo this one (`scheduled` names it): send supersede")
@problem_response(bp, 422, "refused: `report` lists every error and warning; nothing was stored")
def publish_upload(form: dict[str, Any]) -> dict[str, Any]:
    """Check a boundary file and publish it as a new version of the layer (all or nothing)."""
    folder, path = _saved_upload()
    try:
        with database().session() as session:
            version, report = publish(
                session, path, _layer(form), effective=form.get("effective"), accept_warnings=form["accept_warnings"],
                crs=form.get("crs"), tolerance_m2=form["tolerance_m2"], source=path.name, created_by=caller().name,
                supersede=form["supersede"],
            )
            body = {"layer": _layer(form), "number": version.number, "effective_from": version.effective_from.isoformat(),
                    "report": report.as_json()}
        geocoder().registry.refresh()  # the new index is built, then swapped in
        return body
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@bp.get("/boundaries")
@bp.response(200, VersionList)
def versions() -> dict[str, Any]:
    """Every boundary version of every layer."""
    with database().session() as session:
        return {"versions": list_versions(session)}


@bp.get("/boundaries/export")
@bp.arguments(ExportArgs(), location="query", as_kwargs=True)
@bp.doc(responses={"200": {"description": "the file (a .zip for shapefiles)", "content": {
    "application/geo+json": {}, "application/geopackage+sqlite3": {}, "application/zip": {}}}})
@problem_response(bp, 400, "a parameter is invalid")
@problem_response(bp, 404, "no version in force")
def export_file(**args: Any) -> Response:
    """The version in force (or at `at`) as GeoJSON, GeoPackage or a zipped Shapefile."""
    fmt = args["format"]
    layer = _layer(args)
    folder = scratch_dir(current_app.config["INSTANCE_PATH"])
    out = folder / f"{layer}.{fmt}"
    try:
        with database().session() as session:
            export(session, layer, fmt, out, args.get("at"))
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if fmt == "shp":
        out = zip_shapefile(out)

    @after_this_request
    def _cleanup(response: Response) -> Response:
        shutil.rmtree(folder, ignore_errors=True)
        return response

    mimetype = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3"}.get(fmt, "application/zip")
    return send_file(out, mimetype=mimetype, as_attachment=True, download_name=out.name)


@bp.get("/layers/misfit")
@bp.arguments(MisfitArgs(), location="query", as_kwargs=True)
@bp.response(200, Misfit)
@problem_response(bp, 400, "a layer or level is missing or unknown")
@problem_response(bp, 404, "a layer has no version in force")
def layer_misfit(**args: Any) -> dict[str, Any]:
    """For each area of layer `a`, how `b`'s boundaries split it (share of ground and of households)."""
    with database().session() as session:
        rows = misfit(session, args["a"], args["b"], level_a=args.get("level_a"), level_b=args.get("level_b"), at=args.get("at"))
    return {"a": args["a"], "b": args["b"], "areas": rows}
