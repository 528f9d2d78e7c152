"""The embedded default store (LanceDB on disk); see ``store.py``."""

from .store import (AnnIndex, FusedQuery, LanceStore, VectorSet, _matvec, _Postings, compile_mask, lance_path,
                    nlist_for, numpy_blas_libs, single_thread_blas, top_k)

__all__ = ["AnnIndex", "FusedQuery", "LanceStore", "VectorSet", "_matvec", "_Postings", "compile_mask", "lance_path",
           "nlist_for", "numpy_blas_libs", "single_thread_blas", "top_k"]
