from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models.signals import post_delete, post_migrate, post_save


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from recommender import checks  # noqa: F401  (registers the deployment checks)
        from recommender.roles import ensure_curator_group

        # Permissions exist only after migrate has run, so the group is kept in step from here.
        post_migrate.connect(ensure_curator_group, sender=self, dispatch_uid="recommender.curator_group")
        from recommender import feed_cache
        from recommender.db import register_pgvector, register_pgvector_after_migrate

        # Bulk updates (the admin's show/hide actions, workers) touch the cache themselves.
        for label in feed_cache.CATALOGUE_MODELS:
            for signal in (post_save, post_delete):
                signal.connect(feed_cache.catalogue_saved, sender=label, dispatch_uid=f"feed_cache.{label}.{signal}")
        # The feed endpoints trust the access token on a cache hit: a changed or deleted account
        # must miss (recommender/api/authentication.py).
        for signal in (post_save, post_delete):
            signal.connect(feed_cache.person_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid=f"feed.{signal}")
        connection_created.connect(register_pgvector, dispatch_uid="recommender.register_pgvector")
        post_migrate.connect(register_pgvector_after_migrate, sender=self, dispatch_uid="recommender.pgvector_migrate")
