"""How APIFlask writes responses through our models: validated against the model, then written as given.

The library's adapter dumps every field of the model, so a field a view leaves out (a change without `changes`)
would appear as null. Ours dumps only the fields the data set (`exclude_unset`). Registered when this package is
imported, before any blueprint declares an output (APIFlask builds each view's adapter at decoration time).
"""

from __future__ import annotations

from typing import Any

from apiflask.schema_adapters import registry
from apiflask.schema_adapters.pydantic import PydanticAdapter
from pydantic import BaseModel


class ExactPydanticAdapter(PydanticAdapter):
    def serialize_output(self, data: Any, many: bool = False) -> Any:
        if many or isinstance(data, (list, tuple)):
            return [self._dump(item) for item in data]
        return self._dump(data)

    def _dump(self, item: Any) -> Any:
        model = item if isinstance(item, BaseModel) else self.model_class.model_validate(item)
        return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


registry.register("pydantic", ExactPydanticAdapter)
