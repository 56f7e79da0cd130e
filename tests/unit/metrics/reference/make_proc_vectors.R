# Reference vectors for companion.metrics.roc, generated once with R's pROC.
#
#   apt-get install -y r-base-core r-cran-proc      # Debian 12: R 4.2, pROC 1.18
#   cd tests/unit/metrics/reference && Rscript make_proc_vectors.R > proc_delong.json
#
# The tests read the committed JSON; they never call R.
suppressMessages(library(pROC))
set.seed(20240517)

num <- function(x) {
  if (length(x) == 1 && is.na(x)) return("null")
  paste0("[", paste(sprintf("%.17g", x), collapse = ", "), "]")
}
one <- function(x) sprintf("%.17g", x)

make_case <- function(name, y, a, b) {
  ra <- roc(y, a, levels = c(0, 1), direction = "<", quiet = TRUE)
  rb <- roc(y, b, levels = c(0, 1), direction = "<", quiet = TRUE)
  ci95 <- suppressWarnings(ci.auc(ra, conf.level = 0.95, method = "delong"))
  ci90 <- suppressWarnings(ci.auc(ra, conf.level = 0.90, method = "delong"))
  t <- suppressWarnings(roc.test(ra, rb, method = "delong", paired = TRUE, conf.level = 0.95))
  paste0(
    "  {\"name\": \"", name, "\",\n",
    "   \"y\": ", num(y), ",\n",
    "   \"a\": ", num(a), ",\n",
    "   \"b\": ", num(b), ",\n",
    "   \"auc_a\": ", one(as.numeric(auc(ra))), ", \"auc_b\": ", one(as.numeric(auc(rb))), ",\n",
    "   \"var_a\": ", one(suppressWarnings(var(ra, method = "delong"))),
    ", \"var_b\": ", one(suppressWarnings(var(rb, method = "delong"))),
    ", \"cov\": ", one(suppressWarnings(cov(ra, rb, method = "delong"))), ",\n",
    "   \"ci95_a\": ", num(c(ci95[1], ci95[3])), ", \"ci90_a\": ", num(c(ci90[1], ci90[3])), ",\n",
    "   \"z\": ", one(t$statistic[[1]]), ", \"p_value\": ", one(t$p.value), ",\n",
    "   \"diff_ci95\": ", num(as.numeric(t$conf.int)), "}"
  )
}

cases <- list()
# 1. tiny, integer scores with many ties in and across the two classes
y <- c(0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1)
cases[[1]] <- make_case("tiny_ties", y, c(1, 2, 2, 3, 1, 2, 3, 3, 4, 2, 4, 5), c(2, 1, 3, 3, 2, 2, 4, 1, 4, 3, 1, 5))
# 2. moderate n, continuous, strongly correlated pair (shared latent signal)
n <- 200; y <- rbinom(n, 1, 0.4); z <- rnorm(n) + 1.0 * y
cases[[2]] <- make_case("correlated_200", y, z + rnorm(n, sd = 0.5), z + rnorm(n, sd = 0.9))
# 3. large n, heavy ties (scores rounded to 1 decimal)
n <- 5000; y <- rbinom(n, 1, 0.3); z <- rnorm(n) + 0.6 * y
cases[[3]] <- make_case("large_ties_5000", y, round(z + rnorm(n, sd = 0.3), 1), round(0.5 * z + rnorm(n), 1))
# 4. very imbalanced: 3 cases among 300
n <- 300; y <- c(rep(1, 3), rep(0, n - 3)); z <- rnorm(n) + 1.5 * y
cases[[4]] <- make_case("imbalanced_3_of_300", y, z, -z + rnorm(n))
# 5. AUC below 0.5 (direction is not flipped) and an independent second scorer
n <- 60; y <- rep(c(0, 1), each = 30); a <- rnorm(n) - 0.8 * y
cases[[5]] <- make_case("below_half", y, a, runif(n))
# 6. near-perfect first scorer (CI clipped at 1), binary second scorer
n <- 40; y <- rep(c(0, 1), 20); a <- 2.2 * y + rnorm(n, sd = 0.6)
cases[[6]] <- make_case("near_perfect_clipped", y, a, as.numeric(a + rnorm(n, sd = 0.8) > 1.1))
# 7. two small correlated scorers, unequal groups, ties only across scorers
n <- 25; y <- c(rep(1, 8), rep(0, 17)); z <- rnorm(n) + y
cases[[7]] <- make_case("small_25", y, round(z, 2), round(z + rnorm(n, sd = 0.7), 2))

cat("{\"generator\": \"make_proc_vectors.R\", \"R\": \"", R.version.string, "\", \"pROC\": \"",
    as.character(packageVersion("pROC")), "\",\n \"cases\": [\n", paste(cases, collapse = ",\n"), "\n ]}\n", sep = "")
