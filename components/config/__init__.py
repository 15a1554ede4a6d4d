"""Stack configuration: the key schema, the typed model and the parser."""

from components.config.model import *  # noqa: F403
