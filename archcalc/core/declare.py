"""Spec models declared once, validated by pydantic-core on every run, exported as pydantic models.

A model lists its fields as ``name = field(kind, default, description)``. From that one declaration:

- ``Model.validate(data, context)`` runs a pydantic-core validator compiled from it (strict, extra keys
  forbidden), so a run never pays for importing pydantic's model machinery (most of a run's time);
- ``Model.pydantic_model()`` builds the equivalent ``pydantic.BaseModel`` (with ``extra="forbid"`` and a
  description on every field), which gives the JSON Schema and is cross-checked by the tests.

A ``Kind`` says what a field accepts: a pydantic-core schema, the JSON Schema, and the pydantic
annotation. ``fields.py`` defines the kinds specs use (sizes, per-axis values, flags, ...).
"""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any, ClassVar

from pydantic_core import SchemaValidator
from pydantic_core import core_schema as cs

REQUIRED: Any = object()  # the default of a field that must be given


class Kind:
    """What a field accepts: pydantic-core schema, JSON Schema, and pydantic annotation (built lazily)."""

    __slots__ = ("core", "json", "annotation")

    def __init__(self, core: Callable[[], Any], json: dict[str, Any], annotation: Callable[[], Any]) -> None:
        self.core = core
        self.json = json
        self.annotation = annotation


def checked(check: Callable[[Any, Any], Any], json: dict[str, Any]) -> Kind:
    """A kind validated by ``check(value, info)`` (info.context carries the expression names)."""
    def annotation() -> Any:
        from typing import Annotated

        from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
        return Annotated[Any, PlainValidator(check), PlainSerializer(plain, return_type=Any),
                         WithJsonSchema(json)]
    return Kind(lambda: cs.with_info_plain_validator_function(check), json, annotation)


def plain(value: Any) -> Any:
    """How the pydantic models dump a checked value, in Python and JSON mode alike: exact rationals as
    text (``"1/2"``) and symbols as their expression, both of which read back to the same value.

    Said here rather than left to pydantic-core's guess for an ``Any`` field, which changed: since 2.14
    it turns a ``Fraction`` into text even in Python mode, and before that it could not dump one to JSON.
    """
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, dict):  # a flag per part (multihead_attention's bias: {q, k, v, out})
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # a sympy expression


def choice(*values: str) -> Kind:
    """One of a few fixed strings."""
    from typing import Literal
    return Kind(lambda: cs.literal_schema(list(values)), {"enum": list(values)}, lambda: Literal[values])


def maybe(kind: Kind) -> Kind:
    """``kind`` or null."""
    return Kind(lambda: cs.nullable_schema(kind.core()), {"anyOf": [kind.json, {"type": "null"}]},
                lambda: kind.annotation() | None)


def list_of(kind: Kind) -> Kind:
    return Kind(lambda: cs.list_schema(kind.core()), {"type": "array", "items": kind.json},
                lambda: list[kind.annotation()])  # type: ignore[misc]


def dict_of(kind: Kind) -> Kind:
    return Kind(lambda: cs.dict_schema(cs.str_schema(), kind.core()),
                {"type": "object", "additionalProperties": kind.json},
                lambda: dict[str, kind.annotation()])  # type: ignore[misc]


def nested(model: Callable[[], type[Model]]) -> Kind:
    """Another declared model (given as a function, so it may be defined later)."""
    return Kind(lambda: model().core_schema(), {"$ref": "nested"}, lambda: model().pydantic_model())


def either(*kinds: Kind) -> Kind:
    """The first kind that accepts the value (left to right)."""
    from typing import Union
    return Kind(lambda: cs.union_schema([k.core() for k in kinds], mode="left_to_right"),
                {"anyOf": [k.json for k in kinds]}, lambda: Union[tuple(k.annotation() for k in kinds)])


TEXT = Kind(cs.str_schema, {"type": "string"}, lambda: str)
ANY = Kind(cs.any_schema, {}, lambda: Any)


class Field:
    __slots__ = ("kind", "default", "description")

    def __init__(self, kind: Kind, default: Any, description: str) -> None:
        self.kind = kind
        self.default = default
        self.description = description


def field(kind: Kind, default: Any = REQUIRED, description: str = "") -> Any:
    """Declare a field; mutable defaults ({} or []) are copied for each instance."""
    if not description:
        raise TypeError("every field needs a description (it feeds the JSON Schema)")
    return Field(kind, default, description)


class Model:
    """Base of every declared model. Subclasses with ``TYPES`` are discriminated by a ``type`` field."""

    FIELDS: ClassVar[dict[str, Field]] = {}
    TYPES: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = {name: value for name, value in vars(cls).items() if isinstance(value, Field)}
        cls.FIELDS = {**cls.FIELDS, **own}
        cls._validator: SchemaValidator | None = None
        cls._pydantic: Any = None

    # ---- validation (pydantic-core) ----

    @classmethod
    def core_schema(cls) -> Any:
        fields = {}
        if cls.TYPES:
            fields["type"] = cs.typed_dict_field(cs.literal_schema(list(cls.TYPES)))
        for name, f in cls.FIELDS.items():
            schema = f.kind.core()
            if f.default is REQUIRED:
                fields[name] = cs.typed_dict_field(schema)
            elif isinstance(f.default, (dict, list)):
                factory = type(f.default)
                fields[name] = cs.typed_dict_field(cs.with_default_schema(schema, default_factory=factory),
                                                   required=False)
            else:
                fields[name] = cs.typed_dict_field(cs.with_default_schema(schema, default=f.default),
                                                   required=False)
        return cs.no_info_after_validator_function(cls._make, cs.typed_dict_schema(fields, extra_behavior="forbid"))

    @classmethod
    def _make(cls, data: dict[str, Any]) -> Model:
        obj = object.__new__(cls)
        obj.__dict__.update(data)
        return obj

    @classmethod
    def validate(cls, data: Any, context: dict[str, Any] | None = None) -> Any:
        """Validate ``data`` (raises ``pydantic_core.ValidationError``)."""
        validator = cls.__dict__.get("_validator")
        if validator is None:
            validator = cls._validator = SchemaValidator(cls.core_schema())
        return validator.validate_python(data, context=context)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({body})"

    # ---- the same model as pydantic.BaseModel (schema, API) ----

    @classmethod
    def pydantic_model(cls) -> Any:
        """The equivalent pydantic model (built on first use; imports pydantic's model machinery)."""
        if cls.__dict__.get("_pydantic") is None:
            from typing import Literal

            from pydantic import ConfigDict, create_model
            from pydantic import Field as PydanticField
            definitions: dict[str, Any] = {}
            if cls.TYPES:
                definitions["type"] = (Literal[cls.TYPES], PydanticField(description="The layer type."))
            for name, f in cls.FIELDS.items():
                if f.default is REQUIRED:
                    info = PydanticField(description=f.description)
                elif isinstance(f.default, (dict, list)):
                    info = PydanticField(default_factory=type(f.default), description=f.description)
                else:
                    info = PydanticField(f.default, description=f.description)
                definitions[name] = (f.kind.annotation(), info)
            cls._pydantic = create_model(cls.__name__, __config__=ConfigDict(extra="forbid", frozen=True),
                                         __doc__=cls.__doc__, **definitions)
        return cls._pydantic
