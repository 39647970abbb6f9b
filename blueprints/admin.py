"""The admin console under `/admin` (contract §10): server-rendered pages for administrators,
signed in by the session cookie; every form posts with the CSRF token (checked app-wide in
blueprints/security.py) and GETs change nothing. Each action calls one service, which audits it
with the acting admin; what the policy refuses comes back as an error message on the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from pydantic import BaseModel

from blueprints.endpoint import form_fields, query_arguments, validate_model
from blueprints.pages import render_page, see_other
from blueprints.security import authenticate_request, bearer_request, current_principal
from errors import AuthenticationRequired, Conflict, NotFound, ValidationError
from schemas.admin import ActiveForm, RoleForm
from schemas.user import SORT_FIELDS, UserListQuery, UserUpdate
from services import admin_service, mfa_service, policy, user_service
from services.auth.authentication import Principal

bp = Blueprint("admin", __name__, url_prefix="/admin")
USERS_PAGE = "admin/users.html"
USER_PAGE = "admin/user.html"
CONFIRM_PAGE = "admin/confirm.html"
COOKIE_ONLY = "The admin console is for browsers signed in at /auth/login, not for tokens"
M = TypeVar("M", bound=BaseModel)


@bp.before_request
def require_admin() -> None:
    """Every console request: an administrator's browser session (401 or sign-in, else 403)."""
    if bearer_request():
        raise AuthenticationRequired(COOKIE_ONLY)
    policy.ensure_admin(authenticate_request())


def parse(model: type[M], data: object) -> M:
    """`data` validated into `model` (VALIDATION_ERROR otherwise)."""
    return cast(M, validate_model(model, data))


def filled_arguments(model: type[M]) -> tuple[dict[str, str], M | ValidationError]:
    """The query's non-empty parameters (a form's empty choice means "any") and the model they
    make, or the error saying why they do not."""
    arguments: dict[str, str] = {}
    try:
        arguments = {name: value for name, value in query_arguments(model).items() if value}
        return arguments, parse(model, arguments)
    except ValidationError as error:
        return arguments, error


@bp.get("/")
def get_console() -> ResponseReturnValue:
    """The console starts at the user list."""
    return redirect(url_for("admin.list_users"), 303)


@bp.get("/users")
def list_users() -> ResponseReturnValue:
    """Users: search, filter by role and activity, sort, paginate (the API's list)."""
    arguments, query = filled_arguments(UserListQuery)
    context: dict[str, Any] = {"arguments": arguments, "sort_fields": SORT_FIELDS}
    if isinstance(query, ValidationError):
        return render_page(USERS_PAGE, 400, problems=query, result=None, **context)
    result = user_service.list_users(actor=current_principal(), query=query)
    return render_page(USERS_PAGE, result=result, **context)


@bp.get("/users/<id:user_id>")
def get_user(user_id: int) -> ResponseReturnValue:
    """A user's page: details and what an administrator can do to the account."""
    user = admin_service.get_account(actor=current_principal(), user_id=user_id)
    return render_page(USER_PAGE, user=user, mfa=mfa_service.status(user.id))


@dataclass(frozen=True)
class Confirmation:
    """A destructive action's question, the form that does it and its button."""

    question: str
    consequence: str
    endpoint: str
    button: str
    fields: tuple[tuple[str, str], ...] = ()


CONFIRMATIONS = {
    "deactivate": Confirmation(
        lazy_gettext("Deactivate this account?"),
        lazy_gettext("The user can no longer sign in, and every session of theirs ends now."),
        "admin.set_active",
        lazy_gettext("Deactivate"),
        (("is_active", "false"),),
    ),
    "reset-two-factor": Confirmation(
        lazy_gettext("Reset two-factor authentication?"),
        lazy_gettext(
            "Two-factor authentication is turned off and every session ends; the user signs in "
            "with the password alone until they turn it on again."
        ),
        "admin.reset_two_factor",
        lazy_gettext("Reset two-factor"),
    ),
    "end-sessions": Confirmation(
        lazy_gettext("End every session?"),
        lazy_gettext("The user is signed out on every device and every token stops working."),
        "admin.end_sessions",
        lazy_gettext("End all sessions"),
    ),
    "delete": Confirmation(
        lazy_gettext("Delete this account?"),
        lazy_gettext(
            "The user can no longer sign in and disappears from the lists; the record is kept, "
            "and an administrator can restore it."
        ),
        "admin.delete_user",
        lazy_gettext("Delete"),
    ),
}


@bp.get("/users/<id:user_id>/confirm/<action>")
def confirm_action(user_id: int, action: str) -> ResponseReturnValue:
    """Asks before a destructive action (its form posts to the action itself)."""
    confirmation = CONFIRMATIONS.get(action)
    if confirmation is None:
        raise NotFound()
    user = admin_service.get_account(actor=current_principal(), user_id=user_id)
    if user.is_deleted:
        raise NotFound("User not found")
    return render_page(CONFIRM_PAGE, user=user, confirmation=confirmation)


class AdminAction(Protocol):
    """A service function of the form `f(*, actor, user_id)`."""

    def __call__(self, *, actor: Principal, user_id: int) -> object: ...


def act(user_id: int, action: AdminAction, done: str) -> ResponseReturnValue:
    """Run `action` as the signed-in admin; flash `done`, or what the policy refused; back to
    the user's page."""
    try:
        action(actor=current_principal(), user_id=user_id)
    except Conflict as refused:
        flash(refused.message, "error")
    else:
        flash(done, "success")
    return see_other("admin.get_user", user_id=user_id)


def update(changes: UserUpdate) -> AdminAction:
    """The user-resource update an admin makes from the console, as an action."""

    def apply(*, actor: Principal, user_id: int) -> object:
        return user_service.update(
            actor=actor, user_id=user_id, changes=changes, session_id=actor.session_id
        )

    return apply


@bp.post("/users/<id:user_id>/active")
def set_active(user_id: int) -> ResponseReturnValue:
    """Activate or deactivate a user (deactivating ends their sessions)."""
    form = parse(ActiveForm, form_fields())
    done = gettext("Account activated.") if form.is_active else gettext("Account deactivated.")
    return act(user_id, update(UserUpdate(is_active=form.is_active)), done)


@bp.post("/users/<id:user_id>/role")
def set_role(user_id: int) -> ResponseReturnValue:
    """Change a user's role."""
    form = parse(RoleForm, form_fields())
    done = gettext("The role is now %(role)s.", role=form.role)
    return act(user_id, update(UserUpdate(role=form.role)), done)


@bp.post("/users/<id:user_id>/two-factor/reset")
def reset_two_factor(user_id: int) -> ResponseReturnValue:
    """Turn the user's two-factor authentication off; their sessions end."""
    done = gettext("Two-factor authentication is off and every session has ended.")
    return act(user_id, admin_service.reset_two_factor, done)


@bp.post("/users/<id:user_id>/sessions/end")
def end_sessions(user_id: int) -> ResponseReturnValue:
    """End every session of the user."""
    done = gettext("Every session of this user has ended.")
    return act(user_id, admin_service.end_sessions, done)


@bp.post("/users/<id:user_id>/password-reset")
def send_password_reset(user_id: int) -> ResponseReturnValue:
    """Mail the user a password-reset link."""
    done = gettext("A password reset link is on its way to the user.")
    return act(user_id, admin_service.send_password_reset, done)


@bp.post("/users/<id:user_id>/delete")
def delete_user(user_id: int) -> ResponseReturnValue:
    """Soft-delete the user (restorable)."""
    done = gettext("Account deleted. It can be restored from this page.")
    return act(user_id, user_service.delete, done)


@bp.post("/users/<id:user_id>/restore")
def restore_user(user_id: int) -> ResponseReturnValue:
    """Bring a deleted user back."""
    return act(user_id, admin_service.restore, gettext("Account restored."))
