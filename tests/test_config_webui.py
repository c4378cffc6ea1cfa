"""The config model as MaiBot's WebUI sees it: the SDK-flavoured copy (`sdk_model`) through the real
`maibot_sdk.config.generate_plugin_config_schema`, the way the host builds the plugin's config page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from llm2pic.config.backends import GradioBackendConfig, HFInferenceBackendConfig, OpenAIBackendConfig
from llm2pic.config.backends_selfhosted import ComfyUIBackendConfig, SDWebUIBackendConfig
from llm2pic.config.backend_forms import form_key, forms_of
from llm2pic.config.backend_types import BACKEND_TYPES
from llm2pic.config.model import Config
from llm2pic.frontends.maibot.config_model import sdk_model
from llm2pic.config.ui import EN, ui

from maibot_sdk import PluginConfigBase  # a hard dependency: a missing SDK must fail, not skip  # noqa: E402
from maibot_sdk.config import (  # noqa: E402
    build_plugin_default_config,
    generate_plugin_config_schema,
    is_plugin_config_class,
    validate_plugin_config,
)

import tomllib

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
CJK = re.compile(r"[\u3400-\u9fff]")
BACKEND_CLASSES = (GradioBackendConfig, OpenAIBackendConfig, HFInferenceBackendConfig, SDWebUIBackendConfig,
                   ComfyUIBackendConfig)

SdkConfig = sdk_model(Config, PluginConfigBase)
FORMS = {form_key(kind) for kind in BACKEND_TYPES}  # the WebUI's backend sections (test_config_webui_forms.py)


def section_classes() -> dict[str, type[BaseModel]]:
    return {
        name: info.annotation
        for name, info in Config.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
    }


def plain(value: Any) -> Any:
    """A dump of `Config` the way the SDK copy dumps it: secrets as text, None (not set) as ""."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: "" if item is None else plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return generate_plugin_config_schema(SdkConfig, plugin_id="llm2pic", plugin_name="LLM2Pic")


def test_sdk_model_is_a_plugin_config_class_down_to_the_backends():
    config = SdkConfig()
    assert issubclass(SdkConfig, Config) and is_plugin_config_class(SdkConfig)
    for name in section_classes():
        assert is_plugin_config_class(SdkConfig.model_fields[name].annotation), name
        assert isinstance(getattr(config, name), PluginConfigBase), name
    assert all(isinstance(backend, PluginConfigBase) for backend in config.backends)
    assert isinstance(config.backends[0], GradioBackendConfig)


def test_every_section_is_a_section_with_chinese_and_english_titles(schema):
    sections = schema["sections"]
    for name, cls in section_classes().items():
        section = sections[name]
        assert CJK.search(section["title"]), name
        assert section["i18n"][EN]["title"], name
        assert section["order"] == cls.__ui_order__
        assert section["icon"], name
    assert set(sections) == set(section_classes()) | {"general"} | FORMS


def test_section_order_follows_config_example():
    order_in_example = []
    for header in re.findall(r"^\[+([a-z_]+)\]+", EXAMPLE.read_text(encoding="utf-8"), re.M):
        if header in section_classes() and header not in order_in_example:
            order_in_example.append(header)
    assert set(order_in_example) == set(section_classes()), "every section has a block in config.example.toml"
    assert sorted(section_classes(), key=lambda name: section_classes()[name].__ui_order__) == order_in_example
    assert len({cls.__ui_order__ for cls in section_classes().values()}) == len(section_classes())


def test_every_field_has_a_chinese_label_and_an_english_label(schema):
    for section_name, section in schema["sections"].items():
        for field_name, field in section["fields"].items():
            where = f"{section_name}.{field_name}"
            assert CJK.search(field["label"]) or field["label"] != field_name, where
            assert field["i18n"][EN]["label"], where
            if field.get("hint"):
                assert field["i18n"][EN].get("hint"), f"{where}: a Chinese hint without an English one"


def test_backend_item_fields_are_labelled_too():
    for cls in BACKEND_CLASSES:
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra
            assert isinstance(extra, dict) and extra.get("label"), f"{cls.__name__}.{name}"
            assert extra["i18n"][EN]["label"], f"{cls.__name__}.{name}"


def _secret_fields(cls: type[BaseModel]) -> list[str]:
    return [name for name, info in cls.model_fields.items() if info.annotation is SecretStr]


def test_secrets_are_password_inputs(schema):
    for section_name, cls in section_classes().items():
        for name in _secret_fields(cls):
            field = schema["sections"][section_name]["fields"][name]
            # The dashboard picks the widget by ui_type; input_type is kept for other front ends.
            assert field["ui_type"] == "password" and field["input_type"] == "password", name
    assert _secret_fields(section_classes()["llm"]) == ["api_key"]
    for cls in BACKEND_CLASSES:
        secrets = _secret_fields(cls)
        assert secrets, cls.__name__
        for name in secrets:
            assert cls.model_fields[name].json_schema_extra["x-widget"] == "password"


def test_multi_line_prompts_are_textareas(schema):
    fields = schema["sections"]
    assert fields["llm"]["fields"]["system_prompt"]["ui_type"] == "textarea"
    assert fields["selfie"]["fields"]["appearance"]["ui_type"] == "textarea"
    assert fields["generation"]["fields"]["negative_prompt"]["ui_type"] == "textarea"


def test_schema_defaults_are_the_config_defaults(schema):
    defaults = plain(Config().model_dump(mode="python"))
    for name in section_classes():
        for field_name, field in schema["sections"][name]["fields"].items():
            assert field["default"] == defaults[name].get(field_name), f"{name}.{field_name}"
    assert schema["sections"]["general"]["fields"]["backends"]["default"] == defaults["backends"]
    forms = plain(forms_of(Config().backends))
    assert build_plugin_default_config(SdkConfig) == {**defaults, **forms}
    for name in FORMS:
        for field_name, field in schema["sections"][name]["fields"].items():
            assert field["default"] == forms[name][field_name], f"{name}.{field_name}"


def test_sdk_model_reads_config_example_like_config():
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    ours = Config.model_validate(raw)
    theirs = validate_plugin_config(SdkConfig, raw)
    assert plain(theirs.model_dump()) == {**plain(ours.model_dump()), **plain(forms_of(ours.backends))}
    assert [type(b).__name__ for b in theirs.backends] == [type(b).__name__ for b in ours.backends]
    assert all(isinstance(b, PluginConfigBase) for b in theirs.backends)


def test_sdk_model_keeps_the_validators():
    bad = [
        {"generation": {"width": 512}},
        {"backends": [{"type": "gradio", "space": "a/b"}, {"type": "gradio", "space": "c/b"}]},
        {"backends": [{"type": "gradio"}]},
        {"chain": {"backoff_initial": 10, "backoff_max": 1}},
        {"llm": {"base_url": "ftp://x"}},
    ]
    for data in bad:
        with pytest.raises(ValidationError):
            Config.model_validate(data)
        with pytest.raises(ValidationError):
            SdkConfig.model_validate(data)
    # Keys the user set are still told apart from defaults (the output section's checks use that).
    with pytest.raises(ValidationError):
        SdkConfig.model_validate({"output": {"crop_top": "10", "crop_pixels": 5}})
    SdkConfig.model_validate({"output": {"crop_top": "10"}})


def test_host_can_carry_and_write_what_the_sdk_model_dumps(schema):
    """The Runner sends the schema and defaults over msgpack and writes config.toml with tomlkit."""
    msgpack = pytest.importorskip("msgpack")
    tomlkit = pytest.importorskip("tomlkit")
    msgpack.packb(schema)
    data = SdkConfig.model_validate(
        {"llm": {"api_key": "sk-test", "temperature": 0.5}, "backends": [{"type": "openai", "api_key": "k"}]}
    ).model_dump(mode="python")
    msgpack.packb(data)
    assert data["llm"]["api_key"] == "sk-test", "a masked key would overwrite the user's key in config.toml"
    text = tomlkit.dumps(data)
    again = SdkConfig.model_validate(tomllib.loads(text))
    assert again.llm.api_key.get_secret_value() == "sk-test" and again.llm.temperature == 0.5
    assert tomllib.loads(tomlkit.dumps(build_plugin_default_config(SdkConfig))) == build_plugin_default_config(SdkConfig)
    # Config itself keeps masking its secrets.
    assert isinstance(Config.model_validate({"llm": {"api_key": "x"}}).model_dump()["llm"]["api_key"], SecretStr)


def test_backend_list_renders_as_a_plain_list(schema):
    """What the WebUI shows for `backends` with SDK 2.16: the list item schema understands one
    PluginConfigBase class, not a discriminated union, so the items are plain strings. The form
    tells users to edit the list in the source (TOML) view."""
    field = schema["sections"]["general"]["fields"]["backends"]
    assert field["ui_type"] == "list"
    assert field["item_type"] == "string" and field["item_fields"] is None
    assert "TOML" in field["hint"]


def test_ui_helper_shape():
    extra = ui("标签", "Label", "提示", "Hint", secret=True, step=0.5)
    assert extra == {
        "label": "标签", "hint": "提示", "x-widget": "password", "input_type": "password", "step": 0.5,
        "i18n": {"en_US": {"label": "Label", "hint": "Hint"}},
    }
    assert ui("标签", "Label", textarea=5)["x-widget"] == "textarea"
    with pytest.raises(ValueError):
        ui("标签", "")
