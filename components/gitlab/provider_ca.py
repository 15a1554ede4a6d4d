"""The CA file the GitLab provider trusts with `gitlab.caBundle` and `gitlab.createRunners`.

pulumi-gitlab (10.x, terraform-provider-gitlab underneath) takes the CA only as a file path,
`cacert_file`: there is no PEM-content input and no environment variable for it (the
provider's Configure starts from GITLAB_TOKEN and GITLAB_BASE_URL only), and
`NewGitLabClient` reads the file with os.ReadFile when it builds its client
(internal/provider/api/config.go). So the program writes the bundle to a file on the
machine that runs `pulumi up` and names that file.

Why a relative, content-addressed path (`.gitlab-provider-ca/<digest>.pem`):

- The provider reads it relative to its working directory, which is the directory the program
  runs in: the engine spawns the language host and every provider plugin in the same `pwd`,
  the project root (pulumi pkg/engine/project.go getPwdMain; sdk/go/common/resource/plugin/
  plugin.go `cmd.Dir = pwd`; pulumi-language-python `cmd.Dir = req.Pwd`).
- The input is then the same string on every machine and CI runner (an absolute path, a
  temporary directory or a home directory would differ), so a checkout elsewhere plans no
  provider change. It changes only with the bundle's content, and even then the provider is
  updated in place: the bridge's DiffConfig replaces a provider only for a key marked
  ForcesProviderReplace (pulumi-terraform-bridge pkg/tfbridge/provider.go, configDiffer),
  which pulumi-gitlab does not set for cacert_file (provider/resources.go, Config), so no
  runner is replaced.
- `pulumi destroy` and `pulumi refresh` configure the provider from the state without running
  the program: on a machine that never ran `pulumi up`/`preview` in this checkout, run them
  with `--run-program` so the file is written first (docs/gitlab.md).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PROVIDER_CA_DIR = ".gitlab-provider-ca"


def provider_ca_path(ca_bundle: str) -> str:
    """The provider's cacert_file for a bundle: relative to the project directory, with '/'
    (Go reads it on every OS), named by the digest of the exact text written."""
    digest = hashlib.sha256(ca_bundle.encode()).hexdigest()[:16]
    return f"{PROVIDER_CA_DIR}/{digest}.pem"


def write_provider_ca(ca_bundle: str, root: Path | None = None) -> str:
    """Write the bundle under `root` (default: the working directory, the project root under
    Pulumi) and return the provider's cacert_file. Atomic (a concurrent run never reads half
    a file); an unchanged file is left alone. An OSError (a read-only checkout) propagates."""
    relative = provider_ca_path(ca_bundle)
    target = (root or Path.cwd()) / relative
    data = ca_bundle.encode()
    if target.is_file() and target.read_bytes() == data:
        return relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    partial.write_bytes(data)
    os.replace(partial, target)
    return relative
