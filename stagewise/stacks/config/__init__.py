"""Typed stack configuration: load, validate, and explain what to fix."""

from stagewise.stacks.config.loader import ConfigError, config_error, config_from_pulumi, load_config
from stagewise.stacks.config.model import STAGES, StackConfig

__all__ = ["ConfigError", "STAGES", "config_error", "StackConfig", "config_from_pulumi", "load_config"]
