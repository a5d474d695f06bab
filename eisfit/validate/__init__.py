"""Data validation: the linear Kramers–Kronig test."""

from .kk import KKResult, kk

__all__ = ["kk", "KKResult"]
