"""The starter configuration and the demo's sample data, installed as `communique.config`.

Read through `communique.locations` (importlib.resources), never through the working directory,
so that an installed `communique` finds them wherever it runs.
"""
