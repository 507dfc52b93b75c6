"""WSGI entry point for the feed suite: the app, with ``bench.urls`` as its URLconf."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")
application = get_wsgi_application()
settings.ROOT_URLCONF = "bench.urls"  # resolved per request, so this takes effect for every request
