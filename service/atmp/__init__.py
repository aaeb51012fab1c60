"""ATMP-KG: classify advanced therapy products under Chinese regulation, with reasons.

The rules live in ``ontology/atmp.ttl``; this package only moves a product card through
parse -> graph -> reason -> validate -> explain -> result.
"""

__version__ = "0.1.0"
