"""Reusable widgets: image grid, heatmap with colour bar, probability bars."""
