"""Joint calibration of several images: shared, per-image and linked parameters (distance_i = L0 + Δ_i)
refined in one least-squares fit over every image's points, so the wavelength becomes identifiable."""
