"""videostyle: turn a video clip into a painting in motion.

Gatys et al. (CVPR 2016) neural style transfer per frame, made temporally coherent after Ruder, Dosovitskiy &
Brox (GCPR 2016): warped initialisation from the previous stylised frame and a masked temporal loss.
"""

__version__ = "0.1.0"
