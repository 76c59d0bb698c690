"""HCP core: settings, topic contracts, economics and the `hcp` command line.

Nothing in this package imports faust or prefect: the stream agents (`streams`), the flows (`flows`) and the
simulators (`simulators`) are shells around it.
"""

__version__ = "0.1.0"
