import edgebatch  # noqa: F401  (loads torch before tensorflow for every test module)
