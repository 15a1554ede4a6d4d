"""Where the configured images come from, and what pulling them takes: a plan warning for
each image in a private ECR registry (its repository's own policy must admit this account)
and for each image on a company registry (how ECS or Kubernetes logs in to it).

Cross-account ECR pulls need both sides: the puller's IAM policy on the repository ARN and
the repository policy allowing the puller's account (ECR user guide, "Private repository
policies" and "Allowing another account to pull images"). ECS mode grants the first exactly
(components/ecs/task_definitions.py); in EKS mode the node roles'
AmazonEC2ContainerRegistryPullOnly and the Fargate pod execution role's
AmazonEKSFargatePodExecutionRolePolicy already allow the pull actions on "*" (AWS managed
policy reference), so only the repository policy is left.
"""

from __future__ import annotations

from components.config.model import StackConfig
from components.config.reader import Reader
from components.domain.ecr import ecr_repository
from components.domain.oci_reference import ReferenceError, parse_reference

# Registries whose repositories are mostly public: no warning for them (docs/gitlab.md still
# says how to log in to a private repository there).
PUBLIC_REGISTRIES = (
    "",
    "docker.io",
    "registry-1.docker.io",
    "public.ecr.aws",
    "registry.gitlab.com",
    "ghcr.io",
    "quay.io",
    "registry.k8s.io",
    "mcr.microsoft.com",
)
REPOSITORY_POLICY = (
    "that repository's policy must allow this account to pull (ecr:BatchGetImage, "
    "ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability; ECR user guide, "
    '"Private repository policies"), or tasks/pods fail with an access denied pull error'
)


def _images(config: StackConfig) -> list[tuple[str, str, str | None]]:
    """(key, image, repositoryCredentialsArn) of every image the mode pulls from config."""
    if config.mode == "ecs":
        return [
            (f"ecs.taskDefinitions[{i}] ({t.name}).image", t.image, t.repository_credentials_arn)
            for i, t in enumerate(config.ecs.task_definitions)
        ]
    images = [("eks.defaultJobImage", config.eks.default_job_image, None)]
    if config.images.helper_image:
        images.append(("images.helperImage", config.images.helper_image, None))
    return images


def _registry(image: str) -> str | None:
    try:
        return parse_reference(image).domain
    except ReferenceError:
        return None  # reported by the schema


def check_registries(r: Reader, config: StackConfig) -> None:
    for key, image, credentials in _images(config):
        repository = ecr_repository(image)
        if repository is not None:
            who = (
                "the job task execution role may pull exactly " + repository.arn
                if config.mode == "ecs"
                else "the node and Fargate pod execution roles may pull it (their AWS managed "
                "policies allow every repository)"
            )
            r.warn(
                f"{key}: '{image}' is in the ECR registry of account {repository.account} "
                f"({repository.region}): {who}; unless that is the account you deploy to, "
                f"{REPOSITORY_POLICY}"
            )
            continue
        registry = _registry(image)
        if registry is None or registry in PUBLIC_REGISTRIES or credentials:
            continue
        entry = key.split(" ", 1)[0]
        how = (
            f'store its login in Secrets Manager as {{"username", "password"}} and set '
            f"pulumi config set --path '{entry}.repositoryCredentialsArn' <secret ARN> (ECS "
            "repositoryCredentials; the execution role may read exactly that secret)"
            if config.mode == "ecs"
            else "add a CI/CD variable DOCKER_AUTH_CONFIG with its credentials: gitlab-runner "
            "turns it into the job pod's image pull secret"
        )
        r.warn(f"{key}: '{image}' comes from {registry}; if that repository is private, {how}")
