"""vTPU: a coordinate-addressed memory processor. Host-side package."""
