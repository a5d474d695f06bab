"""Data validation: the linear Kramers–Kronig test."""

from .kramers_kronig import KKResult, kk

__all__ = ["kk", "KKResult"]
