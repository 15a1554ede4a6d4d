#!/usr/bin/python3
"""Write the runner tokens from AWS Secrets Manager into the GitLab Runner config.

Runs before gitlab-runner.service on every boot, so a replaced or rebooted manager comes back
as the same runners, and rotating a token only needs a reboot. Never prints a token.
usage: gitlab-runner-tokens REGION SECRET_ID TEMPLATE CONFIG PLACEHOLDER_PREFIX
"""

import json
import os
import subprocess
import sys
import tempfile
import time

ATTEMPTS = 30
PAUSE_SECONDS = 10


def read_tokens(region, secret_id):
    command = [
        "aws",
        "secretsmanager",
        "get-secret-value",
        "--region",
        region,
        "--secret-id",
        secret_id,
        "--query",
        "SecretString",
        "--output",
        "json",
    ]
    env = dict(os.environ, AWS_PAGER="")
    for attempt in range(1, ATTEMPTS + 1):
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode == 0:
            tokens = json.loads(json.loads(result.stdout))
            if not isinstance(tokens, dict) or not all(isinstance(v, str) for v in tokens.values()):
                sys.exit(f"secret {secret_id} is not a JSON object of runner name -> token")
            return tokens
        print(
            f"get-secret-value failed (attempt {attempt}/{ATTEMPTS}): {result.stderr.strip()}",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(PAUSE_SECONDS)
    sys.exit(f"could not read the runner tokens from {secret_id}")


def main():
    region, secret_id, template_path, config_path, prefix = sys.argv[1:6]
    tokens = read_tokens(region, secret_id)
    with open(template_path) as handle:
        text = handle.read()
    for name, token in tokens.items():
        # Both sides are TOML basic strings; JSON string escapes are valid TOML escapes.
        text = text.replace(json.dumps(prefix + name), json.dumps(token))
    missing = [
        line.split(prefix, 1)[1].split('"', 1)[0] for line in text.splitlines() if prefix in line
    ]
    if missing:
        sys.exit("the secret has no token for runner(s): " + ", ".join(missing))
    descriptor, temporary = tempfile.mkstemp(
        dir=os.path.dirname(config_path), prefix=".config.toml."
    )
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, config_path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    print(f"wrote the tokens of {len(tokens)} runner(s) into {config_path}", flush=True)


if __name__ == "__main__":
    main()
