"""Forms of the web UI: they parse and validate what a browser sends; the views call services."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from places.services import MAX_REVIEW_LENGTH
from recommender.api.params import MAX_QUERY_LENGTH, MAX_RADIUS_KM
from recommender.services import MAX_SEARCH_LENGTH

MAX_PAGE = 10_000  # beyond this a page number is a typo or a probe, not a person paging


class FiniteFloatField(forms.FloatField):
    """A float that refuses NaN and ±infinity ("nan" and "inf" parse as floats in Python)."""

    def to_python(self, value: Any) -> float | None:  # type: ignore[override]
        number = super().to_python(value)
        if number is not None and not math.isfinite(number):
            raise forms.ValidationError(_("Enter a finite number."), code="invalid")
        return number


class LocationForm(forms.Form):
    """``?lat=&lon=`` of the feed and the search: both or neither, within WGS84 ranges."""

    lat = FiniteFloatField(required=False, min_value=-90, max_value=90, label=_("Latitude"))
    lon = FiniteFloatField(required=False, min_value=-180, max_value=180, label=_("Longitude"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lat") is None) != (data.get("lon") is None) and not self.errors:
            raise forms.ValidationError(_("Latitude and longitude go together."), code="incomplete")
        return data

    def location(self) -> tuple[float, float] | None:
        """The valid location, or None (missing or invalid)."""
        if not self.is_valid() or self.cleaned_data.get("lat") is None:
            return None
        return self.cleaned_data["lat"], self.cleaned_data["lon"]


class SearchForm(LocationForm):
    KIND_CHOICES = [("all", _("Places and clips")), ("place", _("Places")), ("clip", _("Clips"))]

    q = forms.CharField(required=False, max_length=MAX_QUERY_LENGTH, label=_("Search"), strip=True)
    kind = forms.ChoiceField(required=False, choices=KIND_CHOICES, label=_("Show"))
    category = forms.CharField(required=False, max_length=100, label=_("Category"))
    district = forms.CharField(required=False, max_length=100, label=_("District"))
    radius_km = FiniteFloatField(
        required=False, min_value=0.01, max_value=MAX_RADIUS_KM, label=_("Within (km)"), initial=5
    )
    open_now = forms.BooleanField(required=False, label=_("Open now"))

    def clean_kind(self) -> str:
        return self.cleaned_data.get("kind") or "all"

    def catalogue_params(self) -> dict[str, Any]:
        """The filters in the shape ``recommender.api.queries.filter_catalogue`` takes."""
        data = self.cleaned_data
        params: dict[str, Any] = {
            "q": data.get("q") or "",
            "category": data.get("category") or "",
            "district": data.get("district") or "",
            "open_now": bool(data.get("open_now")),
        }
        location = self.location()
        if location is not None:
            params["near"] = location
            params["radius_km"] = data.get("radius_km") or 5.0
        return params


class ReviewForm(forms.Form):
    # Stars and the number: a screen reader reads "★★★" as "black star" three times, or not at all.
    RATING_CHOICES = [("", _("No rating")), *[(str(n), f"{'★' * n} ({n}/5)") for n in range(5, 0, -1)]]

    rating = forms.TypedChoiceField(
        required=False, choices=RATING_CHOICES, coerce=int, empty_value=None, label=_("Rating")
    )
    text = forms.CharField(
        required=False,
        max_length=MAX_REVIEW_LENGTH,
        label=_("Your review"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("rating") is None and not (data.get("text") or "").strip() and not self.errors:
            raise forms.ValidationError(_("Give a rating or write a few words."), code="empty")
        return data


class OnboardingForm(forms.Form):
    keywords = forms.TypedMultipleChoiceField(
        required=False, coerce=int, label=_("Pick a few things you like"), widget=forms.CheckboxSelectMultiple
    )
    text = forms.CharField(
        required=False, max_length=MAX_SEARCH_LENGTH, label=_("Or describe what you are looking for")
    )

    def __init__(self, *args: Any, keyword_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["keywords"].choices = keyword_choices or []  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("keywords") and not (data.get("text") or "").strip() and not self.errors:
            raise forms.ValidationError(_("Pick at least one interest or type a search."), code="empty")
        return data


class WatchForm(forms.Form):
    fraction = FiniteFloatField(min_value=0.0, max_value=1.0)
    view_id = forms.RegexField(regex=r"^[0-9a-f]{32}$")


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SignUpForm(UserCreationForm):
    """Username + password (twice), with Django's password validators."""
