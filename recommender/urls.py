from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from recommender import views
from recommender.web import accounts, actions, clips, feed, places, profile, search

urlpatterns = [
    path("", feed.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("welcome/", feed.onboarding, name="onboarding"),
    path("search/", search.search, name="search"),
    path("places/<int:place_id>/", places.place_detail, name="place"),
    path("places/<int:place_id>/review/", places.review_save, name="review-save"),
    path("reviews/<int:review_id>/edit/", places.review_edit, name="review-edit"),
    path("reviews/<int:review_id>/delete/", places.review_delete, name="review-delete"),
    path("clips/<int:clip_id>/", clips.clip_detail, name="clip"),
    path("clips/<int:clip_id>/watch/", clips.clip_watch, name="clip-watch"),
    path("act/<str:item_type>/<int:item_id>/<str:action>/", actions.feedback, name="feedback"),
    path("me/", profile.profile, name="profile"),
    path("me/interests/<int:keyword_id>/remove/", profile.interest_remove, name="interest-remove"),
    path("me/interests/<int:keyword_id>/restore/", profile.interest_restore, name="interest-restore"),
    path("me/export/", profile.export, name="export"),
    path("me/delete/", profile.delete, name="delete-account"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path(
        "accounts/login/",
        require_http_methods(["GET", "HEAD", "POST"])(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="home"), name="logout"),
    # Only POST switches the language (Django's view answers any method; a GET must not write a cookie).
    path("i18n/setlang/", require_POST(set_language), name="set_language"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("recommender.api.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "recommender.views.server_error"
