"""One-time bootstrap of a Google Cloud project for stagewise CI (its own Pulumi project)."""
