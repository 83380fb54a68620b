"""Test helpers a consuming team can use on its own stacks (golden inventories)."""
