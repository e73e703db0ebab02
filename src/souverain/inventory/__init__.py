"""Import an organisation's own inventories: what DNS and the home page cannot show.

One module per input kind (``saas_list``, ``terraform``, ``kubernetes``, ``sbom``, ``har``), each
turning a file into ``Item`` values (``items``) with the place they were read from (``file:line``
or a JSON pointer); ``detect`` tells the kind from the content; ``attribute`` matches items to KB
services through the same indexes scan uses; ``run`` builds a ``ScanResult`` so every report
format of ``scan`` renders an inventory too.
"""
