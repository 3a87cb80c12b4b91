"""Knowledge of real action datasets (file naming, protocols) shared by bulk jobs and experiments."""
