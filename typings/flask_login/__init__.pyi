# Flask-Login ships no type information. This partial stub types the decorator every view uses, so a
# decorated view keeps its signature under mypy; every other name stays Any, as without the stub.
from collections.abc import Callable
from typing import Any, TypeVar

_View = TypeVar("_View", bound=Callable[..., Any])

current_user: Any

def login_required(func: _View) -> _View: ...
def __getattr__(name: str) -> Any: ...
