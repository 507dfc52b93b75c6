"""SQL expressions that derive "needs work" from the data itself.

A row needs (re)processing when the hash of its current source text plus the processor's
identity (extractor or embedding model) differs from the key stored when it was last processed.
No write path has to remember to flag anything: edit the text, or change the model, and the row
becomes stale. Hashing happens in PostgreSQL so the sweep never loads texts to compare them.
"""

from __future__ import annotations

from django.db.models import CharField, Expression, F, Func, TextField, Value
from django.db.models.functions import Concat, NullIf

SEPARATOR = "\x1f"  # ASCII unit separator: cannot appear in normal text, keeps "ab"+"c" != "a"+"bc"


class Sha256Hex(Func):
    """Hex SHA-256 of a text expression (PostgreSQL's built-in sha256, no pgcrypto needed)."""

    template = "ENCODE(SHA256(CONVERT_TO(%(expressions)s, 'UTF8')), 'hex')"
    output_field = CharField()


class JoinNonEmpty(Func):
    """CONCAT_WS over fields, skipping empty ones: 'name · category · district'."""

    function = "CONCAT_WS"
    output_field = TextField()

    def __init__(self, *fields: str) -> None:
        super().__init__(Value(" · "), *(NullIf(F(name), Value("")) for name in fields))


def source_key(source: Expression | F, processor_id: str) -> Sha256Hex:
    """The key a row gets once ``source`` has been processed by ``processor_id``."""
    return Sha256Hex(Concat(source, Value(SEPARATOR + processor_id), output_field=TextField()))
