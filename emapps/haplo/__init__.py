"""Haplotype frequencies from unphased genotypes (Excoffier-Slatkin EM that scales)."""

from .haplotype_em import HaplotypeEM
from .io import Genotypes, read_genotypes, read_table, read_vcf

__all__ = ["Genotypes", "HaplotypeEM", "read_genotypes", "read_table", "read_vcf"]
