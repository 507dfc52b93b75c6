"""The JSON API under /api/v1/ for the mobile app: thin views that parse, authorize, call, serialize.

Write actions live in ``recommender.services`` and ``places.services``; views never write rows
themselves, so the web UI, the admin and tasks share the same rules.
"""
