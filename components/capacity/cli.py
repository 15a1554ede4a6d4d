"""Capacity estimate: how fast N queued jobs start on a stack, which limit binds, what it
costs. Offline: no cloud calls, no tokens needed.

    python -m components capacity --stack dev --jobs 1000 [--set KEY=VALUE] [--json]
        [--svg FILE]

The stack file is read, `--set` applied and checked exactly as the offline plan does
(components/offline/stack_input.py); runner tokens are never needed, stand-ins take their
place. `--jobs N` is split over the runners in proportion to their concurrency (largest
remainder); with `--per-runner` every runner gets N. Runners with the same tags compete for the
same pending jobs (one GitLab queue).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from components.capacity import model
from components.capacity.inputs import load_inputs
from components.capacity.report import report
from components.capacity.svg import render_svg
from components.capacity.text import render_text
from components.config import ConfigError, parse_config
from components.offline.command import add_stack_arguments, print_warnings, report_bad_input
from components.offline.stack_input import GITLAB_TOKEN, TOKENS, read_stack_input
from components.preflight import EC2_ON_DEMAND, EC2_SPOT, NEW_ACCOUNT_QUOTAS

PROG = "python -m components.capacity"


def _job_count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}': a number of jobs, 0 or more")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument("--jobs", type=_job_count, required=True, help="jobs queued at once")
    parser.add_argument("--per-runner", action="store_true", help="N jobs for EVERY runner")
    parser.add_argument("--json", action="store_true", help="print JSON (camelCase keys)")
    parser.add_argument("--svg", help="also write the ramp (jobs started over time) to FILE")
    parser.add_argument(
        "--vcpu-quota",
        type=float,
        default=model.DEFAULT_FARGATE_VCPU_QUOTA,
        help="Fargate On-Demand vCPU quota L-3032A538 (default: a new account's 6)",
    )
    parser.add_argument(
        "--spot-vcpu-quota",
        type=float,
        default=model.DEFAULT_FARGATE_VCPU_QUOTA,
        help="Fargate Spot vCPU quota L-36FBB829 (default: a new account's 6)",
    )
    parser.add_argument(
        "--ec2-spot-vcpu-quota",
        type=float,
        default=NEW_ACCOUNT_QUOTAS[EC2_SPOT],
        help="EKS spot lane: EC2 Spot vCPU quota L-34B43A08 (default: a new account's 5)",
    )
    parser.add_argument(
        "--ec2-vcpu-quota",
        type=float,
        default=NEW_ACCOUNT_QUOTAS[EC2_ON_DEMAND],
        help="EKS privileged lane: EC2 On-Demand vCPU quota L-1216C47A (default: 5)",
    )
    parser.add_argument(
        "--job-seconds",
        type=float,
        default=None,
        help="job run time; default: jobs outlast the start window",
    )


def estimate(args: argparse.Namespace) -> dict:
    """The report document for parsed arguments; raises ConfigError with every problem."""
    stack_input = read_stack_input(args.stack, args.project_dir, args.set, stand_in_tokens=True)
    try:
        config, warnings = parse_config(
            stack_input.runtime_values(),
            tokens_are_secret=TOKENS in stack_input.secret_keys,
            gitlab_token_is_secret=GITLAB_TOKEN in stack_input.secret_keys,
        )
    except ConfigError as error:
        raise ConfigError(stack_input.problems + error.problems, stack_input.warnings) from None
    if stack_input.problems:
        raise ConfigError(stack_input.problems, stack_input.warnings)
    print_warnings([*stack_input.warnings, *warnings])
    inputs = load_inputs(
        config,
        stack_input.region or "",
        args.jobs,
        args.per_runner,
        args.vcpu_quota,
        args.spot_vcpu_quota,
        args.job_seconds,
        args.ec2_vcpu_quota,
        args.ec2_spot_vcpu_quota,
    )
    return report(inputs)


def execute(args: argparse.Namespace) -> int:
    """Print the report for parsed arguments: exit status 0, or 2 for bad input."""

    def run() -> int:
        doc = estimate(args)
        print(json.dumps(doc, indent=2) if args.json else render_text(doc))
        if args.svg:
            Path(args.svg).write_text(render_svg(doc), encoding="utf-8")
        return 0

    return report_bad_input(run)


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return execute(parser.parse_args(argv))
