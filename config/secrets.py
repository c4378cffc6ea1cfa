"""Every secret a config holds or points to, so whatever is printed or logged can be redacted
with them: keys and tokens, the values of the variables `*_env` names, and a key pasted into a
`*_env` field by mistake (a variable name looks like OPENAI_API_KEY; anything else is treated as
a secret)."""

from __future__ import annotations

import re
from typing import Any, Mapping, Union
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

_VARIABLE_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")


def looks_like_variable_name(value: str) -> bool:
    return bool(_VARIABLE_NAME.fullmatch(value))


def url_credentials(url: str) -> list[str]:
    """The password (and user:password) of a URL with userinfo, e.g. https://me:pw@host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    if not parts.password:
        return []
    return [f"{parts.username}:{parts.password}", parts.password]


def secret_from(written: Union[SecretStr, str], env_name: str, environ: Mapping[str, str], *,
                strip: bool = True) -> str:
    """A key, token or password: the one written in the config, else the value of the environment
    variable `env_name` names (`api_key_env`, `token_env`, …); "" when neither. Whitespace around a
    key or token is not part of it; a password (`strip=False`) is taken as it is."""
    value = written.get_secret_value() if isinstance(written, SecretStr) else written
    value = value.strip() if strip else value
    if value or not env_name.strip():
        return value
    found = environ.get(env_name.strip(), "")
    return found.strip() if strip else found


def config_secrets(config: BaseModel, environ: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    _walk(config, environ, found)
    return [value for value in dict.fromkeys(found) if value]


def _walk(value: Any, environ: Mapping[str, str], found: list[str]) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            item = getattr(value, name, None)
            if isinstance(item, SecretStr):
                found.append(item.get_secret_value().strip())
            elif name.endswith("_env") and isinstance(item, str) and item.strip():
                found.append(secret_from("", item, environ))
                if not looks_like_variable_name(item.strip()):
                    found.append(item.strip())
            elif isinstance(item, str) and "@" in item:
                found.extend(url_credentials(item))
            else:
                _walk(item, environ, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, environ, found)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, environ, found)
