"""How the API reads requests: webargs' parser with the two body locations gridops adds.

Every blueprint takes its Blueprint class (and the body locations) from here, so the
parser is configured before any blueprint is decorated: the validation status the
OpenAPI document gives each operation is read at decoration time.
"""

from __future__ import annotations

from typing import Any

from flask import Request
from flask_smorest import Blueprint
from marshmallow import Schema
from webargs import core
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import UnsupportedMediaType

from gridops.core.errors import InvalidParameter
from gridops.core.words import Say

FORM_AND_FILES = "form_and_files"
JSON_OR_FORM = "json_or_form"
__all__ = ["Blueprint", "FORM_AND_FILES", "JSON_OR_FORM"]

parser = Blueprint.ARGUMENTS_PARSER
# a request that fails its schema is malformed: 400, answered as problem details (gridops.web.problems)
parser.DEFAULT_VALIDATION_STATUS = 400

@parser.location_loader(FORM_AND_FILES)
def _form_and_files(req: Request, schema: Schema) -> Any:
    """A multipart body's fields and files together: one schema, one documented request body."""
    data: MultiDict[str, str | FileStorage] = MultiDict(req.form)  # a mutable copy
    data.update(req.files)
    return core.MultiDictProxy(data, schema)


@parser.location_loader(JSON_OR_FORM)
def _json_or_form(req: Request, schema: Schema) -> Any:
    """A JSON body, or a form (multipart with files): the same fields either way."""
    if req.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return _form_and_files(req, schema)
    if req.is_json:
        return parser.load_json(req, schema)
    raise UnsupportedMediaType(f"send application/json or multipart/form-data; got {req.mimetype or 'no content type'}.")


# a multipart upload with fields is documented as one multipart/form-data body
Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
    **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, FORM_AND_FILES: "multipart/form-data",
    JSON_OR_FORM: "application/json",
}


def text_body(req: Request) -> str:
    """The body as text, read as UTF-8 (a byte-order mark allowed): a body in another encoding is refused,
    never read with its characters replaced."""
    try:
        return req.get_data(cache=True).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidParameter("body", Say("the body is not UTF-8 text (byte %(start)s cannot be read); save the file as "
                                           'UTF-8 (Excel: "CSV UTF-8") and send it again.',
                                           start=exc.start)) from None


def uploaded_files(items: Any, field: str = "photo") -> list[tuple[str, bytes]]:
    """The files of a multipart field as (name, bytes); anything else sent under its name (a string in
    JSON, an empty part) is refused, naming the field — never read as if it were a file."""
    out = []
    for item in items or []:
        if not isinstance(item, FileStorage):
            raise InvalidParameter(field, Say("`%(field)s` takes files, sent as parts of a multipart/form-data body (a JSON "
                                              "body cannot carry them).",
                                              field=field))
        out.append((item.filename or field, item.read()))
    return out
