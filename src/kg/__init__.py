"""Duikou KG: a knowledge graph of China's east–west paired assistance (对口帮扶).

The package is split by concern: :mod:`kg.loading` reads RDF files and tables,
:mod:`kg.validation` runs the SHACL shapes, :mod:`kg.reasoning` computes the OWL 2 RL
closure, :mod:`kg.store` holds the result, :mod:`kg.build` is the pipeline that joins
them, and :mod:`kg.web` and :mod:`kg.cli` are the faces users meet.
"""

__version__ = "0.1.0"
