"""Storage: tracking, registry and artifact stores behind narrow protocols."""
