"""The eight QuickSight asset types as the local server knows them.

Kept separate from the product's own table (``okta_quicksight_sync.asset_handover``)
on purpose: the server is the oracle the hand-over is tested against, so a
wrong action set or operation name in the product fails a test instead of
agreeing with itself. Owner action sets: docs/api-notes.md, QuickSight:
handing assets over.
"""

from __future__ import annotations

from dataclasses import dataclass


def _actions(names: str) -> frozenset[str]:
    return frozenset(f"quicksight:{n}" for n in names.split())


@dataclass(frozen=True)
class AssetKind:
    type: str  # the scenario's name
    arn_resource: str  # arn:aws:quicksight:<region>:<account>:<arn_resource>/<id>
    id_member: str  # e.g. DashboardId
    list_op: str
    search_op: str | None
    describe_op: str
    update_op: str
    owner_actions: frozenset[str]


KINDS: dict[str, AssetKind] = {
    k.type: k
    for k in (
        AssetKind(
            "dashboard", "dashboard", "DashboardId", "ListDashboards", "SearchDashboards",
            "DescribeDashboardPermissions", "UpdateDashboardPermissions",
            _actions(
                "DescribeDashboard ListDashboardVersions UpdateDashboardPermissions QueryDashboard "
                "UpdateDashboard DeleteDashboard DescribeDashboardPermissions UpdateDashboardPublishedVersion"
            ),
        ),
        AssetKind(
            "analysis", "analysis", "AnalysisId", "ListAnalyses", "SearchAnalyses",
            "DescribeAnalysisPermissions", "UpdateAnalysisPermissions",
            _actions(
                "RestoreAnalysis UpdateAnalysisPermissions DeleteAnalysis QueryAnalysis "
                "DescribeAnalysisPermissions DescribeAnalysis UpdateAnalysis"
            ),
        ),
        AssetKind(
            "dataset", "dataset", "DataSetId", "ListDataSets", "SearchDataSets",
            "DescribeDataSetPermissions", "UpdateDataSetPermissions",
            _actions(
                "DescribeDataSet UpdateDataSet DeleteDataSet PassDataSet DescribeDataSetPermissions "
                "UpdateDataSetPermissions CreateIngestion CancelIngestion DescribeIngestion ListIngestions "
                "PutDataSetRefreshProperties DescribeDataSetRefreshProperties DeleteDataSetRefreshProperties "
                "CreateRefreshSchedule UpdateRefreshSchedule DeleteRefreshSchedule DescribeRefreshSchedule "
                "ListRefreshSchedules"
            ),
        ),
        AssetKind(
            "datasource", "datasource", "DataSourceId", "ListDataSources", "SearchDataSources",
            "DescribeDataSourcePermissions", "UpdateDataSourcePermissions",
            _actions(
                "UpdateDataSourcePermissions DescribeDataSource DescribeDataSourcePermissions PassDataSource "
                "UpdateDataSource DeleteDataSource"
            ),
        ),
        AssetKind(
            "theme", "theme", "ThemeId", "ListThemes", None,
            "DescribeThemePermissions", "UpdateThemePermissions",
            _actions(
                "DescribeTheme DescribeThemeAlias ListThemeAliases ListThemeVersions DeleteTheme UpdateTheme "
                "CreateThemeAlias DeleteThemeAlias UpdateThemeAlias UpdateThemePermissions DescribeThemePermissions"
            ),
        ),
        AssetKind(
            "template", "template", "TemplateId", "ListTemplates", None,
            "DescribeTemplatePermissions", "UpdateTemplatePermissions",
            _actions(
                "DescribeTemplate DescribeTemplateAlias ListTemplateAliases ListTemplateVersions "
                "CreateTemplateAlias DeleteTemplate DeleteTemplateAlias UpdateTemplate UpdateTemplateAlias "
                "UpdateTemplatePermissions DescribeTemplatePermissions"
            ),
        ),
        AssetKind(
            "folder", "folder", "FolderId", "ListFolders", "SearchFolders",
            "DescribeFolderPermissions", "UpdateFolderPermissions",
            _actions(
                "CreateFolder DescribeFolder UpdateFolder DeleteFolder CreateFolderMembership "
                "DeleteFolderMembership DescribeFolderPermissions UpdateFolderPermissions"
            ),
        ),
        AssetKind(
            "topic", "topic", "TopicId", "ListTopics", "SearchTopics",
            "DescribeTopicPermissions", "UpdateTopicPermissions",
            _actions(
                "DescribeTopic DescribeTopicRefresh ListTopicRefreshSchedules DescribeTopicRefreshSchedule "
                "DeleteTopic UpdateTopic CreateTopicRefreshSchedule DeleteTopicRefreshSchedule "
                "UpdateTopicRefreshSchedule DescribeTopicPermissions UpdateTopicPermissions"
            ),
        ),
    )
}

BY_OPERATION: dict[str, tuple[str, AssetKind]] = {}
for _kind in KINDS.values():
    BY_OPERATION[_kind.list_op] = ("list", _kind)
    BY_OPERATION[_kind.describe_op] = ("describe", _kind)
    BY_OPERATION[_kind.update_op] = ("update", _kind)
    if _kind.search_op:
        BY_OPERATION[_kind.search_op] = ("search", _kind)

# Themes AWS ships in every account (ListThemes Type ALL or QUICKSIGHT lists them).
BUILTIN_THEMES = ("CLASSIC", "MIDNIGHT", "SEASIDE", "RAINIER")
