"""What every register's file endpoints share: the upload (a multipart field `file`, or the file itself as the
body), an import's answer, an export as CSV or .xlsx, and how each is documented — so each register's
import and export is one call of `file_routes` naming its two application functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from flask import Response, request
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from gridops.access.policy import Principal
from gridops.core.errors import InvalidParameter
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.registers.files import Imported, write_file
from gridops.web.api.parsing import FORM_AND_FILES, Blueprint
from gridops.web.api.schemas.common import NOTE, problem_response
from gridops.web.context import use_case_context
from gridops.web.request import caller, database

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = {"text/csv": "upload.csv", XLSX: "upload.xlsx"}  # a body's content type -> the name it is imported under
View = Callable[..., Any]


class Importer(Protocol):
    def __call__(self, session: Session, ctx: Context, who: Principal | None, data: bytes, *, name: str = "",
                 note: str | None = None) -> Imported: ...


Exporter = Callable[[Session, Context, Principal | None], list[dict[str, Any]]]


class ExportArgs(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]),
                           metadata={"description": "csv (UTF-8, as Excel opens it) or xlsx"})


class FileImported(Schema):
    rows = fields.Integer(metadata={"description": "rows read under the header"})
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer(metadata={"description": "rows as the register already had them (nothing written)"})


def upload_schema(name: str, columns: str) -> type[Schema]:
    """The multipart body of an import: the file (its columns described) and why it is imported."""
    return Schema.from_dict({
        "file": Upload(metadata={"description": f"a .xlsx (first sheet) or CSV (UTF-8) with a header row: {columns}"}),
        "note": NOTE}, name=name)


def uploaded(form: dict[str, Any], bodies: dict[str, str], what: str) -> tuple[bytes, str]:
    """An import's file and its name: the multipart field `file`, or the whole body when its type is one of
    `bodies` (content type -> the name it is imported under)."""
    upload = form.get("file")
    if upload is not None:
        return upload.read(), upload.filename or ""
    if request.mimetype in bodies:
        return request.get_data(), bodies[request.mimetype]
    kinds = " or ".join(".xlsx" if t == XLSX else t for t in bodies)
    raise InvalidParameter("file", Say("send %(what)s as a multipart field `file`, or as a %(kinds)s body.", what=what, kinds=kinds))


def imports(bp: Blueprint, upload: type[Schema], forbidden: str) -> Callable[[View], View]:
    """An import's request and answers, documented as every register's are."""
    def document(view: View) -> View:
        for status, said in ((422, "rows cannot be stored (`rows` names each by its sheet row); nothing was imported"),
                             (403, forbidden), (400, "not a CSV or workbook, or a required column is missing")):
            view = problem_response(bp, status, said)(view)
        view = bp.response(200, FileImported)(view)
        return bp.arguments(upload(), location=FORM_AND_FILES)(view)
    return document


def exports(bp: Blueprint, what: str) -> Callable[[View], View]:
    """An export's arguments and answers: CSV, or .xlsx with format=xlsx."""
    def document(view: View) -> View:
        view = bp.alt_response(200, content_type=XLSX, success=True, description="the same as an Excel workbook")(view)
        view = bp.response(200, content_type="text/csv", description=f"{what} as the import reads them (CSV, or .xlsx "
                                                                      "with format=xlsx)")(view)
        return bp.arguments(ExportArgs(), location="query", as_kwargs=True)(view)
    return document


def imported(form: dict[str, Any], what: str, importer: Importer) -> dict[str, Any]:
    """Run one register's import on the uploaded file, as the caller, in one transaction."""
    data, name = uploaded(form, SHEETS, what)
    with database().session() as session:
        done = importer(session, use_case_context(), caller(), data, name=name, note=form.get("note"))
    return done.as_dict()


def exported(exporter: Exporter, columns: Sequence[str], stem: str, fmt: str) -> Response:
    """One register's export for the caller, as a CSV or workbook download."""
    with database().session() as session:
        rows = exporter(session, use_case_context(), caller())
    body = write_file(columns, rows, stem, fmt)
    return Response(body, mimetype=XLSX if fmt == "xlsx" else "text/csv",
                    headers={"Content-Disposition": f"attachment; filename={stem}.{fmt}"})


def file_routes(bp: Blueprint, base: str, name: str, *, importer: Importer, exporter: Exporter, columns: Sequence[str],
                what: str, upload: str, forbidden: str, imports_doc: str, exports_doc: str) -> None:
    """`POST {base}/import` and `GET {base}/export` of one register, as endpoints `{name}_import` and `{name}_export`
    (each a line of gridops.access.policy.ROUTES): `what` names its rows, `upload` the file's columns."""
    schema = upload_schema(f"{name.title()}Upload", upload)

    def import_view(form: dict[str, Any]) -> dict[str, Any]:
        return imported(form, what, importer)

    def export_view(**args: Any) -> Response:
        return exported(exporter, columns, name, args["format"])

    import_view.__doc__, export_view.__doc__ = imports_doc, exports_doc
    bp.route(f"{base}/import", methods=["POST"], endpoint=f"{name}_import")(imports(bp, schema, forbidden)(import_view))
    bp.route(f"{base}/export", methods=["GET"], endpoint=f"{name}_export")(exports(bp, what)(export_view))
