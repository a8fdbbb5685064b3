"""The real QuickSight adapters and the tests' in-memory directory satisfy the same ports, method by method."""

from __future__ import annotations

import inspect

import pytest

from okta_quicksight_sync.asset_handover import AssetHandover
from okta_quicksight_sync.ports import Directory, Handover
from okta_quicksight_sync.quicksight_directory import QuickSightDirectory
from tests.okta_quicksight_sync.memory_directory import MemoryAssetHandover, MemoryDirectory


def _methods(protocol) -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(member).parameters)
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    }


@pytest.mark.parametrize(
    "port, implementations",
    [(Directory, [QuickSightDirectory, MemoryDirectory]), (Handover, [AssetHandover, MemoryAssetHandover])],
)
def test_every_implementation_has_each_method_of_its_port_with_the_same_parameters(port, implementations):
    methods = _methods(port)
    assert methods, f"{port.__name__} declares no methods"
    for implementation in implementations:
        for name, parameters in methods.items():
            assert hasattr(implementation, name), f"{implementation.__name__} lacks {port.__name__}.{name}"
            have = list(inspect.signature(getattr(implementation, name)).parameters)
            assert have == parameters, f"{implementation.__name__}.{name}{have} differs from {port.__name__}: {parameters}"


def test_instances_are_recognised_as_their_port():
    memory = MemoryDirectory()
    assert isinstance(memory, Directory) and isinstance(MemoryAssetHandover(memory), Handover)
    real = QuickSightDirectory(lambda region: None, "111122223333", "us-east-1")
    assert isinstance(real, Directory) and not isinstance(real, Handover)
    assert isinstance(AssetHandover(lambda region: None, "111122223333", "us-east-1", "default", ["us-east-1"]), Handover)
