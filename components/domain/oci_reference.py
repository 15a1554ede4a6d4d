"""The image reference grammar every registry client applies (github.com/distribution/reference).

Job, service and helper images are pulled by ECS, the kubelet or containerd, all of which parse
the reference with this grammar first: an uppercase repository or an empty tag is refused there
only when a job starts. The expressions below are a transcription of distribution/reference's
regexp.go (commit 0965666, v0.6.0-22) and Parse in reference.go; tests/domain/ runs the
package's own TestReferenceParse table (tests/upstream/distribution-reference.json) against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# regexp.go, constants of the same names.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_OPTIONAL_PORT = r"(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_NAME_COMPONENT}(?:\.{_DOMAIN_NAME_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})"
_DOMAIN_AND_PORT = _HOST + _OPTIONAL_PORT
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"
# Go's \w is ASCII-only: re.ASCII keeps Python's \w from admitting other letters.
_REFERENCE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$", re.ASCII)
_ANCHORED_NAME = re.compile(rf"^(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})$", re.ASCII)

REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255  # reference.go RepositoryNameTotalLengthMax
# go-digest: the only algorithm every registry and runtime registers, and its hex length.
SUPPORTED_DIGEST = ("sha256", 64)


@dataclass(frozen=True)
class ImageReference:
    domain: str  # "" when the reference names none (Docker Hub)
    path: str
    tag: str
    digest: str

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path


class ReferenceError(ValueError):
    """Why a reference is refused: `kind` is the upstream error's name, the message the fix."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _digest_problem(value: str) -> ReferenceError | None:
    algorithm, _, encoded = value.partition(":")
    name, length = SUPPORTED_DIGEST
    if algorithm != name:
        return ReferenceError(
            "digest.ErrDigestUnsupported",
            f"digest algorithm '{algorithm}' is not supported; use @{name}:<{length} hex digits>",
        )
    if len(encoded) != length:
        return ReferenceError(
            "digest.ErrDigestInvalidLength",
            f"a {name} digest has {length} hex digits, this one {len(encoded)}",
        )
    if encoded != encoded.lower():
        return ReferenceError(
            "digest.ErrDigestInvalidFormat", f"write the {name} digest in lowercase hex"
        )
    return None


def parse_reference(value: str) -> ImageReference:
    """The parts of a reference, or ReferenceError saying what breaks the grammar."""
    if value == "":
        raise ReferenceError("ErrNameEmpty", "the image reference is empty")
    match = _REFERENCE.fullmatch(value)
    if match is None:
        lower = value.lower()
        if lower != value and _REFERENCE.fullmatch(lower):
            raise ReferenceError(
                "ErrNameContainsUppercase",
                f"repository names are lowercase; use '{_lower_name(value)}'",
            )
        raise ReferenceError("ErrReferenceInvalidFormat", _format_hint(value))
    name, tag, digest = match.group(1), match.group(2) or "", match.group(3) or ""
    parts = _ANCHORED_NAME.fullmatch(name)
    domain, path = (parts.group(1) or "", parts.group(2)) if parts else ("", name)
    if len(path) > REPOSITORY_NAME_TOTAL_LENGTH_MAX:
        raise ReferenceError(
            "ErrNameTooLong",
            f"the repository path has {len(path)} characters, at most "
            f"{REPOSITORY_NAME_TOTAL_LENGTH_MAX} are allowed",
        )
    problem = _digest_problem(digest) if digest else None
    if problem is not None:
        raise problem
    return ImageReference(domain=domain, path=path, tag=tag, digest=digest)


def _lower_name(value: str) -> str:
    """The reference with its name lowercased and its tag and digest untouched."""
    at = value.find("@")
    head, tail = (value[:at], value[at:]) if at >= 0 else (value, "")
    slash, colon = head.rfind("/"), head.rfind(":")
    if colon > slash:
        return head[:colon].lower() + head[colon:] + tail
    return head.lower() + tail


def _format_hint(value: str) -> str:
    """The likeliest fix for a reference that does not parse at all."""
    if value != value.strip() or " " in value:
        return "an image reference has no spaces"
    if value.endswith(":"):
        return f"the tag after ':' is empty; add one (e.g. '{value}latest') or drop the ':'"
    if value.endswith("@"):
        return "the digest after '@' is empty; add sha256:<64 hex digits> or drop the '@'"
    if "://" in value:
        return f"write the reference without a scheme, e.g. '{value.split('://', 1)[1]}'"
    return (
        "use [registry[:port]/]repository[:tag][@sha256:digest] with lowercase repository "
        "parts, e.g. public.ecr.aws/docker/library/debian:bookworm-slim"
    )
