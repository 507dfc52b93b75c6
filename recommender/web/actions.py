"""Quick actions on feed cards and item pages: like, save, not interested."""

from __future__ import annotations

import re
from typing import cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clips.models import Clip
from places.models import Place
from recommender import services
from recommender.models import InteractionKind
from recommender.web.common import login_required_then_back, redirect_back

FEEDBACK_KINDS = {InteractionKind.LIKE, InteractionKind.SAVE, InteractionKind.DISLIKE}
NONCE = re.compile(r"[0-9a-f]{32}")  # feed_tags.form_nonce


@require_POST
@login_required_then_back
def feedback(request: HttpRequest, item_type: str, item_id: int, action: str) -> HttpResponse:
    """Record like / save / dislike ("not interested") and go back to where the person was."""
    if action not in FEEDBACK_KINDS or item_type not in ("place", "clip"):
        raise Http404("unknown action")
    item: Place | Clip
    if item_type == "place":
        item = get_object_or_404(Place, pk=item_id, is_active=True)
    else:
        item = get_object_or_404(Clip, pk=item_id, is_active=True)
    # The form's nonce, rendered with the button: the same form sent twice is one event.
    nonce = request.POST.get("nonce", "")
    key = services.web_feedback_key(item_type, item_id, action, nonce) if NONCE.fullmatch(nonce) else None
    try:
        services.record_interaction(cast(User, request.user), item, action, source="web", idempotency_key=key)
    except services.InvalidAction as exc:
        messages.error(request, str(exc))
        return redirect_back(request)
    text = {
        InteractionKind.LIKE: _("Liked. You will see more like this."),
        InteractionKind.SAVE: _("Saved to your profile."),
        InteractionKind.DISLIKE: _("Got it. You will see less like this."),
    }[InteractionKind(action)]
    messages.success(request, text)
    return redirect_back(request)
