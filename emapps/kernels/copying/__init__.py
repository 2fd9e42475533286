"""The copying model (Li & Stephens) over a reference panel, one module per topic: the
haploid forward-backward and its statistics (haploid), composite panels (composite),
diploid phasing (diploid) and the bit-packed candidate search (matching)."""
