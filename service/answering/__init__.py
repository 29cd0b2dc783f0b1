"""Answering: the passages a retriever found turned into an answer whose sentences cite them.

No HTTP here. A backend (`extractive`, or `generative` over a chat model) yields the
events of `events`: the passages retrieved, pieces of checked answer text, the final answer.
"""
