#!/usr/bin/python3
"""Download a binary, log its SHA-256 and install it only if the checksum is right.

Runs on the runner manager at first boot (AL2023's Python 3.9, standard library only).
Expected checksum, first that applies:
1. --sha256 HEX (pinned in the stack config): anything else is refused;
2. the entry --sums-entry of the checksum file --sums-url (e.g. gitlab-runner's release.sha256);
   a mismatch is refused; a missing file or entry is refused too unless --sums-optional;
3. with --sums-optional and no published checksum: the digest is logged as UNVERIFIED and the
   binary installed, so the operator can pin it.
usage: fetch-verified --url URL --dest PATH [--sha256 HEX] [--sums-url URL --sums-entry NAME
       [--sums-optional]]
"""

import argparse
import hashlib
import os
import sys
import time
import urllib.error
import urllib.request

ATTEMPTS = 5
PAUSE_SECONDS = 10
TIMEOUT_SECONDS = 120


class ChecksumError(Exception):
    """The download is not the binary the config asks for."""


def fetch(url, attempts=ATTEMPTS, pause=PAUSE_SECONDS):
    """The body of `url`, retried on network errors and 5xx; a 4xx or a missing file fails at
    once (S3 answers 403/404 for an object that does not exist)."""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if error.code < 500 or attempt == attempts:
                raise
        except (urllib.error.URLError, OSError) as error:
            if attempt == attempts or isinstance(getattr(error, "reason", None), FileNotFoundError):
                raise
        log(f"download of {url} failed (attempt {attempt}/{attempts}); retrying")
        time.sleep(pause)
    raise AssertionError("unreachable")


def parse_sums(text, entry):
    """The digest listed for `entry` in sha256sum output ('HEX  name' or 'HEX *name')."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        digest, name = parts[0].lower(), parts[1].lstrip("*")
        if name.startswith("./"):
            name = name[2:]
        if name == entry:
            return digest
    return None


def expected_digest(pinned, sums_text, entry, optional):
    """What the download must hash to, or None when nothing is published and that is allowed."""
    if pinned:
        return pinned.lower()
    if sums_text is not None:
        listed = parse_sums(sums_text, entry)
        if listed:
            return listed
    if optional:
        return None
    raise ChecksumError(f"no published checksum for {entry}; refusing an unverified binary")


def verify(digest, expected, label):
    """Raise on a mismatch; return how the binary was verified, for the log."""
    if expected is None:
        return f"UNVERIFIED: {label} has no pinned or published checksum; pin sha256 {digest}"
    if digest != expected:
        raise ChecksumError(
            f"{label}: sha256 {digest} does not match the expected {expected}; refusing to "
            "install it (a corrupted download, a changed release or a wrong pin)"
        )
    return f"verified {label}: sha256 {digest}"


def log(message):
    print(message, flush=True)


def install(data, dest):
    temporary = dest + ".download"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, 0o755)
    os.replace(temporary, dest)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--url", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--sha256")
    parser.add_argument("--sums-url")
    parser.add_argument("--sums-entry")
    parser.add_argument("--sums-optional", action="store_true")
    args = parser.parse_args(argv)
    data = fetch(args.url)
    digest = hashlib.sha256(data).hexdigest()
    log(f"downloaded {args.url}: sha256 {digest}")
    sums_text = None
    if not args.sha256 and args.sums_url:
        try:
            sums_text = fetch(args.sums_url).decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as error:
            log(f"could not read the checksum file {args.sums_url}: {error}")
    try:
        expected = expected_digest(
            args.sha256, sums_text, args.sums_entry or "", args.sums_optional
        )
        log(verify(digest, expected, args.url))
    except ChecksumError as error:
        sys.exit(f"REFUSED {args.dest}: {error}")
    install(data, args.dest)


if __name__ == "__main__":
    main()
