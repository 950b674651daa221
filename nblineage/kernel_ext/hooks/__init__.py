"""One instrumentor per library; ``ALL`` lists them in the order they are installed."""
