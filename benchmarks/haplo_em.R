# Run haplo.stats haplo.em on a haplo.stats-style genotype table and report the fit.
# Usage: Rscript haplo_em.R TABLE LOCI OUT_CSV [batch_size min_posterior n_try seed]
#   LOCI: comma-separated locus names (columns <name>.a1/.a2 or <name>.1/.2)
# Prints one line: lnlike=<v> cpu=<seconds> n_haps=<n> lr=<v> df=<n>; writes the
# frequency table (alleles per locus, hap.prob) to OUT_CSV.
suppressPackageStartupMessages(library(haplo.stats))
args <- commandArgs(trailingOnly = TRUE)
table_path <- args[1]
loci <- strsplit(args[2], ",")[[1]]
out_csv <- args[3]
batch <- if (length(args) >= 4) as.numeric(args[4]) else 6
min_post <- if (length(args) >= 5) as.numeric(args[5]) else 1e-9
n_try <- if (length(args) >= 6) as.numeric(args[6]) else 10
seed <- if (length(args) >= 7) as.numeric(args[7]) else 0

data <- read.delim(table_path, colClasses = "character", check.names = FALSE)
columns <- unlist(lapply(loci, function(locus) {
  pair <- c(paste0(locus, ".a1"), paste0(locus, ".a2"))
  if (!all(pair %in% names(data))) pair <- c(paste0(locus, ".1"), paste0(locus, ".2"))
  pair
}))
geno <- as.matrix(data[, columns])
geno[is.na(geno) | geno == "" | geno == "NA"] <- "0"
control <- haplo.em.control(insert.batch.size = batch, min.posterior = min_post,
                            n.try = n_try, iseed = seed)
started <- proc.time()
fit <- haplo.em(geno, locus.label = loci, miss.val = c("0", NA), control = control)
cpu <- sum((proc.time() - started)[c(1, 2)])
table <- cbind(fit$haplotype, hap.prob = fit$hap.prob)
write.csv(table, out_csv, row.names = FALSE, quote = FALSE)
cat(sprintf("lnlike=%.6f cpu=%.3f n_haps=%d lr=%.6f df=%d\n", fit$lnlike, cpu,
            length(fit$hap.prob), fit$lr, fit$df.lr))
