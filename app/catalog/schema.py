"""Product schemas: the small JSON-Schema subset a product uses to say what it needs at checkout.

    {"type": "object",
     "properties": {
        "company_name": {"type": "string", "title": "Company name", "minLength": 2, "maxLength": 100},
        "seats": {"type": "integer", "title": "Seats", "minimum": 1, "maximum": 500, "default": 5},
        "region": {"type": "string", "title": "Data region", "enum": ["eu", "us"]},
        "sso": {"type": "boolean", "title": "Single sign-on"}},
     "required": ["company_name", "seats"],
     "order": ["company_name", "seats", "region", "sso"]}

`order` (optional) fixes the order of the fields: Postgres JSONB does not keep key order,
so `with_order` records the properties' order when a schema is saved.

`check_schema` says what is wrong with a schema (checked when it is saved);
`fields` turns it into form fields; `validate_answers` checks submitted answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from app.catalog.patterns import matches, pattern_problem

# A product schema as stored: parsed JSON, so its values are whatever JSON holds.
Schema = dict[str, Any]

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_PROPERTIES = 20
MAX_STRING = 1000
TYPES = {"string", "integer", "boolean"}
ALLOWED_KEYS = {
    "string": {"type", "title", "description", "default", "minLength", "maxLength", "pattern", "enum"},
    "integer": {"type", "title", "description", "default", "minimum", "maximum", "enum"},
    "boolean": {"type", "title", "description", "default"},
}
TRUE_VALUES = {"on", "true", "1", "yes"}
MAX_SCHEMA_TEXT = 20_000
TOP_KEYS = ("type", "title", "description", "properties", "required")
PROPERTY_KEYS = (
    "type",
    "title",
    "description",
    "default",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "pattern",
    "enum",
)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    required: bool
    description: str = ""
    default: object = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: list[str | int] = field(default_factory=list)

    @property
    def length_limit(self) -> int:
        """The longest text answer taken: the schema's maxLength, never above MAX_STRING."""
        return min(self.max_length, MAX_STRING) if self.max_length is not None else MAX_STRING

    @property
    def input_type(self) -> str:
        if self.enum:
            return "select"
        return {"string": "text", "integer": "number", "boolean": "checkbox"}[self.type]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_short_text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 100


def _check_property(name: str, spec: Any, problems: list[str]) -> None:
    where = f"properties.{name}"
    known = len(problems)
    if not NAME_RE.match(name):
        problems.append(f"{where}: names use lower-case letters, digits and underscores, starting with a letter")
    if not isinstance(spec, dict):
        problems.append(f"{where} must be an object")
        return
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        problems.append(f"{where}.type must be one of string, integer, boolean")
        return
    for key in sorted(set(spec) - ALLOWED_KEYS[kind]):
        problems.append(f"{where}: '{key}' is not supported for {kind} fields")
    for key in ("title", "description"):
        if key in spec and (not isinstance(spec[key], str) or len(spec[key]) > 200):
            problems.append(f"{where}.{key} must be text of at most 200 characters")
    if kind == "string":
        for key in ("minLength", "maxLength"):
            if key in spec and (not _is_int(spec[key]) or not 0 <= spec[key] <= MAX_STRING):
                problems.append(f"{where}.{key} must be a whole number from 0 to {MAX_STRING}")
        if _is_int(spec.get("minLength")) and _is_int(spec.get("maxLength")) and spec["minLength"] > spec["maxLength"]:
            problems.append(f"{where}.minLength must not exceed maxLength")
        if "pattern" in spec:
            problem = pattern_problem(spec["pattern"])
            if problem:
                problems.append(f"{where}.pattern {problem}")
    if kind == "integer":
        for key in ("minimum", "maximum"):
            if key in spec and not _is_int(spec[key]):
                problems.append(f"{where}.{key} must be a whole number")
        if _is_int(spec.get("minimum")) and _is_int(spec.get("maximum")) and spec["minimum"] > spec["maximum"]:
            problems.append(f"{where}.minimum must not exceed maximum")
    if "enum" in spec:
        enum = spec["enum"]
        item_ok: Callable[[object], bool] = _is_short_text if kind == "string" else _is_int
        if not isinstance(enum, list) or not enum or len(enum) > 50 or not all(item_ok(v) for v in enum):
            problems.append(f"{where}.enum must be a list of 1 to 50 {kind} values")
        elif len(set(enum)) != len(enum):
            problems.append(f"{where}.enum has duplicate values")
    # The default is checked against the field's rules only once those rules are themselves sound.
    if "default" in spec and spec["default"] is not None and len(problems) == known:
        default_errors = _validate_value(_field(name, spec, required=False), spec["default"])
        if default_errors:
            problems.append(f"{where}.default: {default_errors}")


def check_schema(schema: Any) -> list[str]:
    """Everything wrong with `schema`, as sentences an admin can act on. Empty list: valid."""
    if schema in (None, {}):
        return []
    if not isinstance(schema, dict):
        return ["The schema must be a JSON object"]
    problems: list[str] = []
    if schema.get("type", "object") != "object":
        problems.append('type must be "object"')
    for key in sorted(set(schema) - {"type", "properties", "required", "title", "description", "order"}):
        problems.append(f"'{key}' is not supported at the top level")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        return problems + ["properties must be an object"]
    if len(properties) > MAX_PROPERTIES:
        problems.append(f"at most {MAX_PROPERTIES} properties are allowed")
    for name, spec in properties.items():
        _check_property(name, spec, problems)
    order = schema.get("order")
    if order is not None and (not isinstance(order, list) or sorted(map(str, order)) != sorted(properties)):
        problems.append("order must list every property name exactly once")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        problems.append("required must be a list of property names")
    else:
        for name in required:
            if name not in properties:
                problems.append(f"required names '{name}', which is not a property")
    return problems


def _field(name: str, spec: dict[str, Any], *, required: bool) -> Field:
    return Field(
        name=name,
        label=spec.get("title") or name.replace("_", " ").capitalize(),
        type=spec["type"],
        required=required,
        description=spec.get("description", ""),
        default=spec.get("default"),
        min_length=spec.get("minLength"),
        max_length=spec.get("maxLength"),
        pattern=spec.get("pattern"),
        minimum=spec.get("minimum"),
        maximum=spec.get("maximum"),
        enum=list(spec.get("enum", [])),
    )


def fields(schema: Schema | None) -> list[Field]:
    """Form fields, in the schema's order. The schema is assumed valid (checked when saved)."""
    if not schema:
        return []
    required = set(schema.get("required", []))
    properties = schema.get("properties", {})
    names = schema.get("order") or list(properties)
    return [_field(name, properties[name], required=name in required) for name in names]


def with_order(schema: Any) -> Any:
    """The schema with its properties' current order recorded in `order` (kept as is if already there)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict) or "order" in schema:
        return schema
    return {**schema, "order": list(schema["properties"])}


def has_required_fields(schema: Schema | None) -> bool:
    return any(f.required for f in fields(schema))


def _validate_value(f: Field, value: Any) -> str | None:
    if f.type == "string":
        if not isinstance(value, str):
            return "must be text"
        if f.enum and value not in f.enum:
            return "choose one of the options"
        if f.min_length is not None and len(value) < f.min_length:
            return f"must be at least {f.min_length} characters"
        if len(value) > f.length_limit:
            return f"must be at most {f.length_limit} characters"
        if f.pattern and not matches(f.pattern, value):
            return "is not in the expected format"
    elif f.type == "integer":
        if not _is_int(value):
            return "must be a whole number"
        if f.enum and value not in f.enum:
            return "choose one of the options"
        if f.minimum is not None and value < f.minimum:
            return f"must be at least {f.minimum}"
        if f.maximum is not None and value > f.maximum:
            return f"must be at most {f.maximum}"
    elif f.type == "boolean" and not isinstance(value, bool):
        return "must be yes or no"
    return None


def _coerce(f: Field, raw: object) -> Any:
    """Form values arrive as strings; JSON callers may send typed values."""
    if f.type == "boolean":
        return raw if isinstance(raw, bool) else str(raw or "").strip().lower() in TRUE_VALUES
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else str(raw)
    text = text.strip()
    if text == "":
        return None
    if f.type == "integer":
        if _is_int(raw):
            return raw
        if not re.fullmatch(r"[+-]?\d{1,12}", text):
            return text  # reported as "must be a whole number"
        return int(text)
    return text


def validate_answers(schema: Schema | None, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check submitted answers. Returns (clean answers, {field name: message})."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields(schema):
        value = _coerce(f, data.get(f.name))
        if value is None:
            if f.required:
                errors[f.name] = f"{f.label} is required"
            elif f.default is not None:
                answers[f.name] = f.default
            continue
        problem = _validate_value(f, value)
        if problem:
            errors[f.name] = f"{f.label} {problem}"
        else:
            answers[f.name] = value
    return answers, errors


class _Refused(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f'The key "{key}" appears twice in the same object')
        seen[key] = value
    return seen


def _no_constant(name: str) -> NoReturn:
    raise _Refused(f"{name} is not allowed in JSON")


def read_schema(text: str) -> tuple[Schema | None, list[str]]:
    """The schema an admin typed as JSON, and everything wrong with it (empty text: no questions).

    Malformed JSON gives one message with its line and column; valid JSON gives check_schema's messages.
    """
    text = str(text or "")
    if not text.strip():
        return {}, []
    if len(text) > MAX_SCHEMA_TEXT:
        return None, [f"The schema is too long: at most {MAX_SCHEMA_TEXT:,} characters"]
    try:
        schema = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        return None, [f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
    except _Refused as exc:
        return None, [str(exc)]
    except (ValueError, RecursionError):  # a 5,000-digit number, or brackets nested thousands deep
        return None, ["The JSON is too deeply nested or has a number too large to read"]
    if _has_nul(schema):
        return None, ["The schema must not contain NUL characters (\\u0000)"]
    schema = with_order(schema)
    return schema, check_schema(schema)


def _has_nul(value: object) -> bool:
    """Postgres JSONB can't store \\u0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _ordered_keys(spec: dict[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    return {**{k: spec[k] for k in first if k in spec}, **{k: spec[k] for k in sorted(spec) if k not in first}}


def schema_text(schema: Schema | None) -> str:
    """A stored schema as the JSON an admin edits: properties in their checkout order, `order` left out."""
    if not schema:
        return ""
    readable = _ordered_keys({k: v for k, v in schema.items() if k != "order"}, TOP_KEYS)
    if schema.get("properties"):
        readable["properties"] = {
            f.name: _ordered_keys(schema["properties"][f.name], PROPERTY_KEYS) for f in fields(schema)
        }
    return json.dumps(readable, indent=2, ensure_ascii=False)
