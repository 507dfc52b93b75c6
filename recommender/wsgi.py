"""WSGI entry point (gunicorn recommender.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")
application = get_wsgi_application()
