"""HTTP service: answers questions about the indexed articles with checked citations."""
