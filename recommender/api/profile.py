"""Your own data: the interest profile, a full export, and deleting the account."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from places.models import Review
from recommender import services
from recommender.api.params import parse_body
from recommender.api.schema import errors
from recommender.api.serializers import InteractionSerializer, ReviewSerializer, SearchSerializer
from recommender.models import Interaction, SearchQuery, UserProfile

INTEREST_LIMIT = 50


class InterestSerializer(serializers.Serializer):
    keyword_id = serializers.IntegerField()
    text = serializers.CharField()
    tag_en = serializers.CharField()
    weight = serializers.FloatField()
    sources = serializers.ListField(child=serializers.ChoiceField(choices=["search", "review", "liked"]))

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["sources"] = sorted(data["sources"])
        data["weight"] = round(data["weight"], 4)
        return data


class UserSerializer(serializers.ModelSerializer[User]):
    email = serializers.CharField(read_only=True, help_text="may be empty")

    class Meta:
        model = User
        fields = ["id", "username", "email", "date_joined"]
        read_only_fields = fields


class InterestsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: InterestSerializer(many=True), **errors(401)})
    def get(self, request: Request) -> Response:
        """What the system believes you like, strongest first, and where each belief came from."""
        profile = services.interest_profile(request.user, limit=INTEREST_LIMIT)  # type: ignore[arg-type]
        return Response(InterestSerializer(profile, many=True).data)


class InterestDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None, **errors(401, 404)})
    def delete(self, request: Request, keyword_id: int) -> Response:
        """Remove a learned interest: it leaves your profile, your interest vector and the reasons you see."""
        if not services.mute_keyword(request.user, keyword_id):  # type: ignore[arg-type]
            raise NotFound("No such keyword.")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None, **errors(401, 404)})
    def put(self, request: Request, keyword_id: int) -> Response:
        """Undo a removal: the keyword counts again."""
        if not services.unmute_keyword(request.user, keyword_id):  # type: ignore[arg-type]
            raise NotFound("That keyword was not removed.")
        return Response(status=status.HTTP_204_NO_CONTENT)


def export_user_data(user: User) -> dict[str, Any]:
    """Everything stored about ``user`` that they gave us or that was derived from it."""
    profile = UserProfile.objects.filter(user=user).first()
    reviews = Review.objects.filter(user=user).select_related("user").order_by("created_at", "pk")
    return {
        "user": UserSerializer(user).data,
        "reviews": ReviewSerializer(reviews, many=True).data,
        "interactions": InteractionSerializer(
            Interaction.objects.filter(user=user).order_by("occurred_at", "pk"), many=True
        ).data,
        "searches": SearchSerializer(
            SearchQuery.objects.filter(user=user).order_by("created_at", "pk"), many=True
        ).data,
        "interests": InterestSerializer(services.interest_profile(user, limit=INTEREST_LIMIT), many=True).data,
        "profile": {
            "has_interest_embedding": bool(profile and profile.interest_embedding is not None),
            "updated_at": profile.updated_at.isoformat() if profile else None,
        },
    }


class ExportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: inline_serializer(
                "DataExport",
                {
                    "user": UserSerializer(),
                    "reviews": ReviewSerializer(many=True),
                    "interactions": InteractionSerializer(many=True),
                    "searches": SearchSerializer(many=True),
                    "interests": InterestSerializer(many=True),
                    "profile": serializers.JSONField(),
                },
            ),
            **errors(401),
        }
    )
    def get(self, request: Request) -> Response:
        """A JSON copy of all your data (right of access / portability)."""
        response = Response(export_user_data(request.user))  # type: ignore[arg-type]
        response["Content-Disposition"] = 'attachment; filename="my-data.json"'
        return response


class DeleteAccountInput(serializers.Serializer):
    password = serializers.CharField(
        max_length=4096, help_text="your current password, to confirm", trim_whitespace=False
    )


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserSerializer, **errors(401)})
    def get(self, request: Request) -> Response:
        """Who you are signed in as."""
        return Response(UserSerializer(cast(User, request.user)).data)

    @extend_schema(request=DeleteAccountInput, responses={204: None, **errors(400, 401)})
    def delete(self, request: Request) -> Response:
        """Delete your account and everything tied to it; confirm with your password."""
        password = parse_body(DeleteAccountInput, request)["password"]
        user = request.user
        assert isinstance(user, User)
        if not user.check_password(password):
            raise serializers.ValidationError({"password": ["wrong password"]}, code="wrong_password")
        services.delete_account(user)
        return Response(status=status.HTTP_204_NO_CONTENT)
