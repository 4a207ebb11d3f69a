"""JSON-Schema validators built from the Fathom External API OpenAPI document.

The document (``docs/reference/fathom-openapi.yaml``, a copy of the team's ``shared/reference``
so a clone tests on its own) says
``openapi: 3.1.1`` but marks optional values with the 3.0-style ``nullable: true``. JSON Schema
has no such keyword, so before validating we translate it:

* ``{type: T, nullable: true}``      -> ``{type: [T, "null"]}`` (and ``null`` added to any ``enum``)
* ``{$ref: R, nullable: true}``      -> ``{anyOf: [{$ref: R}, {type: "null"}]}``
* ``nullable`` without ``type``/``$ref`` -> ``{anyOf: [<schema>, {type: "null"}]}``

``$ref``s of the form ``#/components/schemas/<Name>`` resolve inside one root document that carries
the translated ``components.schemas``. Validation is JSON Schema Draft 2020-12.

    from tests.support.spec import meeting_validator, schema_validator
    meeting_validator().validate(meeting_dict)
    schema_validator("ActionItem").iter_errors(item)
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "reference" / "fathom-openapi.yaml"

# Keywords whose value is a single subschema / a list of subschemas / a name -> subschema map.
_ONE = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """The OpenAPI document as plain data (``yaml.safe_load``)."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def translate_schema(schema: Any, *, strict: bool = False) -> Any:
    """One OpenAPI schema object as JSON Schema 2020-12 (see module docstring).

    With ``strict``, every schema that lists ``properties`` also gets ``additionalProperties:
    false``, so a misspelt or invented field fails validation (the real API may add fields; our
    own fixtures should not).
    """
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "nullable":
            continue
        if key in _ONE and isinstance(value, dict):
            out[key] = translate_schema(value, strict=strict)
        elif key in _MANY and isinstance(value, list):
            out[key] = [translate_schema(v, strict=strict) for v in value]
        elif key in _MAP and isinstance(value, dict):
            out[key] = {name: translate_schema(v, strict=strict) for name, v in value.items()}
        else:
            out[key] = copy.deepcopy(value)
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("nullable") is True:
        if "$ref" in out:
            ref = out.pop("$ref")
            out["anyOf"] = [{"$ref": ref}, {"type": "null"}]
        elif "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            if "null" not in types:
                out["type"] = [*types, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@lru_cache(maxsize=4)
def component_schemas(strict: bool = False) -> dict[str, Any]:
    """Every ``components.schemas`` entry, translated to JSON Schema."""
    schemas = load_spec()["components"]["schemas"]
    return {name: translate_schema(s, strict=strict) for name, s in schemas.items()}


def schema_validator(name: str, *, strict: bool = False) -> Draft202012Validator:
    """A Draft 2020-12 validator for ``#/components/schemas/<name>`` (``KeyError`` if unknown)."""
    schemas = component_schemas(strict)
    if name not in schemas:
        raise KeyError(f"no component schema {name!r} in {SPEC_PATH}")
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{name}",
        "components": {"schemas": schemas},
    }
    Draft202012Validator.check_schema(root)
    return Draft202012Validator(root, format_checker=FormatChecker())


def meeting_validator(*, strict: bool = False) -> Draft202012Validator:
    """A validator for one Fathom ``Meeting`` object."""
    return schema_validator("Meeting", strict=strict)
