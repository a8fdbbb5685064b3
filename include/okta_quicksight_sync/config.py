"""One sync target's configuration (docs/sync-rules.md section 1), validated.

Parsed once when the DAG file is parsed, so a mistake shows up as an import
error naming the key and the fix rather than as a red run at noon. Values
that need AWS (``aws_account_id``, ``identity_region``) may stay ``None``
here and are filled in at run time with :meth:`TargetConfig.with_runtime`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field, fields, replace

from okta_quicksight_sync.deletions import APPROVAL_MODES
from okta_quicksight_sync.model import OKTA_STATUSES, ROLE_ORDER

ROLE_SOURCES = ("saml_roles", "groups")
DOWNGRADE_POLICIES = ("report", "recreate")
DEFAULT_SCHEDULE = "0 12 * * *"
# An IAM role name: 1-64 of these characters (IAM's own rule).
_IAM_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")


class ConfigError(ValueError):
    """A target configuration that cannot work; the message names the key and the fix."""


@dataclass(frozen=True)
class TargetConfig:
    okta_app_id: str
    okta_conn_id: str = "okta_default"
    aws_conn_id: str = "aws_default"
    aws_account_id: str | None = None
    identity_region: str | None = None
    asset_regions: tuple[str, ...] | None = None
    namespace: str = "default"
    role_source: str = "saml_roles"
    saml_roles: dict[str, str] = field(default_factory=dict)
    iam_role: str | None = None
    role_groups: dict[str, str] = field(default_factory=dict)
    default_role: str | None = None
    eligible_statuses: tuple[str, ...] = tuple(s for s in OKTA_STATUSES if s != "DEPROVISIONED")
    group_prefix: str = "Okta-"
    adopt_descriptions: tuple[str, ...] = ("Okta",)
    sync_builtin_groups: bool = False
    asset_recipient: str | None = None
    protected_users: tuple[str, ...] = ()
    downgrade_policy: str = "report"
    max_deletions: int = 10
    max_deletion_percent: float | None = None
    schedule: str | None = DEFAULT_SCHEDULE
    # How the run itself behaves in Airflow (section 1, "Run settings").
    approval: str = "ui"
    task_retries: int = 2
    retry_delay_s: float = 120
    approval_timeout_h: float = 24
    # What the run tells people (docs/notifications.md): checked here for shape; the Airflow side
    # (okta_quicksight_airflow.targets) checks the rest at parse time (notifier classes, addresses).
    notify: dict | None = None
    approvers: tuple | None = None
    report_path: str | None = None
    # Incremental runs (docs/incremental.md): a second schedule that reads Okta's System Log since the
    # last run, the bound on events one such run scopes, and an SQS queue of Okta's events (docs/events.md).
    incremental_schedule: str | None = None
    incremental_max_events: int = 1000
    event_queue: str | None = None

    # ------------------------------------------------------------------ parse
    @classmethod
    def from_dict(cls, data: dict) -> TargetConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"a target must be a JSON object of contract keys, got {type(data).__name__}")
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(known))}"
                raise ConfigError(f"unknown key {key!r}{hint}")
        if "okta_app_id" not in data:
            raise ConfigError("okta_app_id is required: set it to the id of the QuickSight SAML app in Okta (0oa...)")
        values = dict(data)
        for key in ("asset_regions", "eligible_statuses", "adopt_descriptions", "protected_users", "approvers"):
            if key in values and isinstance(values[key], list):
                values[key] = tuple(values[key])
        for key in ("saml_roles", "role_groups"):
            if key in values and values[key] is None:
                values[key] = {}
        config = cls(**values)
        config.validate()
        return config

    def to_dict(self) -> dict:
        """Plain JSON for XCom and reports (the config holds no credentials, only connection ids)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        if self.approvers is not None:  # entries may be {"id", "name"} objects: plain copies
            out["approvers"] = [dict(a) if isinstance(a, dict) else a for a in self.approvers]
        return out

    def with_runtime(self, *, aws_account_id: str | None = None, identity_region: str | None = None) -> TargetConfig:
        """Fill in what only AWS can tell (the account from STS, the connection's region) where unset."""
        return replace(
            self,
            aws_account_id=self.aws_account_id or aws_account_id,
            identity_region=self.identity_region or identity_region,
        )

    # ------------------------------------------------------------- derived
    @property
    def iam_roles(self) -> tuple[str, ...]:
        """The IAM role names whose ``<role>/`` user names this target owns."""
        if self.role_source == "groups":
            return (self.iam_role,) if self.iam_role else ()
        return tuple(self.saml_roles)

    @property
    def protected(self) -> frozenset[str]:
        """User names never changed or deleted: protected_users plus the asset recipient."""
        names = set(self.protected_users)
        if self.asset_recipient:
            names.add(self.asset_recipient)
        return frozenset(names)

    @property
    def regions_for_assets(self) -> tuple[str, ...]:
        if self.asset_regions:
            return tuple(self.asset_regions)
        return (self.identity_region,) if self.identity_region else ()

    def iam_arn(self, role_name: str) -> str:
        if not self.aws_account_id:
            raise ConfigError(
                "aws_account_id is not known: set it in the target or let the run resolve it from STS "
                "(TargetConfig.with_runtime) before planning"
            )
        return f"arn:aws:iam::{self.aws_account_id}:role/{role_name}"

    def wants_group_members(self, name: str, group_type: str) -> bool:
        """Whether an app group's members matter (a BUILT_IN group like Everyone can be huge)."""
        if group_type != "BUILT_IN" or self.sync_builtin_groups:
            return True
        return self.role_source == "groups" and name in self.role_groups

    # ------------------------------------------------------------ validate
    def validate(self) -> None:
        _text("okta_app_id", self.okta_app_id)
        _text("okta_conn_id", self.okta_conn_id)
        _text("aws_conn_id", self.aws_conn_id)
        _text("namespace", self.namespace)
        if self.aws_account_id is not None and not re.fullmatch(r"\d{12}", str(self.aws_account_id)):
            raise ConfigError(f"aws_account_id {self.aws_account_id!r} is not a 12-digit AWS account id; fix it or leave it out to use STS")
        if self.identity_region is not None:
            _text("identity_region", self.identity_region)
        if self.asset_regions is not None:
            _texts("asset_regions", self.asset_regions)
            if not self.asset_regions:
                raise ConfigError("asset_regions is empty: list at least one region or leave it out to use identity_region")
        if self.role_source not in ROLE_SOURCES:
            raise ConfigError(f"role_source {self.role_source!r} is not one of {', '.join(ROLE_SOURCES)}")
        _role_map("saml_roles", self.saml_roles)
        _role_map("role_groups", self.role_groups)
        for name in self.saml_roles:
            if not _IAM_ROLE_NAME.fullmatch(name):
                raise ConfigError(f"saml_roles key {name!r} is not an IAM role name (1-64 of letters, digits, _+=,.@-)")
        if self.default_role is not None and self.default_role not in ROLE_ORDER:
            raise ConfigError(f"default_role {self.default_role!r} is not a QuickSight role; use one of {', '.join(ROLE_ORDER)} or leave it out")
        if self.role_source == "saml_roles":
            if not self.saml_roles:
                raise ConfigError('saml_roles is empty: with role_source saml_roles map IAM role names to roles, e.g. {"QuickSightReader": "READER"}')
            for key in ("iam_role", "default_role"):
                if getattr(self, key) is not None:
                    raise ConfigError(f"{key} is only used with role_source groups; remove it or set role_source to groups")
            if self.role_groups:
                raise ConfigError("role_groups is only used with role_source groups; remove it or set role_source to groups")
        else:
            if not self.iam_role:
                raise ConfigError("iam_role is required with role_source groups: set it to the one federated IAM role name")
            if not _IAM_ROLE_NAME.fullmatch(str(self.iam_role)):
                raise ConfigError(f"iam_role {self.iam_role!r} is not an IAM role name (1-64 of letters, digits, _+=,.@-)")
            if not self.role_groups and self.default_role is None:
                raise ConfigError("role_groups is empty and default_role unset: with role_source groups nobody would get a role")
            if self.saml_roles:
                raise ConfigError("saml_roles is only used with role_source saml_roles; remove it or set role_source to saml_roles")
        _texts("eligible_statuses", self.eligible_statuses)
        for status in self.eligible_statuses:
            if status not in OKTA_STATUSES:
                raise ConfigError(f"eligible_statuses: {status!r} is not an Okta user status; use some of {', '.join(OKTA_STATUSES)}")
        if not isinstance(self.group_prefix, str):
            raise ConfigError("group_prefix must be a string (it may be empty)")
        _texts("adopt_descriptions", self.adopt_descriptions)
        if not isinstance(self.sync_builtin_groups, bool):
            raise ConfigError("sync_builtin_groups must be true or false")
        if self.asset_recipient is not None:
            _text("asset_recipient", self.asset_recipient)
        _texts("protected_users", self.protected_users)
        if self.downgrade_policy not in DOWNGRADE_POLICIES:
            raise ConfigError(f"downgrade_policy {self.downgrade_policy!r} is not one of {', '.join(DOWNGRADE_POLICIES)}")
        if isinstance(self.max_deletions, bool) or not isinstance(self.max_deletions, int) or self.max_deletions < 0:
            raise ConfigError(f"max_deletions must be a whole number >= 0, got {self.max_deletions!r}")
        pct = self.max_deletion_percent
        if pct is not None and (isinstance(pct, bool) or not isinstance(pct, (int, float)) or not 0 <= pct <= 100):
            raise ConfigError(f"max_deletion_percent must be a number from 0 to 100 or unset, got {pct!r}")
        for key in ("schedule", "incremental_schedule"):
            _cron(key, getattr(self, key))
        self._validate_run_settings()

    def _validate_run_settings(self) -> None:
        if self.approval not in APPROVAL_MODES:
            raise ConfigError(
                f"approval {self.approval!r} is not one of {', '.join(APPROVAL_MODES)} "
                "(ui: held deletions wait for a person in the Airflow UI; hold: they are reported held)"
            )
        if isinstance(self.task_retries, bool) or not isinstance(self.task_retries, int) or self.task_retries < 0:
            raise ConfigError(f"task_retries must be a whole number >= 0, got {self.task_retries!r}")
        _number("retry_delay_s", self.retry_delay_s, "seconds")
        _number("approval_timeout_h", self.approval_timeout_h, "hours")
        if self.notify is not None and not isinstance(self.notify, dict):
            raise ConfigError(f'notify must be an object like {{"email": ["idm@example.com"]}} or left out, got {self.notify!r}')
        if self.approvers is not None and (not isinstance(self.approvers, (list, tuple)) or not self.approvers):
            raise ConfigError(f'approvers must be a non-empty list of Airflow user names like ["alice"] or left out '
                              f"(anyone allowed on the DAG may approve), got {self.approvers!r}")
        if self.report_path is not None and (not isinstance(self.report_path, str) or "://" not in self.report_path):
            raise ConfigError(f"report_path must be a URL like file:///var/lib/okta-qs-reports or "
                              f"s3://aws_default@bucket/prefix, or left out, got {self.report_path!r}")
        bound = self.incremental_max_events
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
            raise ConfigError(f"incremental_max_events must be a whole number >= 1 (past it an incremental run reads "
                              f"everything), got {bound!r}")
        queue = self.event_queue
        if queue is not None and (not isinstance(queue, str) or not re.match(r"https?://\S+/\d{12}/[\w-]{1,80}$", queue)):
            raise ConfigError(f"event_queue must be an SQS queue URL like "
                              f"https://sqs.us-east-1.amazonaws.com/111122223333/okta-events, or left out, got {queue!r}")


def _cron(key: str, value) -> None:
    if value is None:
        return
    _text(key, value)
    if not value.startswith("@") and len(value.split()) != 5:
        raise ConfigError(f"{key} {value!r} is not a 5-field cron expression (UTC) or an @preset such as @daily")


def _number(key: str, value, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{key} must be a number of {unit} above 0, got {value!r}")


def _text(key: str, value) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string, got {value!r}")


def _texts(key: str, values) -> None:
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"{key} must be a list of strings, got {type(values).__name__}")
    for value in values:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key} must hold non-empty strings, got {value!r}")


def _role_map(key: str, mapping) -> None:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{key} must be an object mapping names to QuickSight roles, got {type(mapping).__name__}")
    for name, role in mapping.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{key} has an empty name")
        if role not in ROLE_ORDER:
            raise ConfigError(f"{key}[{name!r}] = {role!r} is not a QuickSight role; use one of {', '.join(ROLE_ORDER)}")
