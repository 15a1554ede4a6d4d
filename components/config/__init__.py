"""Stack configuration: the key schema (schema.py), the typed model (model.py) and the parser
that turns raw stack config into the model, reporting every problem at once (parse.py)."""

from components.config.model import (
    AlertsSpec,
    CacheSpec,
    ConfigError,
    EcsSpec,
    EksSpec,
    GitLabSpec,
    GitLabToken,
    ImagesSpec,
    NetworkSpec,
    ObservabilitySpec,
    PreflightSpec,
    RunnerSpec,
    RunnerToken,
    StackConfig,
    TaskDefinitionSpec,
)
from components.config.parse import load_stack_config, parse_config, read_raw_config

__all__ = [
    "AlertsSpec",
    "CacheSpec",
    "ConfigError",
    "EcsSpec",
    "EksSpec",
    "GitLabSpec",
    "GitLabToken",
    "ImagesSpec",
    "NetworkSpec",
    "ObservabilitySpec",
    "PreflightSpec",
    "RunnerSpec",
    "RunnerToken",
    "StackConfig",
    "TaskDefinitionSpec",
    "load_stack_config",
    "parse_config",
    "read_raw_config",
]
