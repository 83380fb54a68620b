"""Typed stack configuration: load, validate, and explain what to fix."""

from stacks.config.loader import ConfigError, config_from_pulumi, load_config
from stacks.config.model import STAGES, StackConfig

__all__ = ["ConfigError", "STAGES", "StackConfig", "config_from_pulumi", "load_config"]
