"""The API's JSON parser: DRF's, with the two kinds of valid-looking JSON it lets through as a 500.

Python's ``json`` accepts "\\ud800" (a lone UTF-16 surrogate, which no UTF-8 text can hold:
echoed back in an error message, the response could not be encoded) and recurses once per level
of nesting (a 100 kB body of brackets raised RecursionError). Both are a 400 ``parse_error`` here.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ParseError("JSON parse error - a string holds a lone surrogate (\\ud800-\\udfff), not text") from exc
        return data
