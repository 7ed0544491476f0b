"""The NumPy training core of MNIST Explorer: datasets, the network, its training, and what it learned.

No Qt, no plotting, no printing: arrays in, arrays out. The GUI (`explorer`) and the command line drive it.
"""

__version__ = "0.1.0"
