"""Request and response schemas of /api (pydantic models): APIFlask validates requests against them, serializes
responses through them and generates /api/openapi.json from them, so the document cannot drift from the code.

- `Body` models read JSON bodies strictly (no "5" for 5) and ignore unknown fields (Camunda clients send extras);
- `Query` models read query strings (text coerced to the field's type);
- `Out` models forbid undeclared fields: a DTO that grows a field fails the API tests until its schema says so.
"""

from engine.api.schemas import adapter as _adapter  # noqa: F401  (registers the output adapter first)
