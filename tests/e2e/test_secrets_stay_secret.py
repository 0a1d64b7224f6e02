"""Run last (by name): no credential of the fleet appears in any controller log or CLI
output of this session."""

import base64
from pathlib import Path

import yaml

from tests.e2e.localfleet import LocalFleet


def _secrets(fleet: LocalFleet) -> list[str]:
    document = yaml.safe_load(fleet.kubeconfig.read_text())
    found = []
    for user in document["users"]:
        for key in ("client-key-data", "token"):
            value = user["user"].get(key)
            if not value:
                continue
            found.append(value)
            if key == "client-key-data":
                pem = base64.b64decode(value).decode()
                found += [line for line in pem.splitlines() if "-----" not in line]
    return found


def test_no_credential_appears_in_any_log(fleet: LocalFleet, controller_logs: Path) -> None:
    logs = list(controller_logs.glob("*.log"))
    assert logs, "no controller ran in this session"
    text = "\n".join(path.read_text(errors="replace") for path in logs)
    text += fleet.cli("status", "-o", "json").stdout
    secrets = _secrets(fleet)
    assert len(secrets) >= len(fleet.clusters)
    leaked = [secret[:8] + "..." for secret in secrets if secret in text]
    assert leaked == []
