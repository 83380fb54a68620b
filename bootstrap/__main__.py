"""Entry point `pulumi up` runs in bootstrap/ (the repository's .venv puts the repo root on sys.path)."""

from bootstrap.program import main

main()
