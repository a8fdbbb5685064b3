"""The demo org: a few hundred people, a few dozen groups, and a leaver who owns dashboards.

Deterministic (seeded), so ``include/demo_scenario.json`` can be regenerated
byte for byte: ``python -m scenario_harness.demo_org > include/demo_scenario.json``.
"""

from __future__ import annotations

import json
import random
import sys

ROLES = {"QuickSightAdmin": "ADMIN", "QuickSightAuthor": "AUTHOR", "QuickSightReader": "READER"}
TEAMS = ["Finance", "Sales", "Marketing", "Engineering", "Support", "Operations", "Legal", "People",
         "Data", "Security", "Product", "Design"]
ADMIN = "QuickSightAdmin/admin@example.com"
LEAVER = "QuickSightAuthor/leaver@example.com"


def demo_scenario(people: int = 300, groups: int = 36, seed: int = 7) -> dict:
    rnd = random.Random(seed)
    users = [{"id": "00uadmin", "status": "ACTIVE", "login": "admin@example.com", "email": "admin@example.com",
              "first_name": "Ada", "last_name": "Admin"}]
    app_users = [{"id": "00uadmin", "scope": "USER", "saml_roles": ["QuickSightAdmin"]}]
    for i in range(people):
        uid = f"00u{i:05d}"
        login = f"person{i}@example.com"
        status = "SUSPENDED" if i % 97 == 0 else "ACTIVE"
        users.append({"id": uid, "status": status, "login": login, "email": login, "first_name": "Person", "last_name": str(i)})
        roles = ["QuickSightReader"] if rnd.random() < 0.7 else ["QuickSightAuthor"]
        if rnd.random() < 0.25:
            roles = ["QuickSightReader", "QuickSightAuthor"]
        app_users.append({"id": uid, "scope": "USER", "saml_roles": roles})
    okta_groups = []
    for j in range(groups):
        team = TEAMS[j % len(TEAMS)]
        name = team if j < len(TEAMS) else f"{team} {j // len(TEAMS) + 1}"
        members = sorted(rnd.sample([u["id"] for u in users[1:]], k=rnd.randint(10, 60)))
        okta_groups.append({"id": f"00g{j:05d}", "name": name, "type": "OKTA_GROUP", "members": members})
    okta_groups.append({"id": "00geveryone", "name": "Everyone", "type": "BUILT_IN", "members": [u["id"] for u in users]})
    leaver_assets = [
        {"type": "dashboard", "id": "quarterly-revenue", "region": "us-east-1", "owners": [LEAVER]},
        {"type": "dashboard", "id": "pipeline-health", "region": "us-east-1", "owners": [LEAVER, ADMIN]},
        {"type": "analysis", "id": "revenue-analysis", "region": "us-east-1", "owners": [LEAVER]},
        {"type": "dataset", "id": "revenue-data", "region": "us-east-1", "owners": [LEAVER]},
        {"type": "datasource", "id": "warehouse", "region": "us-east-1", "owners": [ADMIN]},
    ]
    return {
        "name": "demo",
        "description": "A demo org: first run creates everything, the second changes nothing; a leaver's dashboards go to the admin.",
        "target": {"okta_app_id": "0oaqs1", "saml_roles": ROLES, "asset_recipient": ADMIN},
        "params": {},
        "okta": {
            "users": users,
            "groups": okta_groups,
            "app_users": app_users,
            "app_groups": [g["id"] for g in okta_groups],
        },
        "quicksight": {
            "account_id": "111122223333",
            "identity_region": "us-east-1",
            "namespace": "default",
            "users": [
                {"user_name": ADMIN, "email": "admin@example.com", "role": "ADMIN", "identity_type": "IAM"},
                {"user_name": LEAVER, "email": "leaver@example.com", "role": "AUTHOR", "identity_type": "IAM"},
                {"user_name": "analyst@example.com", "email": "analyst@example.com", "role": "AUTHOR", "identity_type": "QUICKSIGHT"},
            ],
            "groups": [{"name": "BI-Team", "description": "made by hand", "members": ["analyst@example.com"]}],
            "assets": leaver_assets,
        },
    }


if __name__ == "__main__":
    json.dump(demo_scenario(), sys.stdout, indent=1)
    sys.stdout.write("\n")
