"""Every file the tool reads or writes, one module per format: its reader, its writer and its provenance.

- :mod:`~fomo_order.artifacts.meta`: the one meta shape every artifact's ``.meta.json`` (or embedded
  ``meta``) has: ``tool``, ``version``, ``command``, ``argv``, ``inputs`` (name -> path and sha256), then
  the command's own facts.
"""
