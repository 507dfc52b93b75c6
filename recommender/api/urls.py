"""Routes of /api/v1/ (included from recommender/urls.py)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path

from recommender.api import activity, auth, catalog, feeds, profile
from recommender.api.exceptions import error_body


def unknown_endpoint(request: HttpRequest) -> JsonResponse:
    """Any other path under /api/v1/ (or an id that is not a number): a JSON 404, not an HTML page."""
    return JsonResponse(error_body("not_found", "No such endpoint or object."), status=404)


urlpatterns = [
    path("auth/signup/", auth.SignUpApi.as_view(), name="api-signup"),
    path("auth/token/", auth.LoginApi.as_view(), name="api-token"),
    path("auth/token/refresh/", auth.RefreshApi.as_view(), name="api-token-refresh"),
    path("auth/logout/", auth.LogoutApi.as_view(), name="api-logout"),
    path("me/", profile.MeApi.as_view(), name="api-me"),
    path("me/interests/", profile.InterestsApi.as_view(), name="api-interests"),
    path("me/interests/<int:keyword_id>/", profile.InterestDetailApi.as_view(), name="api-interest-detail"),
    path("me/export/", profile.ExportApi.as_view(), name="api-export"),
    path("places/", catalog.PlaceListApi.as_view(), name="api-places"),
    path("places/<int:place_id>/", catalog.PlaceDetailApi.as_view(), name="api-place"),
    path("places/<int:place_id>/similar/", catalog.SimilarPlacesApi.as_view(), name="api-place-similar"),
    path("places/<int:place_id>/reviews/", catalog.PlaceReviewsApi.as_view(), name="api-place-reviews"),
    path("reviews/<int:review_id>/", catalog.ReviewDetailApi.as_view(), name="api-review"),
    path("clips/", catalog.ClipListApi.as_view(), name="api-clips"),
    path("clips/<int:clip_id>/", catalog.ClipDetailApi.as_view(), name="api-clip"),
    path("clips/<int:clip_id>/similar/", catalog.SimilarClipsApi.as_view(), name="api-clip-similar"),
    path("interactions/", activity.InteractionBatchApi.as_view(), name="api-interactions"),
    path("searches/", activity.SearchApi.as_view(), name="api-searches"),
    path("feed/places/", feeds.PlaceFeedApi.as_view(), name="api-feed-places"),
    path("feed/clips/", feeds.ClipFeedApi.as_view(), name="api-feed-clips"),
    re_path(r"^.*$", unknown_endpoint),
]
