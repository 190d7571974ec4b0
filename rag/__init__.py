"""Question answering over an indexed library: retrieval, context budget, prompts, citations, export."""
