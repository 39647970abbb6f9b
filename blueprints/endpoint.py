"""`@endpoint(...)`: one declaration per route that validates its input with Pydantic, wraps its
answer in the envelope, and feeds the OpenAPI document (`blueprints/openapi.py`).

A view receives `body=` and/or `query=` as validated models and returns a domain object (or a
list, or None); the decorator serialises it through `response` into the success envelope.

Routes with a `page` (the browser routes under `/auth`) also take form bodies
(`application/x-www-form-urlencoded`), validated by the same models; when such a request fails,
the page is rendered again with each error next to its field and the values kept (never a
password).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from blueprints.security import authenticate_request
from domain.texts import N_
from envelope import DEFAULT_MESSAGE, success
from errors import AppError, ValidationError, wants_json
from schemas.common import Envelope

ENDPOINT_SPEC_ATTRIBUTE = "endpoint_spec"
FORM_MIMETYPE = "application/x-www-form-urlencoded"
SECRET_FIELDS = frozenset({"password", "current_password", "new_password", "code"})


@dataclass(frozen=True)
class EndpointSpec:
    """What a route takes and answers, for validation and for the OpenAPI document."""

    summary: str
    description: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    auth: bool
    errors: tuple[int, ...]
    message: str
    envelope: bool
    tags: tuple[str, ...]
    page: str | None = None
    adapter: TypeAdapter[Any] | None = field(default=None, compare=False)
    # The model of the success body for the OpenAPI document, made once here at import: a
    # generic `Envelope[...]` made again in concurrent requests can be another class.
    success_model: type[BaseModel] | None = field(default=None, compare=False)


def success_model(response: Any, *, envelope: bool) -> type[BaseModel] | None:
    """The model describing a route's success body (the envelope around its data)."""
    if not envelope:
        return response if isinstance(response, type) else None
    model: type[BaseModel] = Envelope[response]
    return model


def pydantic_errors(exc: PydanticValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as the contract's `[{"field", "error"}]` list."""
    items = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "body"
        if error["type"] == "extra_forbidden":
            message = N_("Unknown field")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        items.append({"field": location, "error": message})
    return items


def validate_model(model: type[BaseModel], data: object) -> BaseModel:
    """Validate `data` into `model`, raising the contract's VALIDATION_ERROR on failure."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError(pydantic_errors(exc)) from None


def request_body(*, forms: bool = False) -> object:
    """The parsed JSON (or, with `forms`, form) body; an absent body counts as an empty object."""
    if forms and request.mimetype == FORM_MIMETYPE:
        return form_fields()
    if not request.content_length and not request.is_json:
        return {}
    if not request.get_data(cache=True):
        return {}
    return request.get_json()


def form_fields() -> dict[str, str]:
    """A submitted form without its CSRF token; a repeated field is ambiguous, so it is refused."""
    token_field = current_app.config["WTF_CSRF_FIELD_NAME"]
    fields: dict[str, str] = {}
    for name, values in request.form.lists():
        if name == token_field:
            continue
        if len(values) > 1:
            raise ValidationError.single(name, N_("Give this field once"))
        fields[name] = values[0]
    return fields


def render_form_errors(template: str, error: AppError) -> ResponseReturnValue:
    """The page again, with the errors by field, a summary, and the submitted values kept."""
    errors = error.details.get("errors", []) if isinstance(error, ValidationError) else []
    by_field: dict[str, list[str]] = {}
    for item in errors:  # a field can break several rules (a weak password): show them all
        by_field.setdefault(item["field"], []).append(item["error"])
    html = render_template(
        template,
        errors=by_field,
        error_list=errors,
        form_error=None if errors else error.message,
        values={k: v for k, v in request.form.items() if k not in SECRET_FIELDS},
    )
    return Response(html, status=error.status, headers=error.headers, mimetype="text/html")


def query_arguments(model: type[BaseModel]) -> dict[str, str]:
    """Query parameters; a repeated parameter is ambiguous, so it is refused."""
    arguments: dict[str, str] = {}
    for name, values in request.args.lists():
        if len(values) > 1:
            raise ValidationError.single(name, "Give this parameter once")
        arguments[name] = values[0]
    return arguments


def serialize(adapter: TypeAdapter[Any], result: object) -> Any:
    """Domain objects (ORM rows included) to JSON-ready data through the response model."""
    return adapter.dump_python(adapter.validate_python(result, from_attributes=True), mode="json")


def summary_and_description(view: Callable[..., Any]) -> tuple[str, str]:
    """A view's docstring as an OpenAPI summary (its first line) and description (the rest)."""
    doc = (view.__doc__ or view.__name__).strip()
    summary, _, description = doc.partition("\n")
    return summary.strip(), description.strip()


def endpoint(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    auth: bool = False,
    errors: tuple[int, ...] = (),
    message: str = DEFAULT_MESSAGE,
    envelope: bool = True,
    tags: tuple[str, ...] = (),
    page: str | None = None,
    auth_by_view: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., ResponseReturnValue]]:
    """Declare a route's input and output; see the module docstring. With `auth_by_view`, a
    route with `auth` authenticates its caller in the view (`security.bearer_claims`: in the same
    statement as its read), not before it."""

    def decorator(view: Callable[..., Any]) -> Callable[..., ResponseReturnValue]:
        summary, description = summary_and_description(view)
        spec = EndpointSpec(
            summary=summary,
            description=description,
            body=body,
            query=query,
            response=response,
            status=status,
            auth=auth,
            errors=errors,
            message=message,
            envelope=envelope,
            tags=tags,
            page=page,
            adapter=TypeAdapter(response) if response is not None else None,
            success_model=success_model(response, envelope=envelope),
        )

        def call_view(path_arguments: dict[str, Any]) -> Any:
            arguments = dict(path_arguments)
            if body is not None:
                arguments["body"] = validate_model(body, request_body(forms=page is not None))
            if query is not None:
                arguments["query"] = validate_model(query, query_arguments(query))
            return view(**arguments)

        @functools.wraps(view)
        def wrapper(**path_arguments: Any) -> ResponseReturnValue:
            if auth and not auth_by_view:
                authenticate_request()
            try:
                result = call_view(path_arguments)
            except AppError as error:
                if error.failed_attempt:
                    g.failed_attempt = True  # read by the rate limits (blueprints/rate_limits.py)
                if page is None or wants_json():
                    raise
                return render_form_errors(page, error)
            if isinstance(result, Response | tuple):
                return result
            data = serialize(spec.adapter, result) if spec.adapter else None
            if not envelope:
                return jsonify(data), status
            return success(data, message=message, status=status)

        setattr(wrapper, ENDPOINT_SPEC_ATTRIBUTE, spec)
        return wrapper

    return decorator
