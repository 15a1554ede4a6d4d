"""GitLab CI runner fleets on AWS Fargate: the component package (ecs/, eks/, shared/, gitlab/,
observability/) and the stack program's own layers (config/, topology.py, the offline tools).

`__version__` is the package's one version: pyproject.toml, the multi-language provider and the
docs' `pulumi package add ...@v<version>` all read it."""

__version__ = "0.5.0"
