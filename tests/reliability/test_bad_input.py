"""Bad input: Okta data QuickSight cannot hold, and broken configuration.

Each bad item must fail alone - a clear error naming the item and the fix -
while the rest of the run goes on (the good user and group are synced), the
run ends failed so it shows red, and what QuickSight has of the bad item
stays exactly as it is.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest


from okta_quicksight_sync.config import ConfigError, TargetConfig  # noqa: E402

from soak.driver import LocalSync  # noqa: E402

ADMIN = "QuickSightAdmin/admin@example.com"
TARGET = {"okta_app_id": "0oaqs1", "saml_roles": {"QuickSightAdmin": "ADMIN", "QuickSightReader": "READER"},
          "asset_recipient": ADMIN}


def person(uid, login, email="same"):
    return {"id": uid, "status": "ACTIVE", "login": login, "email": login if email == "same" else email,
            "first_name": "A", "last_name": "B"}


def base() -> dict:
    return {
        "target": copy.deepcopy(TARGET),
        "okta": {
            "users": [person("00uadmin", "admin@example.com"), person("00u1", "ann@example.com")],
            "groups": [{"id": "00g1", "name": "Finance", "type": "OKTA_GROUP", "members": ["00u1"]}],
            "app_users": [{"id": "00uadmin", "scope": "USER", "saml_roles": ["QuickSightAdmin"]},
                          {"id": "00u1", "scope": "USER", "saml_roles": ["QuickSightReader"]}],
            "app_groups": ["00g1"],
        },
        "quicksight": {
            "account_id": "111122223333", "identity_region": "us-east-1", "namespace": "default",
            "users": [{"user_name": ADMIN, "email": "admin@example.com", "role": "ADMIN", "identity_type": "IAM"}],
            "groups": [],
        },
    }


def add_user(sc: dict, uid: str, login: str, email="same", user_name=None, groups=("00g1",)) -> None:
    sc["okta"]["users"].append(person(uid, login, email))
    entry = {"id": uid, "scope": "USER", "saml_roles": ["QuickSightReader"]}
    if user_name:
        entry["user_name"] = user_name
    sc["okta"]["app_users"].append(entry)
    for g in sc["okta"]["groups"]:
        if g["id"] in groups:
            g["members"].append(uid)


def bad_group_name(sc):
    sc["okta"]["groups"].append({"id": "00g7", "name": "Финансы", "type": "OKTA_GROUP", "members": ["00u1"]})
    sc["okta"]["app_groups"].append("00g7")
    return ["Okta-Финансы", "00g7", "rename the Okta group"]


def bad_session_name(sc):
    add_user(sc, "00u71", "pat@example.com", user_name="pat smith@example.com")
    return ["pat smith@example.com", "00u71", "session name", "fix the app username in Okta"]


def no_email(sc):
    add_user(sc, "00u72", "noemail@example.com", email=None)
    return ["noemail@example.com", "00u72", "no email", "set profile.email in Okta"]


def two_people_one_name(sc):
    add_user(sc, "00u73", "dup1@example.com", user_name="dup@example.com")
    add_user(sc, "00u74", "dup2@example.com", user_name="dup@example.com")
    # What QuickSight has under the contested name stays exactly as it is.
    sc["quicksight"]["users"].append({"user_name": "QuickSightReader/dup@example.com", "email": "old@example.com",
                                      "role": "READER", "identity_type": "IAM"})
    return ["QuickSightReader/dup@example.com", "00u73", "00u74", "give each Okta user its own app username"]


BAD_OKTA_DATA = [bad_group_name, bad_session_name, no_email, two_people_one_name]


def _good_part_synced(state: dict) -> None:
    users = {u["user_name"]: u for u in state["users"]}
    assert users["QuickSightReader/ann@example.com"]["email"] == "ann@example.com"
    groups = {g["name"]: g for g in state["groups"]}
    assert "QuickSightReader/ann@example.com" in groups["Okta-Finance"]["members"]


@pytest.mark.parametrize("make_bad", BAD_OKTA_DATA, ids=[f.__name__ for f in BAD_OKTA_DATA])
def test_bad_okta_item_fails_alone(make_bad):
    sc = base()
    needles = make_bad(sc)
    before = {u["user_name"]: u for u in sc["quicksight"]["users"]}
    with LocalSync(sc) as sync:
        result = sync.run_tasks()
        state = sync.dump()
    assert result.outcome == "failed"
    errors = result.report["errors"]
    assert errors, "the bad item was not reported"
    text = "\n".join(f"{e['item']}: {e['cause']}" for e in errors)
    for needle in needles:
        assert needle in text, f"the error does not name {needle!r}:\n{text}"
    _good_part_synced(state)
    after = {u["user_name"]: u for u in state["users"]}
    for name, user in before.items():  # nothing QuickSight had was changed or removed
        assert after.get(name) == user
    assert not [n for n in after if "pat smith" in n or "noemail" in n]
    assert not [g for g in state["groups"] if "Финансы" in g["name"]]


def test_all_bad_items_together_through_the_dag(capfd):
    """All four at once, through the real DAG: four clear errors, the good part synced, the run red."""
    sc = base()
    needles = [n for make_bad in BAD_OKTA_DATA for n in make_bad(sc)]
    with LocalSync(sc) as sync:
        result = sync.run_dag()
        state = sync.dump()
    assert result.outcome == "failed"
    text = "\n".join(f"{e['item']}: {e['cause']}" for e in result.report["errors"])
    for needle in needles:
        assert needle in text
    assert len({e["item"] for e in result.report["errors"]}) >= 5  # group, session name, email, two duplicates
    _good_part_synced(state)


# ---- broken configuration ------------------------------------------------------

@pytest.mark.parametrize(
    "change, needles",
    [
        ({"saml_roles": {"QuickSightReader": "VIEWER"}}, ["saml_roles['QuickSightReader']", "'VIEWER'", "use one of", "READER"]),
        ({"max_deletion": 5}, ["unknown key 'max_deletion'", "did you mean 'max_deletions'"]),
    ],
    ids=["unknown-role", "unknown-key"],
)
def test_broken_config_is_refused_naming_key_and_fix(change, needles):
    with pytest.raises(ConfigError) as info:
        TargetConfig.from_dict({**TARGET, **change})
    for needle in needles:
        assert needle in str(info.value)


def _load_dag_module(targets: dict, tmp_path: Path):
    import importlib.util

    path = tmp_path / "targets.json"
    path.write_text(json.dumps(targets))
    old = os.environ.get("OKTA_QS_SYNC_TARGETS")
    os.environ["OKTA_QS_SYNC_TARGETS"] = str(path)
    try:
        from scenario_harness.runner import DAG_FILE

        spec = importlib.util.spec_from_file_location("okta_qs_dag_bad_config", DAG_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        if old is None:
            os.environ.pop("OKTA_QS_SYNC_TARGETS")
        else:
            os.environ["OKTA_QS_SYNC_TARGETS"] = old


def test_bad_target_error_names_target_and_key(tmp_path):
    """A broken target becomes a DAG that says why and fails every run with that message."""
    from airflow.sdk.exceptions import AirflowFailException

    module = _load_dag_module({"sync_bad": {**TARGET, "max_deletion": 5}}, tmp_path)
    broken = module.sync_bad
    assert "CONFIGURATION ERROR" in broken.description
    for text in (broken.description, broken.doc_md):
        assert "sync_bad" in text and "max_deletion" in text and "max_deletions" in text  # the key and the fix
    assert [t.task_id for t in broken.tasks] == ["config_error"]
    with pytest.raises(AirflowFailException, match="unknown key 'max_deletion'"):
        broken.get_task("config_error").python_callable()


def test_bad_target_leaves_other_targets_running(tmp_path):
    module = _load_dag_module({"sync_good": TARGET, "sync_bad": {**TARGET, "saml_roles": {"QuickSightReader": "VIEWER"}}}, tmp_path)
    good = module.sync_good
    assert "plan_sync" in good.task_ids and "deprovision" in good.task_ids
    assert module.sync_bad.task_ids == ["config_error"]
    assert "VIEWER" in module.sync_bad.description


def test_recipient_who_is_a_reader_blocks_deprovisioning_only():
    """A READER recipient cannot own assets: nobody is deprovisioned (assets stay), everything else is applied."""
    sc = base()
    reader = "QuickSightReader/rita@example.com"
    sc["target"]["asset_recipient"] = reader
    sc["quicksight"]["users"] += [
        {"user_name": reader, "email": "rita@example.com", "role": "READER", "identity_type": "IAM"},
        {"user_name": "QuickSightReader/gone@example.com", "email": "gone@example.com", "role": "READER", "identity_type": "IAM"},
    ]
    sc["quicksight"]["assets"] = [{"type": "dashboard", "id": "d1", "region": "us-east-1", "owners": ["QuickSightReader/gone@example.com"]}]
    with LocalSync(sc) as sync:
        result = sync.run_tasks()
        state = sync.dump()
    assert result.outcome == "failed"
    causes = [e for e in result.report["errors"] if e["item"] == "QuickSightReader/gone@example.com"]
    assert causes, result.report["errors"]
    for needle in (reader, "READER", "ADMIN or AUTHOR", "asset_recipient"):
        assert needle in causes[0]["cause"]
    names = {u["user_name"] for u in state["users"]}
    assert "QuickSightReader/gone@example.com" in names
    assert state["assets"][0]["owners"] == ["QuickSightReader/gone@example.com"]
    _good_part_synced(state)
