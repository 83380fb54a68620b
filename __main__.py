"""Entry point `pulumi up` runs: the composition is chosen by `stagewise:stage` (default: stack name)."""

from stagewise.stacks.program import main

main()
