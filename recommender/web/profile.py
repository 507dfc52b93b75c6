"""My profile: learned interests (with remove), history, saved items, data export, account deletion."""

from __future__ import annotations

import json
from typing import cast

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from places.models import Review
from recommender import services
from recommender.api.profile import export_user_data
from recommender.models import Interaction, InteractionKind, MutedKeyword, SearchQuery
from recommender.services import delete_account
from recommender.web.common import login_required_then_back
from recommender.web.forms import DeleteAccountForm

INTERESTS = 30
HISTORY = 30
SAVED = 30


@require_safe
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    history = (
        Interaction.objects.filter(user=user)
        .exclude(kind=InteractionKind.VIEW)
        .select_related("place", "clip")
        .order_by("-occurred_at", "-pk")[:HISTORY]
    )
    saved_rows = (
        Interaction.objects.filter(user=user, kind=InteractionKind.SAVE)
        .select_related("place", "clip")
        .order_by("-occurred_at", "-pk")[: SAVED * 2]
    )
    saved, seen = [], set()
    for row in saved_rows:  # one entry per item, most recently saved first
        key = ("place", row.place_id) if row.place_id else ("clip", row.clip_id)
        if key not in seen:
            seen.add(key)
            saved.append(row)
    context = {
        "interests": services.interest_profile(user, limit=INTERESTS),
        "muted": MutedKeyword.objects.filter(user=user).select_related("keyword").order_by("-created_at")[:50],
        "history": history,
        "saved": saved[:SAVED],
        "searches": SearchQuery.objects.filter(user=user).order_by("-created_at", "-pk")[:10],
        "reviews": Review.objects.filter(user=user).select_related("place").order_by("-created_at", "-pk")[:20],
    }
    return render(request, "web/profile.html", context)


@require_POST
@login_required_then_back
def interest_remove(request: HttpRequest, keyword_id: int) -> HttpResponse:
    if services.mute_keyword(cast(User, request.user), keyword_id):
        messages.success(request, _("Removed. It no longer shapes your recommendations."))
    else:
        messages.error(request, _("That interest no longer exists."))
    return redirect("profile")


@require_POST
@login_required_then_back
def interest_restore(request: HttpRequest, keyword_id: int) -> HttpResponse:
    services.unmute_keyword(cast(User, request.user), keyword_id)
    messages.success(request, _("Restored."))
    return redirect("profile")


@require_safe
@login_required
def export(request: HttpRequest) -> HttpResponse:
    """A JSON download of everything stored about you: the same document as GET /api/v1/me/export/."""
    body = json.dumps(export_user_data(cast(User, request.user)), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def delete(request: HttpRequest) -> HttpResponse:
    """Confirm with your password, then delete the account and everything tied to it."""
    user = cast(User, request.user)
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if user.check_password(form.cleaned_data["password"]):
            delete_account(user)
            logout(request)
            messages.success(request, _("Your account and all your data were deleted."))
            return redirect("home")
        form.add_error("password", _("That password is not correct."))
    return render(request, "web/delete_account.html", {"form": form}, status=400 if form.errors else 200)
