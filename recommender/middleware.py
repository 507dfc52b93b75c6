"""Security headers the framework does not set itself."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

# Scripts only from our own origin (no inline script can run, so an injected <script> is inert);
# inline style attributes are allowed for small layout touches; pictures and videos of clips may
# come from any https host (media URLs are third-party by nature).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https:",
        "media-src 'self' https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds a Content-Security-Policy header to every HTML response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class RequestSizeLimitMiddleware:
    """413 for a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE, before any view runs.

    Django itself only checks when a view reads the body (and then raises inside the view, a 500
    in the API), and an endpoint that ignores its body would accept any size; this refuses it up
    front, as JSON under /api/.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is None or length <= limit:
            return self.get_response(request)
        message = f"The request body is larger than {limit // 1024} KiB."
        if request.path.startswith("/api/"):
            from recommender.api.exceptions import error_body

            return JsonResponse(error_body("too_large", message), status=413)
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class AuthFormRateLimitMiddleware:
    """Posts to the web's log-in, sign-up and admin log-in forms count against the API's "auth"
    rate per client address (``security.auth_form_throttled``). django-axes locks one username
    from one address after a few failures; this bounds how fast one address tries many."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._paths: frozenset[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in self.paths():
            from recommender.security import auth_form_throttled

            refused = auth_form_throttled(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def paths(self) -> frozenset[str]:
        if self._paths is None:
            from django.urls import reverse

            self._paths = frozenset({reverse("login"), reverse("signup"), reverse("admin:login")})
        return self._paths
