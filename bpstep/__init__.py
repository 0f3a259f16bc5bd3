"""bpstep: a step-through debugger for backpropagation in the terminal."""

__version__ = "0.1.0"
