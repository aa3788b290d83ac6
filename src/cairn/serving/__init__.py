"""Scoring server, batch prediction, Spark UDF and container files for saved models."""
