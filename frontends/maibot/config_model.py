"""SDK-flavoured copies of the config model, for MaiBot's host and WebUI.

The SDK treats a field as a config section (and a list item as an object form) only when its class
subclasses `maibot_sdk.PluginConfigBase`. The config package must not import maibot_sdk, so
plugin.py passes that base in:

    config_model = sdk_model(Config, PluginConfigBase)

Every pydantic model reachable from the root (section fields, the backend classes inside
`list[Annotated[Union[...], discriminator]]`) gets a subclass `(Model, base)` with the same name,
fields, defaults, validators and UI class vars; fields whose type mentions a copied model are
re-declared with the copies, and their defaults are rebuilt as copies too.

One deliberate difference: in the copies a `SecretStr` field dumps as its plain text. The host
dumps the model (`model_dump(mode="python")`) to write config.toml with tomlkit and to send the
defaults and the WebUI schema over msgpack; neither can carry a `SecretStr`, and a masked value
would overwrite the user's key in config.toml. `Config` itself still masks its secrets.
For the same reason (TOML has no null) a None value, an optional number that is not set, dumps as
"" and reads back as not set (`config.section`): leaving the key out would keep the old value in
config.toml, because the host's writer only adds and replaces keys.

A config with `backends` gets one more section per backend type (`webui_gradio`, …, see
`config/backend_forms.py`): the dashboard cannot edit a list of mixed types, so these fixed sections
show and edit the first backend of each type. They are dumped as the mirror of `backends` every time
(so the host writes them in sync with `[[backends]]`), and `Config` folds an edited one back into the
list when it validates.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Callable, Union, get_args, get_origin

from pydantic import (BaseModel, Field, SecretStr, SerializerFunctionWrapHandler, create_model, field_serializer,
                      model_serializer)
from pydantic_core import PydanticUndefined

from ...config.backend_forms import form_class, form_key, forms_of
from ...config.backend_types import BACKEND_TYPES


def sdk_model(config_cls: type[BaseModel], base: type[BaseModel]) -> type[BaseModel]:
    """A subclass of `config_cls` and `base` whose nested models are `base` subclasses as well."""
    if "backends" in config_cls.model_fields:
        config_cls = _with_backend_forms(config_cls)
    return _Copier(base).model(config_cls)


def _with_backend_forms(config_cls: type[BaseModel]) -> type[BaseModel]:
    """`config_cls` plus the backend form sections, for the schema; their values come from `_sdk_dump`."""
    forms = {form_key(kind): (form_class(kind), Field(default_factory=form_class(kind))) for kind in BACKEND_TYPES}
    with_forms = create_model(config_cls.__name__, __base__=config_cls, __module__=config_cls.__module__, **forms)
    with_forms.__doc__ = config_cls.__doc__
    with_forms.__qualname__ = config_cls.__qualname__
    return with_forms


class _Copier:
    def __init__(self, base: type[BaseModel]) -> None:
        self.base = base
        self.copies: dict[type[BaseModel], type[BaseModel]] = {}

    def model(self, cls: type[BaseModel]) -> type[BaseModel]:
        if issubclass(cls, self.base):
            return cls
        if cls in self.copies:
            return self.copies[cls]
        fields: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            annotation = self.annotation(info.annotation)
            if annotation is info.annotation:
                continue
            new_info = copy.copy(info)
            new_info.annotation = annotation
            new_info.default_factory = self._factory(info)
            new_info.default = PydanticUndefined
            fields[name] = (annotation, new_info)
        secrets = [name for name, info in cls.model_fields.items() if _mentions_secret(info.annotation)]
        serializers: dict[str, Any] = {"_sdk_dump": model_serializer(mode="wrap")(_sdk_dump)}
        if secrets:
            serializers["_plain_secrets"] = field_serializer(*secrets)(_plain_secret)
        copied = create_model(
            cls.__name__, __base__=(cls, self.base), __module__=cls.__module__, __validators__=serializers, **fields
        )
        copied.__doc__ = cls.__doc__
        copied.__qualname__ = cls.__qualname__
        self.copies[cls] = copied
        return copied

    def annotation(self, annotation: Any) -> Any:
        """The annotation with every model replaced by its copy; the same object when nothing changes."""
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self.model(annotation)
        origin, args = get_origin(annotation), get_args(annotation)
        if not args:
            return annotation
        if origin is Annotated:
            inner = self.annotation(args[0])
            if inner is args[0]:
                return annotation
            return Annotated[(inner, *annotation.__metadata__)]
        new_args = tuple(self.annotation(arg) for arg in args)
        if all(new is old for new, old in zip(new_args, args)):
            return annotation
        if origin is Union or str(origin) == "types.UnionType":
            return Union[new_args]
        if origin is list:
            return list[new_args[0]]
        if origin is dict:
            return dict[new_args[0], new_args[1]]
        if origin is tuple:
            return tuple[new_args]
        raise TypeError(f"sdk_model cannot copy models inside {annotation!r}")

    def _factory(self, info: Any) -> Callable[[], Any]:
        """The default of a re-declared field, built from the original default as copies."""
        factory = info.default_factory
        if isinstance(factory, type) and factory in self.copies:
            return self.copies[factory]

        def default() -> Any:
            return self.value(factory() if factory is not None else copy.deepcopy(info.default))

        return default

    def value(self, value: Any) -> Any:
        """An already validated value with its models turned into instances of the copies.

        The copies subclass the originals and run the same validators, so the values are taken
        over as they are; the set of keys the user gave (`model_fields_set`) is kept.
        """
        if isinstance(value, BaseModel) and type(value) in self.copies:
            fields = {name: self.value(getattr(value, name)) for name in type(value).model_fields}
            return self.copies[type(value)].model_construct(_fields_set=set(value.model_fields_set), **fields)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.value(item) for item in value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value


def _mentions_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(_mentions_secret(arg) for arg in get_args(annotation))


def _plain_secret(self: BaseModel, value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _sdk_dump(self: BaseModel, handler: SerializerFunctionWrapHandler) -> Any:
    data = handler(self)
    if not isinstance(data, dict):
        return data
    if form_key(next(iter(BACKEND_TYPES))) in type(self).model_fields:
        data.update({key: _none_as_empty(form) for key, form in forms_of(self.backends).items()})
    return _none_as_empty(data)


def _none_as_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {key: "" if value is None else value for key, value in data.items()}
