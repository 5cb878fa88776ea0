"""What localjuju puts on its machines: the hook tools (``hooktool.py``, served by ``jujuc.py``)."""
