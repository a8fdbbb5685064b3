"""Move a departing QuickSight user's assets to a recipient before the user is deleted.

Deleting a user through the API transfers nothing: its assets stay with no
owner. So, for each asset type in every region of ``asset_regions``, this
finds what the user owns directly (Search* with the DIRECT_QUICKSIGHT_OWNER
filter where one exists; themes and templates by listing and reading their
permissions), grants the type's owner actions to the recipient and revokes
the user's in one Update*Permissions call (co-owners keep theirs), then
reads the permissions back. Only a ``clean`` result allows deleting the user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from okta_quicksight_sync.model import ASSET_OWNER_ROLES, QsUser
from okta_quicksight_sync.quicksight_directory import user_of
from okta_quicksight_sync.quicksight_transport import QuickSightError, QuickSightNotFoundError, QuickSightTransport


def _actions(names: str) -> tuple[str, ...]:
    return tuple(f"quicksight:{n}" for n in names.split())


@dataclass(frozen=True)
class AssetType:
    """How one asset type is found and re-owned (owner action sets: docs/api-notes.md, "QuickSight: handing assets over")."""

    name: str
    id_key: str
    find_op: str  # Search* (with an owner filter) or List*
    list_key: str
    describe_op: str
    update_op: str
    owner_actions: tuple[str, ...]
    find_params: tuple[tuple[str, str], ...] = ()

    @property
    def searchable(self) -> bool:
        return self.find_op.startswith("Search")

    @property
    def manage_action(self) -> str:
        """Holding this action makes a principal an owner (it can re-share the asset)."""
        return f"quicksight:{self.update_op}"


ASSET_TYPES: tuple[AssetType, ...] = (
    AssetType(
        "dashboard", "DashboardId", "SearchDashboards", "DashboardSummaryList",
        "DescribeDashboardPermissions", "UpdateDashboardPermissions",
        _actions(
            "DescribeDashboard ListDashboardVersions UpdateDashboardPermissions QueryDashboard UpdateDashboard "
            "DeleteDashboard DescribeDashboardPermissions UpdateDashboardPublishedVersion"
        ),
    ),
    AssetType(
        "analysis", "AnalysisId", "SearchAnalyses", "AnalysisSummaryList",
        "DescribeAnalysisPermissions", "UpdateAnalysisPermissions",
        _actions(
            "RestoreAnalysis UpdateAnalysisPermissions DeleteAnalysis QueryAnalysis DescribeAnalysisPermissions "
            "DescribeAnalysis UpdateAnalysis"
        ),
    ),
    AssetType(
        "dataset", "DataSetId", "SearchDataSets", "DataSetSummaries",
        "DescribeDataSetPermissions", "UpdateDataSetPermissions",
        _actions(
            "DescribeDataSet UpdateDataSet DeleteDataSet PassDataSet DescribeDataSetPermissions "
            "UpdateDataSetPermissions CreateIngestion CancelIngestion DescribeIngestion ListIngestions "
            "PutDataSetRefreshProperties DescribeDataSetRefreshProperties DeleteDataSetRefreshProperties "
            "CreateRefreshSchedule UpdateRefreshSchedule DeleteRefreshSchedule DescribeRefreshSchedule "
            "ListRefreshSchedules"
        ),
    ),
    AssetType(
        "datasource", "DataSourceId", "SearchDataSources", "DataSourceSummaries",
        "DescribeDataSourcePermissions", "UpdateDataSourcePermissions",
        _actions(
            "UpdateDataSourcePermissions DescribeDataSource DescribeDataSourcePermissions PassDataSource "
            "UpdateDataSource DeleteDataSource"
        ),
    ),
    AssetType(
        "theme", "ThemeId", "ListThemes", "ThemeSummaryList",
        "DescribeThemePermissions", "UpdateThemePermissions",
        _actions(
            "DescribeTheme DescribeThemeAlias ListThemeAliases ListThemeVersions DeleteTheme UpdateTheme "
            "CreateThemeAlias DeleteThemeAlias UpdateThemeAlias UpdateThemePermissions DescribeThemePermissions"
        ),
        find_params=(("Type", "CUSTOM"),),  # AWS's built-in themes have no owners
    ),
    AssetType(
        "template", "TemplateId", "ListTemplates", "TemplateSummaryList",
        "DescribeTemplatePermissions", "UpdateTemplatePermissions",
        _actions(
            "DescribeTemplate DescribeTemplateAlias ListTemplateAliases ListTemplateVersions CreateTemplateAlias "
            "DeleteTemplate DeleteTemplateAlias UpdateTemplate UpdateTemplateAlias UpdateTemplatePermissions "
            "DescribeTemplatePermissions"
        ),
    ),
    AssetType(
        "folder", "FolderId", "SearchFolders", "FolderSummaryList",
        "DescribeFolderPermissions", "UpdateFolderPermissions",
        _actions(
            "CreateFolder DescribeFolder UpdateFolder DeleteFolder CreateFolderMembership DeleteFolderMembership "
            "DescribeFolderPermissions UpdateFolderPermissions"
        ),
    ),
    AssetType(
        "topic", "TopicId", "SearchTopics", "TopicSummaryList",
        "DescribeTopicPermissions", "UpdateTopicPermissions",
        _actions(
            "DescribeTopic DescribeTopicRefresh ListTopicRefreshSchedules DescribeTopicRefreshSchedule DeleteTopic "
            "UpdateTopic CreateTopicRefreshSchedule DeleteTopicRefreshSchedule UpdateTopicRefreshSchedule "
            "DescribeTopicPermissions UpdateTopicPermissions"
        ),
    ),
)


class RecipientError(QuickSightError):
    """The asset recipient is missing or may not own assets; nobody can be deprovisioned."""


@dataclass(frozen=True, order=True)
class AssetRef:
    type: str
    id: str
    region: str

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.region})"


@dataclass
class HandoverFailure:
    """One asset (or one whole type in a region, when ``asset_id`` is None) that could not be handled."""

    type: str
    region: str
    asset_id: str | None
    reason: str


@dataclass
class HandoverResult:
    user_name: str
    recipient_name: str
    moved: list[AssetRef] = field(default_factory=list)
    failed: list[HandoverFailure] = field(default_factory=list)
    remaining: list[AssetRef] = field(default_factory=list)  # still owned by the user after read-back

    @property
    def clean(self) -> bool:
        """True when nothing failed and the read-back found nothing the user still owns."""
        return not self.failed and not self.remaining

    def to_dict(self) -> dict:
        return {
            "user_name": self.user_name,
            "recipient_name": self.recipient_name,
            "moved": [asdict(a) for a in self.moved],
            "failed": [asdict(f) for f in self.failed],
            "remaining": [asdict(a) for a in self.remaining],
            "clean": self.clean,
        }


class AssetHandover:
    """Hand-over of assets inside one account + namespace, across ``regions``."""

    def __init__(
        self,
        client_for_region: Callable[[str], object],
        account_id: str,
        identity_region: str,
        namespace: str,
        regions: list[str] | tuple[str, ...],
    ) -> None:
        self.account_id = str(account_id)
        self.identity_region = identity_region
        self.namespace = namespace
        self.regions = tuple(dict.fromkeys(regions or [identity_region]))
        self._qs = QuickSightTransport(client_for_region, account_id)
        self._recipient_checked: str | None = None
        # Themes and templates have no owner search: they are listed, with their permissions, once per
        # region for all the users this object hands over, not once per user (region, type) -> id -> permissions.
        self._listed: dict[tuple[str, str], dict[str, list[dict]]] = {}

    @property
    def api_calls(self) -> dict[str, int]:
        """Requests sent per operation, retries included."""
        return self._qs.api_calls

    def principal_arn(self, user_name: str) -> str:
        # Users live in the identity region, whatever region the asset is in.
        return f"arn:aws:quicksight:{self.identity_region}:{self.account_id}:user/{self.namespace}/{user_name}"

    # ---- the recipient --------------------------------------------------------

    def check_recipient(self, recipient_name: str) -> QsUser:
        """The recipient, if it exists and may own assets; else RecipientError naming the fix."""
        item = f"asset recipient {recipient_name}"
        try:
            doc = self._qs.call(
                self.identity_region, "DescribeUser", item, Namespace=self.namespace, UserName=recipient_name
            )["User"]
        except QuickSightNotFoundError:
            raise RecipientError(
                f"The asset recipient {recipient_name} does not exist in QuickSight namespace {self.namespace} "
                f"of account {self.account_id}: set the target's asset_recipient to an existing ADMIN or AUTHOR "
                "user (or a _PRO form). No user is deprovisioned until then.",
                operation="DescribeUser", item=item, code="ResourceNotFoundException",
            ) from None
        user = user_of(doc)
        if user.role not in ASSET_OWNER_ROLES:
            raise RecipientError(
                f"The asset recipient {recipient_name} is a {user.role or 'role-less'} user and cannot own assets: "
                "set the target's asset_recipient to an ADMIN or AUTHOR user (or a _PRO form). "
                "No user is deprovisioned until then.",
                operation="DescribeUser", item=item, code="InvalidRecipient",
            )
        return user

    # ---- what a user owns (read only) ------------------------------------------

    def owned_assets(self, user_name: str, limit: int = 20) -> dict:
        """What ``user_name`` owns directly, for the approval page: ``{"assets": [up to limit], "total": n}``.

        The hand-over's own discovery (owner search, or the once-per-region listing
        for list-only types), nothing written: the first ``limit`` are listed
        ({type, id, region}), every one is counted. A failed read raises QuickSightError.
        """
        user_arn = self.principal_arn(user_name)
        listed: list[dict] = []
        total = 0
        for region in self.regions:
            for kind in ASSET_TYPES:
                for asset_id in self._candidates(region, kind, user_arn):
                    total += 1
                    if len(listed) < limit:
                        listed.append(asdict(AssetRef(kind.name, asset_id, region)))
        return {"assets": listed, "total": total}

    # ---- the hand-over --------------------------------------------------------

    def handover(self, user_name: str, recipient_name: str) -> HandoverResult:
        """Move everything ``user_name`` owns to ``recipient_name``; the result says if it is safe to delete."""
        if user_name == recipient_name:
            raise RecipientError(
                f"The asset recipient {recipient_name} cannot be deprovisioned: it is the recipient of "
                "everyone's assets. Protect it, or choose another asset_recipient.",
                item=f"user {user_name}", code="InvalidRecipient",
            )
        if self._recipient_checked != recipient_name:
            self.check_recipient(recipient_name)
            self._recipient_checked = recipient_name
        result = HandoverResult(user_name, recipient_name)
        user_arn = self.principal_arn(user_name)
        recipient_arn = self.principal_arn(recipient_name)
        touched: set[AssetRef] = set()
        for region in self.regions:
            for kind in ASSET_TYPES:
                try:
                    owned = list(self._owned(region, kind, user_arn))
                except QuickSightError as err:
                    result.failed.append(HandoverFailure(kind.name, region, None, str(err)))
                    continue
                for ref, held in owned:
                    touched.add(ref)
                    try:
                        self._move(region, kind, ref, user_arn, held, recipient_arn)
                    except QuickSightError as err:
                        result.failed.append(HandoverFailure(kind.name, region, ref.id, str(err)))
                    else:
                        result.moved.append(ref)
        self._read_back(result, user_arn, touched)
        return result

    def _candidates(self, region: str, kind: AssetType, user_arn: str) -> Iterator[str]:
        if not kind.searchable:
            for asset_id, permissions in self._listing(region, kind).items():
                if kind.manage_action in _actions_of(permissions, user_arn):
                    yield asset_id
            return
        item = f"{kind.name}s of {user_arn.rsplit('/', 2)[-2]}/{user_arn.rsplit('/', 1)[-1]}"
        params = dict(kind.find_params)
        params["Filters"] = [{"Name": "DIRECT_QUICKSIGHT_OWNER", "Operator": "StringEquals", "Value": user_arn}]
        for summary in self._qs.pages(region, kind.find_op, item, kind.list_key, **params):
            yield summary[kind.id_key]

    def _listing(self, region: str, kind: AssetType) -> dict[str, list[dict]]:
        """Every asset of a list-only type in a region with its permissions, read once per object."""
        key = (region, kind.name)
        if key not in self._listed:
            ids = [s[kind.id_key] for s in self._qs.pages(
                region, kind.find_op, f"{kind.name}s in {region}", kind.list_key, **dict(kind.find_params)
            )]
            self._listed[key] = {asset_id: self._permissions(region, kind, asset_id) for asset_id in ids}
        return self._listed[key]

    def _permissions(self, region: str, kind: AssetType, asset_id: str) -> list[dict]:
        item = f"{kind.name} {asset_id}"
        params = {kind.id_key: asset_id}
        if kind.name == "folder":  # the only paged permissions call
            perms, token = [], None
            while True:
                extra = {"NextToken": token} if token else {}
                page = self._qs.call(region, kind.describe_op, item, Namespace=self.namespace, **params, **extra)
                perms += page.get("Permissions", [])
                token = page.get("NextToken")
                if not token:
                    return perms
        return self._qs.call(region, kind.describe_op, item, **params).get("Permissions", [])

    def _owned(self, region: str, kind: AssetType, user_arn: str) -> Iterator[tuple[AssetRef, list[str]]]:
        """Assets of this type the user owns directly, with the actions it holds on each."""
        for asset_id in self._candidates(region, kind, user_arn):
            held = _actions_of(self._permissions(region, kind, asset_id), user_arn)
            if kind.manage_action in held:
                yield AssetRef(kind.name, asset_id, region), held

    def _move(
        self, region: str, kind: AssetType, ref: AssetRef, user_arn: str, held: list[str], recipient_arn: str
    ) -> None:
        # One call grants and revokes, so the asset is never without an owner.
        self._qs.call(
            region, kind.update_op, f"{kind.name} {ref.id}",
            **{kind.id_key: ref.id},
            GrantPermissions=[{"Principal": recipient_arn, "Actions": list(kind.owner_actions)}],
            RevokePermissions=[{"Principal": user_arn, "Actions": held}],
        )

    def _read_back(self, result: HandoverResult, user_arn: str, touched: set[AssetRef]) -> None:
        """Ask QuickSight again, per asset (authoritative) and per search, what the user still owns."""
        failed_types = {(f.region, f.type) for f in result.failed if f.asset_id is None}
        by_type = {k.name: k for k in ASSET_TYPES}
        check = set(touched)
        for region in self.regions:
            for kind in ASSET_TYPES:
                if (region, kind.name) in failed_types:
                    continue  # already reported; its discovery failed
                try:
                    check.update(AssetRef(kind.name, i, region) for i in self._candidates(region, kind, user_arn))
                except QuickSightError as err:
                    result.failed.append(HandoverFailure(kind.name, region, None, f"read-back: {err}"))
        for ref in sorted(check):
            kind = by_type[ref.type]
            try:
                permissions = self._permissions(ref.region, kind, ref.id)
            except QuickSightNotFoundError:
                self._listed.get((ref.region, ref.type), {}).pop(ref.id, None)
                continue  # deleted meanwhile: nothing left to own
            except QuickSightError as err:
                result.failed.append(HandoverFailure(ref.type, ref.region, ref.id, f"read-back: {err}"))
                continue
            listing = self._listed.get((ref.region, ref.type))
            if listing is not None and ref.id in listing:
                listing[ref.id] = permissions  # later users of this run see the asset as it is now
            held = _actions_of(permissions, user_arn)
            if kind.manage_action in held:
                result.remaining.append(ref)


def _actions_of(permissions: list[dict], principal: str) -> list[str]:
    actions: list[str] = []
    for entry in permissions:
        if entry.get("Principal") == principal:
            actions += [a for a in entry.get("Actions", []) if a not in actions]
    return actions
