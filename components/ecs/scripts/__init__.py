"""Files installed on the ECS runner manager as they are (read with importlib.resources)."""
