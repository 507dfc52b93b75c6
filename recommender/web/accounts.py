"""Sign up (then signed in at once); log in and out are Django's own views with our templates."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from recommender.web.common import safe_next
from recommender.web.forms import SignUpForm


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Pick a few interests to get started."))
        return redirect(safe_next(request, "/"))
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)
