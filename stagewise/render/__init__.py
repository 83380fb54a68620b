"""Formats for a review: Markdown (PR comments) and Mermaid (architecture diagrams)."""
