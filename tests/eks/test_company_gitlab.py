"""EKS mode for a self-managed GitLab behind a private CA and a proxy: the chart's
certsSecretName with a Secret holding `<gitlab host>.crt`, the proxy in the manager's
environment and in every job pod's containers.

Upstream, at the pinned versions:
- gitlab-runner chart 0.86.0 templates/deployment.yaml:119-123 and 161-164: certsSecretName
  mounts the Secret at /home/gitlab-runner/.gitlab-runner/certs/; templates/_env_vars.tpl:
  26-29: `extraEnv` (a map) becomes the manager container's env (values.yaml:691; the chart
  also has the list-shaped `envVars`, which it documents for registration).
- gitlab-runner v18.9.0 network/client.go:566-571: the CA file of a host is
  `<certificate directory>/<host without port>.crt`; common/build.go:1523-1533: the verified
  chain goes to each job as CI_SERVER_TLS_CA_FILE, which git uses (shells/abstract.go:
  599-625); common/config.go:2213-2226 and executors/kubernetes/kubernetes.go:1466, 1510:
  the runner's `environment` is set on every container of the job pod, helper included.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace

import yaml

from components.config import parse_config
from components.eks.runner_chart import runner_chart_values
from components.eks.trust import CA_ANNOTATION, CA_SECRET
from components.offline.mocks import Plan
from components.topology import eks_fleet_spec
from tests.eks.support import UPSTREAM
from tests.harness import COMPANY_PROXY, EXAMPLE_CA_BUNDLE, company_config

RUNNERS = ("fargate", "fargate-spot")


def values(plan: Plan, runner: str) -> dict:
    return yaml.safe_load(plan.rendered_files[f"helm/gitlab-runner-{runner}/values.yaml"])


def test_each_manager_mounts_the_ca_secret_and_gets_the_proxy(eks_company_plan: Plan) -> None:
    for runner in RUNNERS:
        release = values(eks_company_plan, runner)
        assert release["certsSecretName"] == CA_SECRET
        env = release["extraEnv"]
        assert env["HTTPS_PROXY"] == env["https_proxy"] == COMPANY_PROXY
        # The Kubernetes API by its service IP, in-cluster names, AWS: never via the proxy.
        for entry in ("10.100.0.0/16", "172.20.0.0/16", ".svc", ".amazonaws.com"):
            assert entry in env["NO_PROXY"].split(",")


def test_the_ca_secret_is_named_as_gitlab_runner_looks_for_it(eks_company_plan: Plan) -> None:
    secrets = [
        r
        for r in eks_company_plan.resources
        if r.type == "kubernetes:core/v1:Secret" and r.inputs["metadata"]["name"] == CA_SECRET
    ]
    assert len(secrets) == len(RUNNERS)  # one per runner namespace
    for secret in secrets:
        assert secret.inputs["stringData"] == {"gitlab.corp.example.crt": EXAMPLE_CA_BUNDLE}


def test_job_pods_get_the_proxy_through_the_runner_environment(eks_company_plan: Plan) -> None:
    for runner in RUNNERS:
        config = tomllib.loads(values(eks_company_plan, runner)["runners"]["config"])
        environment = dict(item.split("=", 1) for item in config["runners"][0]["environment"])
        assert environment["HTTP_PROXY"] == environment["http_proxy"] == COMPANY_PROXY


def test_the_example_stack_sets_neither(eks_dev_plan: Plan) -> None:
    for runner in RUNNERS:
        release = values(eks_dev_plan, runner)
        assert "certsSecretName" not in release and "extraEnv" not in release
        assert "environment" not in tomllib.loads(release["runners"]["config"])["runners"][0]


def test_every_runners_config_key_is_known_to_gitlab_runner(eks_company_plan: Plan) -> None:
    """tests/upstream/gitlab-runner-config.json: the [[runners]] keys of v18.9.0."""
    sections = json.loads((UPSTREAM / "gitlab-runner-config.json").read_text())["sections"]
    for runner in RUNNERS:
        entry = tomllib.loads(values(eks_company_plan, runner)["runners"]["config"])["runners"][0]
        assert set(entry) <= set(sections["runners"]["keys"])


def test_a_new_ca_rolls_the_manager_pods(eks_company_plan: Plan) -> None:
    """The chart's checksum annotations hash only its own ConfigMap and Secrets, not the
    certsSecretName Secret (chart 0.86.0 templates/deployment.yaml:40-42), so the values carry
    a digest of the CA in the pod annotations, beside those of an EC2-placed manager."""
    annotations = {r: values(eks_company_plan, r)["podAnnotations"] for r in RUNNERS}
    assert annotations["fargate"][CA_ANNOTATION] == annotations["fargate-spot"][CA_ANNOTATION]
    config, _ = parse_config(company_config(mode="eks", eks={"managerPlacement": "ec2"}))
    on_ec2 = runner_chart_values(eks_fleet_spec(config), config.runners[0])["podAnnotations"]
    assert on_ec2 == {
        "karpenter.sh/do-not-disrupt": "true",
        CA_ANNOTATION: annotations["fargate"][CA_ANNOTATION],
    }
    other = EXAMPLE_CA_BUNDLE.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----"
    rotated = replace(eks_fleet_spec(config), ca_bundle=other)
    changed = runner_chart_values(rotated, config.runners[0])["podAnnotations"][CA_ANNOTATION]
    assert changed != annotations["fargate"][CA_ANNOTATION]
