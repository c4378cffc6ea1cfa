"""Configuration: the model of config.toml, loading with clear errors, and classic-config migration."""
