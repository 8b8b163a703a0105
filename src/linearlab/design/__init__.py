"""The design step: a table (formula, text and category columns) to the numbers solvers see."""
