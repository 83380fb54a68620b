"""The review of one stack: its sections, the key settings per resource and the comparison of two reviews."""
