"""The tracking server: MLflow's REST API as a thin HTTP skin over cairn's stores."""
