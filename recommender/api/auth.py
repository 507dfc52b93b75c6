"""Sign-up, JWT log-in/refresh/log-out for the mobile app. Throttled under the "auth" scope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from recommender.api.params import parse_body
from recommender.api.profile import UserSerializer
from recommender.api.schema import errors
from recommender.api.throttling import ScopedThrottle
from recommender.security import lockout_response


class AccountError(ValueError):
    """The account cannot be created as asked: ``fields`` maps each field to its messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for messages in fields.values() for m in messages))
        self.fields = fields


def sign_up(username: str, password: str, email: str = "") -> User:
    """Create a person's account, checking the password with Django's validators.

    The name is NFKC-normalised first, as ``create_user`` stores it (and the web form checks it):
    "ＡＬＩＣＥ" is "ALICE", taken when "alice" is.
    """
    username = User.normalize_username(username)
    candidate = User(username=username, email=email)
    problems: dict[str, list[str]] = {}
    try:
        password_validation.validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        problems["password"] = list(exc.messages)
    if User.objects.filter(username__iexact=username).exists():
        problems["username"] = ["this username is taken"]
    if problems:
        raise AccountError(problems)
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, password=password, email=email)
    except IntegrityError:  # two sign-ups raced for the same name
        raise AccountError({"username": ["this username is taken"]}) from None


def tokens_for(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


class _AuthThrottled:
    throttle_classes: Sequence[type[BaseThrottle]] = [*APIView.throttle_classes, ScopedThrottle]
    throttle_scope = "auth"


class SignUpInput(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)


TokenPair = inline_serializer("TokenPair", {"access": serializers.CharField(), "refresh": serializers.CharField()})


class SignUpApi(_AuthThrottled, APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        request=SignUpInput,
        responses={
            201: inline_serializer(
                "SignUpResult",
                {"user": UserSerializer(), "access": serializers.CharField(), "refresh": serializers.CharField()},
            ),
            **errors(400),
        },
    )
    def post(self, request: Request) -> Response:
        """Create an account and sign in: returns the user and a JWT pair."""
        data = parse_body(SignUpInput, request)
        try:
            user = sign_up(data["username"], data["password"], data.get("email", ""))
        except AccountError as exc:
            raise serializers.ValidationError(exc.fields) from None
        return Response({"user": UserSerializer(user).data, **tokens_for(user)}, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: TokenPair, **errors(400, 401, 429)})
class LoginApi(_AuthThrottled, TokenObtainPairView):
    """Exchange username + password for an access token (short-lived) and a refresh token.

    Too many failed attempts for one username from one address lock that pair for a while (429),
    counted with the web and admin log-ins (django-axes).
    """

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            # django-axes marks the request it was given, which is DRF's wrapper, not the
            # HttpRequest its middleware looks at: answer the lockout here.
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request._request)  # type: ignore[return-value]
            raise


class _RefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        # simplejwt checks a token's password mark (CHECK_REVOKE_TOKEN) when it authenticates a
        # request, not when it refreshes: a refresh token issued before a password change would
        # still mint access tokens, refused at use. The same check as for a request, at refresh.
        try:
            JWTAuthentication().get_user(self.token_class(attrs["refresh"]))
        except AuthenticationFailed as exc:  # a deleted account, a changed password, an inactive one
            raise InvalidToken(str(exc.detail)) from None
        return super().validate(attrs)


@extend_schema(responses={200: TokenPair, **errors(400, 401)})
class RefreshApi(_AuthThrottled, TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token stops working (rotation)."""

    serializer_class = _RefreshSerializer


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutApi(_AuthThrottled, APIView):
    # The refresh token is the credential: logging out must work with an expired access token.
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'  # a bad refresh token is a 401, not the 403 DRF gives without one

    @extend_schema(request=LogoutInput, responses={204: None, **errors(400, 401)})
    def post(self, request: Request) -> Response:
        """Blacklist the refresh token; the access token expires on its own within minutes."""
        raw = parse_body(LogoutInput, request)["refresh"]
        try:
            RefreshToken(raw).blacklist()
        except TokenError as exc:
            raise InvalidToken(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
