"""Long loops say how far they are: the Okta read (over HTTP, from the local Okta) and the user sync's
writes log one INFO line every 1,000 items with rate and time left, a closing line, and nothing per item."""

from __future__ import annotations

import logging

from tests.okta_quicksight_sync.sync_builders import config, directory, ou, okta, plan_for

from local_servers.okta_org import numbered_org
from local_servers.okta_server import OktaServer
from okta_provider.auth import SswsAuth
from okta_provider.client import OktaClient
from okta_quicksight_sync.apply import apply_user_sync
from okta_quicksight_sync.okta_reader import read_okta

APP = "0oaqs1"


def _info_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name.startswith("okta_quicksight_sync")]


def test_reading_2500_okta_users_logs_two_progress_lines_and_a_total(caplog):
    server = OktaServer(numbered_org(n_users=2500, n_groups=1, members_per_group=1200), None, {}, app_id=APP)
    server.start()
    try:
        client = OktaClient(server.url, SswsAuth("local-test-token"), max_retries=1)
        with caplog.at_level(logging.INFO):
            snapshot = read_okta(client, APP)
    finally:
        server.stop()
    assert len(snapshot.users) == 2500
    lines = _info_lines(caplog)
    users = [line for line in lines if line.startswith("reading Okta app users")]
    assert users[0].startswith("reading Okta app users: 1,000, ") and "/s" in users[0]
    assert users[1].startswith("reading Okta app users: 2,000, ")
    assert users[2].startswith("reading Okta app users: 2,500 done in ") and len(users) == 3
    members = [line for line in lines if line.startswith("reading the members of 1 Okta app groups")]
    assert len(members) == 2 and members[-1].startswith("reading the members of 1 Okta app groups: 1,200 done")
    assert len(lines) <= 6  # nothing per user or per member


def test_registering_2500_users_logs_the_rate_and_the_time_left(caplog):
    cfg = config()
    people = [ou(f"u{i}") for i in range(2500)]
    memory = directory()
    plan = plan_for(cfg, okta(people), memory)
    assert len(plan.register) == 2500
    with caplog.at_level(logging.INFO):
        results = apply_user_sync(plan, memory)
    assert sum(r["status"] == "done" for r in results) == 2500
    lines = [line for line in _info_lines(caplog) if line.startswith("QuickSight user and membership writes")]
    assert lines[0].startswith("QuickSight user and membership writes: 1,000 of 2,500 (40%), ")
    assert "left" in lines[0] and "/s" in lines[0]
    assert lines[1].startswith("QuickSight user and membership writes: 2,000 of 2,500 (80%), ")
    assert lines[2].startswith("QuickSight user and membership writes: 2,500 done in ") and len(lines) == 3
