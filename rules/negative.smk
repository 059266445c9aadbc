# Negative computation: distributions and the clamp ablation (NC-F4).
