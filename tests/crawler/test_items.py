"""The record type and the published JSON Schema describe the same record."""

from __future__ import annotations

import ast
import inspect
import types
import typing
from typing import Any, Union, get_args, get_origin

import pytest

from crawler import items
from crawler.extract import build_record
from crawler.items import (
    BODY_BLOCKS,
    SCHEMA_VERSION,
    ArticleRecord,
    Attachment,
    Image,
    finish_record,
    record_schema,
)
from crawler.sites import generic_profile
from crawler.validate import record_problems, schema_validator

PYTHON_TO_JSON = {str: "string", int: "integer", float: "number", bool: "boolean"}


def json_types_of_annotation(annotation: Any) -> set[str]:
    """The JSON types a value of a Python annotation can take."""
    if annotation is type(None):
        return {"null"}
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return set().union(*(json_types_of_annotation(arg) for arg in get_args(annotation)))
    if origin is list:
        return {"array"}
    if typing.is_typeddict(annotation):
        return {"object"}
    return {PYTHON_TO_JSON[annotation]}


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A schema node with its local $ref followed."""
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return resolve(schema, target)


def json_types_of_schema(schema: dict[str, Any], node: dict[str, Any]) -> set[str]:
    """The JSON types a schema node admits."""
    node = resolve(schema, node)
    if "anyOf" in node:
        return set().union(*(json_types_of_schema(schema, n) for n in node["anyOf"]))
    if "const" in node:
        return json_types_of_annotation(type(node["const"]))
    if "enum" in node:
        return set().union(*(json_types_of_annotation(type(v)) for v in node["enum"]))
    declared = node["type"]
    return {declared} if isinstance(declared, str) else set(declared)


def fields_agree(schema: dict[str, Any], node: dict[str, Any], typed: Any) -> list[str]:
    """How an object node of the schema and a TypedDict differ, field by field."""
    problems = []
    hints = typing.get_type_hints(typed)
    properties = node["properties"]
    if list(properties) != list(hints):
        problems.append(f"{typed.__name__}: fields {list(hints)} vs schema {list(properties)}")
    if set(node["required"]) != set(typed.__required_keys__):
        problems.append(
            f"{typed.__name__}: required {sorted(typed.__required_keys__)} "
            f"vs schema {sorted(node['required'])}"
        )
    if node.get("additionalProperties") is not False:
        problems.append(f"{typed.__name__}: the schema must refuse other properties")
    for name in set(hints) & set(properties):
        want = json_types_of_annotation(hints[name])
        got = json_types_of_schema(schema, properties[name])
        if want != got:
            problems.append(f"{typed.__name__}.{name}: type {sorted(want)}, schema {sorted(got)}")
        item = resolve(schema, properties[name]).get("items")
        if item is not None:
            (element,) = get_args(hints[name])
            if typing.is_typeddict(element):
                problems += fields_agree(schema, resolve(schema, item), element)
            elif json_types_of_schema(schema, item) != json_types_of_annotation(element):
                problems.append(f"{typed.__name__}.{name}: list items differ from the schema")
    return problems


def test_the_record_type_and_the_schema_agree() -> None:
    schema = record_schema()
    assert fields_agree(schema, schema, ArticleRecord) == []


def test_the_schema_version_is_the_one_the_schema_publishes() -> None:
    assert record_schema()["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


def undocumented_fields(cls: type) -> list[str]:
    """Fields of a class body with no docstring right after their declaration."""
    tree = ast.parse(inspect.getsource(items))
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    missing = []
    for statement, following in zip(body.body, [*body.body[1:], None], strict=True):
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            documented = (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
                and following.value.value.strip()
            )
            if not documented:
                missing.append(statement.target.id)
    return missing


@pytest.mark.parametrize("cls", [ArticleRecord, Image, Attachment], ids=lambda c: c.__name__)
def test_every_field_says_its_format(cls: type) -> None:
    assert undocumented_fields(cls) == []


def test_a_wrong_type_is_caught() -> None:
    """The comparison itself can fail: a schema that types `title` as a number differs."""
    schema = record_schema()
    changed = {**schema, "properties": {**schema["properties"], "title": {"type": "number"}}}
    assert fields_agree(changed, changed, ArticleRecord) == [
        "ArticleRecord.title: type ['string'], schema ['number']"
    ]


def test_finish_record_joins_the_body_blocks_in_the_place_of_body() -> None:
    record = {"id": "a", "title": "t", BODY_BLOCKS: ["第一段。", "第二段。"], "images": []}
    finished = finish_record(record)
    assert list(finished) == ["id", "title", "body", "images"]
    assert finished["body"] == "第一段。\n第二段。"
    assert finish_record(finished) is finished


def test_a_record_still_holding_body_blocks_is_never_valid() -> None:
    extracted = build_record(
        "<html><head><title>园区召开大会</title></head><body><h1>园区召开大会</h1>"
        "<div class='content'><p>" + "园区召开企业服务大会，部署今年的重点工作。" * 4 + "</p></div>"
        "</body></html>",
        "http://www.example.gov.cn/art/1.html",
        generic_profile("http://www.example.gov.cn/art/1.html"),
    )
    assert BODY_BLOCKS in extracted and "body" not in extracted
    assert record_problems(extracted, schema_validator())
    assert not record_problems(finish_record(extracted), schema_validator())
