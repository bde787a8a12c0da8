"""The app's pages, one module each; they read densevis records and compute nothing."""
