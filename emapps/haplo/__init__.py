"""Haplotype frequencies from unphased genotypes (Excoffier-Slatkin EM that scales)."""

from .io import Genotypes, read_genotypes, read_table, read_vcf
from .model import HaplotypeEM

__all__ = ["Genotypes", "HaplotypeEM", "read_genotypes", "read_table", "read_vcf"]
