"""The fitted state: what every fit leaves behind (coefficients, statistics, training record)."""
