"""Bundled demo data: 2,000 made-up form submissions and the mapping file that imports them."""
