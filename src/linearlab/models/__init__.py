"""The estimator classes' home: :class:`LinearRegression`, its parameters and fitted state."""
