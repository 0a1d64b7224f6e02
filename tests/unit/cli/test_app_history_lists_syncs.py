"""``flotilla app history``: ID, DATE, REVISION, PHASE and MESSAGE of every sync, oldest first."""

from tests.unit.cli.test_app_harness import APPS, OLD_SHA, SHA, application, hub_with_crd, invoke


def test_the_history_table_is_ordered_by_id_with_short_shas() -> None:
    api = hub_with_crd()
    api.put(APPS, application(history=[
        {"id": 2, "revision": SHA, "deployedAt": "2026-01-02T00:00:00Z", "phase": "Succeeded",
         "message": "second"},
        {"id": 1, "revision": OLD_SHA, "deployedAt": "2026-01-01T00:00:00Z",
         "phase": "Succeeded", "message": "first"},
    ]))  # fmt: skip
    result = invoke(["history", "guestbook"], api)
    assert result.exit_code == 0, result.output
    assert [line.split() for line in result.output.strip().splitlines()] == [
        ["ID", "DATE", "REVISION", "PHASE", "MESSAGE"],
        ["1", "2026-01-01T00:00:00Z", OLD_SHA[:7], "Succeeded", "first"],
        ["2", "2026-01-02T00:00:00Z", SHA[:7], "Succeeded", "second"],
    ]
