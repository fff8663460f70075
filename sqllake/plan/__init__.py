"""Statement trees -> typed plans."""
