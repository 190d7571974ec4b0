"""Files -> pages of text -> chunks -> embeddings -> FAISS + SQLite: the library on disk."""
