"""No rule crashes on shapes it does not expect: every top-level input of each resource type of our
stacks, removed or replaced by a value of another type, still analyzes to verdicts, not errors."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2

from stack_values import run_with_values

from stagewise.engine.record import DeclaredResource
from stagewise.policy.analyzer import Analyzer, _analyze_request

ODD_VALUES: list[Any] = ["", 7.5, ["x"], {"k": "v"}]


def _variants(resource: DeclaredResource) -> list[struct_pb2.Struct]:
    variants: list[struct_pb2.Struct] = []
    for key in resource.inputs_struct.keys():
        removed = struct_pb2.Struct()
        removed.CopyFrom(resource.inputs_struct)
        del removed[key]
        variants.append(removed)
        for value in ODD_VALUES:
            changed = struct_pb2.Struct()
            changed.CopyFrom(resource.inputs_struct)
            changed[key] = value
            variants.append(changed)
    return variants


@pytest.mark.parametrize("stack", ["staging", "prod"])  # mvp declares a subset of these types
def test_rules_survive_odd_shapes(stack: str) -> None:
    analyzer = Analyzer.for_stage(stack)
    checked = 0
    one_per_type = {r.type: r for r in run_with_values(stack).resources if r.custom}
    for resource in one_per_type.values():
        for inputs in _variants(resource):
            request = _analyze_request(resource)
            request.properties.CopyFrom(inputs)
            analyzer.servicer.Analyze(request, None)  # raises RuleError if a rule crashes
            checked += 1
    assert checked > 100
