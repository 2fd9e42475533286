"""Files in and out: output safety and atomic writes, numeric tables, VCF/BCF."""
