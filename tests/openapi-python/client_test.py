"""Kontor's OpenAPI document checked by tools that share no code with it.

1. openapi-spec-validator validates the document (OpenAPI 3.1).
2. openapi-python-client generates a Python client from it.
3. The generated client calls a running daemon: it registers a bank host, reads it back,
   finds it in the paged list, and gets a typed error for an unknown one.

Usage: client_test.py DOCUMENT.json BASE_URL TOKEN WORKDIR (the token is an Owner's).
Exits non-zero with a message on the first failure.
"""

import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path


def main() -> None:
    document, base_url, token, workdir = sys.argv[1:5]
    spec = json.loads(Path(document).read_text())

    from openapi_spec_validator import validate

    validate(spec)
    print("openapi-spec-validator: the document is valid OpenAPI", spec["openapi"])

    out = Path(workdir) / "kontor_client"
    generator = Path(sys.executable).parent / "openapi-python-client"
    result = subprocess.run(
        [str(generator), "generate", "--path", document, "--meta", "none",
         "--output-path", str(out), "--overwrite"],
        capture_output=True, text=True,
        # The generator formats with the venv's ruff.
        env={**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    if result.returncode != 0:
        sys.exit(f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}")
    # The generator warns about what it could not type; every warning is a gap in the document.
    warnings = [l for l in (result.stdout + result.stderr).splitlines() if "Warning" in l or "WARNING" in l]
    if warnings:
        sys.exit("openapi-python-client warned:\n" + result.stdout + result.stderr)
    print("openapi-python-client: generated", out)

    sys.path.insert(0, workdir)
    client_mod = importlib.import_module("kontor_client")
    api = "kontor_client.api.default."
    post_host = importlib.import_module(api + "post_bank_hosts")
    get_host = importlib.import_module(api + "get_bank_hosts_id")
    list_hosts = importlib.import_module(api + "get_bank_hosts")
    body_type = next(
        getattr(post_host, name) for name in dir(post_host) if name.endswith("Body")
    )

    client = client_mod.AuthenticatedClient(base_url=base_url, token=token)
    host_id = "PYCLIENT" + uuid.uuid4().hex[:6].upper()
    created = post_host.sync_detailed(
        client=client,
        body=body_type.from_dict({
            "host_id": host_id,
            "name": "Generated client bank",
            "url": "https://bank.example/ebics",
            "protocol_version": "H005",
        }),
    )
    check(created.status_code == 201, f"create answered {created.status_code}: {created.content!r}")
    host = created.parsed
    check(host.host_id == host_id, f"created {host!r}")

    shown = get_host.sync(client=client, id=str(host.id))
    check(shown.host_id == host_id and shown.name == "Generated client bank", f"shown {shown!r}")

    page = list_hosts.sync(client=client, limit=1000)
    check(any(h.host_id == host_id for h in page.items), f"not listed: {page!r}")

    missing = get_host.sync_detailed(client=client, id=str(uuid.uuid4()))
    check(missing.status_code == 404, f"unknown host answered {missing.status_code}")
    check(missing.parsed.error.code == "not_found", f"error body {missing.parsed!r}")

    print(f"generated client: created, read and listed bank host {host_id}")


def check(condition: bool, message: str) -> None:
    if not condition:
        sys.exit("FAILED: " + message)


if __name__ == "__main__":
    main()
