"""Answering browsers and API clients on the same routes (contract §5): HTML pages, form
descriptions in JSON, same-site redirects."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel
from werkzeug.wrappers import Response as BaseResponse

from envelope import success
from errors import wants_json
from schemas.common import FormDescription

DEFAULT_NEXT_ENDPOINT = "auth.get_profile"


def wants_html() -> bool:
    """True when the answer should be a page (or a redirect to one), not the JSON envelope."""
    return not wants_json()


def render_page(template: str, status: int = 200, **context: Any) -> Response:
    """A page rendered in the site layout."""
    html = render_template(template, errors={}, error_list=[], values={}, **context)
    return Response(html, status=status, mimetype="text/html")


def form_page(template: str, model: type[BaseModel], **context: Any) -> ResponseReturnValue:
    """A form page for browsers; for JSON clients, what to post where, with a CSRF token."""
    if wants_html():
        return render_page(template, **context)
    form = FormDescription(
        action=request.path, fields=list(model.model_fields), csrf_token=generate_csrf()
    )
    return success(form.model_dump(), message="Post these fields as JSON or as a form")


def same_site_path(target: str | None) -> str | None:
    """`target` when it is a path on this site (`/…`, not `//host` nor `/\\host`), else None."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(char) < 0x20 or char == "\\" for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def redirect_after_sign_in() -> BaseResponse:
    """303 to the `next` query parameter when it stays on this site, else to the profile."""
    target = same_site_path(request.args.get("next")) or url_for(DEFAULT_NEXT_ENDPOINT)
    return redirect(target, 303)


def see_other(endpoint: str, **values: Any) -> BaseResponse:
    """303 See Other: after a form post, the browser GETs the named page."""
    return redirect(url_for(endpoint, **values), 303)
