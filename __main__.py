"""GitLab CI jobs on AWS Fargate: `mode: ecs` (Fargate driver) or `mode: eks` (EKS + Karpenter)."""

import pulumi

from components.config import load_stack_config
from components.topology import build_stack

config = load_stack_config()
for key, value in build_stack(config).outputs.items():
    pulumi.export(key, value)
